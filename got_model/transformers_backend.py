"""GOT-OCR 2.0 on transformers: static batches through ``generate``, on any torch device."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .engine import (
    FATAL_ERRORS,
    GOT_MAX_NEW_TOKENS,
    OCREngine,
    checkpoint_identity,
    decoded_requests,
    with_rgb_images,
)
from .errors import EngineOutOfMemoryError, GOTError, InvalidTaskError, ModelLoadError
from .loading import DEFAULT_MODEL_ID, LoadSettings, load_model_and_processor
from .repetition import RepetitionGuard
from .results import GenerationStats, OCRResult
from .tasks import OCRRequest

if TYPE_CHECKING:
    from .generation import RowOutput
    from .inputs import PixelEncoder

logger = logging.getLogger("got_model")

# After this many batches in a row fit at a lowered batch size, the next size up is tried again.
_BATCH_RECOVERY = 32


@dataclass(frozen=True)
class GenerationSettings:
    """How outputs are generated.

    Attributes:
        batch_size: requests per ``generate`` call.
        max_new_tokens: the most tokens one output may have.
        repetition_guard: stops and trims outputs that fall into a loop; ``None`` disables it.
        no_repeat_ngram_size: transformers' n-gram blocking (GOT's demo uses 20). Off by
            default: it also forbids legitimate repeats, e.g. identical table rows.
        static_cache: preallocate the key/value cache for the whole output
            (transformers' ``cache_implementation="static"``) instead of growing it.
        compile: ``torch.compile`` the decoding step, with a static cache (CUDA only; the
            first batch of each size compiles, which takes a while).
        encoder_batch_size: the vision encoder reads a batch's images this many at a time
            before decoding starts, so a large batch does not need every page's encoder
            memory at once; ``None``: all at once, inside ``generate``.

    ``batch_size``, ``static_cache``, ``compile`` and ``encoder_batch_size`` change how fast
    (and in how much memory) outputs come, not what
    they say (beyond floating-point rounding), so the result cache ignores them.
    """

    batch_size: int = 8
    max_new_tokens: int = GOT_MAX_NEW_TOKENS
    repetition_guard: RepetitionGuard | None = field(default_factory=RepetitionGuard)
    no_repeat_ngram_size: int | None = None
    static_cache: bool = False
    compile: bool = False
    encoder_batch_size: int | None = 8

    def __post_init__(self) -> None:
        if self.encoder_batch_size is not None and self.encoder_batch_size < 1:
            raise ValueError(
                f"encoder_batch_size must be None or at least 1, got {self.encoder_batch_size}."
            )
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {self.batch_size}.")
        if self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be at least 1, got {self.max_new_tokens}.")
        if self.no_repeat_ngram_size is not None and self.no_repeat_ngram_size < 1:
            raise ValueError("no_repeat_ngram_size must be None or at least 1.")


class GOTEngine(OCREngine):
    """GOT-OCR 2.0 on transformers: lazy, thread-safe loading and batched greedy generation.

    Nothing is loaded at construction; the first recognition loads the model once, even when
    several threads start at the same time.

    Example:
        >>> engine = GOTEngine(device="cuda", batch_size=16)   # doctest: +SKIP
        >>> engine.recognize(Image.open("page.png"), FORMATTED).text   # doctest: +SKIP
    """

    def __init__(
        self,
        model: str = DEFAULT_MODEL_ID,
        *,
        revision: str | None = None,
        local_files_only: bool | None = None,
        cache_dir: str | None = None,
        device: str = "auto",
        dtype: Any = "auto",
        attn_implementation: str | None = None,
        vision_attention: str = "sdpa",
        batch_size: int = 8,
        max_new_tokens: int = GOT_MAX_NEW_TOKENS,
        repetition_guard: RepetitionGuard | None = RepetitionGuard(),  # noqa: B008  (frozen)
        no_repeat_ngram_size: int | None = None,
        static_cache: bool = False,
        compile: bool = False,
        encoder_batch_size: int | None = 8,
    ) -> None:
        self.load_settings = LoadSettings(
            model=str(model),
            revision=revision,
            local_files_only=local_files_only,
            cache_dir=cache_dir,
            device=device,
            dtype=dtype,
            attn_implementation=attn_implementation,
            vision_attention=vision_attention,
        )
        self.generation_settings = GenerationSettings(
            batch_size=batch_size,
            max_new_tokens=max_new_tokens,
            repetition_guard=repetition_guard,
            no_repeat_ngram_size=no_repeat_ngram_size,
            static_cache=static_cache,
            compile=compile,
            encoder_batch_size=encoder_batch_size,
        )
        self._model: Any = None
        self._processor: Any = None
        self._encoder: PixelEncoder | _Unchecked | None = _UNCHECKED
        self._load_lock = threading.Lock()
        self._reloadable = True  # False when built from components: nothing to reload from
        self._memory = _BatchLimit(batch_size)
        self._stats = _StatsCounter()

    @classmethod
    def from_components(
        cls,
        model: Any,
        processor: Any,
        *,
        model_id: str | None = None,
        **generation: Any,
    ) -> GOTEngine:
        """Wrap an already-built ``GotOcr2ForConditionalGeneration`` and ``GotOcr2Processor``.

        ``generation`` takes the generation settings of the constructor (``batch_size``,
        ``max_new_tokens``, ``repetition_guard``, ``no_repeat_ngram_size``,
        ``static_cache``, ``compile``).
        """
        name = model_id or getattr(model, "name_or_path", None) or "custom"
        engine = cls(str(name), **generation)
        engine._model, engine._processor = model, processor
        engine._reloadable = False
        return engine

    @property
    def model_id(self) -> str:
        return self.load_settings.model

    def cache_identity(self) -> dict[str, Any]:
        """The model (a local directory also by its weight files' sizes and times), its
        revision, the dtype and every generation setting that changes the text.

        Left out because they change nothing but floating-point rounding: the device, the
        batch size, the attention implementations (the decoder's and the vision encoder's) and
        ``encoder_batch_size``.
        """
        generation = self.generation_settings
        identity = super().cache_identity()
        if type(self) is GOTEngine:  # its name before the backends had modules of their own:
            identity["engine"] = "got_model.engine.GOTEngine"  # results cached then still hit
        return {
            **checkpoint_identity(
                identity, self.load_settings, generation.max_new_tokens, generation.repetition_guard
            ),
            "no_repeat_ngram_size": generation.no_repeat_ngram_size,
        }

    @property
    def stats(self) -> GenerationStats:
        """What this engine's batches have cost so far: pages, tokens, decode steps paid
        (``useful_fraction`` shows how much padding a batch size costs), seconds.

        Take two snapshots and subtract them to measure one run.
        """
        return self._stats.snapshot()

    @property
    def is_loaded(self) -> bool:
        """True once the model and processor are in memory."""
        return self._model is not None

    def load(self) -> None:
        """Load the model and processor now instead of on first use. Safe to call twice."""
        self._components()

    def _components(self) -> tuple[Any, Any]:
        """The loaded (model, processor), loading them once; read together under the lock so
        a concurrent ``unload()`` never leaves a caller with half a pair."""
        model, processor, _ = self._loaded()
        return model, processor

    def _loaded(self) -> tuple[Any, Any, PixelEncoder | None]:
        """The loaded model and processor, and the fast path for the processor's common
        requests (``None`` where it would not give exactly the processor's output)."""
        with self._load_lock:
            if self._model is None:
                if not self._reloadable:
                    raise GOTError(
                        "This engine was built with GOTEngine.from_components() and then "
                        "unloaded: build a new one from your model and processor."
                    )
                try:
                    self._model, self._processor = load_model_and_processor(self.load_settings)
                except ModelLoadError:
                    raise
                except Exception as exc:  # CUDA missing, an unknown dtype, a broken checkpoint
                    raise ModelLoadError(
                        f"Cannot load the GOT model {self.model_id!r} "
                        f"(device {self.load_settings.device!r}, dtype "
                        f"{self.load_settings.dtype!r}): {type(exc).__name__}: {exc}"
                    ) from exc
            if self._encoder is _UNCHECKED:
                from .inputs import PixelEncoder, image_tokens_per_patch

                if self.generation_settings.compile and _device_type(self._model) != "cuda":
                    logger.warning(
                        "compile=True compiles the decoding step on CUDA only: on %s it runs "
                        "as it is, with a static cache.",
                        _device_name(self._model),
                    )

                tokens = image_tokens_per_patch(self._model.config)
                self._encoder = PixelEncoder.for_processor(self._processor, tokens)
            assert not isinstance(self._encoder, _Unchecked)
            return self._model, self._processor, self._encoder

    def unload(self) -> None:
        """Drop the model so its memory can be freed; the next call loads it again."""
        with self._load_lock:
            self._model = self._processor = None
            self._encoder = _UNCHECKED

    def prepare(self, request: OCRRequest) -> OCRRequest:
        """The request with its page converted to RGB and, once the model is loaded, resized
        to GOT's input size: the costliest part of GOT's preprocessing (see
        ``PixelEncoder``), done ahead by the pipeline's render thread. Anything that fails
        here is left for ``recognize_each`` to report."""
        encoder = self._encoder
        if encoder is None or isinstance(encoder, _Unchecked) or not encoder.handles(request):
            return request
        try:
            return encoder.prepare(with_rgb_images(0, request))
        except Exception:  # the same error comes again, reported, in recognize_each
            return request

    def recognize_batch(self, requests: Sequence[OCRRequest]) -> list[OCRResult]:
        """Run every request, ``batch_size`` at a time; raise the first error.

        A batch that runs out of device memory is split and retried (see ``recognize_each``);
        ``EngineOutOfMemoryError`` means one request did not fit even alone.
        """
        prepared = decoded_requests(requests)
        for item in prepared:
            if isinstance(item, Exception):
                raise item  # before the model loads: bad input costs no model load
        results: list[OCRResult] = []
        for output in self._run_prepared(prepared, split_on_any_error=False):
            if isinstance(output, Exception):
                raise output
            results.append(output)
        return results

    def recognize_each(self, requests: Sequence[OCRRequest]) -> list[OCRResult | Exception]:
        """Run every request; one that fails gets its error in its place.

        Images that cannot be decoded fail alone, before any model work. A failing batch is
        split in halves and retried down to single requests. When the cause was the device
        running out of memory, the memory is freed before the retry, a request that fails
        alone gets ``EngineOutOfMemoryError``, and later batches start at the size that
        fitted (growing back after a while).
        """
        if type(self).recognize_batch is not GOTEngine.recognize_batch:
            return super().recognize_each(requests)  # a subclass's own batches come first
        return self._run_prepared(decoded_requests(requests), split_on_any_error=True)

    def _run_prepared(
        self, prepared: Sequence[OCRRequest | Exception], *, split_on_any_error: bool
    ) -> list[OCRResult | Exception]:
        results: dict[int, OCRResult | Exception] = {}
        todo: list[tuple[int, OCRRequest]] = []
        for index, item in enumerate(prepared):
            if isinstance(item, OCRRequest):
                todo.append((index, item))
            else:
                results[index] = item
        while todo:
            size = self._memory.size()
            chunk, todo = todo[:size], todo[size:]
            split = _Split()
            outputs = self._run_splitting(
                [request for _, request in chunk], split_on_any_error, split
            )
            self._memory.record(len(chunk), split)
            for (index, _), output in zip(chunk, outputs, strict=True):
                results[index] = output
        return [results[index] for index in range(len(prepared))]

    def _run_splitting(
        self, requests: Sequence[OCRRequest], split_on_any_error: bool, split: _Split
    ) -> list[OCRResult | Exception]:
        """``requests`` in one batch; halves on failure, down to single requests."""
        model, processor, encoder = self._loaded()
        try:
            results = self._run_batch(requests, model, processor, encoder)
        except FATAL_ERRORS:
            raise
        except Exception as exc:
            out_of_memory = is_out_of_memory(exc)
            if not out_of_memory and not split_on_any_error:
                raise
            if out_of_memory:
                exc.__traceback__ = None  # its frames hold the batch's tensors
                split.ran_out = True
            if len(requests) == 1:
                if not out_of_memory:
                    return [exc]
                split.lone_failures += 1
                free_device_memory()
                error = EngineOutOfMemoryError(
                    f"Out of memory on {_device_name(model)} even for this page alone "
                    f"({str(exc).rstrip('.')}). "
                    "Lower max_new_tokens or max_patches (multi-crop), load the model in "
                    "float16/bfloat16, or free memory held by other processes."
                )
                error.__cause__ = exc
                return [error]
        else:
            split.largest_fitted = max(split.largest_fitted, len(requests))
            return list(results)
        # Split outside the handler: the failed attempt's frames (and their memory) are gone.
        if out_of_memory:
            free_device_memory()
        middle = len(requests) // 2
        first = self._run_splitting(requests[:middle], split_on_any_error, split)
        return first + self._run_splitting(requests[middle:], split_on_any_error, split)

    def _run_batch(
        self,
        requests: Sequence[OCRRequest],
        model: Any,
        processor: Any,
        encoder: PixelEncoder | None = None,
    ) -> list[OCRResult]:
        from .generation import generate_batch
        from .inputs import collate_left_padded, encode_request, image_tokens_per_patch

        started = time.perf_counter()
        tokenizer = processor.tokenizer
        pad_token_id = tokenizer.pad_token_id
        if pad_token_id is None:
            pad_token_id = tokenizer.convert_tokens_to_ids("<|im_end|>")
        num_image_tokens = image_tokens_per_patch(model.config)
        encodings = []
        for request in requests:
            try:
                encodings.append(encode_request(processor, request, num_image_tokens, encoder))
            except (ValueError, OSError) as exc:
                raise InvalidTaskError(f"GOT's processor rejected {request.task}: {exc}") from exc
        batch = collate_left_padded(encodings, int(pad_token_id))
        settings = self.generation_settings
        rows = generate_batch(
            model,
            tokenizer,
            batch,
            max_new_tokens=settings.max_new_tokens,
            repetition_guard=settings.repetition_guard,
            no_repeat_ngram_size=settings.no_repeat_ngram_size,
            pad_token_id=int(pad_token_id),
            static_cache=settings.static_cache or settings.compile,
            compile=settings.compile,
            encoder_batch_size=settings.encoder_batch_size,
        )
        seconds = time.perf_counter() - started
        self._stats.add(rows, seconds)
        share = seconds / len(requests)
        return [
            OCRResult(
                text=row.text,
                finish_reason=row.finish_reason,
                generated_tokens=row.generated_tokens,
                seconds=share,
                task=request.task,
                repeated_tokens_cut=row.repeated_tokens_cut,
            )
            for row, request in zip(rows, requests, strict=True)
        ]

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle the settings, not the model.

        A copy unpickled in another process (a worker of ``SimpleDirectoryReader(num_workers=
        ...)``, say) loads its own model on first use, and every copy with the same settings
        unpickled in that process is one engine, so a worker loads the model once, not once
        per task. An engine built with ``from_components`` has nothing to reload from, so its
        model and processor travel with it.
        """
        if self._reloadable:
            return (process_engine, (self.load_settings, self.generation_settings, type(self)))
        state = self.__dict__.copy()
        del state["_load_lock"], state["_memory"], state["_encoder"], state["_stats"]
        return (_engine_from_state, (type(self), state))

    def __repr__(self) -> str:
        state = "loaded" if self.is_loaded else "not loaded"
        return f"GOTEngine(model={self.model_id!r}, {state})"


_process_engines: dict[tuple[type[GOTEngine], LoadSettings, GenerationSettings], GOTEngine] = {}
_process_engines_lock = threading.Lock()


def process_engine(
    load: LoadSettings, generation: GenerationSettings, cls: type[GOTEngine] | None = None
) -> GOTEngine:
    """The process's one engine for these settings, created (unloaded) on the first call.

    Unpickled engines come from here, and so do got_loaders' shared engines: every holder of
    the same settings in a process shares one model.
    """
    cls = cls or GOTEngine
    key = (cls, load, generation)
    with _process_engines_lock:
        engine = _process_engines.get(key)
        if engine is None:
            engine = _process_engines[key] = _engine_from_state(
                cls,
                {
                    "load_settings": load,
                    "generation_settings": generation,
                    "_model": None,
                    "_processor": None,
                    "_reloadable": True,
                },
            )
        return engine


def _engine_from_state(cls: type[GOTEngine], state: dict[str, Any]) -> GOTEngine:
    engine = cls.__new__(cls)
    engine.__dict__.update(state)
    engine._load_lock = threading.Lock()
    engine._memory = _BatchLimit(engine.generation_settings.batch_size)
    engine._encoder = _UNCHECKED
    engine._stats = _StatsCounter()
    return engine


class _StatsCounter:
    """``GenerationStats`` summed over batches, from any thread."""

    def __init__(self) -> None:
        self._total = GenerationStats()
        self._lock = threading.Lock()

    def add(self, rows: Sequence[RowOutput], seconds: float) -> None:
        steps = max((row.generated_tokens for row in rows), default=0)
        batch = GenerationStats(
            batches=1,
            pages=len(rows),
            generated_tokens=sum(row.generated_tokens for row in rows),
            decode_steps=steps * len(rows),
            seconds=seconds,
        )
        with self._lock:
            self._total += batch

    def snapshot(self) -> GenerationStats:
        with self._lock:
            return self._total


class _Unchecked:
    """Not yet known whether the fast preprocessing path fits the loaded processor."""


_UNCHECKED = _Unchecked()


@dataclass
class _Split:
    """What happened while one chunk of requests was run and, if need be, split."""

    ran_out: bool = False
    """The device ran out of memory on some batch."""
    lone_failures: int = 0
    """Requests that ran out of memory alone."""
    largest_fitted: int = 0
    """The most requests that ran in one batch."""


class _BatchLimit:
    """How many requests go into one ``generate`` call.

    The configured batch size, lowered to the largest batch that fitted after the device ran
    out of memory, and raised again one step at a time after ``_BATCH_RECOVERY`` full batches
    in a row fitted. When a page failed even alone, that page explains the failure and the
    size is left as it was: one outsized page must not slow the rest of a long run.
    """

    def __init__(self, configured: int) -> None:
        self.configured = configured
        self._size = configured
        self._fitted = 0
        self._lock = threading.Lock()

    def size(self) -> int:
        with self._lock:
            return self._size

    def record(self, batch: int, split: _Split) -> None:
        with self._lock:
            if split.ran_out:
                self._fitted = 0
                smaller = max(1, split.largest_fitted)
                if not split.lone_failures and smaller < self._size:
                    logger.warning(
                        "Out of device memory with %d pages in a batch: going on with "
                        "batches of %d.",
                        batch,
                        smaller,
                    )
                    self._size = smaller
            elif self._size < self.configured and batch >= self._size:
                self._fitted += 1
                if self._fitted >= _BATCH_RECOVERY:
                    self._size = min(self.configured, self._size * 2)
                    self._fitted = 0


def is_out_of_memory(error: BaseException) -> bool:
    """True for a device (or host) allocation failure: CUDA's and MPS's out-of-memory errors,
    which older torch versions raise as plain ``RuntimeError``, and CPU allocation failures."""
    if isinstance(error, MemoryError):
        return True
    import torch

    if isinstance(error, torch.OutOfMemoryError):
        return True
    message = str(error).lower()
    return isinstance(error, RuntimeError) and (
        "out of memory" in message or "can't allocate memory" in message
    )


def free_device_memory() -> None:
    """Hand cached, now unused device memory back, so a smaller retry can get it."""
    import gc

    import torch

    gc.collect()
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.empty_cache()
    mps = getattr(torch, "mps", None)
    if mps is not None and torch.backends.mps.is_available():
        mps.empty_cache()


def _device_type(model: Any) -> str | None:
    device = getattr(model, "device", None)
    return getattr(device, "type", None)


def _device_name(model: Any) -> str:
    return str(getattr(model, "device", "the device"))
