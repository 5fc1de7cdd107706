"""``got-ocr serve``: one GOT server on this machine's GPU for many ingestion processes."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from typing import Any

from got_model.loading import DEFAULT_MODEL_ID, LoadSettings
from got_model.server_engine import API_KEY_VARIABLE
from got_model.vllm_backend import VLLMSettings
from got_model.vllm_server import DEFAULT_HOST, DEFAULT_PORT, ServeSettings, serve

from .engine import DTYPE_CHOICES, VLLM_DTYPES

SERVE_EPILOG = """\
examples:
  got-ocr serve                                   GOT-OCR 2.0 from the Hub, on 127.0.0.1:8000
  got-ocr serve --model ./got-ocr2 --offline --port 8100
  GOT_OCR_API_KEY=secret got-ocr serve --host 0.0.0.0
  got-ocr convert docs/ -o out/ --server http://127.0.0.1:8000       (a client)

The server is vLLM's OpenAI-compatible server (POST /v1/chat/completions), with GOT's prompt
written by the chat template shipped in got-loaders: clients pass the task in
chat_template_kwargs (got_format, got_box, got_color, got_crop). ServerEngine does it for the
loaders, the reader, partition_got, Ray and got-ocr convert --server.

exit status: vLLM's, 1 when it could not start, 2 for bad arguments.
"""


def add_serve_parser(commands: Any) -> None:
    """``got-ocr serve``'s parser, among ``commands``."""
    parser = commands.add_parser(
        "serve",
        help="serve GOT on vLLM's OpenAI-compatible server, for many clients",
        description=(
            "Start vLLM's OpenAI-compatible server for GOT-OCR 2.0 (pip install\n"
            "'got-loaders[vllm]'). Prints the URL when it is ready (GET /health answers);\n"
            "Ctrl-C stops it. Clients: ServerEngine(URL) or got-ocr convert --server URL."
        ),
        epilog=SERVE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    model = parser.add_argument_group("model")
    model.add_argument(
        "--model",
        default=DEFAULT_MODEL_ID,
        metavar="ID_OR_DIR",
        help="Hugging Face Hub id or local directory; clients see it under this name "
        "(default: %(default)s)",
    )
    model.add_argument("--revision", help="Hub branch, tag or commit to pin")
    model.add_argument(
        "--offline",
        action="store_true",
        help="never reach the network: the model must be a directory or in the Hugging "
        "Face cache (as HF_HUB_OFFLINE=1)",
    )
    model.add_argument(
        "--dtype",
        default="auto",
        choices=DTYPE_CHOICES,
        metavar="DTYPE",
        help="auto (the checkpoint's: bfloat16), bfloat16, float16 or float32 "
        "(default: %(default)s)",
    )
    listen = parser.add_argument_group("listening")
    listen.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help="the address to bind; 0.0.0.0 for every interface (then set an API key) "
        "(default: %(default)s)",
    )
    listen.add_argument("--port", type=int, default=DEFAULT_PORT, help="(default: %(default)s)")
    listen.add_argument(
        "--api-key",
        metavar="KEY",
        help=f"clients must send this key (default: ${API_KEY_VARIABLE}; none: anyone who "
        "can connect may use the server)",
    )
    vllm = parser.add_argument_group("vLLM")
    defaults = VLLMSettings()
    vllm.add_argument(
        "--gpu-memory-utilization",
        type=float,
        default=defaults.gpu_memory_utilization,
        metavar="SHARE",
        help="the share of GPU memory vLLM may take (default: %(default)s)",
    )
    vllm.add_argument(
        "--max-num-seqs",
        type=int,
        default=defaults.max_num_seqs,
        metavar="N",
        help="the most pages decoded at once, across clients (default: %(default)s)",
    )
    vllm.add_argument(
        "--max-model-len",
        type=int,
        default=None,
        metavar="TOKENS",
        help="the longest prompt plus output (default: the model's)",
    )
    vllm.add_argument(
        "--enforce-eager",
        action="store_true",
        help="no CUDA graphs (starts sooner, decodes slower)",
    )
    vllm.add_argument(
        "--vllm-option",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="any other vllm serve option, e.g. tensor_parallel_size=2 (VALUE as JSON, else "
        "a string); repeat for more",
    )
    parser.add_argument(
        "--ready-timeout",
        type=float,
        default=1800.0,
        metavar="SECONDS",
        help="give up when the server is not ready after this long (default: %(default)s)",
    )


def run_serve(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """``got-ocr serve``: its exit status."""
    if not 0 < args.gpu_memory_utilization <= 1:
        parser.error("--gpu-memory-utilization must be more than 0 and at most 1.")
    if not 0 < args.port < 65536:
        parser.error("--port must be from 1 to 65535.")
    options = [_option(text, parser) for text in args.vllm_option]
    api_key = args.api_key if args.api_key is not None else os.environ.get(API_KEY_VARIABLE)
    load = LoadSettings(
        model=args.model,
        revision=args.revision,
        local_files_only=True if args.offline else None,
        dtype=VLLM_DTYPES.get(args.dtype, args.dtype),
    )
    settings = dataclasses.replace(
        VLLMSettings(),
        gpu_memory_utilization=args.gpu_memory_utilization,
        max_num_seqs=args.max_num_seqs,
        max_model_len=args.max_model_len,
        enforce_eager=args.enforce_eager,
        options=tuple(options),
    )
    where = ServeSettings(host=args.host, port=args.port, api_key=api_key or None)
    if not where.is_loopback and not api_key:
        print(
            f"got-ocr: warning: serving on {args.host} without an API key: anyone who can "
            f"reach this machine can use the GPU. Set --api-key or ${API_KEY_VARIABLE}.",
            file=sys.stderr,
        )

    def ready(url: str) -> None:
        key = " --api-key KEY" if api_key else ""
        print(
            f"got-ocr: serving {args.model} at {url}\n"
            f"  clients: got-ocr convert FILES --server {url}{key}\n"
            f"           ServerEngine({url!r}) in Python",
            flush=True,
        )

    return serve(load, settings, where, ready_timeout=args.ready_timeout, on_ready=ready)


def _option(text: str, parser: argparse.ArgumentParser) -> tuple[str, Any]:
    name, equals, value = text.partition("=")
    name = name.strip().lstrip("-").replace("-", "_")
    if not equals or not name:
        parser.error(f"--vllm-option takes NAME=VALUE, got {text!r}.")
    try:
        return name, json.loads(value)
    except json.JSONDecodeError:
        return name, value
