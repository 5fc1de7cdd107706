"""The shared page pipeline: order, batching across files, errors, and a bounded render-ahead."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import pytest

from got_loaders.errors import DocumentError, PasswordError, UnsupportedFormatError
from got_loaders.pipeline import DocumentSkippedWarning, PagePipeline, RecognitionError
from got_loaders.sources.selection import PageSelection
from got_model import FORMATTED, ModelNotAvailableError
from tests.got_loaders.samples import FakeEngine, make_image, make_pdf, read_colour


def read(pipeline: PagePipeline, inputs: list) -> list[tuple[int, int]]:
    return [read_colour(item.page.image) for item in pipeline.run(inputs)]


def test_pages_keep_their_order_across_batches_and_files(engine: FakeEngine) -> None:
    inputs = [make_pdf(0, 2), make_image("TIFF", 1, frames=4), make_pdf(2, 1), make_pdf(3, 3)]
    pipeline = PagePipeline(engine, FORMATTED, batch_size=3)
    results = list(pipeline.run(inputs))
    expected = [(0, 0), (0, 1), (1, 0), (1, 1), (1, 2), (1, 3), (2, 0), (3, 0), (3, 1), (3, 2)]
    assert [read_colour(r.page.image) for r in results] == expected
    # The engine saw full batches that straddle files, in the same order.
    assert [len(batch) for batch in engine.batches] == [3, 3, 3, 1]
    assert [pair for batch in engine.batches for pair in batch] == expected
    # Each result belongs to its page: the fake engine's text names the page it saw.
    for result in results:
        document, page = read_colour(result.page.image)
        assert f"Document {document} page {page}" in result.result.text
        assert result.page.document.position == document
        assert result.page.index == page


def test_page_selection_applies_to_every_document(engine: FakeEngine) -> None:
    pipeline = PagePipeline(engine, FORMATTED, batch_size=2, pages=PageSelection.parse("2-3"))
    assert read(pipeline, [make_pdf(0, 4), make_image("TIFF", 1, frames=3)]) == [
        (0, 1),
        (0, 2),
        (1, 1),
        (1, 2),
    ]


def test_raise_stops_at_the_bad_file_after_yielding_everything_before(engine: FakeEngine) -> None:
    pipeline = PagePipeline(engine, FORMATTED, batch_size=4)
    results = pipeline.run([make_pdf(0, 2), SourceNamed(b"garbage", "broken.pdf"), make_pdf(2, 2)])
    assert [read_colour(next(results).page.image) for _ in range(2)] == [(0, 0), (0, 1)]
    with pytest.raises(UnsupportedFormatError, match="broken"):
        next(results)
    assert all((2, 0) not in batch for batch in engine.batches)  # no OCR after the error


def SourceNamed(data: bytes, name: str):  # type: ignore[no-untyped-def]
    from got_loaders.sources.documents import SourceDocument

    return SourceDocument.from_input(data, name=name)


def test_skip_goes_on_after_bad_files_and_logs_them(
    engine: FakeEngine, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    inputs = [
        SourceNamed(make_pdf(0, 2, password="pw"), "locked.pdf"),
        make_pdf(1, 2),
        tmp_path / "missing.pdf",
        SourceNamed(b"", "empty.png"),
        make_pdf(4, 1),
    ]
    pipeline = PagePipeline(engine, FORMATTED, batch_size=2, on_error="skip")
    with caplog.at_level(logging.WARNING, logger="got_loaders"):
        assert read(pipeline, inputs) == [(1, 0), (1, 1), (4, 0)]
    logged = caplog.text
    assert "locked.pdf" in logged
    assert "missing.pdf" in logged
    assert "empty.png" in logged


def test_warn_issues_a_warning_per_skipped_document(engine: FakeEngine) -> None:
    pipeline = PagePipeline(engine, FORMATTED, on_error="warn")
    with pytest.warns(DocumentSkippedWarning, match="locked.pdf"):
        assert read(pipeline, [SourceNamed(make_pdf(0, 1, password="x"), "locked.pdf")]) == []


def test_a_page_the_engine_fails_on_is_isolated_and_the_rest_is_read() -> None:
    engine = FakeEngine(fail_on=[(0, 2)])
    pipeline = PagePipeline(engine, FORMATTED, batch_size=4, on_error="skip")
    assert read(pipeline, [make_pdf(0, 5)]) == [(0, 0), (0, 1), (0, 3), (0, 4)]


def test_engine_failure_with_raise_yields_the_pages_before_then_names_the_page() -> None:
    pipeline = PagePipeline(FakeEngine(fail_on=[(0, 2)]), FORMATTED, batch_size=8)
    results = pipeline.run([SourceNamed(make_pdf(0, 4), "paper.pdf")])
    assert [read_colour(next(results).page.image) for _ in range(2)] == [(0, 0), (0, 1)]
    with pytest.raises(RecognitionError, match=r"paper\.pdf, page 3: OCR failed") as info:
        next(results)
    assert isinstance(info.value.__cause__, RuntimeError)


def test_a_batch_that_fails_as_a_whole_is_read_page_by_page() -> None:
    class NoBatches(FakeEngine):
        def recognize_batch(self, requests):  # type: ignore[no-untyped-def]
            if len(requests) > 1:
                raise RuntimeError("out of memory")
            return super().recognize_batch(requests)

    pipeline = PagePipeline(NoBatches(), FORMATTED, batch_size=3)
    assert read(pipeline, [make_pdf(0, 4)]) == [(0, 0), (0, 1), (0, 2), (0, 3)]


def test_unexpected_exceptions_while_rendering_become_document_errors(
    engine: FakeEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from got_loaders.sources import pdf as pdf_module

    original = pdf_module.PdfSource.render

    def flaky(self, index):  # type: ignore[no-untyped-def]
        if index == 1:
            raise KeyError("surprise")
        return original(self, index)

    monkeypatch.setattr(pdf_module.PdfSource, "render", flaky)
    pipeline = PagePipeline(engine, FORMATTED, on_error="skip")
    assert read(pipeline, [make_pdf(0, 3), make_pdf(1, 1)]) == [(0, 0), (0, 2), (1, 0)]
    with pytest.raises(DocumentError, match="page 2: Unexpected KeyError") as info:
        read(PagePipeline(engine, FORMATTED), [make_pdf(0, 3)])
    assert isinstance(info.value.__cause__, KeyError)


def test_recognition_error_names_file_and_page() -> None:
    engine = FakeEngine(fail_on=[(0, 1)])
    pipeline = PagePipeline(engine, FORMATTED, batch_size=1, on_error="warn")
    with pytest.warns(DocumentSkippedWarning) as caught:
        read(pipeline, [SourceNamed(make_pdf(0, 2), "paper.pdf")])
    assert "paper.pdf, page 2: OCR failed" in str(caught[0].message)


def test_missing_weights_are_never_skipped() -> None:
    class NoWeights(FakeEngine):
        def recognize_batch(self, requests):  # type: ignore[no-untyped-def]
            raise ModelNotAvailableError("stepfun-ai/GOT-OCR-2.0-hf", None, "offline")

    pipeline = PagePipeline(NoWeights(), FORMATTED, on_error="skip")
    with pytest.raises(ModelNotAvailableError):
        read(pipeline, [make_pdf(0, 2)])


def test_engine_returning_the_wrong_number_of_results_is_an_error() -> None:
    class Short(FakeEngine):
        def recognize_batch(self, requests):  # type: ignore[no-untyped-def]
            return super().recognize_batch(requests)[:-1]

    with pytest.raises(RecognitionError, match="returned 0 results for 1 requests"):
        read(PagePipeline(Short(), FORMATTED, batch_size=2), [make_pdf(0, 2)])


@pytest.mark.parametrize("sort_window", [0, 3])
def test_render_ahead_is_bounded(engine: FakeEngine, sort_window: int) -> None:
    """While the consumer holds the first page, the thread renders only the window being read
    and ``prefetch`` more."""
    rendered: list[int] = []
    from got_loaders.sources import pdf as pdf_module

    original = pdf_module.PdfSource.render

    def counting_render(self, index):  # type: ignore[no-untyped-def]
        rendered.append(index)
        return original(self, index)

    pdf_module.PdfSource.render = counting_render  # type: ignore[method-assign]
    try:
        pipeline = PagePipeline(
            engine, FORMATTED, batch_size=1, prefetch=2, sort_window=sort_window
        )
        results = pipeline.run([make_pdf(0, 12)])
        next(results)
        time.sleep(0.5)
        # one window (at least a batch) read, at most prefetch queued, one blocked in put
        assert len(rendered) <= max(1, sort_window) + 2 + 1
        results.close()
    finally:
        pdf_module.PdfSource.render = original  # type: ignore[method-assign]


def test_closing_early_stops_the_render_thread(engine: FakeEngine) -> None:
    before = {t for t in threading.enumerate() if t.name == "got-loaders-render"}
    results = PagePipeline(engine, FORMATTED, batch_size=1, prefetch=1).run([make_pdf(0, 15)])
    next(results)
    results.close()
    after = {t for t in threading.enumerate() if t.name == "got-loaders-render"}
    assert after <= before


def test_a_bug_in_the_render_thread_reaches_the_caller(engine: FakeEngine) -> None:
    with pytest.raises(TypeError, match="binary file object"):
        read(PagePipeline(engine, FORMATTED), [make_pdf(0, 1), 3.5])


def test_invalid_settings_are_rejected(engine: FakeEngine) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        PagePipeline(engine, FORMATTED, batch_size=0)
    with pytest.raises(ValueError, match="prefetch"):
        PagePipeline(engine, FORMATTED, prefetch=0)
    with pytest.raises(ValueError, match="on_error"):
        PagePipeline(engine, FORMATTED, on_error="ignore")


def test_errors_are_document_errors() -> None:
    assert issubclass(PasswordError, DocumentError)
    assert issubclass(RecognitionError, DocumentError)
