"""GOT-OCR 2.0 on vLLM: continuous batching, paged attention and CUDA graphs.

vLLM runs transformers' own ``GotOcr2ForConditionalGeneration`` through its Transformers
modeling backend (``model_impl="transformers"``): no model code of ours and no
``trust_remote_code``. What vLLM needs from transformers' GOT processor and older releases
lack, ``got_model.vllm_plugin`` supplies through vLLM's plugin entry point.

One thread (the driver) owns vLLM's engine: it adds requests as they are submitted, steps the
engine, watches every output for GOT's repetition loop (and aborts a looping request at once),
and completes each submission's future when its last request is done. So a caller can submit
the next pages while earlier ones decode, and the GPU never waits between batches.

Every task runs on vLLM, each request with its own options. The prompt is written here the way
GOT's processor writes it, and each page is resized to GOT's input size ahead (``prepare``, on
the page pipeline's render thread). Multi-crop is cut into its tiles ahead too, by the
processor's own ``crop_image_to_patches``, and the tiles go to vLLM as the pages of one
request: vLLM then counts one 256-token patch per image, whatever each request's
``max_patches``. The results equal the transformers backend's (see tests/vllm).
"""

from __future__ import annotations

import collections
import itertools
import logging
import queue
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .engine import (
    GOT_MAX_NEW_TOKENS,
    BackgroundEngine,
    checkpoint_identity,
    decoded_requests,
    with_rgb_images,
)
from .errors import GOTError, InvalidTaskError, MissingExtraError, ModelLoadError
from .loading import DEFAULT_MODEL_ID, LoadSettings, resolve_model_files
from .repetition import Repetition, RepetitionGuard
from .results import GenerationStats, OCRResult
from .tasks import OCRRequest, OCRTask, OutputFormat, PreparedRequest

if TYPE_CHECKING:
    from PIL import Image

logger = logging.getLogger("got_model")

SYSTEM_PROMPT = "You should follow the instructions carefully and explain your answers in detail."
"""GOT's system prompt, as its processor writes it."""


@dataclass(frozen=True)
class VLLMSettings:
    """How ``VLLMEngine`` runs vLLM.

    Attributes:
        max_new_tokens: the most tokens one output may have.
        repetition_guard: stops and trims outputs that fall into a loop; ``None`` disables it.
        batch_size: pages the page pipeline hands over at a time. vLLM batches continuously
            across them, so this only sets how finely results come back.
        max_num_seqs: the most outputs vLLM decodes at once.
        gpu_memory_utilization: the share of the GPU's memory vLLM may take (weights, the
            vision encoder's work and the key/value cache). On vLLM's CPU build: of host memory.
        max_model_len: the longest prompt plus output, in tokens (default: the model's).
        enforce_eager: no CUDA graphs (starts faster, decodes slower).
        separate_process: run vLLM's engine core in its own process (vLLM's default), so
            preprocessing and output handling overlap with the GPU. A script that starts it
            needs the ``if __name__ == "__main__":`` guard of Python's multiprocessing.
        options: any other ``vllm.EngineArgs`` field, as ``(name, value)`` pairs.
    """

    max_new_tokens: int = GOT_MAX_NEW_TOKENS
    repetition_guard: RepetitionGuard | None = field(default_factory=RepetitionGuard)
    batch_size: int = 64
    max_num_seqs: int = 256
    gpu_memory_utilization: float = 0.9
    max_model_len: int | None = None
    enforce_eager: bool = False
    separate_process: bool = True
    options: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        for name in ("max_new_tokens", "batch_size", "max_num_seqs"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}.")
        if not 0 < self.gpu_memory_utilization <= 1:
            raise ValueError(
                f"gpu_memory_utilization must be in (0, 1], got {self.gpu_memory_utilization}."
            )


class VLLMEngine(BackgroundEngine):
    """GOT-OCR 2.0 on vLLM: the same settings and results as ``GOTEngine``, many times the
    pages per second on a GPU.

    Nothing is loaded at construction; the first recognition starts vLLM (a minute or so for
    the real model: loading, profiling, capturing CUDA graphs). Every loader, reader,
    ``partition_got``, Ray and the result cache take it as they take ``GOTEngine``.

    Example:
        >>> engine = VLLMEngine(max_new_tokens=4096)   # doctest: +SKIP
        >>> loader = GOTLoader("paper.pdf", engine=engine)   # doctest: +SKIP

    ``device`` and ``attn_implementation`` of ``GOTEngine`` have no counterpart: vLLM runs on
    its platform's device with its own attention kernels. ``dtype="auto"`` takes the
    checkpoint's (bfloat16 for GOT).
    """

    _driver: _Driver | None
    _inputs: PageInputs | None
    _load_lock: threading.Lock
    _lock: threading.Lock
    _stats: GenerationStats
    _preprocess_seconds: float

    def __init__(
        self,
        model: str = DEFAULT_MODEL_ID,
        *,
        revision: str | None = None,
        local_files_only: bool | None = None,
        cache_dir: str | None = None,
        dtype: str = "auto",
        max_new_tokens: int = GOT_MAX_NEW_TOKENS,
        repetition_guard: RepetitionGuard | None = RepetitionGuard(),  # noqa: B008  (frozen)
        batch_size: int = 64,
        max_num_seqs: int = 256,
        gpu_memory_utilization: float = 0.9,
        max_model_len: int | None = None,
        enforce_eager: bool = False,
        separate_process: bool = True,
        vllm_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.load_settings = LoadSettings(
            model=str(model),
            revision=revision,
            local_files_only=local_files_only,
            cache_dir=cache_dir,
            dtype=str(dtype).removeprefix("torch."),
        )
        self.settings = VLLMSettings(
            max_new_tokens=max_new_tokens,
            repetition_guard=repetition_guard,
            batch_size=batch_size,
            max_num_seqs=max_num_seqs,
            gpu_memory_utilization=gpu_memory_utilization,
            max_model_len=max_model_len,
            enforce_eager=enforce_eager,
            separate_process=separate_process,
            options=tuple(sorted((vllm_options or {}).items())),
        )
        _init_state(self)

    @property
    def model_id(self) -> str:
        return self.load_settings.model

    @property
    def batch_size(self) -> int:
        """Pages the page pipeline hands over at a time (``VLLMSettings.batch_size``)."""
        return self.settings.batch_size

    @property
    def pages_in_flight(self) -> int:
        """``max_num_seqs`` and a batch more: while vLLM decodes its fullest, the next pages
        are already waiting. Each page waiting holds its images (3 MB at 1024x1024; a
        multi-crop page one per tile): lower ``max_num_seqs`` if host memory is short."""
        return self.settings.max_num_seqs + self.settings.batch_size

    def cache_identity(self) -> dict[str, Any]:
        """As ``GOTEngine``'s: the model, its revision and weight files, the dtype and the
        settings that change the text. vLLM's batching and memory settings are left out."""
        settings = self.settings
        return checkpoint_identity(
            super().cache_identity(),
            self.load_settings,
            settings.max_new_tokens,
            settings.repetition_guard,
        )

    @property
    def stats(self) -> GenerationStats:
        """Pages, tokens and seconds so far. ``decode_steps`` equals ``generated_tokens``:
        with continuous batching no step is spent on a finished output. ``seconds`` is the
        time the engine had work, so ``pages_per_second`` is its throughput."""
        with self._lock:
            return self._stats

    @property
    def preprocess_seconds(self) -> float:
        """CPU seconds the driver spent handing pages to vLLM (its processor normalises
        the pixels there), summed over pages: divide by ``stats.pages`` for a page's cost."""
        with self._lock:
            return self._preprocess_seconds

    @property
    def is_loaded(self) -> bool:
        """True while vLLM's engine is running."""
        driver = self._driver
        return driver is not None and driver.dead is None

    def load(self) -> None:
        """Start vLLM now instead of on first use. Safe to call twice."""
        self._started()

    def unload(self) -> None:
        """Stop vLLM and free its memory; the next call starts it again. Pending requests
        fail with ``GOTError``."""
        with self._load_lock:  # held until vLLM is gone: a new start waits for its memory
            driver, self._driver = self._driver, None
            if driver is not None:
                driver.stop()

    def prepare(self, request: OCRRequest) -> OCRRequest:
        """The request with its pages converted to RGB and resized (multi-crop: cut into
        tiles) to GOT's input size, and its prompt written: what needs no model, done ahead by
        the pipeline's render thread. Anything that fails here is left for
        ``recognize_each`` to report."""
        inputs = self._inputs
        if inputs is None or isinstance(request, PreparedRequest):
            return request
        try:
            rgb = with_rgb_images(0, request)
            return PreparedRequest(rgb.images, rgb.task, inputs.build(rgb))
        except Exception:  # the same error comes again, reported, in recognize_each
            return request

    def submit_each(self, requests: Sequence[OCRRequest]) -> Future[list[OCRResult | Exception]]:
        """Hand ``requests`` to vLLM and return at once; the future gives one result or error
        per request, in order. Cancelling it aborts its requests still running.

        Raises:
            ModelLoadError: vLLM cannot start (``ModelNotAvailableError``: no weights).
            MissingExtraError: vLLM is not installed.
        """
        decoded = decoded_requests(requests)
        driver = self._started()
        assert self._inputs is not None
        work: list[_Input | Exception] = []
        for index, item in enumerate(decoded):
            if isinstance(item, Exception):
                work.append(item)
                continue
            try:
                ahead = item.ahead if isinstance(item, PreparedRequest) else None
                work.append(ahead if isinstance(ahead, _Input) else self._inputs.build(item))
            except Exception as exc:
                work.append(_input_error(index, item.task, exc))
        return driver.submit(work)

    def _started(self) -> _Driver:
        """The running driver; a new one (a new vLLM) if there is none or its vLLM died."""
        with self._load_lock:
            if self._driver is not None and self._driver.dead is not None:
                logger.warning("vLLM's engine had stopped: starting it again.")
                self._driver.stop()
                self._driver = None
            if self._driver is None:
                self._driver = _Driver.start(self)
            return self._driver

    def _count(self, stats: GenerationStats, preprocess_seconds: float) -> None:
        with self._lock:
            self._stats += stats
            self._preprocess_seconds += preprocess_seconds

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle the settings, not vLLM: a copy starts its own vLLM on first use, and the
        copies with the same settings in one process share one (see ``GOTEngine``)."""
        return (process_vllm_engine, (self.load_settings, self.settings))

    def __repr__(self) -> str:
        state = "running" if self.is_loaded else "not started"
        return f"VLLMEngine(model={self.model_id!r}, {state})"


_process_engines: dict[tuple[LoadSettings, VLLMSettings], VLLMEngine] = {}
_process_engines_lock = threading.Lock()


def process_vllm_engine(load: LoadSettings, settings: VLLMSettings) -> VLLMEngine:
    """The process's one ``VLLMEngine`` for these settings, created (not started) on the
    first call: unpickled engines come from here."""
    key = (load, settings)
    with _process_engines_lock:
        engine = _process_engines.get(key)
        if engine is None:
            engine = VLLMEngine.__new__(VLLMEngine)
            engine.load_settings, engine.settings = load, settings
            _init_state(engine)
            _process_engines[key] = engine
        return engine


def _init_state(engine: VLLMEngine) -> None:
    engine._driver = None
    engine._inputs = None
    engine._load_lock = threading.Lock()
    engine._lock = threading.Lock()
    engine._stats = GenerationStats()
    engine._preprocess_seconds = 0.0


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class _Input:
    """One request as vLLM takes it: the prompt text and its images, ready at GOT's size."""

    prompt: str
    images: tuple[Image.Image, ...]
    task: OCRTask


class PageInputs:
    """Writes each request's prompt as GOT's processor would and brings its images to GOT's
    input size, with the processor's own resize and tiling.

    With GOT's PIL image processor, pages are resized ahead (Pillow, as the processor does), so
    vLLM's processor, on the driver thread, only normalises them. With its torchvision
    processor (transformers' default where torchvision is installed, as with vLLM's GPU
    wheels), pages go as they are and vLLM's processor resizes them; multi-crop tiles are cut
    by that processor's own ``crop_image_to_patches`` either way. ``check`` compares the
    result with the processor's on probe images and stops resizing ahead where they differ.
    """

    def __init__(self, processor: Any) -> None:
        images = processor.image_processor
        self.processor = processor
        self.size = (int(images.size["width"]), int(images.size["height"]))
        self.resample = images.resample
        self.torch_backend = any(
            kind.__name__ in ("TorchvisionBackend", "BaseImageProcessorFast")
            for kind in type(images).__mro__
        )
        self.resize_ahead = not self.torch_backend

    def check(self) -> None:
        """Compare pixels with GOT's processor on probe images: resizing ahead stops if they
        differ; tiles that differ are logged (multi-crop then reads a hair differently from
        ``GOTEngine``)."""
        import numpy as np
        from PIL import Image

        generator = np.random.default_rng(0)
        page = Image.fromarray(generator.integers(0, 256, (53, 37, 3), dtype=np.uint8))
        wide = Image.fromarray(generator.integers(0, 256, (40, 150, 3), dtype=np.uint8))
        crop = OCRTask(crop_to_patches=True, max_patches=6)
        try:
            if self.resize_ahead and not self._agrees(OCRRequest((page,))):
                logger.info("vLLM backend: GOT's processor resizes the pages itself.")
                self.resize_ahead = False
            if not self._agrees(OCRRequest((wide,), crop)):
                logger.warning(
                    "vLLM backend: multi-crop tiles differ from GOT's processor's here; "
                    "multi-crop results may differ slightly from GOTEngine's."
                )
        except Exception as exc:  # an image processor of another kind: send pages as they are
            logger.warning(
                "vLLM backend: cannot check GOT's processor: %s: %s", type(exc).__name__, exc
            )
            self.resize_ahead = False

    def _agrees(self, request: OCRRequest) -> bool:
        import torch

        task = request.task
        images = self.processor.image_processor
        expected = self.processor(
            images=request.images[0],
            crop_to_patches=task.crop_to_patches,
            max_patches=task.max_patches,
            num_image_tokens=1,
            return_tensors="pt",
        )["pixel_values"]
        got = images(list(self.build(request).images), return_tensors="pt")["pixel_values"]
        return bool(got.shape == expected.shape and torch.equal(got, expected))

    def build(self, request: OCRRequest) -> _Input:
        """``request`` (its pages RGB) as vLLM's input."""
        task = request.task
        if task.crop_to_patches and task.max_patches > 1:
            images = self._tiles(request.images[0], task.max_patches)
        else:
            images = tuple(self._resized(image) for image in request.images)
        return _Input(self._prompt(request, len(images)), images, task)

    def _prompt(self, request: OCRRequest, image_count: int) -> str:
        task = request.task
        processor = self.processor
        box = "" if task.box is None else str(scaled_box(task.box, request.images[0].size))
        query = (
            (f"[{task.color.value}] " if task.color is not None else "")
            + box
            + " OCR"
            + (" with format" if task.output is OutputFormat.FORMATTED else "")
            + (" across multi pages" if request.is_multi_page else "")
            + (" upon the patch reference" if task.crop_to_patches else "")
            + ": "
        )
        start, end = processor.message_start_token, processor.message_end_token
        return (
            f"{start}system\n{SYSTEM_PROMPT}{end}{start}user\n"
            f"{processor.img_start_token}{processor.image_token * image_count}"
            f"{processor.img_end_token}\n{query}{end}{start}assistant\n"
        )

    def _resized(self, image: Image.Image) -> Image.Image:
        if not self.resize_ahead or image.size == self.size:
            return image
        return image.resize(self.size, resample=self.resample)

    def _tiles(self, image: Image.Image, max_patches: int) -> tuple[Image.Image, ...]:
        """The processor's multi-crop tiles (and thumbnail) of ``image``, as 8-bit images."""
        import numpy as np
        from PIL import Image
        from transformers.image_processing_utils import SizeDict

        width, height = self.size
        options: dict[str, Any] = {
            "min_patches": 1,
            "max_patches": max_patches,
            "patch_size": SizeDict(height=height, width=width),
            "resample": self.resample,
        }
        crop = self.processor.image_processor.crop_image_to_patches
        if not self.torch_backend:  # Pillow's: HWC arrays in, HWC 8-bit arrays out
            tiles = crop(np.asarray(image), **options)
            return tuple(Image.fromarray(np.asarray(tile, dtype=np.uint8)) for tile in tiles)
        import torch

        # torchvision's: a batch of CHW tensors in, (batch, tiles, C, H, W) out.
        planes = torch.from_numpy(np.ascontiguousarray(np.asarray(image).transpose(2, 0, 1)))
        tiles = crop(planes.unsqueeze(0), **options)[0]
        if tiles.is_floating_point():
            tiles = tiles.round().clamp(0, 255)
        pixels = tiles.to(torch.uint8).permute(0, 2, 3, 1).numpy()
        return tuple(Image.fromarray(np.ascontiguousarray(tile)) for tile in pixels)


def scaled_box(box: tuple[float, float, float, float], size: tuple[int, int]) -> list[int]:
    """``box`` (pixels of a ``size`` page) scaled to 0-1000 and truncated, as GOT's processor
    writes it into the prompt."""
    width, height = size
    x1, y1, x2, y2 = box
    return [int(value * 1000) for value in (x1 / width, y1 / height, x2 / width, y2 / height)]


def _input_error(index: int, task: OCRTask, exc: Exception) -> Exception:
    if isinstance(exc, GOTError):
        return exc
    error = InvalidTaskError(f"Request {index}: GOT's processor rejected {task}: {exc}")
    error.__cause__ = exc
    return error


# --------------------------------------------------------------------------- the driver


@dataclass
class _Job:
    """One ``submit_each`` call: its future and the results so far."""

    future: Future[list[OCRResult | Exception]]
    results: list[_Input | OCRResult | Exception]
    """Each request's input until its result or error takes its place."""
    left: int
    request_ids: set[str] = field(default_factory=set)


@dataclass
class _Running:
    """One request inside vLLM."""

    job: _Job
    index: int
    task: OCRTask
    started: float
    images: int = 1
    tokens: list[int] = field(default_factory=list)
    next_check: int = 0


class _Driver:
    """The thread that owns vLLM's engine (which is not thread-safe): adds submitted requests,
    steps the engine, stops looping outputs, completes futures."""

    def __init__(self, owner: VLLMEngine, engine: Any, tokenizer: Any, end_token_id: int) -> None:
        self.owner = owner
        self.engine = engine
        self.tokenizer = tokenizer
        self.end_token_id = end_token_id
        self.guard = owner.settings.repetition_guard
        self.inbox: queue.Queue[_Job | None] = queue.Queue()
        self.closing = threading.Lock()  # submit's check-and-queue against the driver's end
        self.closed = False
        self.backlog: collections.deque[tuple[_Job, int, _Input]] = collections.deque()
        # Images inside vLLM at most (beyond one request): its processor holds each as float32
        # (12 MB at 1024x1024) until the encoder has read it.
        settings = owner.settings
        self.most_images = settings.max_num_seqs + max(8, settings.max_num_seqs // 4)
        self.images_in_vllm = 0
        self.running: dict[str, _Running] = {}
        self.jobs: list[_Job] = []
        self.ids = itertools.count()
        self.busy_since: float | None = None
        self.params = _sampling_params(owner.settings.max_new_tokens, end_token_id)
        self.thread = threading.Thread(target=self._run, name="got-vllm-driver", daemon=True)
        self.dead: BaseException | None = None

    @classmethod
    def start(cls, owner: VLLMEngine) -> _Driver:
        processor, path = _load_processor(owner.load_settings)
        inputs = PageInputs(processor)
        inputs.check()
        owner._inputs = inputs
        engine = _start_vllm(owner.load_settings, owner.settings, path, processor)
        tokenizer = processor.tokenizer
        end_token_id = int(tokenizer.convert_tokens_to_ids(processor.message_end_token))
        driver = cls(owner, engine, tokenizer, end_token_id)
        driver.thread.start()
        return driver

    def submit(self, work: list[_Input | Exception]) -> Future[list[OCRResult | Exception]]:
        future: Future[list[OCRResult | Exception]] = Future()
        job = _Job(future, [*work], sum(isinstance(item, _Input) for item in work))
        if job.left == 0:
            future.set_result(list(work))  # type: ignore[arg-type]  # only errors
            return future
        with self.closing:
            if not self.closed:
                self.inbox.put(job)
                return future
        future.set_exception(_dead(self.dead))
        return future

    def stop(self) -> None:
        self.inbox.put(None)
        if self.thread.is_alive():
            self.thread.join()

    def _run(self) -> None:
        try:
            while True:
                idle = not self.running and not self.backlog
                try:
                    job = self.inbox.get(block=idle)
                except queue.Empty:
                    job = None
                else:
                    if job is None:
                        break
                if job is not None:
                    self._take(job)
                    continue  # take every waiting submission before the next step
                self._abort_cancelled()
                self._feed()
                if self.running:
                    self._step()
        except BaseException as exc:  # vLLM's engine died: every page waiting fails
            self.dead = exc
            logger.error("vLLM's engine stopped: %s: %s", type(exc).__name__, exc)
        finally:
            with self.closing:
                self.closed = True
            self._fail_all(self.dead)
            _shutdown(self.engine)

    def _take(self, job: _Job) -> None:
        """Queue ``job``'s requests; vLLM gets them as it has room (``_feed``)."""
        if job.future.cancelled():
            return
        self.jobs.append(job)
        if self.busy_since is None:
            self.busy_since = time.perf_counter()
        for index, item in enumerate(job.results):
            if isinstance(item, _Input):
                self.backlog.append((job, index, item))

    def _feed(self) -> None:
        """Hand vLLM the next requests while it holds fewer than ``most_images`` images (and
        always one, when it holds none)."""
        from vllm.v1.engine.exceptions import EngineDeadError

        while self.backlog:
            job, index, item = self.backlog[0]
            count = len(item.images)
            if self.running and self.images_in_vllm + count > self.most_images:
                return
            self.backlog.popleft()
            if job.future.cancelled():
                continue
            request_id = str(next(self.ids))
            started = time.perf_counter()
            try:
                self.engine.add_request(
                    request_id,
                    {"prompt": item.prompt, "multi_modal_data": {"image": list(item.images)}},
                    self.params,
                )
            except EngineDeadError:
                raise  # no page can succeed now: the driver's end fails them all
            except Exception as exc:  # vLLM's processor refused this one: it alone fails
                self._finish(job, index, _input_error(index, item.task, exc))
            else:
                job.request_ids.add(request_id)
                state = _Running(job, index, item.task, started, images=count)
                if self.guard is not None:
                    state.next_check = self.guard.min_span
                self.running[request_id] = state
                self.images_in_vllm += count
            self.owner._count(GenerationStats(), time.perf_counter() - started)

    def _step(self) -> None:
        for output in self.engine.step():
            state = self.running.get(output.request_id)
            if state is None:
                continue  # aborted
            completion = output.outputs[0]
            state.tokens.extend(completion.token_ids)
            if output.finished and completion.finish_reason in ("abort", "error"):
                # vLLM ended it itself (an internal, request-level failure): this page fails.
                self._drop(output.request_id)
                error = GOTError(
                    f"vLLM ended the request with {completion.finish_reason!r} after "
                    f"{len(state.tokens)} tokens."
                )
                self._finish(state.job, state.index, error)
            elif output.finished:
                self._done(output.request_id, state, None)
            elif self.guard is not None and len(state.tokens) >= state.next_check:
                state.next_check = len(state.tokens) + self.guard.check_every
                loop = self.guard.find(state.tokens)
                if loop is not None:
                    self.engine.abort_request([output.request_id])
                    self._done(output.request_id, state, loop)

    def _done(self, request_id: str, state: _Running, loop: Repetition | None) -> None:
        from .generation import finish_row

        self._drop(request_id)
        row = finish_row(self.tokenizer, state.tokens, self.end_token_id, loop, self.guard)
        result = OCRResult(
            text=row.text,
            finish_reason=row.finish_reason,
            generated_tokens=row.generated_tokens,
            seconds=time.perf_counter() - state.started,
            task=state.task,
            repeated_tokens_cut=row.repeated_tokens_cut,
        )
        self._finish(state.job, state.index, result)

    def _drop(self, request_id: str) -> None:
        """Forget a request that has left vLLM."""
        state = self.running.pop(request_id)
        state.job.request_ids.discard(request_id)
        self.images_in_vllm -= state.images

    def _finish(self, job: _Job, index: int, result: OCRResult | Exception) -> None:
        job.results[index] = result
        job.left -= 1
        if job.left:
            return
        self.jobs.remove(job)
        results = list(job.results)
        done = [item for item in results if isinstance(item, OCRResult)]
        now = time.perf_counter()
        busy = now - (self.busy_since or now)
        self.busy_since = now if self.running or self.backlog else None
        self.owner._count(
            GenerationStats(
                batches=1,
                pages=len(done),
                generated_tokens=sum(item.generated_tokens for item in done),
                decode_steps=sum(item.generated_tokens for item in done),
                seconds=busy,
            ),
            0.0,
        )
        with _quiet_if_cancelled():
            job.future.set_result(results)  # type: ignore[arg-type]  # every slot is filled

    def _abort_cancelled(self) -> None:
        for job in [job for job in self.jobs if job.future.cancelled()]:
            ids = list(job.request_ids)
            if ids:
                self.engine.abort_request(ids)
            for request_id in ids:
                self._drop(request_id)
            self.jobs.remove(job)

    def _fail_all(self, cause: BaseException | None) -> None:
        error = _dead(cause)
        for job in self.jobs:
            with _quiet_if_cancelled():
                job.future.set_exception(error)
        self.jobs.clear()
        self.running.clear()
        self.backlog.clear()
        while True:
            try:
                waiting = self.inbox.get_nowait()
            except queue.Empty:
                break
            if waiting is not None:
                with _quiet_if_cancelled():
                    waiting.future.set_exception(error)


class _quiet_if_cancelled:
    """Completing a future its caller has cancelled is not an error."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, value: Any, traceback: Any) -> bool:
        return kind is InvalidStateError


def _dead(cause: BaseException | None) -> GOTError:
    if cause is None:
        return GOTError("The VLLMEngine was unloaded while pages were waiting: submit them again.")
    error = ModelLoadError(f"vLLM's engine stopped: {type(cause).__name__}: {cause}")
    error.__cause__ = cause
    return error


def _sampling_params(max_new_tokens: int, end_token_id: int) -> Any:
    from vllm import SamplingParams
    from vllm.sampling_params import RequestOutputKind

    return SamplingParams(
        temperature=0.0,  # greedy, as GOTEngine
        max_tokens=max_new_tokens,
        # <|im_end|> alone ends an output, as in GOTEngine: not the tokenizer's or the
        # checkpoint's generation config's end-of-sequence tokens, which vLLM adds otherwise.
        stop_token_ids=[end_token_id],
        ignore_eos=True,
        skip_special_tokens=True,
        detokenize=False,  # the text is decoded once, at the end, as GOTEngine does
        output_kind=RequestOutputKind.DELTA,
    )


def _load_processor(settings: LoadSettings) -> tuple[Any, str]:
    """GOT's processor and the local directory holding the checkpoint."""
    path = resolve_model_files(settings)
    try:
        from transformers import GotOcr2Processor

        return GotOcr2Processor.from_pretrained(path), path
    except (OSError, ValueError) as exc:
        raise ModelLoadError(
            f"Cannot load GOT's processor from {settings.model!r}: {type(exc).__name__}: {exc}"
        ) from exc


def _start_vllm(load: LoadSettings, settings: VLLMSettings, path: str, processor: Any) -> Any:
    try:
        import vllm  # noqa: F401  (the extra's presence)
    except ImportError as exc:
        raise MissingExtraError("VLLMEngine", "vllm", "vllm") from exc
    from vllm import EngineArgs
    from vllm.v1.engine.llm_engine import LLMEngine

    from .vllm_plugin import register

    register()  # vLLM loads it by its entry point too; this covers a source checkout
    arguments = {**vllm_arguments(load, settings, path), "disable_log_stats": True}
    try:
        config = EngineArgs(**arguments).create_engine_config()
        from vllm.v1.executor import Executor

        return LLMEngine(
            vllm_config=config,
            executor_class=Executor.get_class(config),
            log_stats=False,
            multiprocess_mode=settings.separate_process,
        )
    except Exception as exc:
        raise ModelLoadError(
            f"vLLM cannot run the GOT model {load.model!r}: {type(exc).__name__}: {exc}"
        ) from exc


def vllm_arguments(load: LoadSettings, settings: VLLMSettings, path: str) -> dict[str, Any]:
    """The ``vllm.EngineArgs`` GOT runs with, from ``path`` (the checkpoint's directory): the
    in-process engine and ``got-ocr serve`` start vLLM alike.

    Each image costs one patch of GOT's image tokens (multi-crop tiles go as separate images),
    and a prompt may hold up to ``_MAX_IMAGES_PER_PROMPT`` images: vLLM sizes its encoder
    budget and profiles the encoder's memory by them.
    """
    return {
        "model": path,
        "tokenizer": path,
        "model_impl": "transformers",
        "dtype": load.dtype,
        "max_num_seqs": settings.max_num_seqs,
        "gpu_memory_utilization": settings.gpu_memory_utilization,
        "max_model_len": settings.max_model_len,
        "enforce_eager": settings.enforce_eager,
        "mm_processor_kwargs": {"num_image_tokens": _image_tokens_per_patch(path)},
        # A request that failed in vLLM's multimodal cache leaves it out of step with the
        # engine, and the next request fails too; pages are never seen twice anyway.
        "mm_processor_cache_gb": 0,
        "limit_mm_per_prompt": {"image": _MAX_IMAGES_PER_PROMPT},
        **dict(settings.options),
    }


# Multi-crop reads up to 64 tiles and a thumbnail; a multi-page request one image a page.
_MAX_IMAGES_PER_PROMPT = 65


def _image_tokens_per_patch(path: str) -> int:
    from transformers import AutoConfig

    from .inputs import image_tokens_per_patch

    return image_tokens_per_patch(AutoConfig.from_pretrained(path))


def _shutdown(engine: Any) -> None:
    core = getattr(engine, "engine_core", None)
    try:
        if core is not None:
            core.shutdown()
    except Exception:  # already gone
        logger.debug("vLLM's engine core did not shut down cleanly", exc_info=True)


__all__ = [
    "PageInputs",
    "VLLMEngine",
    "VLLMSettings",
    "process_vllm_engine",
    "scaled_box",
    "vllm_arguments",
]
