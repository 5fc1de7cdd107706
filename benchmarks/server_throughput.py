"""Pages per second through ``got-ocr serve`` from 1 and from 4 client processes, against the
in-process vLLM backend: the same pages and settings, in one run.

Each client is its own process with a ``ServerEngine``, reading its share of the pages; all
start together once connected, and the wall time runs from that start to the last client's
end. The in-process figure is ``VLLMEngine.recognize_each`` on all the pages at once, after a
warm-up. The server starts after the in-process engine has stopped, so they never share the
device.

    python benchmarks/server_throughput.py                      # the tiny kit, on this CPU
    python benchmarks/server_throughput.py --model stepfun-ai/GOT-OCR-2.0-hf \\
        --pages 256 --max-new-tokens 1024 --cpu-settings off   # a GPU

On a CPU with the tiny kit the figures check the plumbing, not the speed: the server, the
clients and the engine share two cores. The target, on a GPU: 4 clients within 10% of the
in-process backend.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image


def page(seed: int, size: tuple[int, int]) -> Image.Image:
    """Black text-like strokes on white, different for each seed."""
    width, height = size
    rng = np.random.default_rng(seed)
    pixels = np.full((height, width, 3), 255, dtype=np.uint8)
    for _ in range(width * height // 9000):
        x, y = int(rng.integers(0, width - 40)), int(rng.integers(0, height - 14))
        pixels[y : y + 12, x : x + int(rng.integers(10, 40))] = 0
    return Image.fromarray(pixels)


def client(
    url: str, paths: list[str], options: dict[str, Any], ready: Any, go: Any, done: Any
) -> None:
    """One client process: connect, wait for the start, read its pages, report."""
    from got_model import ServerEngine

    engine = ServerEngine(url, **options)
    engine.load()
    images = [Image.open(path).convert("RGB") for path in paths]
    ready.put(os.getpid())
    go.wait()
    results = engine.recognize_images(images)
    done.put((time.perf_counter(), sum(result.generated_tokens for result in results)))


def through_server(url: str, paths: list[str], clients: int, options: dict[str, Any]) -> float:
    """Pages per second with ``clients`` processes reading ``paths`` between them."""
    context = multiprocessing.get_context("spawn")
    ready, done, go = context.Queue(), context.Queue(), context.Event()
    shares = [paths[number::clients] for number in range(clients)]
    processes = [
        context.Process(target=client, args=(url, share, options, ready, go, done))
        for share in shares
    ]
    for process in processes:
        process.start()
    for _ in processes:
        ready.get(timeout=600)
    started = time.perf_counter()
    go.set()
    ends = [done.get(timeout=3600) for _ in processes]
    for process in processes:
        process.join()
    return len(paths) / (max(end for end, _ in ends) - started)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a Hub id or directory (default: the tiny kit)")
    parser.add_argument("--pages", type=int, default=64)
    parser.add_argument("--page-size", default="850x1100", help="WIDTHxHEIGHT in pixels")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--dtype", default=None, help="default: float32 on the kit, else auto")
    parser.add_argument(
        "--cpu-settings",
        choices=["on", "off"],
        default="on",
        help="on: vLLM's CPU build settings (10%% of memory, no CUDA graphs) (default: on)",
    )
    args = parser.parse_args()
    from got_model import VLLMEngine

    work = Path(tempfile.mkdtemp(prefix="got-server-bench-"))
    model = args.model
    if model is None:
        from got_model.testing import VLLM_TEXT_HEAD_DIM, build_tiny_checkpoint

        model = build_tiny_checkpoint(work / "kit", text_head_dim=VLLM_TEXT_HEAD_DIM)
    dtype = args.dtype or ("float32" if args.model is None else "auto")
    width, height = (int(side) for side in args.page_size.split("x"))
    paths = []
    for seed in range(args.pages):
        path = work / f"page{seed}.png"
        page(seed, (width, height)).save(path)
        paths.append(str(path))
    images = [Image.open(path).convert("RGB") for path in paths]
    cpu = args.cpu_settings == "on"
    vllm_options: dict[str, Any] = (
        {"gpu_memory_utilization": 0.1, "enforce_eager": True} if cpu else {}
    )

    engine = VLLMEngine(model, dtype=dtype, max_new_tokens=args.max_new_tokens, **vllm_options)
    engine.recognize_images(images[:4])  # start vLLM, warm up
    started = time.perf_counter()
    local = engine.recognize_images(images)
    in_process = len(images) / (time.perf_counter() - started)
    engine.unload()

    port = free_port()
    command = [sys.executable, "-m", "got_loaders.cli", "serve", "--model", model]
    command += ["--dtype", dtype, "--port", str(port)]
    if cpu:
        command += ["--gpu-memory-utilization", "0.1", "--enforce-eager"]
    log = (work / "serve.log").open("wb")
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        from got_model.vllm_server import wait_until_ready

        wait_until_ready(url, server, 1800)
        options = {"max_new_tokens": args.max_new_tokens}
        from got_model import ServerEngine

        check = ServerEngine(url, **options).recognize_images(images[:4])  # and warm up
        same = [r.text for r in check] == [r.text for r in local[:4]]
        figures = {count: through_server(url, paths, count, options) for count in (1, 4)}
    finally:
        server.terminate()
        server.wait(timeout=120)
    tokens = sum(result.generated_tokens for result in local) / len(local)
    print(f"model: {model}; {args.pages} pages of {width}x{height}; {tokens:.0f} tokens a page")
    print(f"the server's first pages equal the in-process backend's: {same}")
    print("| Engine | pages/s | vs in-process |")
    print("|---|---|---|")
    print(f"| VLLMEngine in-process | {in_process:.2f} | 1.00 |")
    for count, rate in figures.items():
        print(
            f"| got-ocr serve, {count} client process(es) | {rate:.2f} | {rate / in_process:.2f} |"
        )


if __name__ == "__main__":
    main()
