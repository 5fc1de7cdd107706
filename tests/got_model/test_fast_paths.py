"""Faster generation paths read the same text as the default one."""

from __future__ import annotations

import logging

import pytest

from got_model import FORMATTED, PLAIN, GOTEngine, OCRTask
from tests.conftest import noise_image

# Tasks with prompts of different lengths, so the batch is left-padded.
TASKS = [PLAIN, FORMATTED, OCRTask(color="green"), PLAIN, FORMATTED]


def read(engine: GOTEngine) -> list[str]:
    images = [noise_image(seed, (70 + 9 * seed, 60)) for seed in range(len(TASKS))]
    return [result.text for result in engine.recognize_images(images, TASKS)]


@pytest.fixture(scope="module")
def expected(tiny_checkpoint: str) -> list[str]:
    texts = read(GOTEngine(tiny_checkpoint, device="cpu", batch_size=5, max_new_tokens=16))
    assert len(set(texts)) > 1
    return texts


def spy_on_generate(engine: GOTEngine) -> list[object]:
    """The generation configs ``generate`` receives from now on."""
    engine.load()
    configs: list[object] = []
    generate = engine._model.generate

    def spying(*args, **kwargs):  # type: ignore[no-untyped-def]
        configs.append(kwargs["generation_config"])
        return generate(*args, **kwargs)

    engine._model.generate = spying
    return configs


def test_a_static_cache_reads_the_same(tiny_checkpoint: str, expected: list[str]) -> None:
    engine = GOTEngine(
        tiny_checkpoint, device="cpu", batch_size=5, max_new_tokens=16, static_cache=True
    )
    configs = spy_on_generate(engine)
    assert read(engine) == expected
    assert [config.cache_implementation for config in configs] == ["static"]
    assert configs[0].disable_compile  # static alone never compiles


def test_compile_off_cuda_reads_the_same_and_says_it_did_not_compile(
    tiny_checkpoint: str, expected: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    engine = GOTEngine(tiny_checkpoint, device="cpu", batch_size=5, max_new_tokens=16, compile=True)
    with caplog.at_level(logging.WARNING, logger="got_model"):
        configs = spy_on_generate(engine)
        assert read(engine) == expected
    assert "CUDA only" in caplog.text
    assert configs[0].cache_implementation == "static"
    assert configs[0].disable_compile is False


def test_speed_options_do_not_change_the_cache_key(tiny_checkpoint: str) -> None:
    plain = GOTEngine(tiny_checkpoint, device="cpu")
    fast = GOTEngine(tiny_checkpoint, device="cpu", static_cache=True, compile=True, batch_size=3)
    assert fast.cache_identity() == plain.cache_identity()


@pytest.mark.parametrize("implementation", ["sdpa", "eager"])
def test_the_attention_implementation_applies_to_the_decoder(
    tiny_checkpoint: str, implementation: str, expected: list[str]
) -> None:
    engine = GOTEngine(
        tiny_checkpoint,
        device="cpu",
        batch_size=5,
        max_new_tokens=16,
        attn_implementation=implementation,
    )
    texts = read(engine)  # transformers refused "sdpa" for the whole model before
    config = engine._model.config
    assert config.text_config._attn_implementation == implementation
    assert len(texts) == len(expected)
