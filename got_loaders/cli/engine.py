"""The engine the command line asks for: one place builds its settings, for a local run and
for Ray."""

from __future__ import annotations

import argparse
import dataclasses
import os

from got_loaders.engines import shared_engine
from got_loaders.pipeline import DEFAULT_BATCH_SIZE
from got_model.engine import OCREngine
from got_model.loading import DEFAULT_MODEL_ID, LoadSettings
from got_model.server_engine import (
    API_KEY_VARIABLE,
    ServerSettings,
    normalized_url,
    process_server_engine,
)
from got_model.transformers_backend import GOTEngine
from got_model.vllm_backend import VLLMSettings, process_vllm_engine


def build_engine(args: argparse.Namespace, *, shared: bool) -> OCREngine:
    """The engine the command line asks for; ``shared``: the process's one for these
    settings (a local run), else a fresh one to pickle to Ray's actors."""
    if args.server is not None:
        return process_server_engine(_server_settings(args))
    if args.backend == "vllm":
        return process_vllm_engine(*_vllm_settings(args))
    settings = {
        "revision": args.revision,
        "device": args.device,
        "dtype": args.dtype,
        "batch_size": args.batch_size or DEFAULT_BATCH_SIZE,
        "max_new_tokens": args.max_new_tokens,
        "compile": args.compile,
    }
    if shared:
        return shared_engine(args.model or DEFAULT_MODEL_ID, **settings)
    return GOTEngine(args.model or DEFAULT_MODEL_ID, **settings)


def _server_settings(args: argparse.Namespace) -> ServerSettings:
    api_key = args.api_key if args.api_key is not None else os.environ.get(API_KEY_VARIABLE)
    return ServerSettings(
        url=normalized_url(args.server),
        api_key=api_key or None,
        model=args.model,
        max_new_tokens=args.max_new_tokens,
        max_in_flight=args.max_in_flight or ServerSettings.max_in_flight,
        batch_size=args.batch_size or ServerSettings.batch_size,
    )


def _vllm_settings(args: argparse.Namespace) -> tuple[LoadSettings, VLLMSettings]:
    defaults = VLLMSettings()
    load = LoadSettings(
        model=args.model or DEFAULT_MODEL_ID,
        revision=args.revision,
        dtype=VLLM_DTYPES.get(args.dtype, args.dtype),
    )
    settings = dataclasses.replace(
        defaults,
        max_new_tokens=args.max_new_tokens,
        batch_size=args.batch_size or defaults.batch_size,
        gpu_memory_utilization=args.gpu_memory_utilization or defaults.gpu_memory_utilization,
        enforce_eager=args.enforce_eager,
    )
    return load, settings


DTYPE_CHOICES = ("auto", "bfloat16", "bf16", "float16", "fp16", "half", "float32", "fp32")
"""The dtypes got-ocr convert and got-ocr serve take."""

VLLM_DTYPES = {"bf16": "bfloat16", "fp16": "float16", "half": "float16", "fp32": "float32"}
"""The short dtype names got-ocr takes, as vLLM spells them."""


def check_backend_arguments(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    if args.server is not None:
        try:
            normalized_url(args.server)
        except ValueError as exc:
            parser.error(f"--server: {exc}")
        for flag, value in (
            ("--backend vllm", args.backend == "vllm" or None),
            ("--revision", args.revision),
            ("--device", None if args.device == "auto" else args.device),
            ("--dtype", None if args.dtype == "auto" else args.dtype),
            ("--compile", args.compile or None),
            ("--gpu-memory-utilization", args.gpu_memory_utilization),
            ("--enforce-eager", args.enforce_eager or None),
        ):
            if value is not None:
                parser.error(f"{flag} does not apply to --server: the server runs the model.")
        if args.max_in_flight is not None and args.max_in_flight < 1:
            parser.error("--max-in-flight must be at least 1.")
        return
    for flag, value in (("--api-key", args.api_key), ("--max-in-flight", args.max_in_flight)):
        if value is not None:
            parser.error(f"{flag} needs --server.")
    if args.backend == "vllm":
        if args.device != "auto":
            parser.error("--device is for --backend transformers: vLLM runs on its own device.")
        if args.compile:
            parser.error("--compile is for --backend transformers: vLLM compiles on its own.")
    else:
        for flag, value in (
            ("--gpu-memory-utilization", args.gpu_memory_utilization),
            ("--enforce-eager", args.enforce_eager or None),
        ):
            if value is not None:
                parser.error(f"{flag} needs --backend vllm.")
    share = args.gpu_memory_utilization
    if share is not None and not 0 < share <= 1:
        parser.error("--gpu-memory-utilization must be more than 0 and at most 1.")
