"""An engine that runs submissions in the background (vLLM's) is kept fed: the pipeline submits
the next windows before earlier ones finish, and results still come in order."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import Future

import pytest

from got_loaders.pipeline import OnError, PagePipeline
from got_model import FORMATTED, ModelLoadError, OCRRequest, OCRResult
from tests.got_loaders.samples import FakeEngine, make_pdf, read_colour


class BackgroundEngine(FakeEngine):
    """Queues each submission; a test releases them (in any order) with ``finish``."""

    def __init__(self, in_flight: int, **options: object) -> None:
        super().__init__(**options)  # type: ignore[arg-type]
        self.in_flight = in_flight
        self.submitted: list[tuple[list[tuple[int, int]], Future[list[OCRResult | Exception]]]] = []
        self.cancelled = 0
        self.auto = False
        self.most_pending = 0  # submissions not finished when one more came

    @property
    def pages_in_flight(self) -> int:
        return self.in_flight

    def submit_each(self, requests: Sequence[OCRRequest]) -> Future[list[OCRResult | Exception]]:
        future: Future[list[OCRResult | Exception]] = Future()
        pages = [read_colour(request.images[0]) for request in requests]
        pending = sum(not earlier.done() for _, earlier in self.submitted)
        self.most_pending = max(self.most_pending, pending)
        self.submitted.append((pages, future))
        if self.auto:
            future.set_result(self.recognize_each(requests))
        else:
            threading.Thread(target=self._later, args=(future, list(requests))).start()
        return future

    def _later(
        self, future: Future[list[OCRResult | Exception]], requests: list[OCRRequest]
    ) -> None:
        # Completes after the pipeline has had time to submit more, unless cancelled first.
        threading.Event().wait(0.05)
        if not future.cancelled():
            future.set_result(self.recognize_each(requests))
        else:
            self.cancelled += 1


def pdfs(documents: int, pages: int = 3) -> list[bytes]:
    return [make_pdf(document, pages) for document in range(documents)]


def order(results: object) -> list[tuple[int, int]]:
    return [(r.page.document.position, r.page.number - 1) for r in results]  # type: ignore[attr-defined]


def test_windows_are_submitted_before_earlier_ones_finish_and_come_back_in_order() -> None:
    engine = BackgroundEngine(in_flight=8)
    pipeline = PagePipeline(engine, FORMATTED, batch_size=2)
    assert pipeline.sort_window == 2  # no sorting by length for a continuous engine
    results = list(pipeline.run(pdfs(3)))
    assert order(results) == [(d, p) for d in range(3) for p in range(3)]
    assert [r.result.text for r in results] == [
        engine.text(d, p) for d in range(3) for p in range(3)
    ]
    # Every page went in exactly once, in batches of at most 2.
    sent = [page for pages, _ in engine.submitted for page in pages]
    assert sorted(sent) == [(d, p) for d in range(3) for p in range(3)]
    assert max(len(pages) for pages, _ in engine.submitted) <= 2
    assert engine.most_pending >= 2  # it did not wait for one window before the next


def test_the_pipeline_waits_once_the_engine_holds_its_pages_in_flight() -> None:
    engine = BackgroundEngine(in_flight=2)
    seen: list[int] = []
    pipeline = PagePipeline(engine, FORMATTED, batch_size=1)
    for _ in pipeline.run(pdfs(1, 6)):
        pending = [f for _, f in engine.submitted if not f.done()]
        seen.append(len(pending))
    assert max(seen) <= 3  # two in flight, plus the one just submitted before waiting


def test_a_failing_page_costs_only_itself() -> None:
    engine = BackgroundEngine(in_flight=8, fail_on=[(1, 1)])
    problems: list[object] = []
    pipeline = PagePipeline(engine, FORMATTED, batch_size=2, on_error=OnError.SKIP)
    results = list(pipeline.run(pdfs(2), on_skip=problems.append))
    assert order(results) == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 2)]
    assert [getattr(p, "page", None) for p in problems] == [2]


def test_a_fatal_error_stops_the_run_after_the_pages_before_it() -> None:
    engine = BackgroundEngine(in_flight=8)
    engine.auto = True

    def broken(requests: Sequence[OCRRequest]) -> list[OCRResult | Exception]:
        if any(read_colour(r.images[0]) == (1, 0) for r in requests):
            raise ModelLoadError("the engine died")
        return FakeEngine.recognize_each(engine, requests)

    engine.recognize_each = broken  # type: ignore[method-assign]
    got: list[tuple[int, int]] = []

    def read_all() -> None:
        for result in PagePipeline(engine, FORMATTED, batch_size=1).run(pdfs(2)):
            got.append((result.page.document.position, result.page.number - 1))

    with pytest.raises(ModelLoadError, match="the engine died"):
        read_all()
    assert got == [(0, 0), (0, 1), (0, 2)]


def test_stopping_early_cancels_what_is_still_running() -> None:
    engine = BackgroundEngine(in_flight=12)
    results = PagePipeline(engine, FORMATTED, batch_size=1).run(pdfs(4))
    first = next(results)
    assert (first.page.document.position, first.page.number) == (0, 1)
    results.close()
    threading.Event().wait(0.2)  # the engine's threads see the cancellations
    assert engine.cancelled >= 1


def test_cached_pages_behind_a_window_that_decodes_are_bounded(tmp_path) -> None:
    from got_model import ResultCache

    cached = [make_pdf(document, 15) for document in (1, 2, 3)]
    cache = ResultCache(tmp_path / "cache.sqlite")
    list(PagePipeline(FakeEngine(), FORMATTED, batch_size=4, cache=cache).run(cached))
    engine = BackgroundEngine(in_flight=4, delay=0.3)  # the one page to read decodes slowly
    engine.cache_identity = FakeEngine().cache_identity  # type: ignore[method-assign]
    pipeline = PagePipeline(engine, FORMATTED, batch_size=4, cache=cache, prefetch=4)
    submitted, yielded, held = [0], [0], [0]
    real_submit = pipeline._submit

    def counting(items):  # type: ignore[no-untyped-def]
        submitted[0] += len(items)
        held[0] = max(held[0], submitted[0] - yielded[0])
        return real_submit(items)

    pipeline._submit = counting  # type: ignore[method-assign]
    results = []
    for result in pipeline.run([make_pdf(0, 1), *cached]):
        results.append(result)
        yielded[0] += 1
    assert order(results) == [(0, 0)] + [(d, p) for d in (1, 2, 3) for p in range(15)]
    assert sum(r.cached for r in results) == 45
    # 45 cached pages come in while the first decodes; the pipeline holds at most
    # pages_in_flight + a window + the prefetch (4 + 4 + 4) of them, and one window more.
    assert held[0] <= 16
