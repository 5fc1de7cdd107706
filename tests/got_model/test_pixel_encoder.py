"""The fast preprocessing path gives exactly what GOT's processor gives, or stands aside."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from got_model import FORMATTED, PLAIN, GOTEngine, OCRRequest, OCRTask
from got_model.inputs import PixelEncoder, encode_request, image_tokens_per_patch


@pytest.fixture(scope="module")
def processor(tiny_checkpoint: str):
    from transformers import GotOcr2Processor

    return GotOcr2Processor.from_pretrained(tiny_checkpoint)


def _tokens(tiny_checkpoint: str) -> int:
    from transformers import GotOcr2Config

    return image_tokens_per_patch(GotOcr2Config.from_pretrained(tiny_checkpoint))


def _page(seed: int, size: tuple[int, int]) -> Image.Image:
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    return Image.fromarray(pixels)


@pytest.mark.parametrize(
    "task",
    [PLAIN, FORMATTED, OCRTask(color="red"), OCRTask(output="formatted", color="blue")],
    ids=["plain", "formatted", "color", "formatted-color"],
)
@pytest.mark.parametrize("size", [(64, 64), (50, 90), (300, 200), (1, 700)])
def test_same_ids_and_pixels_as_the_processor(
    processor, tiny_checkpoint: str, task: OCRTask, size: tuple[int, int]
) -> None:
    tokens = _tokens(tiny_checkpoint)
    encoder = PixelEncoder.for_processor(processor, tokens)
    assert encoder is not None
    for seed in range(3):
        request = OCRRequest((_page(seed, size),), task)
        assert encoder.handles(request)
        expected = encode_request(processor, request, tokens)
        got = encode_request(processor, request, tokens, encoder)
        assert torch.equal(got["input_ids"], expected["input_ids"])
        assert got["pixel_values"].dtype == expected["pixel_values"].dtype
        assert torch.equal(got["pixel_values"], expected["pixel_values"])


def test_boxes_multi_crop_and_multi_page_go_through_the_processor(
    processor, tiny_checkpoint: str
) -> None:
    encoder = PixelEncoder.for_processor(processor, _tokens(tiny_checkpoint))
    assert encoder is not None
    page = _page(0, (80, 60))
    assert not encoder.handles(OCRRequest((page,), OCRTask(box=(1, 1, 20, 20))))
    assert not encoder.handles(OCRRequest((page,), OCRTask(crop_to_patches=True)))
    assert not encoder.handles(OCRRequest((page, page), PLAIN))


def test_an_encoder_that_would_differ_is_not_used(
    processor, tiny_checkpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    exact = PixelEncoder._normalised
    monkeypatch.setattr(
        PixelEncoder, "_normalised", lambda self, planes: exact(self, planes) + 1e-6
    )
    assert PixelEncoder.for_processor(processor, _tokens(tiny_checkpoint)) is None


def test_an_image_processor_of_another_kind_is_used_as_it_is(
    processor, tiny_checkpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def torch_only(image, *args, **kwargs):
        raise TypeError("expects a torch tensor")  # as a torchvision backend would

    monkeypatch.setattr(processor.image_processor, "rescale", torch_only)
    assert PixelEncoder.for_processor(processor, _tokens(tiny_checkpoint)) is None


def test_the_engine_reads_the_same_with_and_without_it(tiny_checkpoint: str) -> None:
    engine = GOTEngine(tiny_checkpoint, device="cpu", batch_size=4, max_new_tokens=12)
    pages = [_page(seed, (48 + 7 * seed, 64)) for seed in range(6)]
    fast = engine.recognize_images(pages, FORMATTED)
    assert engine._encoder is not None  # the tiny checkpoint's processor is the PIL one
    engine._encoder = None
    stock = engine.recognize_images(pages, FORMATTED)
    assert [r.text for r in fast] == [r.text for r in stock]
    assert len({r.text for r in fast}) > 1


def test_pages_prepared_ahead_read_the_same(tiny_checkpoint: str) -> None:
    from got_model.tasks import PreparedRequest

    engine = GOTEngine(tiny_checkpoint, device="cpu", batch_size=3, max_new_tokens=12)
    pages = [_page(seed, (40 + 11 * seed, 64)).convert("L") for seed in range(4)]
    requests = [OCRRequest((page,), FORMATTED) for page in pages]
    assert engine.prepare(requests[0]) is requests[0]  # nothing known before the model loads
    unprepared = engine.recognize_each(requests)
    prepared = [engine.prepare(request) for request in requests]
    assert all(isinstance(request, PreparedRequest) for request in prepared)
    assert prepared[0].images[0].mode == "RGB"
    boxed = OCRRequest((pages[0],), OCRTask(box=(1, 1, 20, 20)))
    assert engine.prepare(boxed) is boxed  # the processor's own path: nothing to do ahead
    again = engine.recognize_each(prepared)
    assert [r.text for r in again] == [r.text for r in unprepared]  # type: ignore[union-attr]
