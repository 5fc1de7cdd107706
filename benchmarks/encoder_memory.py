"""The vision encoder's peak memory and time per page: transformers' attention on the whole
batch (before) against SDPA attention, ``encoder_batch_size`` pages at a time (after).

GOT's real architecture at its real size (random weights): 1024x1024 pages, the SAM-style
encoder and the projector, what ``GOTEngine`` runs before decoding. Each configuration runs in
a process of its own, so one peak does not hide another:

- on CUDA the peak is ``torch.cuda.max_memory_allocated`` above what was allocated before;
- on the CPU it is the process's peak resident memory (``ru_maxrss``) above its value once the
  model and the pages are in memory (it includes a one-page warm-up pass, which a batch of one
  page does not exceed).

    python benchmarks/encoder_memory.py                      # CUDA if present: batches 1 8 32
    python benchmarks/encoder_memory.py --device cpu --batches 1 2
    python benchmarks/encoder_memory.py --batches 64 --only after

Target (issue 23): at most 0.5 GiB of encoder memory a page, and no loss of speed.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

GIB = 1024**3


def child(args: argparse.Namespace) -> None:
    import torch
    from transformers import GotOcr2Config, GotOcr2ForConditionalGeneration

    from got_model.vision_attention import use_sdpa_vision_attention

    device = torch.device(args.device)
    dtype = getattr(torch, args.dtype)
    torch.manual_seed(0)
    with torch.device("meta"):
        model = GotOcr2ForConditionalGeneration(GotOcr2Config())
    vision = model.model.vision_tower.to_empty(device=device).to(dtype).eval()
    projector = model.model.multi_modal_projector.to_empty(device=device).to(dtype).eval()
    with torch.no_grad():
        for parameter in [*vision.parameters(), *projector.parameters()]:
            parameter.normal_(0.0, 0.02)
    if args.attention == "sdpa":
        assert use_sdpa_vision_attention(model) > 0
    chunk = args.batch if args.encoder_batch_size is None else args.encoder_batch_size
    pages = torch.randn((args.batch, 3, 1024, 1024), dtype=dtype, device=device)

    def encode(pixels: torch.Tensor) -> None:
        with torch.inference_mode():
            for start in range(0, pixels.shape[0], chunk):
                projector(vision(pixels[start : start + chunk]).last_hidden_state)
        if device.type == "cuda":
            torch.cuda.synchronize()

    if device.type != "cuda":  # the peak resident size only grows: taken before any page
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    encode(pages[:1])  # warm-up: kernels, allocator pools
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    started = time.perf_counter()
    encode(pages)
    seconds = time.perf_counter() - started
    if device.type == "cuda":
        peak = torch.cuda.max_memory_allocated() - base
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - base
    print(json.dumps({"peak": peak, "seconds": seconds}))


def run(
    args: argparse.Namespace, attention: str, batch: int, chunk: int | None
) -> dict[str, float]:
    command = [sys.executable, __file__, "--child", "--device", args.device, "--dtype", args.dtype]
    command += ["--attention", attention, "--batch", str(batch)]
    if chunk is not None:
        command += ["--encoder-batch-size", str(chunk)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": last[:120]}  # type: ignore[dict-item]
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None, help="cuda (default where present) or cpu")
    parser.add_argument("--dtype", default=None, help="bfloat16 on CUDA, float32 on the CPU")
    parser.add_argument("--batches", type=int, nargs="+", default=None)
    parser.add_argument("--encoder-batch-size", type=int, default=8, help="after: pages at a time")
    parser.add_argument("--only", choices=["before", "after"], default=None)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--attention", default="sdpa", help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    import torch

    args.device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    args.dtype = args.dtype or ("bfloat16" if args.device == "cuda" else "float32")
    batches = args.batches or ([1, 8, 32] if args.device == "cuda" else [1, 2])
    print(f"GOT vision encoder, real size, random weights; {args.device}, {args.dtype}")
    measure = "max_memory_allocated" if args.device == "cuda" else "ru_maxrss"
    print(f"torch {torch.__version__}; peak: {measure}")
    print("| path | batch | pages at a time | peak GiB | GiB/page | s/page |")
    print("|---|---|---|---|---|---|")
    paths = [("before", "eager", None), ("after", "sdpa", args.encoder_batch_size)]
    for name, attention, chunk in paths:
        if args.only and name != args.only:
            continue
        for batch in batches:
            at_once = batch if chunk is None else min(batch, chunk)
            result = run(args, attention, batch, chunk)
            if "error" in result:
                print(
                    f"| {name} ({attention}) | {batch} | {at_once} | failed: {result['error']} |||"
                )
                continue
            peak, seconds = result["peak"] / GIB, result["seconds"]
            print(
                f"| {name} ({attention}) | {batch} | {at_once} | {peak:.2f} | "
                f"{peak / at_once:.2f} | {seconds / batch:.2f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
