"""CPU per page around the vLLM backend: what the render thread does ahead, and what is left to
the thread that hands pages to vLLM.

``VLLMEngine.prepare`` (on the page pipeline's render thread) converts a page to RGB, resizes
it to GOT's 1024x1024 (multi-crop: cuts its tiles) and writes its prompt. vLLM's processor, on
the engine's driver thread, then only normalises the pixels; its resize of a page already at
1024x1024 is a copy. This script times both halves with GOT's image processor at its real size,
on a rendered page of a US-letter PDF at 200 dpi (1700x2200), and the processor on the page as
rendered for comparison (what the driver thread would pay without ``prepare``). The driver's
share bounds the pages per second one driver thread can hand over.

It needs no vLLM: the driver's share is GOT's processor, timed here alone. With vLLM
installed, ``benchmarks/gpu_throughput.py`` also prints ``VLLMEngine.preprocess_seconds`` per
page (the processor plus vLLM's own bookkeeping).

    python benchmarks/vllm_preprocessing.py [--pages 20] [--multi-crop]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
from PIL import Image
from transformers import GotOcr2Processor

from got_model import OCRRequest, OCRTask
from got_model.testing import _build_image_processor, _build_tokenizer
from got_model.vllm_backend import PageInputs

PAGE = (1700, 2200)


def page(seed: int) -> Image.Image:
    """A page-sized picture: black text-like strokes on white, different for each seed."""
    rng = np.random.default_rng(seed)
    pixels = np.full((PAGE[1], PAGE[0], 3), 255, dtype=np.uint8)
    for _ in range(400):
        x, y = int(rng.integers(100, PAGE[0] - 300)), int(rng.integers(100, PAGE[1] - 40))
        pixels[y : y + 14, x : x + int(rng.integers(40, 280))] = 0
    return Image.fromarray(pixels)


def milliseconds(work: Callable[[], object], repeats: int) -> tuple[float, float]:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--multi-crop", action="store_true", help="multi-crop (up to 12 tiles)")
    args = parser.parse_args()

    processor = GotOcr2Processor(
        image_processor=_build_image_processor(1024), tokenizer=_build_tokenizer()
    )
    images = processor.image_processor
    inputs = PageInputs(processor)
    task = OCRTask(crop_to_patches=True) if args.multi_crop else OCRTask()
    pages = [page(seed) for seed in range(args.pages)]
    built = [inputs.build(OCRRequest((p,), task)) for p in pages]

    def prepare_all() -> None:
        for p in pages:
            inputs.build(OCRRequest((p,), task))

    def normalise_prepared() -> None:
        for item in built:
            images(list(item.images), return_tensors="np")

    def normalise_raw() -> None:
        for p in pages:
            images(p, return_tensors="np", crop_to_patches=args.multi_crop)

    tiles = statistics.mean(len(item.images) for item in built)
    print(
        f"{args.pages} pages of {PAGE[0]}x{PAGE[1]}, {task.describe()}, {tiles:.1f} images a page"
    )
    print(f"image processor: {type(images).__name__}")
    rows = [
        ("render thread: prepare (RGB, resize/tiles, prompt)", prepare_all),
        ("driver thread: GOT's processor on the prepared page", normalise_prepared),
        ("  (for comparison: GOT's processor on the page as rendered)", normalise_raw),
    ]
    for name, work in rows:
        median, best = milliseconds(work, 3)
        print(
            f"{name:62} {median / args.pages:7.1f} ms/page "
            f"(best {best / args.pages:.1f}); one thread: {1000 * args.pages / median:6.1f} pages/s"
        )


if __name__ == "__main__":
    main()
