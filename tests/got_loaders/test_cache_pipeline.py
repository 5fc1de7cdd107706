"""The result cache in the page pipeline and every adapter, against the fake engine."""

from __future__ import annotations

import json
import logging
import pickle
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from got_loaders.pipeline import PagePipeline, PageResult
from got_loaders.sources.selection import PageSelection
from got_model import FORMATTED, PLAIN, OCRRequest, OCRResult, OCRTask
from got_model.cache import CacheError, ResultCache
from tests.got_loaders.samples import FakeEngine, make_image, make_pdf, page_colour, read_colour


@pytest.fixture
def cache_path(tmp_path: Path) -> Path:
    return tmp_path / "cache" / "results.sqlite3"


def run(
    engine: FakeEngine,
    inputs: list[Any],
    cache: ResultCache | None,
    task: OCRTask = FORMATTED,
    **options: Any,
) -> list[PageResult]:
    return list(PagePipeline(engine, task, cache=cache, **options).run(inputs))


def pages_of(results: Sequence[PageResult]) -> list[tuple[int, int]]:
    return [read_colour(item.page.image) for item in results]


def summary(results: Sequence[PageResult]) -> list[tuple[Any, ...]]:
    """Everything a page result tells, as comparable values."""
    return [
        (
            item.page.document.source,
            item.page.document.position,
            item.page.document.total_pages,
            item.page.index,
            item.page.label,
            item.page.image.size,
            item.result,
        )
        for item in results
    ]


def flat(batches: list[list[tuple[int, int]]]) -> list[tuple[int, int]]:
    return [pair for batch in batches for pair in batch]


def long_pdf(pages: int) -> bytes:
    """A PDF of more pages than ``make_pdf`` encodes: page i reads as (i // 15, i % 15)."""
    import pymupdf

    pdf = pymupdf.open()
    for index in range(pages):
        page = pdf.new_page(width=200, height=260)
        fill = tuple(c / 255 for c in page_colour(index // 15, index % 15))
        page.draw_rect(page.rect, color=None, fill=fill)
    data = pdf.tobytes()
    pdf.close()
    return data


def with_changed_page(data: bytes, index: int) -> bytes:
    """The same PDF with a small mark in a corner of page ``index`` (its colour code stays)."""
    import pymupdf

    pdf = pymupdf.open(stream=data, filetype="pdf")
    page = pdf[index]
    page.draw_rect(pymupdf.Rect(10, 10, 60, 60), color=None, fill=(0, 0, 0))
    changed = pdf.tobytes()
    pdf.close()
    return changed


# -- the pipeline ---------------------------------------------------------------------------


def test_a_second_run_makes_no_engine_call_and_yields_the_same_pages(
    tmp_path: Path, cache_path: Path
) -> None:
    path = tmp_path / "on-disk.pdf"
    path.write_bytes(make_pdf(2, 2))
    inputs = [make_pdf(0, 3), make_image("PNG", 1), path]
    first_engine = FakeEngine()
    first = run(first_engine, inputs, ResultCache(cache_path), batch_size=4)
    assert flat(first_engine.batches) == [(0, 0), (0, 1), (0, 2), (1, 0), (2, 0), (2, 1)]
    assert ResultCache(cache_path).info().entries == 6

    again_engine = FakeEngine()
    again = run(again_engine, inputs, ResultCache(cache_path), batch_size=4)
    assert again_engine.batches == []
    assert pages_of(again) == pages_of(first)
    assert summary(again) == summary(first)
    for cached, read in zip(again, first, strict=True):
        assert cached.page.image.tobytes() == read.page.image.tobytes()
    # And the same as without any cache.
    assert summary(run(FakeEngine(), inputs, None, batch_size=4)) == summary(first)


def test_results_are_stored_once_per_batch(cache_path: Path) -> None:
    calls: list[int] = []

    class Recording(ResultCache):
        def put_many(self, items: Any, model: str = "") -> None:
            items = list(items)
            calls.append(len(items))
            super().put_many(items, model)

    run(FakeEngine(), [make_pdf(0, 6)], Recording(cache_path), batch_size=4)
    assert calls == [4, 2]
    assert dict(ResultCache(cache_path).info().models) == {"fake/got": 6}


def test_the_key_is_the_content_not_the_path(tmp_path: Path, cache_path: Path) -> None:
    original = tmp_path / "original.pdf"
    original.write_bytes(make_pdf(0, 3))
    first = run(FakeEngine(), [original], ResultCache(cache_path))

    elsewhere = tmp_path / "somewhere" / "renamed copy.pdf"
    elsewhere.parent.mkdir()
    shutil.copyfile(original, elsewhere)
    engine = FakeEngine()
    copied = run(engine, [elsewhere], ResultCache(cache_path))
    assert engine.batches == []
    assert [item.result for item in copied] == [item.result for item in first]
    assert {item.page.document.file_path for item in copied} == {str(elsewhere)}
    # The same bytes handed over in memory hit too.
    run(engine, [original.read_bytes()], ResultCache(cache_path))
    assert engine.batches == []


def test_a_changed_page_misses_alone(cache_path: Path) -> None:
    data = make_pdf(0, 4)
    run(FakeEngine(), [data], ResultCache(cache_path))
    engine = FakeEngine()
    results = run(engine, [with_changed_page(data, 2)], ResultCache(cache_path))
    assert engine.batches == [[(0, 2)]]
    assert pages_of(results) == [(0, 0), (0, 1), (0, 2), (0, 3)]


def test_another_task_or_engine_misses(cache_path: Path) -> None:
    data = make_pdf(0, 2)
    run(FakeEngine(), [data], ResultCache(cache_path), FORMATTED)
    engine = FakeEngine()
    plain = run(engine, [data], ResultCache(cache_path), PLAIN)
    assert engine.batches == [[(0, 0), (0, 1)]]
    assert {item.result.task for item in plain} == {PLAIN}
    # The formatted results are still there, and the plain ones now too.
    run(engine, [data], ResultCache(cache_path), FORMATTED)
    run(engine, [data], ResultCache(cache_path), PLAIN)
    assert len(engine.batches) == 1

    class OtherModel(FakeEngine):
        @property
        def model_id(self) -> str:
            return "fake/other"

    other = OtherModel()
    run(other, [data], ResultCache(cache_path), FORMATTED)
    assert other.batches == [[(0, 0), (0, 1)]]


def test_partial_hits_fill_whole_batches_with_misses_only(cache_path: Path) -> None:
    data = make_pdf(0, 14)
    cached_pages = PageSelection.parse("1,3,5,7,9,11,13")  # indices 0, 2, ..., 12
    run(FakeEngine(), [data], ResultCache(cache_path), pages=cached_pages)
    engine = FakeEngine()
    results = run(engine, [data], ResultCache(cache_path), batch_size=4, sort_window=0)
    assert pages_of(results) == [(0, page) for page in range(14)]
    assert engine.batches == [
        [(0, 1), (0, 3), (0, 5), (0, 7)],
        [(0, 9), (0, 11), (0, 13)],
    ]
    # Every result belongs to its page, cached or not.
    for item in results:
        document, page = read_colour(item.page.image)
        assert f"Document {document} page {page}" in item.result.text


def test_mixed_hits_and_misses_across_files_keep_document_order(cache_path: Path) -> None:
    inputs = [make_pdf(0, 4), make_image("TIFF", 1, frames=3), make_pdf(2, 5), make_image("PNG", 3)]
    selection = PageSelection.parse("2-3")  # the one-page PNG has none: skipped
    run(FakeEngine(), inputs, ResultCache(cache_path), pages=selection, on_error="skip")
    reference = run(FakeEngine(), inputs, None, batch_size=3)
    expected = [
        *[(0, p) for p in range(4)],
        *[(1, p) for p in range(3)],
        *[(2, p) for p in range(5)],
        (3, 0),
    ]
    assert pages_of(reference) == expected
    engine = FakeEngine()
    results = run(engine, inputs, ResultCache(cache_path), batch_size=3, sort_window=0)
    assert pages_of(results) == expected
    assert summary(results) == summary(reference)
    misses = [(0, 0), (0, 3), (1, 0), (2, 0), (2, 3), (2, 4), (3, 0)]
    assert flat(engine.batches) == misses
    assert [len(batch) for batch in engine.batches] == [3, 3, 1]


class BrokenCache(ResultCache):
    """Every lookup fails as a broken disk would."""

    def get(self, key: str, task: OCRTask) -> OCRResult | None:
        raise CacheError(f"Cannot read the result cache {self.path}: disk I/O error.")

    def get_many(self, keys: Sequence[str], tasks: Sequence[OCRTask]) -> list[OCRResult | None]:
        raise CacheError(f"Cannot read the result cache {self.path}: disk I/O error.")


def test_failing_lookups_lose_no_page_and_log_a_warning(
    cache_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    inputs = [make_pdf(0, 3), make_image("PNG", 1)]
    run(FakeEngine(), inputs, ResultCache(cache_path))  # cached, but unreadable below
    engine = FakeEngine()
    with caplog.at_level(logging.WARNING, logger="got_loaders"):
        results = run(engine, inputs, BrokenCache(cache_path), batch_size=2)
    assert pages_of(results) == [(0, 0), (0, 1), (0, 2), (1, 0)]
    assert flat(engine.batches) == [(0, 0), (0, 1), (0, 2), (1, 0)]
    assert summary(results) == summary(run(FakeEngine(), inputs, None))
    warnings = [r for r in caplog.records if r.name == "got_loaders" and r.levelname == "WARNING"]
    assert warnings
    assert any("disk I/O error" in record.getMessage() for record in warnings)


def test_a_cache_file_that_is_not_a_database_costs_no_page(
    cache_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cache_path.parent.mkdir(parents=True)
    garbage = b"not a database at all\n" * 100
    cache_path.write_bytes(garbage)
    engine = FakeEngine()
    with caplog.at_level(logging.WARNING, logger="got_loaders"):
        results = run(engine, [make_pdf(0, 3)], ResultCache(cache_path), batch_size=2)
    assert pages_of(results) == [(0, 0), (0, 1), (0, 2)]
    assert flat(engine.batches) == [(0, 0), (0, 1), (0, 2)]
    logged = [r.getMessage() for r in caplog.records if r.name == "got_loaders"]
    # One warning for the run, not one per page: the cache is left alone after it fails.
    assert len(logged) == 1
    assert "Result cache off for the rest of this run" in logged[0]
    assert str(cache_path) in logged[0]
    assert cache_path.read_bytes() == garbage


def test_a_page_the_engine_fails_on_is_not_cached_and_the_others_are(
    cache_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = make_pdf(0, 4)
    failing = FakeEngine(fail_on=[(0, 1)])
    with caplog.at_level(logging.WARNING, logger="got_loaders"):
        results = run(failing, [data], ResultCache(cache_path), batch_size=4, on_error="skip")
    assert pages_of(results) == [(0, 0), (0, 2), (0, 3)]
    assert ResultCache(cache_path).info().entries == 3
    engine = FakeEngine()
    again = run(engine, [data], ResultCache(cache_path), batch_size=4)
    assert engine.batches == [[(0, 1)]]
    assert pages_of(again) == [(0, page) for page in range(4)]


def test_cached_pages_waiting_behind_a_miss_are_bounded(cache_path: Path) -> None:
    lookups: list[int] = []

    class Counting(ResultCache):
        def get(self, key: str, task: OCRTask) -> OCRResult | None:
            lookups.append(1)
            return super().get(key, task)

    class Watching(FakeEngine):
        """Notes how many pages had been looked up when each batch reached the engine."""

        looked_up: list[int]

        def recognize_batch(self, requests: Sequence[OCRRequest]) -> list[OCRResult]:
            self.looked_up = [*getattr(self, "looked_up", []), len(lookups)]
            return super().recognize_batch(requests)

    data = long_pdf(30)
    expected = [(page // 15, page % 15) for page in range(30)]
    warm = Watching()
    run(warm, [data], ResultCache(cache_path), pages=PageSelection.parse("2-30"), batch_size=8)
    assert len(flat(warm.batches)) == 29
    lookups.clear()

    engine = Watching()
    batch_size, prefetch = 2, 4
    pipeline = PagePipeline(
        engine,
        FORMATTED,
        batch_size=batch_size,
        prefetch=prefetch,
        cache=Counting(cache_path),
        sort_window=0,  # reading order: the bound is one batch and the prefetch
    )
    stream = pipeline.run([data])
    first = next(stream)
    assert read_colour(first.page.image) == (0, 0)
    assert engine.batches == [[(0, 0)]]
    # The first page's result came long before the 29 cached pages were all looked up.
    assert engine.looked_up[0] <= batch_size + prefetch
    assert len(lookups) <= batch_size + prefetch
    rest = list(stream)
    assert pages_of([first, *rest]) == expected
    assert engine.batches == [[(0, 0)]]
    assert len(lookups) == 30


# -- LangChain ------------------------------------------------------------------------------


def documents_summary(documents: Sequence[Any]) -> list[tuple[Any, ...]]:
    return [(doc.page_content, doc.metadata, doc.id) for doc in documents]


def test_langchain_pdf_loader_reads_the_second_time_from_the_cache(
    pdf_path: Path, cache_path: Path
) -> None:
    from got_loaders.langchain import GOTPDFLoader

    first_engine, again_engine = FakeEngine(), FakeEngine()
    first = GOTPDFLoader(pdf_path, engine=first_engine, cache=cache_path).load()
    assert len(first_engine.batches) == 1
    assert len(first) == 3
    again = GOTPDFLoader(pdf_path, engine=again_engine, cache=cache_path).load()
    assert again_engine.batches == []
    assert documents_summary(again) == documents_summary(first)
    assert documents_summary(GOTPDFLoader(pdf_path, engine=FakeEngine()).load()) == (
        documents_summary(first)
    )
    # The same through a string path, a ResultCache, and in single mode.
    single = GOTPDFLoader(pdf_path, engine=again_engine, cache=str(cache_path), mode="single")
    assert single.load()[0].page_content.count("## Document 0") == 3
    shared = ResultCache(cache_path)
    assert documents_summary(
        GOTPDFLoader(pdf_path, engine=again_engine, cache=shared).load()
    ) == documents_summary(first)
    assert again_engine.batches == []


def test_langchain_image_loader_and_parser_use_the_cache(tmp_path: Path, cache_path: Path) -> None:
    from langchain_core.document_loaders.blob_loaders import Blob

    from got_loaders.langchain import GOTImageLoader, GOTParser

    image = tmp_path / "scan.png"
    image.write_bytes(make_image("PNG", 4))
    first = GOTImageLoader(image, engine=FakeEngine(), cache=cache_path).load()
    engine = FakeEngine()
    again = GOTImageLoader(image, engine=engine, cache=cache_path).load()
    assert documents_summary(again) == documents_summary(first)
    parsed = list(GOTParser(engine=engine, cache=cache_path).lazy_parse(Blob.from_path(image)))
    assert engine.batches == []
    assert [doc.page_content for doc in parsed] == [doc.page_content for doc in first]


def test_langchain_image_blob_parser_uses_the_cache(cache_path: Path) -> None:
    pytest.importorskip("langchain_community")
    from langchain_core.document_loaders.blob_loaders import Blob

    from got_loaders.langchain import GOTImageBlobParser

    blob = Blob.from_data(make_image("PNG", 5), mime_type="image/png")
    first_engine, again_engine = FakeEngine(), FakeEngine()
    (first,) = GOTImageBlobParser(engine=first_engine, cache=cache_path).lazy_parse(blob)
    assert first_engine.batches == [[(5, 0)]]
    assert first.page_content.startswith("## Document 5 page 0")
    (again,) = GOTImageBlobParser(engine=again_engine, cache=str(cache_path)).lazy_parse(blob)
    assert again_engine.batches == []
    assert again.page_content == first.page_content
    assert ResultCache(cache_path).info().entries == 1


def test_langchain_image_blob_parser_reads_on_when_the_cache_is_broken(
    cache_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pytest.importorskip("langchain_community")
    from langchain_core.document_loaders.blob_loaders import Blob

    from got_loaders.langchain import GOTImageBlobParser

    cache_path.parent.mkdir(parents=True)
    cache_path.write_bytes(b"not a database at all\n" * 100)
    blob = Blob.from_data(make_image("PNG", 6), mime_type="image/png")
    engine = FakeEngine()
    parser = GOTImageBlobParser(engine=engine, cache=cache_path)
    with caplog.at_level(logging.WARNING):
        (document,) = parser.lazy_parse(blob)
        (again,) = parser.lazy_parse(blob)
    assert document.page_content.startswith("## Document 6 page 0")
    assert again.page_content == document.page_content
    assert engine.batches == [[(6, 0)], [(6, 0)]]
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1  # once for the parser, not once per image
    assert str(cache_path) in warnings[0]


# -- LlamaIndex -----------------------------------------------------------------------------


def llama_summary(documents: Sequence[Any]) -> list[tuple[Any, ...]]:
    return [(doc.id_, doc.text, doc.metadata, doc.hash) for doc in documents]


def test_llamaindex_reader_reads_the_second_time_from_the_cache(
    tmp_path: Path, pdf_path: Path, cache_path: Path
) -> None:
    from got_loaders.llamaindex import GOTReader

    image = tmp_path / "scan.jpg"
    image.write_bytes(make_image("JPEG", 1))
    first_engine, again_engine = FakeEngine(), FakeEngine()
    first = GOTReader(engine=first_engine, cache=str(cache_path)).load_data([pdf_path, image])
    assert len(flat(first_engine.batches)) == 4
    again = GOTReader(engine=again_engine, cache=str(cache_path)).load_data([pdf_path, image])
    assert again_engine.batches == []
    assert llama_summary(again) == llama_summary(first)
    assert llama_summary(GOTReader(engine=FakeEngine()).load_data([pdf_path, image])) == (
        llama_summary(first)
    )
    whole = GOTReader(engine=again_engine, cache=str(cache_path), return_full_document=True)
    assert len(whole.load_data([pdf_path, image])) == 2
    assert again_engine.batches == []


def test_llamaindex_reader_keeps_its_cache_through_pickle_and_json(
    pdf_path: Path, cache_path: Path
) -> None:
    from got_loaders.llamaindex import GOTReader

    reader = GOTReader(engine=FakeEngine(), cache=str(cache_path))
    clone = pickle.loads(pickle.dumps(reader))
    assert clone.cache == str(cache_path)
    assert json.loads(reader.to_json())["cache"] == str(cache_path)
    assert json.loads(clone.to_json())["cache"] == str(cache_path)
    assert reader.to_dict()["cache"] == str(cache_path)
    assert json.loads(GOTReader(cache=True).to_json())["cache"] is True
    assert json.loads(GOTReader().to_json())["cache"] is None

    first = reader.load_data(pdf_path)
    clone_engine = clone.engine
    assert isinstance(clone_engine, FakeEngine)
    assert clone_engine.batches == []
    assert llama_summary(clone.load_data(pdf_path)) == llama_summary(first)
    assert clone_engine.batches == []  # the copy read the original's cache file


# -- Unstructured ---------------------------------------------------------------------------


def elements_summary(elements: Sequence[Any]) -> list[tuple[Any, ...]]:
    return [(type(e).__name__, e.text, e.id, e.metadata.to_dict()) for e in elements]


def test_partition_got_reads_the_second_time_from_the_cache(
    tmp_path: Path, cache_path: Path
) -> None:
    from got_loaders.unstructured import partition_got

    paper = tmp_path / "paper.pdf"
    paper.write_bytes(make_pdf(0, 2))
    first_engine, again_engine = FakeEngine(), FakeEngine()
    first = partition_got(str(paper), engine=first_engine, cache=cache_path, languages=["eng"])
    assert first_engine.batches == [[(0, 0), (0, 1)]]
    again = partition_got(str(paper), engine=again_engine, cache=cache_path, languages=["eng"])
    assert again_engine.batches == []
    assert [e.text for e in first] == [
        "Document 0 page 0",
        "Text of page 1.",
        "Document 0 page 1",
        "Text of page 2.",
    ]
    assert elements_summary(again) == elements_summary(first)


def test_the_registered_partitioner_uses_the_cache(tmp_path: Path, cache_path: Path) -> None:
    from unstructured.partition.auto import partition

    from got_loaders.unstructured import partition_got, register_got_partitioner

    paper = tmp_path / "paper.pdf"
    paper.write_bytes(make_pdf(3, 2))
    direct = partition_got(str(paper), engine=FakeEngine(), cache=cache_path, languages=["eng"])
    engine = FakeEngine()
    with register_got_partitioner(engine=engine, file_types=["pdf"], cache=cache_path):
        routed = partition(str(paper), languages=["eng"])
    assert engine.batches == []
    assert [(e.text, e.id) for e in routed] == [(e.text, e.id) for e in direct]
