"""The one page pipeline every adapter shares: documents -> rendered pages -> engine batches.

A background thread opens the documents and renders their pages into a bounded queue while the
engine reads the previous batches; batches fill across page and file boundaries. Within a window
of a few batches, pages are grouped by how much text they seem to hold, so a batch of short
pages does not wait for one long page; results still come in reading order. Everything is
lazy: a 1,000-page PDF holds at most ``prefetch`` rendered pages and one window in memory.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import queue
import threading
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

from got_model.cache import CacheError, ResultCache, request_key
from got_model.engine import OCREngine
from got_model.errors import GOTError
from got_model.markdown import MarkdownOutput
from got_model.results import OCRResult
from got_model.tasks import OCRRequest, OCRTask

from .errors import DocumentError, LimitExceededError
from .options import parse_option
from .sources.dispatch import open_document
from .sources.documents import DocumentInput, SourceDocument
from .sources.pages import DEFAULT_MAX_PIXELS, DocumentInfo, Page
from .sources.selection import PageSelection
from .sources.text_layer import PageRoute, Strategy, TextLayer

if TYPE_CHECKING:
    from PIL import Image

logger = logging.getLogger("got_loaders")

DEFAULT_BATCH_SIZE = 8
DEFAULT_SORT_BATCHES = 4
"""Batches' worth of pages sorted together by estimated length, by default."""
_POLL_SECONDS = 0.1


class OnError(str, Enum):
    """What a loader does with a document or page it cannot read."""

    RAISE = "raise"
    """Stop with the error (after yielding every page before it)."""
    SKIP = "skip"
    """Log the error on the ``got_loaders`` logger and go on with the next page or file."""
    WARN = "warn"
    """Like ``SKIP``, and also issue a ``DocumentSkippedWarning``."""


class DocumentSkippedWarning(UserWarning):
    """A document or page was skipped because it could not be read (``on_error="warn"``)."""


class RecognitionError(DocumentError):
    """The engine failed on this page."""


@dataclass(frozen=True, eq=False)
class PageResult:
    """A page and what was read on it: by the engine, or from its text layer."""

    page: Page
    result: OCRResult | None
    """The engine's result; None when the page was read from its text layer."""
    cached: bool = False
    """True when the result came from the result cache rather than the engine."""

    @property
    def route(self) -> PageRoute:
        """How the page was read, and why."""
        return self.page.route

    @property
    def converted(self) -> MarkdownOutput:
        """The page's typed blocks and Markdown, whichever way it was read."""
        return self.result.converted if self.result is not None else self._layer.converted

    @property
    def raw(self) -> str:
        """GOT's output as generated, or the text layer as extracted."""
        return self.result.text if self.result is not None else self._layer.text

    @property
    def _layer(self) -> TextLayer:
        assert self.page.text_layer is not None, "a page with neither a result nor a text layer"
        return self.page.text_layer


@dataclass(frozen=True, eq=False)
class _Rendered:
    """A rendered page on its way to the engine: its cache key and, once looked up, result."""

    page: Page
    key: str | None = None
    cached: OCRResult | None = None
    ink: float = 0.0
    """How much of the page is printed on (``ink``): longer outputs come from inkier pages."""
    request: OCRRequest | None = None
    """The page's request, as the engine prepared it ahead (``OCREngine.prepare``)."""

    @property
    def ready(self) -> bool:
        """Whether the page needs no engine: cached, or read from its text layer."""
        return self.cached is not None or self.page.image is None


@dataclass(frozen=True)
class _Crash:
    """An unexpected exception in the render thread, re-raised in the caller's thread."""

    error: BaseException


_DONE = object()


def _unexpected(source: str, exc: Exception, page: int | None = None) -> DocumentError:
    error = DocumentError(source, f"Unexpected {type(exc).__name__}: {exc}", page=page)
    error.__cause__ = exc
    return error


def render_document(
    document: SourceDocument,
    position: int,
    *,
    task: OCRTask,
    password: str | None = None,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    strategy: Strategy = Strategy.OCR,
    pages: PageSelection | None = None,
    max_pages: int | None = None,
) -> Iterator[Page | DocumentError]:
    """Open one document and render its selected pages, in order; each failure comes in
    place of what it cost (the document, or one page) as a ``DocumentError``.

    ``position`` is the document's place among a run's inputs (``DocumentInfo.position``).
    """
    try:
        source = open_document(
            document,
            task,
            password=password,
            position=position,
            max_pixels=max_pixels,
            strategy=strategy,
        )
    except DocumentError as error:
        yield error
        return
    except Exception as exc:  # a dependency's surprise must not cost the other files
        yield _unexpected(document.name, exc)
        return
    with source:
        if source.info.total_pages == 0:
            yield DocumentError(
                document.name,
                "The document has no pages: nothing to read. If it should have some, its "
                "page tree is damaged: export it again.",
            )
            return
        try:
            indices = source.indices(pages)
        except DocumentError as error:
            yield error
            return
        if max_pages is not None and len(indices) > max_pages:
            yield LimitExceededError(
                document.name,
                f"{len(indices):,} pages to read, more than max_pages={max_pages:,}. "
                "Read part of it with pages=... (got-ocr: --pages), or raise max_pages "
                "(--max-pages).",
            )
            return
        for index in indices:
            try:
                yield source.render(index)
            except DocumentError as error:
                yield error
            except Exception as exc:
                yield _unexpected(document.name, exc, index + 1)


class PagePipeline:
    """Render pages ahead on a thread and run them through an engine in batches.

    Args:
        engine: any ``OCREngine``.
        task: the task run on every page; it also sets the render size (multi-crop renders
            larger).
        batch_size: pages per ``recognize_batch`` call, filled across files.
        pages: the pages to read in each document (None: all).
        password: for encrypted PDFs.
        on_error: what to do with a file or page that cannot be read or recognised.
        prefetch: rendered pages waiting at most for the engine (default: two batches, or
            ``sort_window`` if more).
        cache: a ``ResultCache``: pages it holds skip the engine, new results go into it.
        on_skip: with ``"skip"`` / ``"warn"``, called with each error skipped instead of
            logging it (a command line collects them for its summary).
        max_pages: a document with more pages to read than this is refused whole
            (``LimitExceededError``); ``None``: no limit.
        max_pixels: an image file whose frame, or an image a PDF page draws, has more
            pixels than this is refused (``LimitExceededError``); ``None``: Pillow's own
            limit only.
        sort_window: up to this many pages to read (across files) are put into batches by
            how much ink they hold, not in reading order, so pages of like length share a
            batch and few decode steps are spent on rows already finished. Results still
            come in reading order. Default ``4 * batch_size`` (``batch_size`` for an engine
            that batches continuously, such as ``VLLMEngine``); ``batch_size`` or less keeps
            reading order (the first results then come sooner).

    With an engine that has ``pages_in_flight`` (``VLLMEngine``), windows are submitted
    without waiting for the ones before them, up to that many pages, so the engine always has
    the next pages while earlier ones decode; results still come in order.
        strategy: where PDF pages' text comes from: ``"ocr"`` (GOT, the default),
            ``"text"`` (the text layer only; GOT is never loaded) or ``"auto"`` (per page:
            the text layer where it is good, GOT where it is needed; see ``RouteReason``).
    """

    def __init__(
        self,
        engine: OCREngine,
        task: OCRTask,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        pages: PageSelection | None = None,
        password: str | None = None,
        on_error: OnError | str = OnError.RAISE,
        prefetch: int | None = None,
        cache: ResultCache | None = None,
        on_skip: Callable[[DocumentError], None] | None = None,
        max_pages: int | None = None,
        max_pixels: int | None = DEFAULT_MAX_PIXELS,
        sort_window: int | None = None,
        strategy: Strategy | str = Strategy.OCR,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
        for name, limit in (("max_pages", max_pages), ("max_pixels", max_pixels)):
            if limit is not None and (isinstance(limit, bool) or limit < 1):
                raise ValueError(f"{name} must be None or at least 1, got {limit!r}.")
        self.max_pages = max_pages
        self.max_pixels = max_pixels
        self.engine = engine
        self.task = task
        self.batch_size = batch_size
        self.pages = pages
        self.password = password
        self.on_error = parse_option(OnError, on_error, "on_error")
        self.strategy = parse_option(Strategy, strategy, "strategy")
        # An engine that batches continuously (vLLM) gains nothing from sorting by length.
        sorts = DEFAULT_SORT_BATCHES if not engine.pages_in_flight else 1
        self.sort_window = sort_window if sort_window is not None else sorts * batch_size
        if self.sort_window < 0:
            raise ValueError(f"sort_window must be at least 0, got {self.sort_window}.")
        # While one window is read, the next is rendered.
        self.prefetch = prefetch if prefetch is not None else max(2 * batch_size, self.sort_window)
        self.cache = cache
        self.on_skip = on_skip
        if self.prefetch < 1:
            raise ValueError(f"prefetch must be at least 1, got {self.prefetch}.")

    def run(
        self,
        documents: Iterable[DocumentInput],
        *,
        on_skip: Callable[[DocumentError], None] | None = None,
    ) -> Iterator[PageResult]:
        """Yield one ``PageResult`` per page read, in document and page order.

        ``on_skip`` replaces the pipeline's own ``on_skip`` for this run. Errors are reported
        in order: those of a document's pages before the next document's first result.
        """
        report = on_skip or self.on_skip
        pending: queue.Queue[object] = queue.Queue(maxsize=self.prefetch)
        stop = threading.Event()
        cache = _RunCache(self.cache, self.engine, self.task) if self.cache else None
        producer = threading.Thread(
            target=self._render_all,
            args=(documents, pending, stop, cache),
            name="got-loaders-render",
            daemon=True,
        )
        producer.start()
        waiting: list[_Rendered | DocumentError] = []
        misses = 0
        window = max(self.batch_size, self.sort_window)
        # Cached pages wait for the misses before them; this bounds how many (and their images).
        most_waiting = window + self.prefetch
        # Windows submitted to an engine that runs them in the background, oldest first.
        in_flight: deque[_Window] = deque()
        limit = self.engine.pages_in_flight
        try:
            while True:
                item = pending.get()
                if item is _DONE:
                    break
                if isinstance(item, _Crash):
                    raise item.error
                assert isinstance(item, (_Rendered, DocumentError))
                if isinstance(item, _Rendered):
                    item = cache.look_up(item) if cache is not None else item
                    misses += not item.ready
                waiting.append(item)
                # With raise, read what came before an error, then stop: no OCR after it.
                must_stop = isinstance(item, DocumentError) and self.on_error is OnError.RAISE
                full = misses >= window or len(waiting) >= most_waiting
                if not (must_stop or full or misses == 0):
                    continue
                if not limit:
                    yield from self._flush(waiting, cache, report)
                else:
                    in_flight.append(self._submit(waiting))
                    # Wait for the oldest while too many pages to read, or too many pages in
                    # all (cached ones behind a window that decodes), are held.
                    while in_flight and (
                        must_stop
                        or in_flight[0].done()
                        or _pages(in_flight) > limit
                        or _items(in_flight) > limit + most_waiting
                    ):
                        yield from self._flush(in_flight[0].items, cache, report, in_flight[0])
                        in_flight.popleft()
                waiting, misses = [], 0
            if limit and waiting:
                in_flight.append(self._submit(waiting))
                waiting = []
            while in_flight:
                yield from self._flush(in_flight[0].items, cache, report, in_flight[0])
                in_flight.popleft()
            yield from self._flush(waiting, cache, report)
        finally:
            for submitted in in_flight:  # the caller stopped early: drop what is still running
                submitted.cancel()
            stop.set()
            while producer.is_alive():  # unblock a producer waiting on a full queue
                with contextlib.suppress(queue.Empty):
                    pending.get(timeout=_POLL_SECONDS)
            producer.join()

    def _render_all(
        self,
        documents: Iterable[DocumentInput],
        pending: queue.Queue[object],
        stop: threading.Event,
        cache: _RunCache | None,
    ) -> None:
        def put(item: object) -> bool:
            while not stop.is_set():
                try:
                    pending.put(item, timeout=_POLL_SECONDS)
                    return True
                except queue.Full:
                    continue
            return False

        try:
            for position, document in enumerate(documents):
                if stop.is_set():
                    return
                pages = render_document(
                    SourceDocument.from_input(document),
                    position,
                    task=self.task,
                    password=self.password,
                    max_pixels=self.max_pixels,
                    strategy=self.strategy,
                    pages=self.pages,
                    max_pages=self.max_pages,
                )
                for item in pages:
                    if isinstance(item, Page) and item.image is None:  # read from its text
                        sent = put(_Rendered(item))
                    elif isinstance(item, Page):
                        # Hashing the pixels here keeps it off the engine's thread.
                        key = None if cache is None else cache.key(item)
                        request = self._prepared(item)
                        sent = put(_Rendered(item, key, ink=ink(_image(item)), request=request))
                    else:
                        item.position = position  # two inputs may share a name
                        sent = put(item)
                    if stop.is_set() or not sent:
                        return
            put(_DONE)
        except BaseException as exc:  # a bug or an interrupt: hand it to the caller's thread
            put(_Crash(exc))

    def _prepared(self, page: Page) -> OCRRequest:
        """The page's request, with what the engine can do ahead of the model done here, on
        the render thread."""
        request = OCRRequest((_image(page),), self.task)
        try:
            return self.engine.prepare(request)
        except Exception:  # prepare must not raise; an engine that does reads unprepared
            logger.debug("%s.prepare failed", type(self.engine).__name__, exc_info=True)
            return request

    def _submit(self, items: Sequence[_Rendered | DocumentError]) -> _Window:
        """Hand the uncached pages among ``items`` to the engine, in batches, and return at
        once (``OCREngine.submit_each``)."""
        todo = [item for item in items if isinstance(item, _Rendered) and not item.ready]
        submitted = _Window(list(items), _batches(todo, self.batch_size))
        try:
            for batch in submitted.batches:
                submitted.futures.append(self.engine.submit_each(self._requests(batch)))
        except BaseException:
            submitted.cancel()
            raise
        return submitted

    def _flush(
        self,
        items: Sequence[_Rendered | DocumentError],
        cache: _RunCache | None,
        on_skip: Callable[[DocumentError], None] | None,
        submitted: _Window | None = None,
    ) -> Iterator[PageResult]:
        """Recognise the uncached pages among ``items`` in batches; yield results in order,
        report errors.

        With more than one batch of pages, batches take them by ink, most first (see
        ``sort_window``), and run in the order of their first page in reading order; after
        each batch, every result whose turn has come is yielded. The engine splits a failing
        batch (``OCREngine.recognize_each``), so only a faulty page is lost, and every page
        before it is still yielded when its error is raised.
        """
        if submitted is None:
            todo = [item for item in items if isinstance(item, _Rendered) and not item.ready]
            batches = _batches(todo, self.batch_size)
        else:
            batches = submitted.batches
        fresh: dict[int, OCRResult | Exception] = {}
        remaining = iter(items)
        waiting: _Rendered | None = None
        for number, batch in enumerate([*batches, []]):  # the last, empty round yields the rest
            if batch and submitted is not None:
                outputs = submitted.futures[number].result()
                fresh.update(self._outputs(batch, outputs, cache))
            elif batch:
                fresh.update(
                    self._outputs(batch, self.engine.recognize_each(self._requests(batch)), cache)
                )
            for item in itertools.chain([waiting] if waiting else [], remaining):
                waiting = None
                if isinstance(item, DocumentError):
                    self._report(item, on_skip)
                elif item.cached is not None:
                    yield PageResult(item.page, item.cached, cached=True)
                elif item.page.image is None:
                    yield PageResult(item.page, None)
                elif id(item) not in fresh:
                    waiting = item  # its batch has not run yet
                    break
                else:
                    yield from self._result(item, fresh.pop(id(item)), on_skip)
        assert waiting is None, "a page was left out of every batch"

    def _requests(self, batch: Sequence[_Rendered]) -> list[OCRRequest]:
        return [item.request or OCRRequest((_image(item.page),), self.task) for item in batch]

    def _outputs(
        self,
        batch: Sequence[_Rendered],
        outputs: Sequence[OCRResult | Exception],
        cache: _RunCache | None,
    ) -> Iterator[tuple[int, OCRResult | Exception]]:
        """The engine's ``outputs`` for ``batch`` by page, the results stored in the cache."""
        if len(outputs) != len(batch):
            raise GOTError(
                f"{type(self.engine).__name__}.recognize_each returned {len(outputs)} "
                f"results for {len(batch)} requests."
            )
        if cache is not None:
            cache.store(
                [
                    (item, output)
                    for item, output in zip(batch, outputs, strict=True)
                    if not isinstance(output, Exception)
                ]
            )
        return zip(map(id, batch), outputs, strict=True)

    def _result(
        self,
        item: _Rendered,
        output: OCRResult | Exception,
        on_skip: Callable[[DocumentError], None] | None,
    ) -> Iterator[PageResult]:
        if not isinstance(output, Exception):
            yield PageResult(item.page, output)
            return
        page = item.page
        error = RecognitionError(
            page.document.source, f"OCR failed: {_describe(output)}", page=page.number
        )
        error.__cause__ = output
        error.position = page.document.position
        self._report(error, on_skip)

    def _report(
        self, error: DocumentError, on_skip: Callable[[DocumentError], None] | None
    ) -> None:
        if self.on_error is OnError.RAISE:
            raise error
        if on_skip is not None:
            on_skip(error)
        else:
            report_skipped(error, self.on_error)


@dataclass(eq=False)
class _Window:
    """A window of pages whose batches an engine is running in the background."""

    items: list[_Rendered | DocumentError]
    batches: list[list[_Rendered]]
    futures: list[Future[list[OCRResult | Exception]]] = field(default_factory=list)

    @property
    def pages(self) -> int:
        return sum(map(len, self.batches))

    def done(self) -> bool:
        return all(future.done() for future in self.futures)

    def cancel(self) -> None:
        for future in self.futures:
            future.cancel()


def _pages(windows: Iterable[_Window]) -> int:
    return sum(window.pages for window in windows)


def _items(windows: Iterable[_Window]) -> int:
    return sum(len(window.items) for window in windows)


class _RunCache:
    """The result cache during one run: after its first failure it is left alone for the rest
    of the run (one warning, not one per page), and pages are read by the engine."""

    def __init__(self, cache: ResultCache, engine: OCREngine, task: OCRTask) -> None:
        self.cache: ResultCache | None = cache
        self.model_id = engine.model_id
        self.identity = engine.cache_identity()
        self.task = task

    def key(self, page: Page) -> str:
        """The page's key: its pixels, the task, the engine's identity."""
        return request_key(self.identity, self.task, [_image(page)])

    def look_up(self, item: _Rendered) -> _Rendered:
        """``item`` with its cached result, if the cache has one."""
        if self.cache is None or item.key is None:
            return item
        try:
            cached = self.cache.get(item.key, self.task)
        except CacheError as error:
            self._give_up(error)
            return item
        return item if cached is None else _Rendered(item.page, item.key, cached)

    def store(self, done: Sequence[tuple[_Rendered, OCRResult]]) -> None:
        if self.cache is None or not done:
            return
        entries = [(item.key, result) for item, result in done if item.key is not None]
        try:
            self.cache.put_many(entries, self.model_id)
        except CacheError as error:
            self._give_up(error)

    def _give_up(self, error: CacheError) -> None:
        logger.warning("Result cache off for the rest of this run: %s", error)
        self.cache = None


def _image(page: Page) -> Image.Image:
    assert page.image is not None, "a page read from its text layer went to the engine"
    return page.image


def _batches(pages: Sequence[_Rendered], size: int) -> list[list[_Rendered]]:
    """``pages`` in batches of ``size``: by ink, most first, when they fill more than one
    batch; the batches ordered by their first page in reading order."""
    if len(pages) <= size:
        return [list(pages)] if pages else []
    position = {id(page): number for number, page in enumerate(pages)}
    by_ink = sorted(pages, key=lambda page: page.ink, reverse=True)  # stable: ties keep order
    batches = [by_ink[start : start + size] for start in range(0, len(by_ink), size)]
    return sorted(batches, key=lambda batch: min(position[id(page)] for page in batch))


def ink(image: Image.Image) -> float:
    """The share of a page that is printed on: a cheap guess (under a millisecond for a
    1024-pixel page) at how long GOT's output for it will be.

    Counted on a quarter-size grey copy, as the pixels far from the page's most common shade
    (its background, light or dark).
    """
    small = image.reduce(4).convert("L")
    histogram = small.histogram()
    background = max(range(256), key=histogram.__getitem__)
    printed = sum(
        count for value, count in enumerate(histogram) if abs(value - background) > _INK_CONTRAST
    )
    return printed / max(1, small.width * small.height)


_INK_CONTRAST = 48


def _describe(error: Exception) -> str:
    # Our own errors say what they are; a dependency's is named by its type.
    return str(error) if isinstance(error, GOTError) else f"{type(error).__name__}: {error}"


class SkippedPages:
    """An ``on_skip`` for runs that make one Document per file: reports each error as the
    pipeline would, and remembers the pages skipped so each file's Document can list them."""

    def __init__(self, on_error: OnError) -> None:
        self.on_error = on_error
        self._pages: dict[int | None, list[int]] = {}

    def __call__(self, error: DocumentError) -> None:
        report_skipped(error, self.on_error)
        if error.page is not None:
            self._pages.setdefault(error.position, []).append(error.page)

    def take(self, document: DocumentInfo) -> str:
        """The pages of ``document`` skipped so far, as ``"3,7"`` (empty when none)."""
        return ",".join(map(str, self._pages.pop(document.position, [])))


def by_document(results: Iterable[PageResult]) -> Iterator[list[PageResult]]:
    """The pages of each document together, in order (for one-Document-per-file modes)."""
    for _, group in itertools.groupby(results, key=lambda r: r.page.document.position):
        yield list(group)


def report_skipped(what: object, on_error: OnError) -> None:
    """Log a skipped document, page or image; with ``OnError.WARN`` also warn."""
    logger.warning("Skipped %s", what)
    if on_error is OnError.WARN:
        warnings.warn(f"Skipped {what}", DocumentSkippedWarning, stacklevel=3)
