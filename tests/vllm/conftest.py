"""vLLM tests: they run where vLLM is installed (its CPU build will do; see .ci/run), with
``-m vllm``; elsewhere they are skipped.

One vLLM engine serves the session: starting one costs about 20 s on a CPU.
"""

from __future__ import annotations

import importlib.util

import pytest

from got_model import GOTEngine
from got_model.loading import LoadSettings
from got_model.vllm_backend import VLLMEngine, VLLMSettings, process_vllm_engine

MAX_NEW_TOKENS = 24
# vLLM's CPU build reserves this share of host memory for its cache; no CUDA graphs on a CPU.
CPU_OPTIONS = {"gpu_memory_utilization": 0.1, "enforce_eager": True}


VLLM_TESTS = [
    pytest.mark.vllm,
    pytest.mark.skipif(importlib.util.find_spec("vllm") is None, reason="vLLM is not installed"),
]
"""Every module here: ``pytestmark = VLLM_TESTS``."""


@pytest.fixture(scope="session")
def vllm_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> str:
    from got_model.testing import VLLM_TEXT_HEAD_DIM, build_tiny_checkpoint

    path = tmp_path_factory.mktemp("ckpt") / "got-tiny-vllm"
    return build_tiny_checkpoint(path, text_head_dim=VLLM_TEXT_HEAD_DIM)


def vllm_settings(**changes: object) -> VLLMSettings:
    """The session engine's settings: those ``got-ocr convert --backend vllm --max-new-tokens
    24 --gpu-memory-utilization 0.1 --enforce-eager`` gives, so the CLI test shares it."""
    return VLLMSettings(max_new_tokens=MAX_NEW_TOKENS, **CPU_OPTIONS, **changes)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def vllm_engine(vllm_checkpoint: str) -> VLLMEngine:
    engine = process_vllm_engine(LoadSettings(vllm_checkpoint, dtype="float32"), vllm_settings())
    yield engine
    engine.unload()


@pytest.fixture(scope="session")
def reference(vllm_checkpoint: str) -> GOTEngine:
    """The transformers backend on the same checkpoint: what vLLM's greedy output must equal.

    With transformers' own vision attention, as vLLM runs it (tests/got_model shows the SDPA
    attention gives the same tokens)."""
    return GOTEngine(
        vllm_checkpoint,
        device="cpu",
        dtype="float32",
        max_new_tokens=MAX_NEW_TOKENS,
        vision_attention="eager",
    )
