"""GOT's vision attention through SDPA, a band of queries at a time, and the encoder run apart
from decoding: the same features and the same tokens as transformers' own path."""

from __future__ import annotations

import functools
import logging
import pickle

import pytest
import torch

import got_model.vision_attention as vision_attention
from got_model import FORMATTED, PLAIN, GOTEngine, OCRRequest, OCRTask
from got_model.vision_attention import sdpa_forward, use_sdpa_vision_attention
from tests.conftest import noise_image


def attention_modules(model):  # type: ignore[no-untyped-def]
    return [m for m in model.modules() if type(m).__name__ == "GotOcr2VisionAttention"]


@pytest.fixture(scope="module")
def eager(tiny_checkpoint: str) -> GOTEngine:
    engine = GOTEngine(
        tiny_checkpoint,
        device="cpu",
        max_new_tokens=24,
        vision_attention="eager",
        encoder_batch_size=None,
    )
    engine.load()
    return engine


@pytest.fixture(scope="module")
def sdpa(tiny_checkpoint: str) -> GOTEngine:
    engine = GOTEngine(tiny_checkpoint, device="cpu", max_new_tokens=24, encoder_batch_size=2)
    engine.load()
    return engine


def test_the_engine_loads_with_sdpa_attention_and_eager_on_request(
    sdpa: GOTEngine, eager: GOTEngine
) -> None:
    assert all(isinstance(m.forward, functools.partial) for m in attention_modules(sdpa._model))
    assert not any("forward" in vars(m) for m in attention_modules(eager._model))


@pytest.mark.parametrize("pages", [1, 3])
def test_the_encoder_gives_the_same_features(sdpa: GOTEngine, eager: GOTEngine, pages) -> None:
    pixels = torch.randn((pages, 3, 64, 64), generator=torch.Generator().manual_seed(pages))
    with torch.inference_mode():
        expected = eager._model.model.vision_tower(pixels).last_hidden_state
        got = sdpa._model.model.vision_tower(pixels).last_hidden_state
    assert torch.allclose(got, expected, atol=1e-5, rtol=1e-4)


def real_size_attention(window_size: int):  # type: ignore[no-untyped-def]
    """One vision attention layer of GOT's real size (768 wide, 12 heads, a 64x64 grid),
    random weights and position tables."""
    from transformers import GotOcr2Config
    from transformers.models.got_ocr2.modeling_got_ocr2 import GotOcr2VisionAttention

    config = GotOcr2Config().vision_config
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(window_size)
        module = GotOcr2VisionAttention(config, window_size).eval()
        with torch.no_grad():
            for table in (module.rel_pos_h, module.rel_pos_w):
                table.normal_(0.0, 0.2)
    return module


@pytest.mark.parametrize(
    ("window_size", "shape"),
    [(0, (1, 64, 64)), (14, (3, 14, 14))],  # a page's global layer; three windows
    ids=["global", "window"],
)
def test_a_real_size_layer_gives_the_same_output(window_size: int, shape) -> None:
    module = real_size_attention(window_size)
    assert module.rel_pos_h.shape[0] == 2 * (shape[1]) - 1
    hidden = torch.randn((*shape, 768), generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        expected = module(hidden)[0]
        got = sdpa_forward(module, hidden)[0]
    assert torch.allclose(got, expected, atol=1e-4, rtol=1e-4)


def test_greedy_tokens_are_the_same_end_to_end(sdpa: GOTEngine, eager: GOTEngine) -> None:
    wide = noise_image(9, (250, 60))
    requests = [
        OCRRequest((noise_image(seed),), task)
        for seed, task in enumerate([PLAIN, FORMATTED, OCRTask(color="red"), PLAIN, PLAIN])
    ]
    requests += [
        OCRRequest((wide,), OCRTask(crop_to_patches=True, max_patches=6)),
        OCRRequest((noise_image(7), noise_image(8)), FORMATTED),
    ]
    expected = eager.recognize_batch(requests)
    got = sdpa.recognize_batch(requests)
    assert [r.text for r in got] == [r.text for r in expected]
    assert [r.generated_tokens for r in got] == [r.generated_tokens for r in expected]
    assert len({r.text for r in got}) > 4


@pytest.mark.parametrize("encoder_batch_size", [1, 3])
def test_encoding_a_few_pages_at_a_time_gives_the_same_tokens(
    tiny_checkpoint: str, eager: GOTEngine, encoder_batch_size: int
) -> None:
    chunked = GOTEngine(
        tiny_checkpoint,
        device="cpu",
        max_new_tokens=24,
        vision_attention="eager",
        encoder_batch_size=encoder_batch_size,
    )
    requests = [OCRRequest((noise_image(seed),), FORMATTED) for seed in range(5)]
    requests.append(OCRRequest((noise_image(20, (250, 60)),), OCRTask(crop_to_patches=True)))
    assert [r.text for r in chunked.recognize_batch(requests)] == [
        r.text for r in eager.recognize_batch(requests)
    ]


def test_a_model_with_sdpa_attention_still_pickles(sdpa: GOTEngine) -> None:
    copy = pickle.loads(pickle.dumps(sdpa._model))
    pixels = torch.randn((1, 3, 64, 64), generator=torch.Generator().manual_seed(3))
    with torch.inference_mode():
        assert torch.equal(
            copy.model.vision_tower(pixels).last_hidden_state,
            sdpa._model.model.vision_tower(pixels).last_hidden_state,
        )


def test_attention_that_disagrees_keeps_transformers_own(
    tiny_checkpoint: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    engine = GOTEngine(tiny_checkpoint, device="cpu", vision_attention="eager")
    engine.load()

    def wrong(module, hidden_states, output_attentions=None):  # type: ignore[no-untyped-def]
        output, _ = type(module).forward(module, hidden_states)
        return output * 1.01, None

    monkeypatch.setattr(vision_attention, "sdpa_forward", wrong)
    with caplog.at_level(logging.WARNING, logger="got_model"):
        assert use_sdpa_vision_attention(engine._model) == 0
    assert "keeps transformers' attention" in caplog.text
    assert not any("forward" in vars(m) for m in attention_modules(engine._model))


def test_vision_attention_must_be_known(tiny_checkpoint: str) -> None:
    with pytest.raises(ValueError, match="vision_attention"):
        GOTEngine(tiny_checkpoint, vision_attention="flash")
    with pytest.raises(ValueError, match="encoder_batch_size"):
        GOTEngine(tiny_checkpoint, encoder_batch_size=0)
