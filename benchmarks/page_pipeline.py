"""Cost of the loader pipeline outside the model, and its memory on long PDFs.

An engine that does no model work isolates what got-loaders itself costs per page: rendering
with PyMuPDF at GOT's size, the render thread and queue, GOT's preprocessing (the page
resized to 1024x1024 and normalised, exactly as the real model's processor does, and the
prompt), Markdown conversion of a fixed page of GOT formatted output and building each
framework's objects (LangChain and LlamaIndex Documents, Unstructured elements). CPU time is
summed over threads: it is what one core would spend. Then the peak RSS of lazily loading
PDFs of growing length, each in a fresh process, shows that memory stays bounded.

    python benchmarks/page_pipeline.py [--pages 200] [--long 10,100,500]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

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


class PreprocessingEngine(NoModelEngine):
    """Does what ``GOTEngine`` does before ``generate`` (RGB, GOT's processor at the real
    model's 1024x1024 through the exact fast path, left-padded batch), then answers as
    ``NoModelEngine``."""

    def __init__(self, fast: bool = True) -> None:
        from got_model.inputs import PixelEncoder

        self.processor = real_size_processor()
        self.encoder = PixelEncoder.for_processor(self.processor, 256) if fast else None
        assert self.encoder is not None or not fast

    def prepare(self, request: OCRRequest) -> OCRRequest:
        from got_model.images import to_rgb

        if self.encoder is None:
            return request
        return self.encoder.prepare(OCRRequest((to_rgb(request.images[0]),), request.task))

    def recognize_batch(self, requests: Sequence[OCRRequest]) -> list[OCRResult]:
        from got_model.images import to_rgb
        from got_model.inputs import collate_left_padded, encode_request
        from got_model.tasks import PreparedRequest

        encodings = [
            encode_request(
                self.processor,
                r if isinstance(r, PreparedRequest) else OCRRequest((to_rgb(r.images[0]),), r.task),
                256,
                self.encoder,
            )
            for r in requests
        ]
        collate_left_padded(encodings, 0)
        return super().recognize_batch(requests)


def real_size_processor() -> Any:
    """GOT's processor as the real checkpoint configures it (PIL backend, 1024x1024), with
    the tiny checkpoint's tokenizer: the prompt's length differs, its cost does not."""
    from transformers import GotOcr2Processor

    from got_model.testing import _build_image_processor, _build_tokenizer

    images = _build_image_processor(1024)
    return GotOcr2Processor(image_processor=images, tokenizer=_build_tokenizer())


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


def best(repeat: int, work: Callable[[], object]) -> tuple[float, float, float]:
    """The least wall, CPU (all threads) and calling-thread CPU seconds ``work`` took in
    ``repeat`` runs. Shared machines stall a process now and then for tens of milliseconds;
    the least time is the one that says what the code costs."""
    walls, cpus, threads = [], [], []
    for _ in range(repeat):
        started, cpu, thread = time.perf_counter(), time.process_time(), time.thread_time()
        work()
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu)
        threads.append(time.thread_time() - thread)
    return min(walls), min(cpus), min(threads)


def overhead(path: Path, pages: int, repeat: int) -> None:
    for name, produce in adapters(path, PreprocessingEngine()).items():
        assert sum(1 for _ in produce()) >= pages  # and warm: imports, fonts
        wall, cpu, thread = best(repeat, lambda: list(produce()))  # noqa: B023  (called at once)
        print(
            f"{name}, no model: {1000 * wall / pages:.1f} ms/page wall, "
            f"{1000 * cpu / pages:.1f} ms/page CPU, of which {1000 * thread / pages:.1f} on "
            f"the model's thread ({pages} pages, {pages / wall:.0f} pages/s)"
        )

    import pymupdf

    pdf = pymupdf.open(path)

    def render() -> None:
        for page in pdf:
            page.get_pixmap(matrix=pymupdf.Matrix(1024 / 792, 1024 / 792))

    print(
        f"  of which PyMuPDF rendering alone: {1000 * best(repeat, render)[1] / pages:.1f} ms/page"
    )
    preprocessing(path, repeat)


def preprocessing(path: Path, repeat: int, count: int = 20) -> None:
    """GOT's preprocessing of one rendered page: the processor as it is, and the fast path."""
    from got_loaders.sources import open_document
    from got_loaders.sources.documents import SourceDocument
    from got_model import FORMATTED
    from got_model.inputs import PixelEncoder, encode_request

    with open_document(SourceDocument.from_input(path), FORMATTED) as source:
        images = [source.render(index).image for index in range(count)]
    processor = real_size_processor()
    encoder = PixelEncoder.for_processor(processor, 256)
    for name, fast in (("GOT's processor as it is", None), ("the exact fast path", encoder)):

        def encode(fast: Any = fast) -> None:
            for image in images:
                encode_request(processor, OCRRequest((image,), FORMATTED), 256, fast)

        print(f"  preprocessing, {name}: {1000 * best(repeat, encode)[1] / count:.1f} ms/page CPU")


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
    parser.add_argument(
        "--long", default="10,100,500", help="page counts of the PDFs whose peak RSS is measured"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; the best counts")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        sample = Path(folder) / "sample.pdf"
        text_pdf(sample, args.pages)
        overhead(sample, args.pages, args.repeat)
        figures = []
        for pages in map(int, args.long.split(",")):
            path = Path(folder) / f"long-{pages}.pdf"
            text_pdf(path, pages)
            figures.append(f"{pages} pages {peak_rss_mb(path):.0f} MB")
        print(f"peak RSS, lazy load (batch 8, default window and prefetch): {', '.join(figures)}")


if __name__ == "__main__":
    main()
