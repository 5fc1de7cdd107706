"""``ServerEngine``: read pages on a GOT server (``got-ocr serve``: vLLM's OpenAI-compatible
server) instead of loading the model in this process.

Many ingestion processes (LlamaIndex workers, several jobs, Ray actors, a CPU-only host) then
share one GPU, and vLLM batches all of their pages together.

Each page goes as a lossless PNG in one streamed chat completion; the task goes in
``chat_template_kwargs``, and the chat template ``got-ocr serve`` installs writes GOT's prompt
from it exactly as ``GotOcr2Processor`` does. Pages are brought to GOT's input size (multi-crop:
cut into tiles) here first, by GOT's own processor, as ``VLLMEngine`` does. Tokens stream back
with their ids: the repetition guard watches them and closes a looping page's stream (vLLM
then aborts it), and the text is decoded from the ids with GOT's tokenizer, as in-process. So a
page reads the same through the server as through ``VLLMEngine``.

The HTTP side is the ``openai`` package (async, with retries and backoff on refused
connections, 408, 429 and 5xx answers), on an event loop of the engine's own thread: many
requests are in flight at once, and the page pipeline keeps submitting while they run.
"""

from __future__ import annotations

import asyncio
import base64
import io
import logging
import os
import sys
import threading
import time
import weakref
from collections.abc import Sequence
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .engine import GOT_MAX_NEW_TOKENS, BackgroundEngine, decoded_requests, with_rgb_images
from .errors import (
    GOTError,
    InvalidTaskError,
    MissingExtraError,
    ModelLoadError,
    ServerAuthError,
    ServerError,
    ServerUnavailableError,
)
from .repetition import RepetitionGuard
from .results import GenerationStats, OCRResult
from .tasks import OCRRequest, OCRTask, OutputFormat, PreparedRequest

if TYPE_CHECKING:
    from PIL import Image

    from .vllm_backend import PageInputs

logger = logging.getLogger("got_model")

_STREAM_INTERVAL = 64
"""Tokens per streamed chunk without a repetition guard."""

API_KEY_VARIABLE = "GOT_OCR_API_KEY"
"""The environment variable ``ServerEngine`` and ``got-ocr serve`` read the API key from
when none is passed."""


@dataclass(frozen=True)
class ServerSettings:
    """How ``ServerEngine`` talks to a GOT server (see its arguments)."""

    url: str
    api_key: str | None = field(default=None, repr=False)
    model: str | None = None
    processor: str | None = None
    max_new_tokens: int = GOT_MAX_NEW_TOKENS
    repetition_guard: RepetitionGuard | None = field(default_factory=RepetitionGuard)
    max_in_flight: int = 64
    batch_size: int = 16
    timeout: float = 600.0
    retries: int = 4
    resize_ahead: bool = True

    def __post_init__(self) -> None:
        for name in ("max_new_tokens", "max_in_flight", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}.")
        if self.retries < 0:
            raise ValueError(f"retries must be at least 0, got {self.retries}.")
        if not self.timeout > 0:
            raise ValueError(f"timeout must be more than 0 seconds, got {self.timeout}.")


class ServerEngine(BackgroundEngine):
    """GOT-OCR 2.0 on a GOT server: many processes, one GPU.

    Start the server once (``got-ocr serve``), then give every loader, reader,
    ``partition_got``, Ray or ``got-ocr convert --server`` this engine. Nothing is contacted at
    construction; the first page connects.

    Args:
        url: the server's URL, e.g. ``http://127.0.0.1:8000`` (``/v1`` may be included).
        api_key: the key the server was started with (``got-ocr serve --api-key``); default
            the ``GOT_OCR_API_KEY`` environment variable.
        model: the served model to use; default the server's only (first) one.
        processor: where to read GOT's processor files (tokenizer and image settings, a few
            MB, no weights) from: a directory or a Hub id. Default the directory the server
            loaded the model from when this machine sees it, else the served model's name on
            the Hub (or in the Hugging Face cache).
        max_new_tokens: the most tokens one page's output may have.
        repetition_guard: stops and trims outputs that fall into a loop; ``None`` disables it.
        max_in_flight: requests open at once. The server batches every client's pages;
            raise it when the GPU has room for more than this client sends.
        batch_size: pages the page pipeline hands over at a time.
        timeout: seconds one page may take, from sending it to its last token.
        retries: attempts after the first when the server refuses the connection or answers
            408, 429 or 5xx, with exponential backoff.
        resize_ahead: bring pages to GOT's input size here, with GOT's processor, before
            sending them (smaller requests, less work for the server's one preprocessing
            thread). Off: pages go at their own size and the server's processor resizes them.

    Raises (on first use):
        ServerUnavailableError: nothing answers at ``url``, or it lacks ``model``.
        ServerAuthError: the server refused the API key.
    """

    _connection: _Connection | None
    _lock: threading.Lock
    _stats: GenerationStats
    _open: int
    _busy_since: float | None
    _finalizer: weakref.finalize[Any, Any] | None

    def __init__(
        self,
        url: str,
        *,
        api_key: str | None = None,
        model: str | None = None,
        processor: str | None = None,
        max_new_tokens: int = GOT_MAX_NEW_TOKENS,
        repetition_guard: RepetitionGuard | None = RepetitionGuard(),  # noqa: B008  (frozen)
        max_in_flight: int = 64,
        batch_size: int = 16,
        timeout: float = 600.0,
        retries: int = 4,
        resize_ahead: bool = True,
    ) -> None:
        self.settings = ServerSettings(
            url=normalized_url(url),
            api_key=api_key if api_key is not None else os.environ.get(API_KEY_VARIABLE),
            model=model,
            processor=processor,
            max_new_tokens=max_new_tokens,
            repetition_guard=repetition_guard,
            max_in_flight=max_in_flight,
            batch_size=batch_size,
            timeout=timeout,
            retries=retries,
            resize_ahead=resize_ahead,
        )
        _init_state(self)

    @property
    def url(self) -> str:
        return self.settings.url

    @property
    def model_id(self) -> str:
        """The served model's name (connects on first use)."""
        return self._connected().model

    @property
    def batch_size(self) -> int:
        return self.settings.batch_size

    @property
    def pages_in_flight(self) -> int:
        """``max_in_flight`` and a batch more, so the next pages are always on their way."""
        return self.settings.max_in_flight + self.settings.batch_size

    @property
    def runs_model_here(self) -> bool:
        return False

    def cache_identity(self) -> dict[str, Any]:
        """The served model, the directory the server loaded it from, and the settings that
        change the text; not the URL, so a server moved or restarted finds its pages."""
        connection = self._connected()
        guard = self.settings.repetition_guard
        return {
            **super().cache_identity(),
            "root": connection.root,
            "max_new_tokens": self.settings.max_new_tokens,
            "repetition_guard": None if guard is None else guard.__dict__,
        }

    @property
    def stats(self) -> GenerationStats:
        """Pages, tokens and the seconds requests were open (busy time, not summed)."""
        with self._lock:
            return self._stats

    def load(self) -> None:
        """Connect now instead of on first use: checks the URL, the key and the model."""
        self._connected()

    def unload(self) -> None:
        """Close the connection; the next use connects again. Pages in flight fail."""
        with self._lock:
            connection, self._connection = self._connection, None
            finalizer, self._finalizer = self._finalizer, None
        if finalizer is not None:
            finalizer.detach()
        if connection is not None:
            connection.close()

    def prepare(self, request: OCRRequest) -> OCRRequest:
        """The request with its pages resized (or tiled) and encoded as PNG, ready to send:
        done by the page pipeline's render thread once connected."""
        connection = self._connection
        if connection is None or isinstance(request, PreparedRequest):
            return request
        try:
            rgb = with_rgb_images(0, request)
            return PreparedRequest(rgb.images, rgb.task, _payload(connection, rgb))
        except Exception:  # reported by submit_each
            return request

    def submit_each(self, requests: Sequence[OCRRequest]) -> Future[list[OCRResult | Exception]]:
        """Send ``requests`` and return at once; the future gives one result or error per
        request, in order. Cancelling it closes its requests still open.

        Raises:
            ServerUnavailableError, ServerAuthError: on first use, when the server cannot be
                used at all.
        """
        decoded = decoded_requests(requests)
        connection = self._connected()
        job = _Job([*decoded])
        for index, item in enumerate(decoded):
            if isinstance(item, Exception):
                continue
            try:
                ahead = item.ahead if isinstance(item, PreparedRequest) else None
                payload = ahead if isinstance(ahead, _Payload) else None
                payload = payload or _payload(connection, item)
            except Exception as exc:
                job.results[index] = _input_error(index, item.task, exc)
                continue
            coroutine = self._read(connection, index, payload)
            try:
                job.start(index, connection.run(coroutine))
            except RuntimeError:  # unload() closed the connection meanwhile
                coroutine.close()
                job.results[index] = GOTError(
                    f"Request {index}: the ServerEngine was unloaded while it was sent."
                )
        job.seal()
        return job.future

    def _connected(self) -> _Connection:
        with self._lock:
            connection = self._connection
            if connection is not None and connection.pid == os.getpid():
                return connection
        # Outside the lock: connecting waits on the network. Two threads may both connect;
        # one connection is kept.
        fresh = _connect(self.settings)
        with self._lock:
            if self._connection is None or self._connection.pid != os.getpid():
                self._connection = fresh
                # An engine dropped without unload() does not leave its thread behind.
                if self._finalizer is not None:
                    self._finalizer.detach()
                self._finalizer = weakref.finalize(self, fresh.close)
                return fresh
            kept = self._connection
        fresh.close()
        return kept

    async def _read(
        self, connection: _Connection, index: int, payload: _Payload
    ) -> OCRResult | Exception:
        """One page, start to end; its error in its place (``ServerAuthError`` is raised)."""
        import openai

        url = self.settings.url
        async with connection.slots:
            self._busy(+1)
            try:
                return await asyncio.wait_for(
                    self._stream(connection, payload), self.settings.timeout
                )
            except asyncio.TimeoutError:
                return ServerError(
                    f"Request {index}: the GOT server at {url} did not finish the page within "
                    f"{self.settings.timeout:g} s."
                )
            except openai.AuthenticationError as exc:
                raise ServerAuthError(url, _status(exc)) from exc
            except openai.APIConnectionError as exc:
                connection.down = True  # the next pages try once, not with every retry
                return _server_error(f"Request {index}: lost the GOT server at {url}", exc)
            except openai.APIStatusError as exc:
                return _server_error(
                    f"Request {index}: the GOT server at {url} refused the page: {_status(exc)}",
                    exc,
                )
            except openai.APIError as exc:  # an error event inside the stream
                return _server_error(f"Request {index}: the GOT server at {url} failed", exc)
            except ServerError as exc:
                return ServerError(f"Request {index}: {exc}")
            except Exception as exc:
                if _is_transport_error(exc):  # the connection broke mid-page
                    connection.down = True
                    return _server_error(f"Request {index}: lost the GOT server at {url}", exc)
                return _server_error(f"Request {index}: reading the server's answer failed", exc)
            finally:
                self._busy(-1)

    async def _stream(self, connection: _Connection, payload: _Payload) -> OCRResult:
        from .generation import finish_row

        settings = self.settings
        guard = settings.repetition_guard
        client = connection.client
        if connection.down:
            client = client.with_options(max_retries=0)
        started = time.perf_counter()
        content = [{"type": "image_url", "image_url": {"url": url}} for url in payload.urls]
        stream = await client.chat.completions.create(
            model=connection.model,
            messages=[{"role": "user", "content": content}],
            # vLLM refuses more than its max_model_len; it stops at the room left anyway.
            max_tokens=min(settings.max_new_tokens, connection.max_model_len or sys.maxsize),
            temperature=0.0,
            stream=True,
            extra_body={
                "chat_template_kwargs": payload.template,
                # <|im_end|> alone ends an output, as in-process; the text is decoded here.
                "stop_token_ids": [connection.end_token_id],
                "ignore_eos": True,
                "return_token_ids": True,
                # Tokens come in chunks: the guard looks every check_every tokens anyway, and
                # the server's one API process is spared a message per token.
                "stream_interval": guard.check_every if guard is not None else _STREAM_INTERVAL,
            },
        )
        tokens: list[int] = []
        finish: str | None = None
        loop = None
        next_check = guard.min_span if guard is not None else 0
        async with stream:  # leaving it closes the connection: vLLM aborts the request
            async for chunk in stream:
                for choice in chunk.choices:
                    tokens.extend((choice.model_extra or {}).get("token_ids") or ())
                    finish = choice.finish_reason or finish
                if guard is not None and len(tokens) >= next_check:
                    next_check = len(tokens) + guard.check_every
                    loop = guard.find(tokens)
                    if loop is not None:
                        break
        connection.down = False
        if loop is None and finish not in ("stop", "length"):
            # "abort": the server stopped (or dropped) the request; a stream that just ended
            # finished nothing. Either way the page is not read.
            raise ServerError(
                f"the GOT server at {settings.url} ended the page with "
                f"{finish or 'no finish reason'!r} after {len(tokens)} tokens."
            )
        row = finish_row(connection.tokenizer, tokens, connection.end_token_id, loop, guard)
        result = OCRResult(
            text=row.text,
            finish_reason=row.finish_reason,
            generated_tokens=row.generated_tokens,
            seconds=time.perf_counter() - started,
            task=payload.task,
            repeated_tokens_cut=row.repeated_tokens_cut,
        )
        self._count(result)
        return result

    def _busy(self, change: int) -> None:
        with self._lock:
            now = time.perf_counter()
            if self._open == 0 and change > 0:
                self._busy_since = now
            self._open += change
            if self._open == 0 and self._busy_since is not None:
                self._stats += GenerationStats(seconds=now - self._busy_since)
                self._busy_since = None

    def _count(self, result: OCRResult) -> None:
        with self._lock:
            self._stats += GenerationStats(
                batches=1,
                pages=1,
                generated_tokens=result.generated_tokens,
                decode_steps=result.generated_tokens,
            )

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle the settings: a copy connects on its own on first use, and copies with the
        same settings in one process share one connection."""
        return (process_server_engine, (self.settings,))

    def __repr__(self) -> str:
        state = "connected" if self._connection is not None else "not connected"
        return f"ServerEngine({self.settings.url!r}, {state})"


def normalized_url(url: str) -> str:
    """``url`` without a trailing slash or ``/v1``: the server's root."""
    url = str(url).strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"A GOT server's URL starts with http:// or https://, got {url!r}.")
    return url.removesuffix("/v1")


_process_engines: dict[ServerSettings, ServerEngine] = {}
_process_engines_lock = threading.Lock()


def process_server_engine(settings: ServerSettings) -> ServerEngine:
    """The process's one ``ServerEngine`` for these settings, created (not connected) on the
    first call: unpickled engines come from here."""
    with _process_engines_lock:
        engine = _process_engines.get(settings)
        if engine is None:
            engine = ServerEngine.__new__(ServerEngine)
            engine.settings = settings
            _init_state(engine)
            _process_engines[settings] = engine
        return engine


def _init_state(engine: ServerEngine) -> None:
    engine._connection = None
    engine._lock = threading.Lock()
    engine._stats = GenerationStats()
    engine._open = 0
    engine._busy_since = None
    engine._finalizer = None


# --------------------------------------------------------------------------- the connection


@dataclass(eq=False)
class _Connection:
    """What first use learns and builds: the served model, GOT's processor, and the HTTP
    client on its event loop's thread."""

    url: str
    model: str
    root: str
    tokenizer: Any
    end_token_id: int
    inputs: PageInputs
    loop: asyncio.AbstractEventLoop
    thread: threading.Thread
    client: Any
    slots: asyncio.Semaphore
    max_model_len: int | None = None
    pid: int = field(default_factory=os.getpid)
    down: bool = False

    def run(self, coroutine: Any) -> Future[Any]:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    def close(self) -> None:
        """Fail the pages still open, close the client, end the loop and its thread."""
        if self.pid != os.getpid():  # a fork's copy: the thread is the parent's
            return
        if threading.current_thread() is self.thread:
            # Dropped by a callback of its own loop: that callback must finish first.
            threading.Thread(target=self.close, name="got-server-client-close").start()
            return
        _close_loop(self.loop, self.thread, self.client)


def _close_loop(loop: asyncio.AbstractEventLoop, thread: threading.Thread, client: Any) -> None:
    if loop.is_running():
        try:
            asyncio.run_coroutine_threadsafe(_wind_down(client), loop).result(timeout=30)
        except Exception:
            logger.debug("the GOT server client did not close cleanly", exc_info=True)
        loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=10)
    if not thread.is_alive() and not loop.is_closed():
        loop.close()


async def _wind_down(client: Any) -> None:
    """Cancel every request still open (their pages fail), close the client and the threads
    the loop looked host names up on."""
    current = asyncio.current_task()
    tasks = [task for task in asyncio.all_tasks() if task is not current]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    if client is not None:
        await client.close()
    await asyncio.get_running_loop().shutdown_default_executor()


def _is_transport_error(exc: BaseException) -> bool:
    """True for the HTTP library's connection errors (httpx, or httpx2 under openai 3)."""
    package = type(exc).__module__.split(".")[0]
    return isinstance(exc, OSError) or package in ("httpx", "httpx2", "httpcore", "h11", "anyio")


def _connect(settings: ServerSettings) -> _Connection:
    """Reach the server, check the key, find the model, load GOT's processor."""
    try:
        import openai  # noqa: F401  (the extra's presence)
    except ImportError as exc:
        raise MissingExtraError("ServerEngine", "client", "openai") from exc
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="got-server-client", daemon=True)
    thread.start()
    client = None
    try:
        client, model, root, max_model_len = asyncio.run_coroutine_threadsafe(
            _handshake(settings), loop
        ).result()
        processor = _load_processor(settings, model, root)
        from .vllm_backend import PageInputs

        inputs = PageInputs(processor)
        inputs.resize_ahead = inputs.resize_ahead and settings.resize_ahead
        inputs.check()
        slots = asyncio.run_coroutine_threadsafe(_semaphore(settings.max_in_flight), loop)
        tokenizer = processor.tokenizer
        return _Connection(
            url=settings.url,
            model=model,
            root=root,
            tokenizer=tokenizer,
            end_token_id=int(tokenizer.convert_tokens_to_ids(processor.message_end_token)),
            inputs=inputs,
            loop=loop,
            thread=thread,
            client=client,
            slots=slots.result(),
            max_model_len=max_model_len,
        )
    except BaseException:
        _close_loop(loop, thread, client)
        raise


async def _semaphore(size: int) -> asyncio.Semaphore:
    return asyncio.Semaphore(size)


async def _handshake(settings: ServerSettings) -> tuple[Any, str, str, int | None]:
    """The client, the served model's name, the directory it was loaded from and its
    ``max_model_len``."""
    import openai

    url = settings.url
    client = openai.AsyncOpenAI(
        base_url=f"{url}/v1",
        api_key=settings.api_key or "EMPTY",
        max_retries=settings.retries,
        # A page may take minutes; a connection that is not taken up is given seconds.
        timeout=openai.Timeout(settings.timeout, connect=10.0),
    )
    try:
        models = [model async for model in client.models.list()]
    except openai.AuthenticationError as exc:
        await client.close()
        raise ServerAuthError(url, _status(exc)) from exc
    except openai.APIConnectionError as exc:
        await client.close()
        cause = exc.__cause__ or exc
        raise ServerUnavailableError(
            url, f"nothing answers there ({type(cause).__name__}: {cause})."
        ) from exc
    except openai.APIStatusError as exc:
        await client.close()
        raise ServerUnavailableError(
            url, f"not an OpenAI-compatible API: GET /v1/models answered {_status(exc)}."
        ) from exc
    except openai.APIError as exc:
        await client.close()
        raise ServerUnavailableError(
            url, f"not an OpenAI-compatible API: {type(exc).__name__}: {exc}"
        ) from exc
    names = [model.id for model in models]
    if not names:
        await client.close()
        raise ServerUnavailableError(url, "it serves no model.")
    wanted = settings.model or names[0]
    if wanted not in names:
        await client.close()
        raise ServerUnavailableError(url, f"it serves {names}, not {wanted!r}.")
    served = models[names.index(wanted)]
    extra = served.model_extra or {}
    root = str(extra.get("root") or wanted)
    length = extra.get("max_model_len")
    return client, wanted, root, int(length) if isinstance(length, int) else None


def _load_processor(settings: ServerSettings, model: str, root: str) -> Any:
    """GOT's processor, from ``settings.processor``, else the server's model directory when
    this machine sees it, else the served name (the Hub, or its cache)."""
    from transformers import GotOcr2Processor

    if settings.processor is not None:
        sources = [settings.processor]
    else:
        sources = [root] if os.path.isdir(root) else []
        sources.append(model)
    reasons = []
    for source in dict.fromkeys(sources):
        try:
            return GotOcr2Processor.from_pretrained(source)
        except Exception as exc:  # the Hub's errors, or files of another model
            reasons.append(f"{source!r}: {type(exc).__name__}: {str(exc).splitlines()[0]}")
    raise ModelLoadError(
        f"ServerEngine needs GOT's processor files (tokenizer and image settings, no weights) "
        f"to send pages to {settings.url} and decode its tokens, and found none: "
        + "; ".join(reasons)
        + ". Pass processor='DIR' with a copy of the model's *.json files."
    )


# --------------------------------------------------------------------------- requests


@dataclass(frozen=True)
class _Payload:
    """One request as the server takes it: PNG data URLs and the task's template arguments."""

    urls: tuple[str, ...]
    template: dict[str, Any]
    task: OCRTask


def _payload(connection: _Connection, request: OCRRequest) -> _Payload:
    from .vllm_backend import scaled_box

    built = connection.inputs.build(request)
    task = request.task
    template: dict[str, Any] = {}
    if task.output is OutputFormat.FORMATTED:
        template["got_format"] = True
    if task.box is not None:
        template["got_box"] = scaled_box(task.box, request.images[0].size)
    if task.color is not None:
        template["got_color"] = task.color.value
    if task.crop_to_patches:
        template["got_crop"] = True
    return _Payload(tuple(_data_url(image) for image in built.images), template, task)


def _data_url(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)  # lossless; level 1: fast
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _server_error(message: str, exc: BaseException) -> ServerError:
    error = ServerError(f"{message}: {type(exc).__name__}: {exc}")
    error.__cause__ = exc
    return error


def _status(exc: Any) -> str:
    body = getattr(exc, "body", None)
    message = body.get("message") if isinstance(body, dict) else None
    return f"HTTP {exc.status_code}: {message or exc.message}"


def _input_error(index: int, task: OCRTask, exc: Exception) -> Exception:
    if isinstance(exc, GOTError):
        return exc
    error = InvalidTaskError(f"Request {index}: GOT's processor rejected {task}: {exc}")
    error.__cause__ = exc
    return error


class _Job:
    """One ``submit_each``: its future completes when every request has its result."""

    def __init__(self, results: list[Any]) -> None:
        self.future: Future[list[OCRResult | Exception]] = Future()
        self.results: list[Any] = results
        self.running: dict[int, Future[Any]] = {}
        self.lock = threading.Lock()
        self.sealed = False
        self.future.add_done_callback(self._cancelled)

    def start(self, index: int, running: Future[Any]) -> None:
        with self.lock:
            self.running[index] = running
        running.add_done_callback(lambda done: self._finish(index, done))

    def seal(self) -> None:
        """Every request has started: complete once they have finished."""
        with self.lock:
            self.sealed = True
        self._complete()

    def _finish(self, index: int, done: Future[Any]) -> None:
        if done.cancelled():
            outcome: Any = GOTError(f"Request {index} was cancelled.")
        elif done.exception() is not None:
            exception = done.exception()
            if isinstance(exception, ModelLoadError):  # the key was refused: nothing can work
                with _quiet():
                    self.future.set_exception(exception)
                return
            outcome = exception
        else:
            outcome = done.result()
        with self.lock:
            self.results[index] = outcome
            del self.running[index]
        self._complete()

    def _complete(self) -> None:
        with self.lock:
            if not self.sealed or self.running:
                return
        with _quiet():
            self.future.set_result(self.results)

    def _cancelled(self, future: Future[Any]) -> None:
        if future.cancelled():
            with self.lock:
                running = list(self.running.values())
            for item in running:
                item.cancel()


class _quiet:
    """Completing a future already completed or cancelled is not an error."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, value: Any, traceback: Any) -> bool:
        return kind is InvalidStateError


__all__ = [
    "API_KEY_VARIABLE",
    "ServerEngine",
    "ServerSettings",
    "normalized_url",
    "process_server_engine",
]
