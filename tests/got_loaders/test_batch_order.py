"""Pages of like length share a batch; results still come in reading order, and soon."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from PIL import Image, ImageOps

from got_loaders.pipeline import PagePipeline, PageResult, ink
from got_model import FORMATTED, ModelLoadError, OCRRequest, OCRResult
from tests.got_loaders.samples import FakeEngine, page_colour, read_colour

LINE = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor."


def text_pdf(lines: Sequence[int], document: int = 0) -> bytes:
    """A white page per entry with that many lines of text, and the page's colour code in a
    small square at its centre (where ``read_colour`` looks)."""
    import pymupdf

    pdf = pymupdf.open()
    for index, count in enumerate(lines):
        page = pdf.new_page(width=612, height=792)
        for line in range(count):
            page.insert_text((36, 40 + 12 * line), LINE, fontsize=10)
        square = pymupdf.Rect(296, 386, 316, 406)
        page.draw_rect(square, color=None, fill=[c / 255 for c in page_colour(document, index)])
    data = pdf.tobytes()
    pdf.close()
    return data


def rendered(lines: int) -> Image.Image:
    from got_loaders.sources import open_document
    from got_loaders.sources.documents import SourceDocument
    from got_loaders.sources.pdf import PdfSource  # noqa: F401  (renders as the pipeline does)

    with open_document(SourceDocument.from_input(text_pdf([lines])), FORMATTED) as source:
        return source.render(0).image


def test_ink_grows_with_the_text_on_a_page() -> None:
    blank, short, long = rendered(0), rendered(3), rendered(25)
    assert ink(Image.new("RGB", (792, 1024), "white")) == 0.0
    assert ink(blank) < ink(short) < ink(long)
    assert ink(long) > 4 * ink(short)


def test_ink_reads_light_text_on_a_dark_page_as_dark_text_on_a_light_one() -> None:
    page = rendered(25)
    assert ink(ImageOps.invert(page)) == pytest.approx(ink(page), rel=0.05)


SHORT, LONG = 1, 30
ALTERNATING = [SHORT, LONG] * 4  # pages 0, 2, 4, 6 short; 1, 3, 5, 7 long


def long_page(page: tuple[int, int]) -> bool:
    return ALTERNATING[page[1]] == LONG


def read(pipeline: PagePipeline, data: bytes) -> list[PageResult]:
    return list(pipeline.run([data]))


def test_pages_of_like_length_share_a_batch_and_come_back_in_reading_order() -> None:
    engine = FakeEngine()
    results = read(
        PagePipeline(engine, FORMATTED, batch_size=2, sort_window=8), text_pdf(ALTERNATING)
    )
    assert [read_colour(r.page.image) for r in results] == [(0, p) for p in range(8)]
    assert sorted(page for batch in engine.batches for page in batch) == [(0, p) for p in range(8)]
    assert [len(batch) for batch in engine.batches] == [2, 2, 2, 2]
    for batch in engine.batches:
        assert len({long_page(page) for page in batch}) == 1, engine.batches
    # Each result is its own page's.
    for result in results:
        assert f"page {result.page.index}}}" in result.result.text


def test_batches_run_in_order_of_their_first_page() -> None:
    engine = FakeEngine()
    read(PagePipeline(engine, FORMATTED, batch_size=2, sort_window=8), text_pdf(ALTERNATING))
    firsts = [min(page[1] for page in batch) for batch in engine.batches]
    assert firsts == sorted(firsts)
    assert (0, 0) in engine.batches[0]


def test_sort_window_0_keeps_reading_order() -> None:
    engine = FakeEngine()
    read(PagePipeline(engine, FORMATTED, batch_size=2, sort_window=0), text_pdf(ALTERNATING))
    assert engine.batches == [[(0, p), (0, p + 1)] for p in range(0, 8, 2)]


def test_the_default_window_is_four_batches() -> None:
    pipeline = PagePipeline(FakeEngine(), FORMATTED, batch_size=3)
    assert pipeline.sort_window == 12
    assert pipeline.prefetch >= pipeline.sort_window  # the next window renders meanwhile


def test_a_result_comes_as_soon_as_its_turn_has_come() -> None:
    engine = FakeEngine()
    pipeline = PagePipeline(engine, FORMATTED, batch_size=2, sort_window=8)
    stream = pipeline.run([text_pdf(ALTERNATING)])
    first = next(stream)
    assert read_colour(first.page.image) == (0, 0)
    assert len(engine.batches) == 1  # not the whole window
    assert len(list(stream)) == 7


def test_a_fatal_error_in_a_later_batch_keeps_the_pages_before_it() -> None:
    engine = FakeEngine()
    recognize = engine.recognize_batch

    def dies_on_page_6(requests: Sequence[OCRRequest]) -> list[OCRResult]:
        if any(read_colour(request.images[0]) == (0, 5) for request in requests):
            raise ModelLoadError("the GPU fell off the bus")
        return recognize(requests)

    engine.recognize_batch = dies_on_page_6  # type: ignore[method-assign]
    pipeline = PagePipeline(engine, FORMATTED, batch_size=2, sort_window=8)
    seen: list[tuple[int, int]] = []

    def consume() -> None:
        for result in pipeline.run([text_pdf(ALTERNATING)]):
            seen.append(read_colour(result.page.image))

    with pytest.raises(ModelLoadError):
        consume()
    # Batches {0,2} {1,3} {4,6} ran before {5,7}: pages 1-5 were handed out.
    assert seen == [(0, p) for p in range(5)]


def test_the_engine_prepares_each_page_on_the_render_thread() -> None:
    import threading

    class Preparing(FakeEngine):
        def __init__(self) -> None:
            super().__init__()
            self.threads: set[str] = set()
            self.prepared: set[int] = set()

        def prepare(self, request: OCRRequest) -> OCRRequest:
            self.threads.add(threading.current_thread().name)
            self.prepared.add(id(request))
            return request

        def recognize_batch(self, requests: Sequence[OCRRequest]) -> list[OCRResult]:
            assert all(id(request) in self.prepared for request in requests)
            return super().recognize_batch(requests)

    engine = Preparing()
    results = read(PagePipeline(engine, FORMATTED, batch_size=2), text_pdf([1, 2, 3]))
    assert len(results) == 3
    assert engine.threads == {"got-loaders-render"}
    assert len(engine.prepared) == 3


def test_an_engine_whose_prepare_fails_still_reads_every_page() -> None:
    class Failing(FakeEngine):
        def prepare(self, request: OCRRequest) -> OCRRequest:
            raise RuntimeError("prepare is broken")

    results = read(PagePipeline(Failing(), FORMATTED, batch_size=2), text_pdf([1, 2, 3]))
    assert [read_colour(r.page.image) for r in results] == [(0, 0), (0, 1), (0, 2)]
