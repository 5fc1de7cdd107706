"""Pages/s of GOTEngine against the naive loop of transformers' docs, on the same model and pages.

The naive loop is what the GOT-OCR2 page of the transformers docs shows: the processor and one
``generate`` call per page. The engine reads the same pages through ``recognize_batch`` at
several batch sizes. Both load one reduced checkpoint of the real architecture from disk: random
weights, few and narrow layers, but GOT's real image geometry (pages resized to 1024x1024,
16 px patches, 256 image tokens per page). Every page gets exactly ``--new-tokens`` new tokens
on both sides (``min_new_tokens``), so both do the same work.

    python benchmarks/engine_throughput.py [--pages 16] [--new-tokens 32] [--batch-sizes 1 4 8 16]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PIL import Image

    from got_model import GOTEngine

IMAGE_SIZE = 1024  # GOT's: every page is resized to 1024x1024
PATCH_SIZE = 16  # GOT's: a 64x64 grid, 256 image tokens after the projector
END_TOKEN = "<|im_end|>"
SEED = 0

# The reduced model: GOT's layer types, far fewer and narrower layers (the real one has 580M
# parameters: a 12-layer, 768-wide vision encoder and a 24-layer, 1024-wide Qwen decoder).
VISION_CONFIG: dict[str, Any] = {
    "hidden_size": 64,
    "output_channels": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "mlp_dim": 256,
    "image_size": IMAGE_SIZE,
    "patch_size": PATCH_SIZE,
    "window_size": 14,
    # GOT's encoder also has global-attention layers. At 1024 px one attends over all 4096
    # patches and costs seconds per page on a small CPU, the same on both sides, drowning the
    # difference measured here: none unless --global-attention asks for one.
}
TEXT_CONFIG: dict[str, Any] = {
    "hidden_size": 512,
    "intermediate_size": 1408,
    "num_hidden_layers": 4,
    "num_attention_heads": 8,
    "num_key_value_heads": 2,
    "max_position_embeddings": 8192,
}

WORDS = (
    "model page text table figure result method data layer token image batch theory "
    "reading encoder decoder section value number paper line column proof lemma"
).split()


def build_reduced_checkpoint(
    path: Path, *, global_attention: bool = False, seed: int = SEED
) -> str:
    """Write the reduced random GOT-OCR2 checkpoint (weights, tokenizer, processor) to ``path``.

    ``global_attention`` makes the vision encoder's last layer global, as GOT's every third is.
    """
    from transformers import GotOcr2Config, GotOcr2Processor

    from got_model.testing import _build_image_processor, _build_tokenizer, random_model

    tokenizer = _build_tokenizer()  # byte-level BPE carrying GOT's special tokens
    last_layer = VISION_CONFIG["num_hidden_layers"] - 1
    config = GotOcr2Config(
        vision_config={
            **VISION_CONFIG,
            "global_attn_indexes": [last_layer] if global_attention else [],
        },
        text_config={**TEXT_CONFIG, "vocab_size": len(tokenizer)},
        image_token_index=tokenizer.convert_tokens_to_ids("<imgpad>"),
    )
    model = random_model(config, seed)  # wide random weights: the output depends on the page
    # GOT's end token. Without it here, the naive loop's min_new_tokens is ignored (there is
    # no end token to hold back) and its stop string ends pages early.
    model.generation_config.eos_token_id = tokenizer.convert_tokens_to_ids(END_TOKEN)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(path)
    processor = GotOcr2Processor(
        image_processor=_build_image_processor(IMAGE_SIZE), tokenizer=tokenizer
    )
    processor.save_pretrained(path)
    return str(path)


def render_pages(count: int, *, seed: int = SEED) -> list[Image.Image]:
    """``count`` distinct text pages, rendered with PyMuPDF at GOT's size (792x1024)."""
    import pymupdf
    from PIL import Image

    words = random.Random(seed)
    pdf = pymupdf.open()
    for number in range(count):
        page = pdf.new_page(width=612, height=792)
        page.insert_text((72, 60), f"Section {number + 1}: {words.choice(WORDS)}", fontsize=18)
        body = " ".join(words.choice(WORDS) for _ in range(400))
        page.insert_textbox(pymupdf.Rect(72, 80, 540, 740), body, fontsize=10)
    scale = IMAGE_SIZE / 792
    images = []
    for page in pdf:
        pixmap = page.get_pixmap(matrix=pymupdf.Matrix(scale, scale), alpha=False)
        images.append(Image.frombytes("RGB", (pixmap.width, pixmap.height), pixmap.samples))
    return images


def naive_page(model: Any, processor: Any, image: Image.Image, new_tokens: int) -> str:
    """One page as in the transformers docs: processor, ``generate``, decode the new tokens."""
    inputs = processor(image, return_tensors="pt").to(model.device)
    ids = model.generate(
        **inputs,
        do_sample=False,
        tokenizer=processor.tokenizer,
        stop_strings=END_TOKEN,
        max_new_tokens=new_tokens,
        min_new_tokens=new_tokens,
    )
    prompt = inputs["input_ids"].shape[1]
    if ids.shape[1] - prompt != new_tokens:
        raise AssertionError(f"naive loop: {ids.shape[1] - prompt} new tokens, not {new_tokens}")
    return str(processor.decode(ids[0, prompt:], skip_special_tokens=True))


def engine_pages(engine: GOTEngine, images: Sequence[Image.Image], new_tokens: int) -> list[str]:
    from got_model import PLAIN, OCRRequest

    results = engine.recognize_batch([OCRRequest((image,), PLAIN) for image in images])
    counts = {result.generated_tokens for result in results}
    if counts != {new_tokens}:
        raise AssertionError(f"engine: {sorted(counts)} new tokens per page, not {new_tokens}")
    return [result.text for result in results]


class Timing:
    """Wall and CPU time of a ``with`` block that reads ``pages`` pages."""

    def __init__(self, pages: int, new_tokens: int) -> None:
        self.pages = pages
        self.new_tokens = new_tokens
        self.wall = self.cpu = 0.0

    def __enter__(self) -> Timing:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu

    @property
    def rate(self) -> float:
        """Pages per second of wall time."""
        return self.pages / self.wall

    def describe(self, baseline: Timing | None = None) -> str:
        ratio = f"x{self.rate / baseline.rate:.2f}, " if baseline else ""
        return (
            f"{self.rate:.2f} pages/s ({ratio}"
            f"{1000 * self.wall / (self.pages * self.new_tokens):.1f} ms per generated token, "
            f"{self.cpu / self.pages:.2f} CPU s/page)"
        )


def parameters(module: Any) -> str:
    return f"{sum(p.numel() for p in module.parameters()) / 1e6:.2f}M"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=16, help="distinct pages read by each run")
    parser.add_argument("--new-tokens", type=int, default=32, help="tokens generated per page")
    parser.add_argument(
        "--batch-sizes", type=int, nargs="+", default=[1, 4, 8, 16], help="engine batch sizes"
    )
    parser.add_argument(
        "--global-attention",
        action="store_true",
        help="give the vision encoder a global-attention layer (seconds per page on a CPU)",
    )
    args = parser.parse_args()
    if args.pages < 1 or args.new_tokens < 1 or min(args.batch_sizes) < 1:
        parser.error("--pages, --new-tokens and --batch-sizes must be at least 1")
    new_tokens: int = args.new_tokens

    import torch
    from transformers import GotOcr2ForConditionalGeneration, GotOcr2Processor

    from got_model import GOTEngine
    from got_model.inputs import image_tokens_per_patch

    with tempfile.TemporaryDirectory() as folder:
        path = build_reduced_checkpoint(
            Path(folder) / "got-reduced", global_attention=args.global_attention
        )
        # Read into memory, not memory-mapped: the kernel may page mapped weights out between
        # decoding steps (proactive reclaim), which makes every step wait on the disk.
        model = GotOcr2ForConditionalGeneration.from_pretrained(path, disable_mmap=True).eval()
        processor = GotOcr2Processor.from_pretrained(path)
    # The engine builds its own GenerationConfig; transformers fills its unset fields from
    # model.generation_config, so this makes the engine generate exactly new_tokens too.
    model.generation_config.min_new_tokens = new_tokens

    tokens_per_page = image_tokens_per_patch(model.config)
    if tokens_per_page != 256:
        raise AssertionError(f"{tokens_per_page} image tokens per page, GOT has 256")
    vision = model.config.vision_config
    text = model.config.text_config
    print(
        f"reduced GOT-OCR2, random weights: {parameters(model)} parameters "
        f"(vision {parameters(model.model.vision_tower)}: {vision.num_hidden_layers} layers x "
        f"{vision.hidden_size}, global attention in {list(vision.global_attn_indexes)}, "
        f"{vision.image_size} px, patch {vision.patch_size}; projector "
        f"{parameters(model.model.multi_modal_projector)}; decoder "
        f"{parameters(model.model.language_model)}: {text.num_hidden_layers} layers x "
        f"{text.hidden_size}, vocab {text.vocab_size})"
    )
    pages = render_pages(args.pages)
    print(
        f"{len(pages)} pages of {pages[0].width}x{pages[0].height} px, {tokens_per_page} image "
        f"tokens and {new_tokens} new tokens each; torch threads: {torch.get_num_threads()}"
    )

    with torch.inference_mode():
        naive_page(model, processor, pages[0], new_tokens)  # warm-up, not timed
        with Timing(len(pages), new_tokens) as naive_time:
            naive = [naive_page(model, processor, page, new_tokens) for page in pages]
    print(f"naive loop (processor + generate per page): {naive_time.describe()}")

    warmed = False
    for batch_size in args.batch_sizes:
        engine = GOTEngine.from_components(
            model,
            processor,
            model_id="got-reduced",
            batch_size=batch_size,
            max_new_tokens=new_tokens,
            repetition_guard=None,
        )
        engine.load()  # checks its preprocessing against the processor's: setup, not timed
        if not warmed:
            engine_pages(engine, pages[:1], new_tokens)  # warm-up, not timed
            warmed = True
        with Timing(len(pages), new_tokens) as timing:
            texts = engine_pages(engine, pages, new_tokens)
        same = sum(a == b for a, b in zip(texts, naive, strict=True))
        print(
            f"engine batch {batch_size}: {timing.describe(naive_time)}; "
            f"same text as naive loop: {same}/{len(pages)} pages"
        )
    print(f"distinct texts among the naive loop's pages: {len(set(naive))}/{len(naive)}")


if __name__ == "__main__":
    main()
