"""What the result cache saves: the same pages read twice, the second time from the cache.

Runs the loaders' page pipeline over one PDF twice with a fresh cache file: the first run
reads every page with the model and fills the cache, the second run (a new engine, as in a new
process) finds every page there. Prints the wall time of each run, pages/s, their ratio, and
whether the second run had to load the model at all.

By default the model is the tiny checkpoint (GOT's real architecture at toy size, random
weights, built here), so the first run's cost stands for "some model work"; pass ``--model``
with the real weights, on a GPU, for real figures.

    python benchmarks/result_cache.py [--pages 100] [--max-new-tokens 64] [--model PATH]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from page_pipeline import text_pdf

from got_loaders import PagePipeline, ResultCache
from got_model import FORMATTED, GOTEngine


def timed_run(
    engine: GOTEngine, pdf: Path, cache: ResultCache, batch_size: int
) -> tuple[float, int, int]:
    """Wall seconds, pages read and pages served by the cache for one pass over ``pdf``."""
    pipeline = PagePipeline(engine, FORMATTED, batch_size=batch_size, cache=cache)
    started = time.perf_counter()
    pages = cached = 0
    for item in pipeline.run([pdf]):
        item.result.markdown  # noqa: B018  (what every loader does with a page)
        pages += 1
        cached += item.cached
    return time.perf_counter() - started, pages, cached


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--model", help="a GOT checkpoint (default: build the tiny one)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=8)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        model = args.model
        if model is None:
            from got_model.testing import build_tiny_checkpoint

            model = build_tiny_checkpoint(folder / "tiny")
        pdf = folder / "pages.pdf"
        text_pdf(pdf, args.pages)
        settings = {
            "device": args.device,
            "batch_size": args.batch_size,
            "max_new_tokens": args.max_new_tokens,
        }
        first_engine = GOTEngine(model, **settings)
        started = time.perf_counter()
        first_engine.load()
        print(f"model: {model} ({time.perf_counter() - started:.1f} s to load, not timed below)")
        cache = ResultCache(folder / "cache.sqlite3")
        first, pages, _ = timed_run(first_engine, pdf, cache, args.batch_size)
        second_engine = GOTEngine(model, **settings)  # unloaded, as in a fresh process
        second, again, hits = timed_run(second_engine, pdf, cache, args.batch_size)
        size = cache.info().size_bytes
        cache.close()

    print(f"pages: {pages}, max new tokens: {args.max_new_tokens}, batch size: {args.batch_size}")
    print(f"first run (model):   {first:8.2f} s  {pages / first:8.1f} pages/s")
    print(f"second run (cache):  {second:8.2f} s  {again / second:8.1f} pages/s")
    print(f"ratio first/second:  {first / second:8.1f}x")
    loaded = second_engine.is_loaded
    print(f"second run: {hits}/{again} pages from the cache, model loaded: {loaded}")
    print(f"cache file: {size / 1024:.0f} KiB ({size / max(pages, 1):.0f} bytes/page)")


if __name__ == "__main__":
    main()
