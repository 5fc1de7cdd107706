"""The OCR engine contract: what loaders need from an engine, and what every backend shares.

Two backends implement it, each in its own module: ``transformers_backend.GOTEngine`` (static
batches through transformers' ``generate``) and ``vllm_backend.VLLMEngine`` (continuous
batching on vLLM).
"""

from __future__ import annotations

import dataclasses
import os
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from .errors import GOTError, ImageInputError, InvalidTaskError, MissingExtraError, ModelLoadError
from .images import to_rgb
from .results import OCRResult
from .tasks import PLAIN, OCRRequest, OCRTask, PreparedRequest

if TYPE_CHECKING:
    from PIL import Image

    from .loading import LoadSettings
    from .repetition import RepetitionGuard

GOT_MAX_NEW_TOKENS = 4096  # GOT's own generation limit

FATAL_ERRORS: tuple[type[Exception], ...] = (ModelLoadError, MissingExtraError)
"""Errors after which no page can succeed: never worth retrying page by page."""


class OCREngine(ABC):
    """What loaders need from an OCR engine: one batch method; the rest wraps it.

    Implement ``recognize_batch`` and ``model_id`` to plug another engine (or a test fake)
    into every loader.
    """

    @property
    @abstractmethod
    def model_id(self) -> str:
        """Identifies the model in metadata (a Hub id or a directory)."""

    @abstractmethod
    def recognize_batch(self, requests: Sequence[OCRRequest]) -> list[OCRResult]:
        """Run every request and return one result per request, in input order."""

    def cache_identity(self) -> dict[str, Any]:
        """What, besides the task and the image, decides this engine's output.

        The result cache keys on it. The default is the engine's class and ``model_id``;
        an engine whose output depends on more settings must add them.
        """
        kind = type(self)
        return {"engine": f"{kind.__module__}.{kind.__qualname__}", "model": self.model_id}

    def recognize_each(self, requests: Sequence[OCRRequest]) -> list[OCRResult | Exception]:
        """Like ``recognize_batch``, but a request that fails gets its error in its place and
        costs none of the others.

        A failing batch is split in halves and each half retried, down to single requests,
        so a bad page (or a batch too large for the device's memory) loses only itself.
        Errors that no retry can mend (the model cannot load, an extra is missing) are raised.
        """
        requests = list(requests)
        if not requests:
            return []
        try:
            results = self.recognize_batch(requests)
            if len(results) != len(requests):
                raise GOTError(
                    f"{type(self).__name__}.recognize_batch returned {len(results)} results "
                    f"for {len(requests)} requests."
                )
            return list(results)
        except FATAL_ERRORS:
            raise
        except Exception as exc:
            if len(requests) == 1:
                return [exc]
        # Split outside the handler: the failed attempt's frames (and their memory) are gone.
        middle = len(requests) // 2
        return self.recognize_each(requests[:middle]) + self.recognize_each(requests[middle:])

    @property
    def pages_in_flight(self) -> int:
        """How many pages a caller should keep submitted (``submit_each``) before it waits
        for the oldest; 0 (the default) when ``submit_each`` does the work before returning.

        An engine that batches continuously (vLLM) starts each page as soon as a slot frees,
        so it stays busy only while more pages are already waiting in it.
        """
        return 0

    @property
    def runs_model_here(self) -> bool:
        """True when this process runs the model (and needs its device); False for an engine
        that sends pages to a model elsewhere (``ServerEngine``): Ray's actors then hold no
        GPU for it."""
        return True

    def submit_each(self, requests: Sequence[OCRRequest]) -> Future[list[OCRResult | Exception]]:
        """Start ``recognize_each`` on ``requests``; the future gives its list.

        The default runs them before returning. An engine with ``pages_in_flight`` queues
        them and returns at once, so the caller can render and submit the next pages while
        these run. Cancelling the future gives up those of its requests not yet finished.
        """
        future: Future[list[OCRResult | Exception]] = Future()
        try:
            future.set_result(self.recognize_each(requests))
        except Exception as exc:
            future.set_exception(exc)
        return future

    def prepare(self, request: OCRRequest) -> OCRRequest:
        """Do ahead, on another thread, the work on ``request`` that needs no model.

        The page pipeline calls it on its render thread for every page, so this work is
        off the thread that drives the model. Returns an equivalent request (this one by
        default); must not raise.
        """
        return request

    def recognize(self, image: Image.Image, task: OCRTask = PLAIN) -> OCRResult:
        """Read one image."""
        return self.recognize_batch([OCRRequest((image,), task)])[0]

    def recognize_images(
        self, images: Iterable[Image.Image], task: OCRTask | Sequence[OCRTask] = PLAIN
    ) -> list[OCRResult]:
        """Read several images, each on its own, with one task for all or one task each."""
        images = list(images)
        tasks = [task] * len(images) if isinstance(task, OCRTask) else list(task)
        if len(tasks) != len(images):
            raise InvalidTaskError(f"Got {len(images)} images but {len(tasks)} tasks.")
        return self.recognize_batch(
            [OCRRequest((image,), t) for image, t in zip(images, tasks, strict=True)]
        )

    def recognize_pages(self, pages: Iterable[Image.Image], task: OCRTask = PLAIN) -> OCRResult:
        """Read several page images as one document (GOT's multi-page OCR): one output."""
        return self.recognize_batch([OCRRequest(tuple(pages), task)])[0]


class BackgroundEngine(OCREngine):
    """An engine whose work runs in the background (``submit_each`` returns at once):
    ``recognize_each`` waits for its submission, ``recognize_batch`` raises its first error.
    ``VLLMEngine`` and ``ServerEngine`` are such engines."""

    @abstractmethod
    def submit_each(self, requests: Sequence[OCRRequest]) -> Future[list[OCRResult | Exception]]:
        """Start every request and return at once; the future gives one result or error per
        request, in order."""

    def recognize_batch(self, requests: Sequence[OCRRequest]) -> list[OCRResult]:
        """Run every request; raise the first error."""
        results: list[OCRResult] = []
        for output in self.recognize_each(requests):
            if isinstance(output, Exception):
                raise output
            results.append(output)
        return results

    def recognize_each(self, requests: Sequence[OCRRequest]) -> list[OCRResult | Exception]:
        """Run every request; one that fails gets its error in its place and costs none of
        the others."""
        return self.submit_each(requests).result()


def checkpoint_identity(
    identity: dict[str, Any],
    load: LoadSettings,
    max_new_tokens: int,
    guard: RepetitionGuard | None,
) -> dict[str, Any]:
    """``identity`` with what a GOT backend's text depends on: the model (a local directory by
    its real path, so ./ckpt, ckpt/ and /abs/ckpt are one, and by its weight files' sizes and
    times), its revision, the dtype, ``max_new_tokens`` and the repetition guard."""
    model = os.path.realpath(load.model) if os.path.isdir(load.model) else identity["model"]
    return {
        **identity,
        "model": model,
        "revision": load.revision,
        "weights": local_weights_fingerprint(load.model),
        "dtype": str(load.dtype).removeprefix("torch."),  # torch.float16 == "float16"
        "max_new_tokens": max_new_tokens,
        "repetition_guard": None if guard is None else dataclasses.asdict(guard),
    }


def local_weights_fingerprint(model: str) -> list[tuple[str, int, int]] | None:
    """(name, size, mtime in ns) of a local model directory's config and weight files, or
    None for a Hub id: rewriting the weights in place then misses the cache."""
    if not os.path.isdir(model):
        return None
    fingerprint = []
    for entry in sorted(os.scandir(model), key=lambda entry: entry.name):
        if entry.is_file() and entry.name.endswith((".json", ".safetensors", ".bin")):
            stat = entry.stat()
            fingerprint.append((entry.name, stat.st_size, stat.st_mtime_ns))
    return fingerprint


def decoded_requests(requests: Sequence[OCRRequest]) -> list[OCRRequest | Exception]:
    """Each request with its images as RGB, or the error that decoding them gave."""
    prepared: list[OCRRequest | Exception] = []
    for index, request in enumerate(requests):
        if not isinstance(request, OCRRequest):
            raise InvalidTaskError(
                f"Request {index} is a {type(request).__name__}, not an OCRRequest."
            )
        try:
            prepared.append(with_rgb_images(index, request))
        except ImageInputError as exc:
            prepared.append(exc)
        except Exception as exc:  # Pillow's decoders raise all sorts on damaged data
            error = ImageInputError(f"Request {index}: {type(exc).__name__}: {exc}")
            error.__cause__ = exc
            prepared.append(error)
    return prepared


def with_rgb_images(index: int, request: OCRRequest) -> OCRRequest:
    if isinstance(request, PreparedRequest):
        return request  # converted by prepare()
    try:
        images = tuple(to_rgb(image) for image in request.images)
    except ImageInputError as exc:
        raise ImageInputError(f"Request {index}: {exc}") from exc
    return OCRRequest(images, request.task)


# Kept importable from here, where they lived before the backends had modules of their own.
_MOVED = frozenset(
    {"GOTEngine", "GenerationSettings", "process_engine", "is_out_of_memory", "free_device_memory"}
)


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        from . import transformers_backend

        return getattr(transformers_backend, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
