"""GOT-OCR2 at its real size on a GPU: pages/s, tokens/s and peak memory, naive loop vs GOTEngine.

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

Seen on an H100 (80 GB): memory peaks in the vision encoder, not the KV cache. Its four
global-attention layers materialise 4096 x 4096 scores per head (eager attention), about
2.3 GiB per page: batch 16 peaks at 38 GiB, batch 32 runs out of memory and the engine goes on
in batches of 16 (its "batch 32" row is that).

Run from the repository root with the project importable (``pip install -e .``, or
``PYTHONPATH=.`` where PyMuPDF is missing: this script needs only torch and transformers).

    python benchmarks/gpu_throughput.py                          # CUDA, the real size
    python benchmarks/gpu_throughput.py --new-tokens 1024 --single-pages 1 --batches 1
    python benchmarks/gpu_throughput.py --small                  # tiny sizes on the CPU: a check
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PIL import Image

    from got_model import GOTEngine

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
SMALL_TEXT: dict[str, Any] = {
    "hidden_size": 64,
    "intermediate_size": 128,
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

    def free(self) -> None:
        import gc

        gc.collect()
        if self.cuda:
            self.torch.cuda.empty_cache()


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


def timed(device: Device, work: Callable[[], list[str]]) -> tuple[float, int | None, list[str]]:
    device.reset_peak()
    device.sync()
    start = time.perf_counter()
    texts = work()
    device.sync()
    return time.perf_counter() - start, device.peak(), texts


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--small", action="store_true", help="toy sizes on the CPU, to check the script"
    )
    parser.add_argument("--device", help="torch device (default: cuda, or cpu with --small)")
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

    import torch
    import transformers

    from got_model import GOTEngine
    from got_model.inputs import image_tokens_per_patch

    device = Device(device_name)
    if args.no_cudnn_sdpa:
        torch.backends.cuda.enable_cudnn_sdp(False)
    gpu = torch.cuda.get_device_name() if device.cuda else "cpu"
    print(
        f"torch {torch.__version__}, transformers {transformers.__version__}, python "
        f"{sys.version.split()[0]}, device {device_name} ({gpu}), cuDNN SDPA "
        f"{'off' if args.no_cudnn_sdpa else 'allowed'}"
    )
    with tempfile.TemporaryDirectory() as folder:
        t0 = time.perf_counter()
        path = build_checkpoint(Path(folder) / "got-random", small=args.small, device=device_name)
        built = time.perf_counter() - t0
        size = sum(f.stat().st_size for f in Path(path).iterdir()) / 2**30
        t0 = time.perf_counter()
        loader = GOTEngine(path, device=device_name, local_files_only=True)
        loader.load()
        loaded = time.perf_counter() - t0
        model, processor = loader._model, loader._processor  # the loaded pair, reused below
    device.free()  # the build's garbage, CPU and GPU: measure as a process that only loaded
    vision, text = model.config.vision_config, model.config.text_config
    print(
        f"random GOT-OCR2 ({'SMALL' if args.small else 'real size'}): {parameters(model)} "
        f"parameters, {model.dtype}, checkpoint {size:.2f} GiB built in {built:.0f} s, loaded "
        f"by GOTEngine in {loaded:.1f} s; vision {parameters(model.model.vision_tower)} "
        f"({vision.num_hidden_layers} x {vision.hidden_size}, {vision.image_size} px, patch "
        f"{vision.patch_size}, global {list(vision.global_attn_indexes)}), decoder "
        f"{parameters(model.model.language_model)} ({text.num_hidden_layers} x "
        f"{text.hidden_size}, vocab {text.vocab_size}, tokenizer {len(processor.tokenizer)}), "
        f"{image_tokens_per_patch(model.config)} image tokens per page"
    )
    image_tokens = image_tokens_per_patch(model.config)
    widest = max(*batch_sizes, extras_batch)
    pages = render_pages(max(*single_pages, *(b * widest for b in batches)) + widest)
    rows: list[tuple[Row, Row | None]] = []

    def over_deadline() -> bool:
        return bool(args.deadline) and time.perf_counter() - started > args.deadline

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
        if over_deadline():
            row.note = "skipped: past --deadline"
        else:
            try:
                t0 = time.perf_counter()
                warm()
                warm_s = time.perf_counter() - t0
                row.seconds, row.peak_bytes, texts = timed(device, run)
                row.pages = count
                row.note = f"warm-up {warm_s:.1f} s; {len(set(texts))}/{count} distinct texts"
            except Exception as exc:
                traceback.print_exc()
                row.note = f"FAILED: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
                device.free()
        rows.append((row, baseline))
        print(row.line(baseline), flush=True)
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
    print(HEADER)
    with torch.inference_mode():
        for tokens, singles, batch_count in zip(new_tokens, single_pages, batches, strict=True):
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
            b, tokens = extras_batch, new_tokens[0]
            extra(b, tokens, b * batches[0], "compile", baselines[tokens], compile=True)
    print(f"\nall figures ({gpu}, total {time.perf_counter() - started:.0f} s):\n{HEADER}")
    for row, naive_row in rows:
        print(row.line(naive_row))


if __name__ == "__main__":
    main()
