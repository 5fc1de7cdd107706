"""Cost of the loader pipeline outside the model, and its memory on long PDFs.

An engine that does no model work (it returns a fixed page of GOT formatted output) isolates
what got-loaders itself costs per page: rendering with PyMuPDF at GOT's size, the render
thread and queue, Markdown conversion and building each framework's objects (LangChain and
LlamaIndex Documents, Unstructured elements). Then the peak RSS of
lazily loading a short and a long PDF, each in a fresh process, shows whether memory stays
flat.

    python benchmarks/page_pipeline.py [--pages 200] [--long 500]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from got_model import FinishReason, OCREngine, OCRRequest, OCRResult

GOT_PAGE = (
    "\\section*{Results}\nThe model reads \\(x^2 + y^2 = z^2\\) and writes text.\n"
    "\\begin{tabular}{|l|r|}\n\\hline Name & Value \\\\\n\\hline Alpha & 1.5 \\\\\n"
    "\\hline\n\\end{tabular}\n" + "A sentence of ordinary body text on the page. " * 40
)


class NoModelEngine(OCREngine):
    """Returns the same GOT output for every page, instantly."""

    @property
    def model_id(self) -> str:
        return "no-model"

    def recognize_batch(self, requests: Sequence[OCRRequest]) -> list[OCRResult]:
        return [
            OCRResult(GOT_PAGE, FinishReason.STOP, 400, 0.0, request.task) for request in requests
        ]


def text_pdf(path: Path, pages: int) -> None:
    """A born-digital PDF whose pages are full of text, as a paper's would be."""
    import pymupdf

    pdf = pymupdf.open()
    body = "Body text of a typical page, set in a proportional font. " * 60
    for number in range(pages):
        page = pdf.new_page(width=612, height=792)
        page.insert_text((72, 60), f"Section {number + 1}", fontsize=18)
        page.insert_textbox(pymupdf.Rect(72, 80, 540, 740), body, fontsize=10)
    pdf.save(path)


def adapters(path: Path, engine: OCREngine) -> dict[str, Callable[[], Iterable[object]]]:
    """What each framework adapter produces from ``path``: Documents, or elements."""
    from got_loaders.langchain import GOTPDFLoader
    from got_loaders.llamaindex import GOTReader
    from got_loaders.unstructured import partition_got

    return {
        "LangChain GOTPDFLoader": GOTPDFLoader(path, engine=engine, batch_size=8).lazy_load,
        "LlamaIndex GOTReader": lambda: GOTReader(engine=engine, batch_size=8).lazy_load_data(path),
        # languages=[""]: no language detection, whose cost depends on the text, not on us
        "Unstructured partition_got": lambda: partition_got(
            str(path), engine=engine, batch_size=8, languages=[""]
        ),
    }


def overhead(path: Path, pages: int) -> None:
    for name, produce in adapters(path, NoModelEngine()).items():
        list(produce())  # warm: imports, fonts
        started, cpu = time.perf_counter(), time.process_time()
        produced = sum(1 for _ in produce())
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        assert produced >= pages
        print(
            f"{name}, no model: {1000 * wall / pages:.1f} ms/page wall, "
            f"{1000 * cpu / pages:.1f} ms/page CPU ({pages} pages, {pages / wall:.0f} pages/s)"
        )

    import pymupdf

    pdf = pymupdf.open(path)
    started = time.perf_counter()
    for page in pdf:
        page.get_pixmap(matrix=pymupdf.Matrix(1024 / 792, 1024 / 792))
    render = time.perf_counter() - started
    print(f"  of which PyMuPDF rendering alone: {1000 * render / pages:.1f} ms/page")


def peak_rss_mb(path: Path) -> float:
    """Peak RSS of a fresh process that lazily loads every page of ``path``.

    On Linux the child reads its own high-water mark (``VmHWM``): ``ru_maxrss`` would also
    count the parent's memory at fork time, which grows with whatever the parent imported.
    """
    code = (
        "import resource, sys\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from page_pipeline import NoModelEngine\n"
        "from got_loaders.langchain import GOTPDFLoader\n"
        f"for _ in GOTPDFLoader({str(path)!r}, engine=NoModelEngine()).lazy_load():\n"
        "    pass\n"
        "try:\n"
        "    with open('/proc/self/status') as status:\n"
        "        kb = next(line.split()[1] for line in status if line.startswith('VmHWM:'))\n"
        "except OSError:\n"
        "    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print(kb)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(done.stdout.split()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=200, help="pages for the overhead figure")
    parser.add_argument("--long", type=int, default=500, help="pages of the long PDF")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        short, long = Path(folder) / "short.pdf", Path(folder) / "long.pdf"
        text_pdf(short, 10)
        text_pdf(long, args.long)
        sample = Path(folder) / "sample.pdf"
        text_pdf(sample, args.pages)
        overhead(sample, args.pages)
        short_rss, long_rss = peak_rss_mb(short), peak_rss_mb(long)
        print(
            f"peak RSS, lazy load: 10 pages {short_rss:.0f} MB, {args.long} pages "
            f"{long_rss:.0f} MB (+{long_rss - short_rss:.0f} MB)"
        )


if __name__ == "__main__":
    main()
