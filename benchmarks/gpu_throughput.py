"""GOT-OCR2 at its real size on a GPU: pages/s, tokens/s, peak memory; naive, GOTEngine, VLLMEngine.

The naive loop of the docs, GOTEngine (the transformers backend) and VLLMEngine (the vLLM
backend), side by side.

No real weights are needed. The script builds, in a temporary directory, a checkpoint of GOT's
real architecture at real size (``GotOcr2Config()``'s defaults: a 12-layer, 768-wide SAM/ViTDet
encoder at 1024 px with 16 px patches and global attention in layers 2, 5, 8 and 11, 256 image
tokens per page, and a Qwen2-0.5B-size decoder of 24 layers, 1024 wide, vocabulary 151,860)
with random weights, saves it with ``save_pretrained`` (in bf16 on CUDA, as GOT's weights are
published) and loads it back through ``GOTEngine(path, device=...)``: the path real weights
take. The naive loop runs on that same loaded model.

The vocabulary. Model ids run over all 151,860 rows of the embedding and the output head, as
GOT's do, so the head costs what the real one does (a 1024 x 151,860 product per token). The
tokenizer is got_model.testing's small byte-level BPE (GOT's special tokens, merges trained on
GOT-style text) whose vocabulary is padded with filler tokens (2 and 3 characters of the
byte-level alphabet, never ``<``, ``|`` or ``>``) to exactly 151,860 ids. Every id the model
can emit therefore decodes to text, like GOT's own 151k-entry Qwen vocabulary; the logits are
left untouched (no processor or bad-words list restricts them), and the stop-string criterion
of the naive loop scans a vocabulary of the real size.

The work per page is fixed: ``min_new_tokens = max_new_tokens = N`` (GOT's end token is held
back until N tokens are out), checked on every page, so both sides generate exactly N tokens.
The repetition guard is off (``repetition_guard=None``): random weights loop, and the guard
would stop those pages early. Weights are drawn from N(0, 1/fan_in), which keeps activations
of order one through all layers, so the text depends on the page.

Each configuration is warmed up at exactly its timed shape (same rows, all N steps) on other
pages, then timed with CUDA synchronized around the timers; peak memory is
``torch.cuda.max_memory_allocated`` over the timed run, weights included. The warm-up must be
that long: on an H100 with torch 2.11, SDPA runs the decoder's attention on cuDNN (seen in
the profiler), and a decoding step at a (rows, key length) shape not met before in the process
costs about 50 ms more (most likely cuDNN building a plan for it), so the first pass over N new
lengths is several times slower than the steady state (seen: batch 1 x 128 tokens 8.1 s cold,
2.3 s warm). ``--no-cudnn-sdpa`` turns that backend off.

The vLLM backend (``--backend vllm|both``; ``both`` is the default) loads the same saved
checkpoint directory, as real weights are loaded: ``VLLMEngine(path)``, one engine per N
(``max_new_tokens`` is an engine setting), started, warmed up on ``max_num_seqs`` other pages,
then handed every timed page at once (``--pages``, default ``2 * max_num_seqs``) through one
``submit_each``, so continuous batching is what is measured. Every page is forced to exactly N
tokens there too: the benchmark wraps ``got_model.vllm_backend._sampling_params`` (in this
process only, while its engines start) so that the SamplingParams the engine builds carry
``min_tokens = max_tokens = N`` and ``ignore_eos``; the backend itself is unchanged. The
repetition guard is off as for GOTEngine. Beside pages/s and tokens/s it prints, per N:

* memory: vLLM runs its engine in a process of its own, where ``max_memory_allocated`` cannot
  see, so its "peak GiB" is the device memory in use at the peak (``nvidia-smi``'s
  ``memory.used``, sampled every 0.2 s during the timed run; without nvidia-smi,
  ``torch.cuda.mem_get_info`` after start-up and after the run) less what was in use before the
  engine started. vLLM takes ``gpu_memory_utilization`` of the device up front (most of it for
  its key/value cache), so this follows that setting more than the work;
* CPU ms per page: ``preprocess_seconds / pages`` (the driver's time in vLLM's
  ``add_request``, where its processor normalises the pixels) and the time ``prepare`` takes
  (resizing to 1024 x 1024 and writing the prompt, done on the page pipeline's render thread),
  timed here page by page before the run. The timed run gets the prepared pages, as from the
  pipeline, so ``prepare`` is not in its wall time;
* GPU busy share: the mean of ``nvidia-smi``'s ``utilization.gpu`` (the share of time a kernel
  ran) sampled every 0.2 s during the timed run, for the GOTEngine rows as well; n/a without
  nvidia-smi.

At the end it prints vLLM's speedup over the fastest transformers row of each N, against the
targets: at least 20 pages/s at N = 1024, and at least 10 times transformers. In ``both``,
transformers runs first and is freed before vLLM starts: vLLM refuses to start when less than
``gpu_memory_utilization`` of the device is free.

Seen on an H100 (80 GB): memory peaks in the vision encoder, not the KV cache. Its four
global-attention layers materialise 4096 x 4096 scores per head (eager attention), about
2.3 GiB per page: batch 16 peaks at 38 GiB, batch 32 runs out of memory and the engine goes on
in batches of 16 (its "batch 32" row is that).

Run from the repository root with the project importable (``pip install -e .``, or
``PYTHONPATH=.`` where PyMuPDF is missing: this script needs only torch and transformers).

    python benchmarks/gpu_throughput.py                          # CUDA, the real size
    python benchmarks/gpu_throughput.py --new-tokens 1024 --single-pages 1 --batches 1
    python benchmarks/gpu_throughput.py --new-tokens 256 1024 --batch-sizes 16 32 \
        --single-pages 1 --batches 1 --extras-batch 0            # transformers vs vLLM, short
    python benchmarks/gpu_throughput.py --small                  # tiny sizes on the CPU: a check

``--small`` runs both backends (vLLM where it is installed; its CPU build runs it, in float32,
eagerly, with ``gpu_memory_utilization`` as a share of host memory) on a few pages. Its decoder
has heads of 64, the smallest vLLM's CPU attention takes (``got_model.testing``'s
``VLLM_TEXT_HEAD_DIM``). vLLM is imported only when its engine starts.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PIL import Image

    from got_model import GOTEngine, OCRRequest
    from got_model.vllm_backend import VLLMEngine

END_TOKEN = "<|im_end|>"
SEED = 0
REAL_VOCAB_SIZE = 151860  # GotOcr2Config's (Qwen2's 151,643 tokens and GOT's specials, padded)

# --small: the same layer types at toy sizes, for checking this script on a CPU.
SMALL_IMAGE_SIZE = 64
SMALL_VISION: dict[str, Any] = {
    "hidden_size": 32,
    "output_channels": 16,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "mlp_dim": 64,
    "image_size": SMALL_IMAGE_SIZE,
    "patch_size": 4,  # a 16x16 grid: 16 image tokens per page
    "window_size": 4,
    "global_attn_indexes": [1],
}
SMALL_TEXT: dict[str, Any] = {  # heads of 64: VLLM_TEXT_HEAD_DIM, which vLLM's CPU build takes
    "hidden_size": 256,
    "intermediate_size": 512,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "max_position_embeddings": 8192,
}
SMALL_VOCAB_SIZE = 4096

WORDS = (
    "model page text table figure result method data layer token image batch theory "
    "reading encoder decoder section value number paper line column proof lemma"
).split()


# --- the checkpoint ---------------------------------------------------------------------------


def padded_tokenizer(vocab_size: int) -> Any:
    """got_model.testing's BPE tokenizer with its vocabulary padded to ``vocab_size`` ids."""
    from itertools import product

    from tokenizers import Tokenizer, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    from got_model.testing import GOT_SPECIAL_TOKENS, _build_tokenizer

    small = _build_tokenizer()
    data = json.loads(small.backend_tokenizer.to_str())
    vocab: dict[str, int] = data["model"]["vocab"]
    if len(vocab) != len(small) or sorted(vocab.values()) != list(range(len(vocab))):
        raise AssertionError("the small tokenizer's ids are not 0..n-1")
    alphabet = sorted(set(pre_tokenizers.ByteLevel.alphabet()) - set("<|>"))
    fillers = ("".join(chars) for length in (2, 3) for chars in product(alphabet, repeat=length))
    for token in fillers:
        if len(vocab) >= vocab_size:
            break
        vocab.setdefault(token, len(vocab))
    if len(vocab) != vocab_size:
        raise AssertionError(f"padded vocabulary has {len(vocab)} ids, not {vocab_size}")
    return PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer.from_str(json.dumps(data)),
        eos_token=END_TOKEN,
        pad_token="<|endoftext|>",
        additional_special_tokens=[
            t for t in GOT_SPECIAL_TOKENS if t not in {END_TOKEN, "<|endoftext|>"}
        ],
    )


def build_checkpoint(path: Path, *, small: bool, device: str, seed: int = SEED) -> str:
    """Write a random GOT-OCR2 checkpoint (weights, tokenizer, processor) to ``path``."""
    import torch
    from transformers import GotOcr2Config, GotOcr2ForConditionalGeneration, GotOcr2Processor

    from got_model.testing import _build_image_processor

    vocab_size = SMALL_VOCAB_SIZE if small else REAL_VOCAB_SIZE
    tokenizer = padded_tokenizer(vocab_size)
    if len(tokenizer) != vocab_size:
        raise AssertionError(f"tokenizer has {len(tokenizer)} ids, model {vocab_size}")
    image_token = tokenizer.convert_tokens_to_ids("<imgpad>")
    if small:
        config = GotOcr2Config(
            vision_config=SMALL_VISION,
            text_config={**SMALL_TEXT, "vocab_size": vocab_size},
            image_token_index=image_token,
        )
    else:  # GOT's real architecture and sizes: the config's defaults
        config = GotOcr2Config(image_token_index=image_token)
        if config.text_config.vocab_size != REAL_VOCAB_SIZE:
            raise AssertionError(f"default vocabulary {config.text_config.vocab_size}")
    with torch.random.fork_rng(devices=[]), torch.device(device):
        torch.manual_seed(seed)
        model = GotOcr2ForConditionalGeneration(config)
        generator = torch.Generator(device).manual_seed(seed)
        with torch.no_grad():
            for parameter in model.parameters():
                if parameter.dim() >= 2:  # N(0, 1/fan_in): activations stay of order one
                    fan_in = parameter[0].numel()
                    parameter.normal_(0.0, fan_in**-0.5, generator=generator)
    model.generation_config.eos_token_id = tokenizer.convert_tokens_to_ids(END_TOKEN)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    if device.startswith("cuda"):
        model.to(torch.bfloat16)  # as GOT's weights are published
    model.save_pretrained(path)
    del model
    side = SMALL_IMAGE_SIZE if small else config.vision_config.image_size
    processor = GotOcr2Processor(image_processor=_build_image_processor(side), tokenizer=tokenizer)
    processor.save_pretrained(path)
    return str(path)


def render_pages(count: int, seed: int = SEED) -> list[Image.Image]:
    """``count`` distinct text pages of 792x1024 px (Letter at 1024 px tall), drawn with PIL."""
    from PIL import Image, ImageDraw

    words = random.Random(seed)
    pages = []
    for number in range(count):
        page = Image.new("RGB", (792, 1024), "white")
        draw = ImageDraw.Draw(page)
        draw.text((72, 50), f"Section {number + 1}: {words.choice(WORDS)}", fill="black")
        for line in range(70):
            text = " ".join(words.choice(WORDS) for _ in range(12))
            draw.text((72, 80 + 12 * line), text, fill="black")
        pages.append(page)
    return pages


# --- measuring --------------------------------------------------------------------------------


@dataclass
class Row:
    name: str
    new_tokens: int
    pages: int = 0
    seconds: float = 0.0
    peak_bytes: int | None = None
    note: str = ""
    backend: str = "transformers"
    gpu_busy: float | None = None  # nvidia-smi's utilization.gpu over the timed run, in %

    @property
    def pages_per_s(self) -> float:
        return self.pages / self.seconds if self.seconds else 0.0

    def line(self, naive: Row | None) -> str:
        if not self.pages:
            return f"| {self.name:<34} | {self.new_tokens:>5} | {self.note} |"
        ratio = f"x{self.pages_per_s / naive.pages_per_s:.1f}" if naive and naive.pages else "-"
        peak = f"{self.peak_bytes / 2**30:.2f}" if self.peak_bytes is not None else "-"
        return (
            f"| {self.name:<34} | {self.new_tokens:>5} | {self.pages:>5} | {self.seconds:>7.2f} "
            f"| {self.pages_per_s:>7.3f} | {self.pages * self.new_tokens / self.seconds:>8.0f} "
            f"| {ratio:>6} | {peak:>6} | {self.note}"
        )


HEADER = (
    "| configuration                      |     N | pages |  wall s | pages/s | tokens/s "
    "|  vs naive | peak GiB | notes\n|---|---|---|---|---|---|---|---|---|"
)


class Device:
    """Synchronizes and reads peak memory on CUDA; does nothing on the CPU."""

    def __init__(self, name: str) -> None:
        import torch

        self.torch = torch
        self.name = name
        self.cuda = torch.device(name).type == "cuda"

    def sync(self) -> None:
        if self.cuda:
            self.torch.cuda.synchronize()

    def reset_peak(self) -> None:
        if self.cuda:
            self.sync()
            self.torch.cuda.reset_peak_memory_stats()

    def peak(self) -> int | None:
        return int(self.torch.cuda.max_memory_allocated()) if self.cuda else None

    def used(self) -> int | None:
        """Bytes in use on the whole device, by every process (``cudaMemGetInfo``)."""
        if not self.cuda:
            return None
        free, total = self.torch.cuda.mem_get_info()
        return int(total - free)

    def nvidia_smi_ids(self) -> list[str]:
        """This device as nvidia-smi may name it: its UUID, then its index where no
        CUDA_VISIBLE_DEVICES renumbers the devices; none on the CPU."""
        if not self.cuda:
            return []
        index = self.torch.device(self.name).index
        index = self.torch.cuda.current_device() if index is None else index
        uuid = str(getattr(self.torch.cuda.get_device_properties(index), "uuid", "") or "")
        ids = [uuid if uuid.startswith(("GPU-", "MIG-")) else f"GPU-{uuid}"] if uuid else []
        if not os.environ.get("CUDA_VISIBLE_DEVICES"):
            ids.append(str(index))
        return ids

    def free(self) -> None:
        import gc

        gc.collect()
        if self.cuda:
            self.torch.cuda.empty_cache()


@dataclass
class Samples:
    """What ``GPUSampler`` saw during one run."""

    busy: list[float] = field(default_factory=list)
    used: list[int] = field(default_factory=list)

    @property
    def busy_share(self) -> float | None:
        return sum(self.busy) / len(self.busy) if self.busy else None

    @property
    def peak_used(self) -> int | None:
        return max(self.used) if self.used else None


class GPUSampler:
    """nvidia-smi's ``utilization.gpu`` and ``memory.used`` of the device, every 0.2 s on a
    thread. ``utilization.gpu`` is the share of nvidia-smi's last sample period (1/6 s to 1 s,
    by GPU) in which a kernel ran, whichever process ran it; ``memory.used`` counts every
    process too. Without nvidia-smi (or on the CPU) there are no samples."""

    period = 0.2

    def __init__(self, device: Device) -> None:
        self.command: list[str] | None = None
        smi = shutil.which("nvidia-smi")
        if smi is None:
            return
        query = [smi, "--query-gpu=utilization.gpu,memory.used", "--format=csv,noheader,nounits"]
        for name in device.nvidia_smi_ids():
            if self._query([*query, f"--id={name}"]) is not None:
                self.command = [*query, f"--id={name}"]
                return

    @property
    def available(self) -> bool:
        return self.command is not None

    @staticmethod
    def _query(command: list[str]) -> tuple[float, int] | None:
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=10)
            busy, used = done.stdout.strip().splitlines()[0].split(",")
            return float(busy), int(float(used) * 2**20)  # memory.used is in MiB
        except (OSError, subprocess.SubprocessError, ValueError, IndexError):
            return None  # no reading ("[N/A]" on MIG): this sample is missing

    def used_now(self) -> int | None:
        sample = self._query(self.command) if self.command else None
        return sample[1] if sample else None

    @contextmanager
    def sampling(self) -> Iterator[Samples]:
        samples = Samples()
        command = self.command
        if command is None:
            yield samples
            return
        stop = threading.Event()

        def run() -> None:
            start = time.perf_counter()
            for tick in itertools.count(1):
                sample = self._query(command)
                if sample is not None:
                    samples.busy.append(sample[0])
                    samples.used.append(sample[1])
                if stop.wait(max(0.0, start + tick * self.period - time.perf_counter())):
                    return

        thread = threading.Thread(target=run, name="nvidia-smi sampler", daemon=True)
        thread.start()
        try:
            yield samples
        finally:
            stop.set()
            thread.join()


def busy_text(share: float | None) -> str:
    return "n/a" if share is None else f"{share:.0f}%"


@contextmanager
def forced_length(model: Any, new_tokens: int) -> Iterator[None]:
    """Hold GOT's end token back for ``new_tokens`` tokens. The engine builds its own
    GenerationConfig; transformers fills its unset fields (min_new_tokens) from the model's."""
    previous = model.generation_config.min_new_tokens
    model.generation_config.min_new_tokens = new_tokens
    try:
        yield
    finally:
        model.generation_config.min_new_tokens = previous


@contextmanager
def forced_vllm_length() -> Iterator[None]:
    """Every vLLM output exactly ``max_new_tokens`` long, as ``forced_length`` for GOTEngine.

    A monkeypatch, in this benchmark's process only and only inside the block: VLLMEngine
    builds its SamplingParams once, when its engine starts, with the module-level
    ``got_model.vllm_backend._sampling_params``; the wrapper sets ``min_tokens`` to
    ``max_tokens`` (vLLM holds every stop token, GOT's end token among them, back until then)
    and ``ignore_eos`` on what it returns. Engines must be started inside the block.
    """
    from got_model import vllm_backend

    original = vllm_backend._sampling_params

    def forced(max_new_tokens: int, end_token_id: int) -> Any:
        params = original(max_new_tokens, end_token_id)
        params.min_tokens = max_new_tokens
        params.ignore_eos = True
        return params

    vllm_backend._sampling_params = forced
    try:
        yield
    finally:
        vllm_backend._sampling_params = original


def naive_page(
    model: Any, processor: Any, image: Image.Image, new_tokens: int, image_tokens: int = 256
) -> str:
    """One page as in the transformers docs: processor, ``generate``, decode the new tokens.

    One change to the docs' snippet: the pixels are cast to the model's dtype. Transformers
    5.24's ``generate`` runs the vision tower on the processor's float32 pixels as they are,
    which fails with bf16 weights ("Input type (float) and bias type (c10::BFloat16)").
    """
    extra = {} if image_tokens == 256 else {"num_image_tokens": image_tokens}  # --small
    inputs = processor(image, return_tensors="pt", **extra).to(model.device, dtype=model.dtype)
    ids = model.generate(
        **inputs,
        do_sample=False,
        tokenizer=processor.tokenizer,
        stop_strings=END_TOKEN,
        max_new_tokens=new_tokens,
        min_new_tokens=new_tokens,
    )
    prompt = inputs["input_ids"].shape[1]
    if ids.shape[1] - prompt != new_tokens:
        raise AssertionError(f"naive loop: {ids.shape[1] - prompt} new tokens, not {new_tokens}")
    return str(processor.decode(ids[0, prompt:], skip_special_tokens=True))


def engine_pages(engine: GOTEngine, images: Sequence[Image.Image], new_tokens: int) -> list[str]:
    from got_model import PLAIN, OCRRequest

    results = engine.recognize_batch([OCRRequest((image,), PLAIN) for image in images])
    counts = {result.generated_tokens for result in results}
    if counts != {new_tokens}:
        raise AssertionError(f"engine: {sorted(counts)} new tokens per page, not {new_tokens}")
    return [result.text for result in results]


def vllm_pages(engine: VLLMEngine, requests: Sequence[OCRRequest], new_tokens: int) -> list[str]:
    """Every request handed to vLLM at once (one ``submit_each``), then every result."""
    results = engine.submit_each(requests).result()
    errors = [result for result in results if isinstance(result, Exception)]
    if errors:
        raise errors[0]
    counts = {result.generated_tokens for result in results}  # type: ignore[union-attr]
    if counts != {new_tokens}:
        raise AssertionError(f"vLLM: {sorted(counts)} new tokens per page, not {new_tokens}")
    return [result.text for result in results]  # type: ignore[union-attr]


def timed(
    device: Device, sampler: GPUSampler, work: Callable[[], list[str]]
) -> tuple[float, int | None, float | None, list[str]]:
    device.reset_peak()
    device.sync()
    with sampler.sampling() as samples:
        start = time.perf_counter()
        texts = work()
        device.sync()
        seconds = time.perf_counter() - start
    return seconds, device.peak(), samples.busy_share, texts


def profile(work: Callable[[], list[str]]) -> None:
    """Where ``work``'s time goes: torch.profiler's top operators by CPU and by CUDA time."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as profiler

    activities = [ProfilerActivity.CPU]
    import torch

    if torch.cuda.is_available():
        activities.append(ProfilerActivity.CUDA)
    work()  # warm
    start = time.perf_counter()
    with profiler(activities=activities) as prof:
        work()
    print(f"profiled run: {time.perf_counter() - start:.2f} s (profiler overhead included)")
    averages = prof.key_averages()
    print(averages.table(sort_by="cpu_time_total", row_limit=14, max_name_column_width=60))
    if torch.cuda.is_available():
        print(averages.table(sort_by="cuda_time_total", row_limit=10, max_name_column_width=60))


def parameters(module: Any) -> str:
    return f"{sum(p.numel() for p in module.parameters()) / 1e6:.1f}M"


def broadcast(values: list[int], count: int, flag: str) -> list[int]:
    if len(values) == 1:
        return values * count
    if len(values) != count:
        raise SystemExit(f"{flag}: give one value or one per --new-tokens value")
    return values


@dataclass
class Plan:
    """What the arguments ask for, and what every measurement shares."""

    args: argparse.Namespace
    device: Device
    sampler: GPUSampler
    new_tokens: list[int]
    pages: list[Image.Image]
    started: float
    rows: list[tuple[Row, Row | None]] = field(default_factory=list)

    def over_deadline(self) -> bool:
        deadline = float(self.args.deadline)
        return bool(deadline) and time.perf_counter() - self.started > deadline

    def add(self, row: Row, baseline: Row | None) -> None:
        self.rows.append((row, baseline))
        print(row.line(baseline), flush=True)


# --- the transformers backend -----------------------------------------------------------------


def run_transformers(
    plan: Plan,
    path: str,
    *,
    checkpoint: str,
    batch_sizes: list[int],
    extras_batch: int,
    single_pages: list[int],
    batches: list[int],
) -> dict[int, Row | None]:
    """The naive loop and GOTEngine's rows; returns the naive row of each N. Everything it
    loaded is garbage once it returns."""
    import torch

    from got_model import GOTEngine
    from got_model.inputs import image_tokens_per_patch

    args, device, pages = plan.args, plan.device, plan.pages
    t0 = time.perf_counter()
    loader = GOTEngine(path, device=device.name, local_files_only=True)
    loader.load()
    loaded = time.perf_counter() - t0
    model, processor = loader._model, loader._processor  # the loaded pair, reused below
    device.free()  # the build's garbage, CPU and GPU: measure as a process that only loaded
    vision, text = model.config.vision_config, model.config.text_config
    print(
        f"random GOT-OCR2 ({'SMALL' if args.small else 'real size'}): {parameters(model)} "
        f"parameters, {model.dtype}, {checkpoint}, loaded by GOTEngine in {loaded:.1f} s; "
        f"vision {parameters(model.model.vision_tower)} "
        f"({vision.num_hidden_layers} x {vision.hidden_size}, {vision.image_size} px, patch "
        f"{vision.patch_size}, global {list(vision.global_attn_indexes)}), decoder "
        f"{parameters(model.model.language_model)} ({text.num_hidden_layers} x "
        f"{text.hidden_size}, vocab {text.vocab_size}, tokenizer {len(processor.tokenizer)}), "
        f"{image_tokens_per_patch(model.config)} image tokens per page"
    )
    image_tokens = image_tokens_per_patch(model.config)

    def engine(batch_size: int, tokens: int, **options: Any) -> GOTEngine:
        return GOTEngine.from_components(
            model,
            processor,
            model_id=path,
            batch_size=batch_size,
            max_new_tokens=tokens,
            repetition_guard=None,
            **options,
        )

    def measure(
        name: str,
        tokens: int,
        count: int,
        warm: Callable[[], list[str]],
        run: Callable[[], list[str]],
        baseline: Row | None,
    ) -> Row:
        row = Row(name, tokens)
        if plan.over_deadline():
            row.note = "skipped: past --deadline"
        else:
            try:
                t0 = time.perf_counter()
                warm()
                warm_s = time.perf_counter() - t0
                row.seconds, row.peak_bytes, row.gpu_busy, texts = timed(device, plan.sampler, run)
                row.pages = count
                row.note = (
                    f"warm-up {warm_s:.1f} s; {len(set(texts))}/{count} distinct texts; "
                    f"GPU busy {busy_text(row.gpu_busy)}"
                )
            except Exception as exc:
                traceback.print_exc()
                row.note = f"FAILED: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
                device.free()
        plan.add(row, baseline)
        return row

    def naive(tokens: int, images: Sequence[Image.Image]) -> Callable[[], list[str]]:
        def work() -> list[str]:
            with forced_length(model, tokens):
                return [
                    naive_page(model, processor, image, tokens, image_tokens) for image in images
                ]

        return work

    def batched(
        eng: GOTEngine, tokens: int, images: Sequence[Image.Image]
    ) -> Callable[[], list[str]]:
        def work() -> list[str]:
            with forced_length(model, tokens):
                return engine_pages(eng, images, tokens)

        return work

    def extra(
        b: int, tokens: int, count: int, label: str, baseline: Row | None, **options: Any
    ) -> None:
        eng = engine(b, tokens, **options)
        measure(
            f"GOTEngine batch {b} {label}",
            tokens,
            count,
            batched(eng, tokens, pages[count : count + b]),
            batched(eng, tokens, pages[:count]),
            baseline,
        )
        device.free()

    baselines: dict[int, Row | None] = {}
    with torch.inference_mode():
        for tokens, singles, batch_count in zip(
            plan.new_tokens, single_pages, batches, strict=True
        ):
            # Every warm-up runs the timed shape (rows and all N steps): see the docstring.
            baseline = None
            if not args.no_naive:
                baseline = measure(
                    "naive loop (docs)",
                    tokens,
                    singles,
                    naive(tokens, pages[-1:]),
                    naive(tokens, pages[:singles]),
                    None,
                )
            for batch_size in batch_sizes:
                count = singles if batch_size == 1 else batch_size * batch_count
                eng = engine(batch_size, tokens)  # one engine: it keeps what an OOM taught it
                measure(
                    f"GOTEngine batch {batch_size}",
                    tokens,
                    count,
                    batched(eng, tokens, pages[count : count + batch_size]),
                    batched(eng, tokens, pages[:count]),
                    baseline,
                )
            if extras_batch:
                b = extras_batch
                extra(b, tokens, b * batch_count, "static_cache", baseline, static_cache=True)
            baselines[tokens] = baseline
        if args.profile:
            profile(naive(64, pages[:1]))
        if extras_batch and not args.no_compile:  # last: compiling takes a while
            b, tokens = extras_batch, plan.new_tokens[0]
            extra(b, tokens, b * batches[0], "compile", baselines[tokens], compile=True)
            torch._dynamo.reset()  # its compiled code must not keep the model alive
    return baselines


# --- the vLLM backend -------------------------------------------------------------------------


def run_vllm(
    plan: Plan,
    path: str,
    baselines: dict[int, Row | None],
    *,
    count: int,
    warm: int,
    settings: dict[str, Any],
) -> None:
    """One VLLMEngine per N on the saved checkpoint: started, warmed up on ``warm`` pages,
    then timed on ``count`` other pages handed over at once."""
    from got_model.errors import MissingExtraError

    name = f"VLLMEngine max_num_seqs {settings['max_num_seqs']}"
    for tokens in plan.new_tokens:
        row = Row(name, tokens, backend="vllm")
        if plan.over_deadline():
            row.note = "skipped: past --deadline"
        else:
            try:
                measure_vllm(plan, row, path, count=count, warm=warm, settings=settings)
            except MissingExtraError as exc:
                row.pages, row.note = 0, f"skipped: {exc}"
            except Exception as exc:
                traceback.print_exc()
                row.pages = 0
                row.note = f"FAILED: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
            plan.device.free()
        plan.add(row, baselines.get(tokens))


def measure_vllm(
    plan: Plan, row: Row, path: str, *, count: int, warm: int, settings: dict[str, Any]
) -> None:
    from got_model import PLAIN, OCRRequest
    from got_model.tasks import PreparedRequest
    from got_model.vllm_backend import VLLMEngine

    device, sampler, tokens = plan.device, plan.sampler, row.new_tokens
    smi_before, before = sampler.used_now(), device.used()
    with forced_vllm_length():
        engine = VLLMEngine(
            path,
            local_files_only=True,
            max_new_tokens=tokens,
            repetition_guard=None,  # random weights loop; the guard would stop them early
            **settings,
        )
        try:
            t0 = time.perf_counter()
            engine.load()
            start_s = time.perf_counter() - t0
            loaded = device.used()
            # prepare, page by page, as the pipeline's render thread calls it
            prepared: list[OCRRequest] = []
            prepare_s = 0.0
            for image in plan.pages[: count + warm]:
                t0 = time.perf_counter()
                prepared.append(engine.prepare(OCRRequest((image,), PLAIN)))
                prepare_s += time.perf_counter() - t0
            if not all(isinstance(request, PreparedRequest) for request in prepared):
                raise AssertionError("VLLMEngine.prepare left pages unprepared")
            t0 = time.perf_counter()
            vllm_pages(engine, prepared[count:], tokens)  # other pages: no prefix-cache hits
            warm_s = time.perf_counter() - t0
            stats, preprocess = engine.stats, engine.preprocess_seconds
            with sampler.sampling() as samples:
                t0 = time.perf_counter()
                texts = vllm_pages(engine, prepared[:count], tokens)
                row.seconds = time.perf_counter() - t0
            after = device.used()
            busy = engine.stats.seconds - stats.seconds
            preprocess = engine.preprocess_seconds - preprocess
        finally:
            engine.unload()
    row.pages = count
    row.gpu_busy = samples.busy_share
    if samples.peak_used is not None and smi_before is not None:
        row.peak_bytes, memory = samples.peak_used - smi_before, "nvidia-smi peak"
    elif before is not None and loaded is not None and after is not None:
        row.peak_bytes, memory = max(loaded, after) - before, "mem_get_info"
    else:
        memory = "n/a"
    row.note = (
        f"start {start_s:.0f} s, warm-up {warm_s:.1f} s ({warm} pages); busy {busy:.2f} s; "
        f"CPU/page {1e3 * preprocess / count:.1f} ms add_request + "
        f"{1e3 * prepare_s / len(prepared):.1f} ms prepare; GPU busy "
        f"{busy_text(row.gpu_busy)}; memory: {memory}; {len(set(texts))}/{count} distinct texts"
    )


# --- the comparison ---------------------------------------------------------------------------

TARGET_PAGES_PER_S, TARGET_TOKENS, TARGET_SPEEDUP = 20.0, 1024, 10.0


def comparison(rows: Sequence[tuple[Row, Row | None]], new_tokens: Sequence[int]) -> str:
    """vLLM against the fastest transformers row of each N, and the targets."""
    lines = [
        f"vLLM against transformers (its fastest row); targets: >= {TARGET_PAGES_PER_S:.0f} "
        f"pages/s at N = {TARGET_TOKENS}, >= {TARGET_SPEEDUP:.0f}x transformers",
        "|     N | transformers: fastest row          | pages/s | GPU busy | vLLM pages/s "
        "| vLLM tok/s | GPU busy | speedup | >= 10x | >= 20 pages/s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for tokens in new_tokens:
        done = [row for row, _ in rows if row.new_tokens == tokens and row.pages]
        vllm = max(
            (row for row in done if row.backend == "vllm"),
            key=lambda r: r.pages_per_s,
            default=None,
        )
        best = max(
            (row for row in done if row.backend == "transformers"),
            key=lambda r: r.pages_per_s,
            default=None,
        )
        fast = "-"
        if vllm is not None and tokens == TARGET_TOKENS:
            fast = "met" if vllm.pages_per_s >= TARGET_PAGES_PER_S else "NOT met"
        elif vllm is not None:
            fast = f"n/a (N != {TARGET_TOKENS})"
        speedup, tenfold = "-", "-"
        if vllm is not None and best is not None:
            ratio = vllm.pages_per_s / best.pages_per_s
            speedup, tenfold = f"x{ratio:.1f}", "met" if ratio >= TARGET_SPEEDUP else "NOT met"
        lines.append(
            f"| {tokens:>5} | {best.name if best else '-':<34} "
            f"| {f'{best.pages_per_s:.3f}' if best else '-':>7} "
            f"| {busy_text(best.gpu_busy) if best else '-':>8} "
            f"| {f'{vllm.pages_per_s:.3f}' if vllm else '-':>12} "
            f"| {f'{vllm.pages_per_s * tokens:.0f}' if vllm else '-':>10} "
            f"| {busy_text(vllm.gpu_busy) if vllm else '-':>8} "
            f"| {speedup:>7} | {tenfold:>6} | {fast} |"
        )
    return "\n".join(lines)


def vllm_option(text: str) -> tuple[str, Any]:
    """``NAME=VALUE``, the value read as JSON where it is JSON (``8192``, ``true``)."""
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    try:
        return name, json.loads(value)
    except json.JSONDecodeError:
        return name, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--small", action="store_true", help="toy sizes on the CPU, to check the script"
    )
    parser.add_argument("--device", help="torch device (default: cuda, or cpu with --small)")
    parser.add_argument(
        "--backend",
        choices=("transformers", "vllm", "both"),
        default="both",
        help="transformers: the naive loop and GOTEngine; vllm: VLLMEngine (default both)",
    )
    parser.add_argument(
        "--new-tokens", type=int, nargs="+", help="tokens forced per page (default 256; 8 small)"
    )
    parser.add_argument(
        "--batch-sizes", type=int, nargs="+", help="engine batch sizes (default 1 8 16 32)"
    )
    parser.add_argument(
        "--single-pages",
        type=int,
        nargs="+",
        default=[3],
        help="pages timed for the naive loop and batch 1 (one value, or one per N)",
    )
    parser.add_argument(
        "--batches",
        type=int,
        nargs="+",
        default=[2],
        help="full batches timed for batch sizes above 1 (one value, or one per N)",
    )
    parser.add_argument(
        "--extras-batch",
        type=int,
        help="batch size of the static-cache and compile runs (default 16, 4 small; 0: skip)",
    )
    parser.add_argument(
        "--no-compile", action="store_true", help="skip the compile=True run (first N only)"
    )
    parser.add_argument("--no-naive", action="store_true", help="skip the naive loop")
    parser.add_argument(
        "--no-cudnn-sdpa",
        action="store_true",
        help="torch.backends.cuda.enable_cudnn_sdp(False): SDPA picks flash/efficient kernels",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="at the end, profile one naive page of 64 tokens (torch.profiler, top operators)",
    )
    parser.add_argument(
        "--pages",
        type=int,
        help="vLLM: pages handed over at once and timed (default 2 x --max-num-seqs)",
    )
    parser.add_argument(
        "--max-num-seqs", type=int, help="vLLM: outputs decoded at once (default 256; 4 small)"
    )
    parser.add_argument(
        "--gpu-memory-utilization",
        type=float,
        help="vLLM: share of the device's memory it takes (default 0.9; 0.1 of host memory "
        "on the CPU)",
    )
    parser.add_argument(
        "--enforce-eager",
        action="store_true",
        help="vLLM: no CUDA graphs (always so on the CPU)",
    )
    parser.add_argument(
        "--vllm-option",
        type=vllm_option,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="vLLM: any other EngineArgs field (VALUE read as JSON where it is), repeatable",
    )
    parser.add_argument(
        "--deadline",
        type=float,
        default=0.0,
        help="seconds after start past which no new configuration starts (0: none)",
    )
    args = parser.parse_args()
    started = time.perf_counter()
    device_name: str = args.device or ("cpu" if args.small else "cuda")
    new_tokens: list[int] = args.new_tokens or ([8] if args.small else [256])
    batch_sizes: list[int] = args.batch_sizes or ([1, 2, 4] if args.small else [1, 8, 16, 32])
    extras_batch: int = (
        (4 if args.small else 16) if args.extras_batch is None else args.extras_batch
    )
    single_pages = broadcast(args.single_pages, len(new_tokens), "--single-pages")
    batches = broadcast(args.batches, len(new_tokens), "--batches")
    with_transformers = args.backend in ("transformers", "both")
    with_vllm = args.backend in ("vllm", "both")
    max_num_seqs: int = args.max_num_seqs or (4 if args.small else 256)
    vllm_count: int = args.pages or 2 * max_num_seqs
    vllm_warm = min(max_num_seqs, vllm_count)

    import torch
    import transformers

    device = Device(device_name)
    if args.no_cudnn_sdpa:
        torch.backends.cuda.enable_cudnn_sdp(False)
    gpu = torch.cuda.get_device_name() if device.cuda else "cpu"
    sampler = GPUSampler(device)
    print(
        f"torch {torch.__version__}, transformers {transformers.__version__}, python "
        f"{sys.version.split()[0]}, device {device_name} ({gpu}), cuDNN SDPA "
        f"{'off' if args.no_cudnn_sdpa else 'allowed'}, backends {args.backend}, nvidia-smi "
        f"{'sampled' if sampler.available else 'n/a'}"
    )
    vllm_settings: dict[str, Any] = {
        # vLLM's CPU build: float32 (its "auto" would take bfloat16), no CUDA graphs, and
        # gpu_memory_utilization is a share of host memory
        "dtype": "auto" if device.cuda else "float32",
        "max_num_seqs": max_num_seqs,
        "gpu_memory_utilization": args.gpu_memory_utilization or (0.9 if device.cuda else 0.1),
        "enforce_eager": args.enforce_eager or not device.cuda,
        "vllm_options": dict(args.vllm_option),
    }
    count = 1
    if with_transformers:
        widest = max(*batch_sizes, extras_batch)
        count = max(*single_pages, *(b * widest for b in batches)) + widest
    if with_vllm:
        count = max(count, vllm_count + vllm_warm)
    baselines: dict[int, Row | None] = {}
    with tempfile.TemporaryDirectory() as folder:  # vLLM loads the checkpoint from here
        t0 = time.perf_counter()
        path = build_checkpoint(Path(folder) / "got-random", small=args.small, device=device_name)
        built = time.perf_counter() - t0
        size = sum(f.stat().st_size for f in Path(path).iterdir()) / 2**30
        checkpoint = f"checkpoint {size:.2f} GiB built in {built:.0f} s"
        device.free()
        t0 = time.perf_counter()
        plan = Plan(args, device, sampler, new_tokens, render_pages(count), started)
        print(f"{count} pages rendered in {time.perf_counter() - t0:.1f} s")
        if with_vllm:
            print(
                f"vLLM: {vllm_count} pages at once, warm-up {vllm_warm}, settings {vllm_settings}"
            )
        if not with_transformers:
            print(f"random GOT-OCR2 ({'SMALL' if args.small else 'real size'}): {checkpoint}")
        print(HEADER)
        if with_transformers:
            baselines = run_transformers(
                plan,
                path,
                checkpoint=checkpoint,
                batch_sizes=batch_sizes,
                extras_batch=extras_batch,
                single_pages=single_pages,
                batches=batches,
            )
            device.free()  # vLLM starts only where gpu_memory_utilization of the device is free
            if with_vllm and device.cuda:
                print(
                    f"transformers done: {torch.cuda.memory_allocated() / 2**30:.2f} GiB left "
                    f"allocated here, {(device.used() or 0) / 2**30:.2f} GiB of the device in use"
                )
        if with_vllm:
            run_vllm(
                plan, path, baselines, count=vllm_count, warm=vllm_warm, settings=vllm_settings
            )
    print(f"\nall figures ({gpu}, total {time.perf_counter() - started:.0f} s):\n{HEADER}")
    for row, naive_row in plan.rows:
        print(row.line(naive_row))
    if with_vllm:
        print()
        print(comparison(plan.rows, new_tokens))


if __name__ == "__main__":
    main()
