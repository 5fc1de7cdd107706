"""Pages per second for strategy="text" and "auto" against "ocr" on a born-digital PDF.

The PDF is a report made here: every page a heading and paragraphs of prose; every 10th page
also a ruled table and every 15th a line of math, which "auto" sends to the model. Each
strategy runs the loaders' page pipeline over the whole file; the figure is the best of
``--repeat`` runs (this machine's timings are noisy). The model is the tiny checkpoint (GOT's
real architecture at toy size, random weights, built here) unless ``--model`` names the real
weights: on a CPU its "ocr" figure is a floor on what the real model costs, not a measurement
of it. With pymupdf4llm installed (PyMuPDF 2 brings it), its ``to_markdown`` is timed too, last,
because importing it switches on PyMuPDF's layout analysis for the whole process.

    python benchmarks/strategy.py [--pages 60] [--repeat 3] [--model PATH] [--device auto]
"""

from __future__ import annotations

import argparse
import collections
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from got_loaders import PagePipeline
from got_model import FORMATTED, GOTEngine, OCREngine

WORDS = (
    "the model reads each page of the report and writes its text as markdown so that a "
    "retrieval system can split it into passages embed them and find them again when a "
    "question arrives from a user who wants to know what the quarterly figures said about "
    "revenue costs staff and the outlook for the coming year in every region we serve"
).split()


def report_pdf(path: Path, pages: int) -> None:
    """A born-digital report of ``pages`` pages (see the module's docstring)."""
    import pymupdf

    pdf = pymupdf.open()
    for number in range(1, pages + 1):
        page = pdf.new_page(width=612, height=792)
        page.insert_text((72, 72), f"{number} Section {number}", fontsize=16, fontname="hebo")
        y = 100.0
        for paragraph in range(4):
            start = (number * 7 + paragraph * 13) % len(WORDS)
            text = " ".join((WORDS * 3)[start : start + 90]).capitalize() + "."
            page.insert_textbox(pymupdf.Rect(72, y, 540, y + 110), text, fontsize=10)
            y += 120
        if number % 10 == 0:
            for row in range(4):
                page.draw_line((72, y + row * 20), (400, y + row * 20))
            for x in (72, 200, 300, 400):
                page.draw_line((x, y), (x, y + 60))
            for row in range(3):
                for column, x in enumerate((72, 200, 300)):
                    page.insert_text((x + 4, y + row * 20 + 14), f"r{row}c{column}", fontsize=9)
        if number % 15 == 0:
            writer = pymupdf.TextWriter(page.rect)
            formula = "\u2211 x\u1d62 \u2264 \u222b f(x) dx, \u2200 x \u2208 S"
            writer.append((72, 740), formula, font=pymupdf.Font("cjk"), fontsize=11)
            writer.write_text(page)
    pdf.subset_fonts()
    pdf.save(path, garbage=3, deflate=True)


def best(repeat: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def run(engine: OCREngine, pdf: Path, strategy: str, batch_size: int) -> collections.Counter[str]:
    """One pass; the routes taken, as "route/reason" counts."""
    pipeline = PagePipeline(engine, FORMATTED, batch_size=batch_size, strategy=strategy)
    taken: collections.Counter[str] = collections.Counter()
    for item in pipeline.run([pdf]):
        item.converted.markdown  # noqa: B018  (what every loader does with a page)
        taken[f"{item.route.route.value}/{item.route.reason.value}"] += 1
    return taken


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--model", help="a GOT checkpoint (default: build the tiny one)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=8)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        pdf = folder / "report.pdf"
        report_pdf(pdf, args.pages)
        model = args.model
        if model is None:
            from got_model.testing import build_tiny_checkpoint

            model = build_tiny_checkpoint(folder / "tiny")
        engine = GOTEngine(
            model,
            device=args.device,
            batch_size=args.batch_size,
            max_new_tokens=args.max_new_tokens,
        )
        engine.load()  # not timed
        print(f"PDF: {args.pages} born-digital pages; model: {model}")
        print(f"batch size {args.batch_size}, max new tokens {args.max_new_tokens}")
        print(f"{'strategy':<12} {'seconds':>8} {'pages/s':>9} {'vs ocr':>8}  routes")
        seconds: dict[str, float] = {}
        for strategy in ("ocr", "auto", "text"):
            taken: collections.Counter[str] = collections.Counter()

            def once(strategy: str = strategy, taken: collections.Counter[str] = taken) -> None:
                taken.clear()
                taken.update(run(engine, pdf, strategy, args.batch_size))

            repeat = 1 if strategy == "ocr" and args.model else args.repeat
            seconds[strategy] = best(repeat, once)
            ratio = seconds["ocr"] / seconds[strategy]
            routes = ", ".join(f"{key} {count}" for key, count in sorted(taken.items()))
            rate = args.pages / seconds[strategy]
            print(f"{strategy:<12} {seconds[strategy]:8.2f} {rate:9.1f} {ratio:7.1f}x  {routes}")
        _pymupdf4llm(pdf, args.pages, args.repeat)


def _pymupdf4llm(pdf: Path, pages: int, repeat: int) -> None:
    try:
        import pymupdf4llm
    except ImportError:
        print("pymupdf4llm: not installed")
        return
    elapsed = best(repeat, lambda: pymupdf4llm.to_markdown(str(pdf), show_progress=False))
    print(f"{'pymupdf4llm':<12} {elapsed:8.2f} {pages / elapsed:9.1f}  (to_markdown, whole file)")


if __name__ == "__main__":
    main()
