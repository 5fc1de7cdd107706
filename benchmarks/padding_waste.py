"""Decode steps spent on rows already finished, in reading order and with pages sorted by ink.

A static batch runs as many decode steps as its longest output needs, and every row pays for
each of them. On a mix of short and long pages read in reading order, much of that is
padding. The pipeline sorts the pages of a window of batches by ink (``sort_window``) so that
pages of like length share a batch; this script measures what that buys.

The pages: 64 in 4 PDFs, a third near-empty (0-4 lines of text: titles, figures, blank
pages), a third half full (15-30 lines), a third full (45-60 lines), in random order.

The model is the tiny random GOT checkpoint (the real architecture), with each page's output
length forced to what GOT would write for it: a fixed number of tokens per line of text, at
first exactly, then with each page departing from that rule by up to +/-40% (math and tables
give more tokens per line of ink, headings fewer), which the ink estimate cannot see. The
lengths are a tenth of real ones to keep the run short on a CPU; the fractions depend on their
ratios, not their scale. Pages/s depend on this CPU and on the toy model: read them as ratios.

    python benchmarks/padding_waste.py [--pages 64] [--batch-size 8] [--windows 0,4,8]
"""

from __future__ import annotations

import argparse
import hashlib
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from transformers import LogitsProcessor, LogitsProcessorList

from got_loaders.pipeline import PagePipeline
from got_model import FORMATTED, GOTEngine
from got_model.testing import build_tiny_checkpoint

LINE = "The quick brown fox jumps over the lazy dog while GOT reads every word of it."
TOKENS_PER_LINE = 2  # a tenth of GOT's ~20 tokens for a line of body text


def page_lines(count: int, seed: int) -> list[int]:
    """Lines of text per page, as in a mixed corpus: a third near-empty (title, figure and
    blank pages), a third half full, a third full."""
    generator = random.Random(seed)
    kinds = [(0, 4), (15, 30), (45, 60)]
    return [generator.randint(*kinds[generator.randrange(3)]) for _ in range(count)]


def make_pdfs(folder: Path, lines: list[int], files: int) -> list[Path]:
    """``lines`` pages spread over ``files`` PDFs; page ``i`` has ``lines[i]`` lines of text."""
    import pymupdf

    paths: list[Path] = []
    per_file = -(-len(lines) // files)
    for number in range(files):
        pdf = pymupdf.open()
        for count in lines[number * per_file : (number + 1) * per_file]:
            page = pdf.new_page(width=612, height=792)
            for line in range(count):
                page.insert_text((40, 48 + 12 * line), LINE, fontsize=10)
            # A bar as long as the page's number: no two pages look alike, even at 64 px.
            bar = pymupdf.Rect(40, 740, 44 + 8 * len(paths) * per_file + 8 * page.number, 780)
            page.draw_rect(bar, color=None, fill=(0, 0, 0))
        path = folder / f"part-{number}.pdf"
        pdf.save(path)
        paths.append(path)
    return paths


class ForcedLengths(LogitsProcessor):  # type: ignore[misc]
    """Makes each row write exactly its page's number of tokens, then the end token."""

    def __init__(self, lengths: list[int], prompt_width: int, end_token: int) -> None:
        self.lengths = lengths
        self.prompt_width = prompt_width
        self.end_token = end_token

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        step = input_ids.shape[1] - self.prompt_width
        for row, length in enumerate(self.lengths):
            if step + 1 >= length:
                scores[row, :] = -torch.inf
                scores[row, self.end_token] = 0.0
            else:
                scores[row, self.end_token] = -torch.inf
        return scores


def force_lengths(engine: GOTEngine, lengths_by_pixels: dict[str, int]) -> None:
    """Wrap the engine's ``generate`` so each row's length is its page's."""
    model, processor = engine._components()
    end_token = int(processor.tokenizer.convert_tokens_to_ids("<|im_end|>"))
    generate = model.generate

    def generate_forced(*args: Any, **kwargs: Any) -> Any:
        pixels = kwargs["pixel_values"]
        lengths = [lengths_by_pixels[fingerprint(row)] for row in pixels]
        forced = ForcedLengths(lengths, kwargs["input_ids"].shape[1], end_token)
        return generate(*args, logits_processor=LogitsProcessorList([forced]), **kwargs)

    model.generate = generate_forced


def fingerprint(pixels: torch.Tensor) -> str:
    return hashlib.sha1(pixels.detach().cpu().float().numpy().tobytes()).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=64)
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--windows", default="0,4,8", help="sort windows, in batches")
    parser.add_argument("--noise", default="0,0.4", help="per-page spread of tokens per line")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    lines = page_lines(args.pages, args.seed)
    generator = random.Random(args.seed + 1)
    spread = [generator.uniform(-1, 1) for _ in lines]  # how a page departs from the rule
    with tempfile.TemporaryDirectory() as folder:
        paths = make_pdfs(Path(folder), lines, args.files)
        checkpoint = build_tiny_checkpoint(Path(folder) / "got-tiny")
        engine = GOTEngine(
            checkpoint,
            device="cpu",
            batch_size=args.batch_size,
            max_new_tokens=1024,
            repetition_guard=None,
        )
        engine.load()
        pages = [fingerprint(pixels) for pixels in page_pixels(engine, paths)]
        assert len(set(pages)) == args.pages, "two pages share their pixels"
        lengths: dict[str, int] = {}
        force_lengths(engine, lengths)
        print(f"{args.pages} pages in {args.files} PDFs, batch size {args.batch_size}")
        for noise in map(float, args.noise.split(",")):
            lengths.clear()
            for page, count, departure in zip(pages, lines, spread, strict=True):
                written = TOKENS_PER_LINE * count * (1 + noise * departure)
                lengths[page] = max(1, round(written)) + 1  # + the end token
            print(
                f"tokens per line of text: {TOKENS_PER_LINE} x (1 +/- {noise:g}); "
                f"{sum(lengths.values())} tokens to write, {min(lengths.values())}-"
                f"{max(lengths.values())} a page"
            )
            for batches in map(int, args.windows.split(",")):
                window = batches * args.batch_size
                name = f"sort_window={window}" if window else "reading order"
                run(engine, paths, args.batch_size, window, name, sum(lengths.values()))


def page_pixels(engine: GOTEngine, paths: list[Path]) -> list[torch.Tensor]:
    """Each page's pixel values, as the engine will see them in ``generate``."""
    from got_loaders.sources import open_document
    from got_loaders.sources.documents import SourceDocument

    encoder = engine._loaded()[2]  # the fast path computes exactly the processor's pixels
    assert encoder is not None
    pixels = []
    for path in paths:
        with open_document(SourceDocument.from_input(path), FORMATTED) as source:
            for index in range(source.info.total_pages):
                pixels.append(encoder.pixels(source.render(index).image)[0])
    return pixels


def run(
    engine: GOTEngine, paths: list[Path], batch: int, window: int, name: str, ideal: int
) -> None:
    before = engine.stats
    started = time.perf_counter()
    pipeline = PagePipeline(engine, FORMATTED, batch_size=batch, sort_window=window)
    pages = sum(1 for _ in pipeline.run(paths))
    wall = time.perf_counter() - started
    stats = engine.stats - before
    assert stats.generated_tokens == ideal, "a page's length was not forced"
    print(
        f"  {name:18} useful decode steps {100 * stats.useful_fraction:5.1f}% "
        f"({stats.decode_steps} paid for {stats.generated_tokens}), "
        f"{pages / wall:5.1f} pages/s"
    )


if __name__ == "__main__":
    main()
