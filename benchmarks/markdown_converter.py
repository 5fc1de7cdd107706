"""Throughput of the GOT -> Markdown converter on one core.

Converts every golden GOT output in tests/data/got_markdown (realistic pages: papers,
tables, lists, math, truncated and looping outputs), one output per call as the loaders
do, and prints MB of GOT output converted per second of CPU time (the converter is
single-threaded pure Python, so that is one core). Each figure is the median and the best
of many timed passes: on a shared machine the best pass is the converter's own cost and
the median shows what the neighbours left. A last figure converts the whole corpus
joined into one ~1 MB text, to show the cost grows linearly. The target is >= 1 MB/s.

    python benchmarks/markdown_converter.py [--passes 40]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from got_model import OutputFormat
from got_model.markdown import convert

CORPUS = Path(__file__).parents[1] / "tests" / "data" / "got_markdown"


def _rates(texts: list[str], output: OutputFormat, passes: int) -> tuple[float, float]:
    """(median, best) MB/s over ``passes`` timed conversions of all ``texts``."""
    size = sum(len(t.encode("utf-8")) for t in texts)
    rates = []
    for _ in range(passes):
        started = time.process_time()
        for text in texts:
            convert(text, output).markdown  # noqa: B018 - rendering is part of the cost
        elapsed = max(time.process_time() - started, 1e-9)
        rates.append(size / elapsed / 1e6)
    return statistics.median(rates), max(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=40, help="timed passes per figure")
    args = parser.parse_args()

    paths = sorted(CORPUS.glob("*.got"))
    texts = [p.read_text(encoding="utf-8") for p in paths]
    size = sum(len(t.encode("utf-8")) for t in texts)
    started = time.process_time()
    for text in texts:  # first use imports pylatexenc and compiles the patterns
        convert(text).markdown  # noqa: B018
    first = time.process_time() - started
    print(f"corpus: {len(texts)} GOT outputs, {size / 1e3:.1f} kB; first pass {first:.2f} s")

    for label, output in (("formatted", OutputFormat.FORMATTED), ("plain", OutputFormat.PLAIN)):
        median, best = _rates(texts, output, args.passes)
        print(f"{label:9}, one output per call: median {median:.2f} MB/s, best {best:.2f} MB/s")
    big = "\n".join(texts) * max(1, round(1e6 / size))
    median, best = _rates([big], OutputFormat.FORMATTED, max(3, args.passes // 10))
    print(f"formatted, one {len(big) / 1e6:.1f} MB text: median {median:.2f} MB/s, best {best:.2f}")
    per_case = sorted(
        (_rates([text], OutputFormat.FORMATTED, args.passes)[0], path.stem)
        for path, text in zip(paths, texts, strict=True)
        if text.strip()
    )
    print("slowest cases (median MB/s): " + ", ".join(f"{n} {r:.2f}" for r, n in per_case[:3]))


if __name__ == "__main__":
    main()
