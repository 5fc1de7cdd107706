"""Shared fixtures: the tiny GOT checkpoint is built once per test session."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from PIL import Image

# Unstructured pings its analytics server when it is imported unless told not to; the suite
# runs offline (and its subprocesses inherit this).
os.environ.setdefault("DO_NOT_TRACK", "1")

# CI machines are shared and their speed swings several-fold: property tests are about
# correctness, so neither a deadline nor generation speed may fail them.
settings.register_profile(
    "got-loaders", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("got-loaders")


@pytest.fixture(scope="session", autouse=True)
def _private_user_cache(tmp_path_factory: pytest.TempPathFactory):
    """No test, nor any subprocess it starts, writes to the real user cache directory (the
    result cache's default home): platformdirs looks at XDG_CACHE_HOME first on Linux."""
    real_cache = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    with pytest.MonkeyPatch.context() as patch:
        # Hugging Face derives its cache from XDG_CACHE_HOME too: pin it where it was, so the
        # weights tests still find downloaded weights.
        patch.setenv("HF_HOME", os.environ.get("HF_HOME", os.path.join(real_cache, "huggingface")))
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("user-cache")))
        yield


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> str:
    from got_model.testing import build_tiny_checkpoint

    return build_tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "got-tiny")


@pytest.fixture(scope="session")
def tiny_engine(tiny_checkpoint: str):
    from got_model import GOTEngine

    return GOTEngine(tiny_checkpoint, device="cpu", max_new_tokens=24, batch_size=4)


def noise_image(seed: int, size: tuple[int, int] = (80, 60), mode: str = "RGB") -> Image.Image:
    """A reproducible random picture; different seeds give different GOT outputs."""
    rng = random.Random(seed)
    data = bytes(rng.randrange(256) for _ in range(size[0] * size[1] * 3))
    return Image.frombytes("RGB", size, data).convert(mode)


@pytest.fixture
def data_dir() -> Path:
    return Path(__file__).parent / "data"
