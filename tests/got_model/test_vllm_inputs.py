"""The vLLM backend's inputs are GOT processor's, for every task: checked without vLLM.

vLLM expands each ``<imgpad>`` of the prompt to one patch's image tokens and runs the image
processor on each image. So the prompt, so expanded, must be the processor's ``input_ids``, and
the images, so processed, its ``pixel_values``: then the model sees the same input on both
backends (tests/vllm compares the outputs where vLLM is installed).
"""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from got_model import FORMATTED, PLAIN, OCRRequest, OCRTask
from got_model.inputs import encode_request, image_tokens_per_patch
from got_model.vllm_backend import PageInputs
from tests.conftest import noise_image

TASKS = {
    "plain": (PLAIN, 1),
    "formatted": (FORMATTED, 1),
    "box": (OCRTask(box=(10, 5, 60, 50)), 1),
    "box-formatted": (OCRTask(output="formatted", box=(0, 0, 63, 59)), 1),
    "color": (OCRTask(color="red"), 1),
    "color-formatted": (OCRTask(output="formatted", color="blue"), 1),
    "multi-crop": (OCRTask(crop_to_patches=True, max_patches=6), 1),
    "multi-crop-formatted": (OCRTask(output="formatted", crop_to_patches=True), 1),
    "multi-crop-one-tile": (OCRTask(crop_to_patches=True, max_patches=1), 1),
    "multi-page": (PLAIN, 3),
    "multi-page-formatted": (FORMATTED, 2),
}


@pytest.fixture(scope="module")
def processor(tiny_engine):
    tiny_engine.load()
    return tiny_engine._processor


@pytest.mark.parametrize("name", list(TASKS))
@pytest.mark.parametrize("size", [(80, 60), (250, 60), (64, 64)])
def test_prompt_and_pixels_equal_the_processors(processor, tiny_engine, name, size) -> None:
    task, pages = TASKS[name]
    images = tuple(noise_image(seed, size) for seed in range(pages))
    request = OCRRequest(images, task)
    per_patch = image_tokens_per_patch(tiny_engine._model.config)
    expected = encode_request(processor, request, per_patch)

    built = PageInputs(processor).build(request)

    ids = processor.tokenizer(built.prompt, return_tensors="pt")["input_ids"][0].tolist()
    pad = processor.tokenizer.convert_tokens_to_ids(processor.image_token)
    assert ids.count(pad) == len(built.images)
    expanded = [token for token in ids for _ in range(per_patch if token == pad else 1)]
    assert expanded == expected["input_ids"][0].tolist()
    pixels = processor.image_processor(list(built.images), return_tensors="pt")["pixel_values"]
    assert torch.equal(pixels, expected["pixel_values"])


def test_multi_crop_sends_tiles_and_a_thumbnail(processor) -> None:
    wide = noise_image(3, (250, 60))
    built = PageInputs(processor).build(
        OCRRequest((wide,), OCRTask(crop_to_patches=True, max_patches=6))
    )
    assert len(built.images) > 2  # tiles plus the thumbnail
    assert {image.size for image in built.images} == {(64, 64)}
    assert "upon the patch reference" in built.prompt


def test_pages_are_resized_ahead_to_the_processors_size(processor) -> None:
    page = Image.new("RGB", (300, 500), "white")
    built = PageInputs(processor).build(OCRRequest((page,), PLAIN))
    assert [image.size for image in built.images] == [(64, 64)]
    assert built.prompt.endswith("<|im_start|>assistant\n")
    assert "\n OCR: <|im_end|>" in built.prompt


def test_the_check_keeps_resizing_ahead_only_while_it_gives_the_processors_pixels(
    processor, tiny_engine
) -> None:
    inputs = PageInputs(processor)
    inputs.check()
    assert inputs.resize_ahead  # Pillow's processor: resizing ahead is exact

    # A resize of another kind than the processor's: the check notices and stops it.
    from PIL import Image as PILImage

    inputs = PageInputs(processor)
    inputs.resample = PILImage.Resampling.NEAREST
    inputs.check()
    assert not inputs.resize_ahead
    request = OCRRequest((noise_image(5, (80, 60)),), FORMATTED)
    built = inputs.build(request)
    assert built.images == request.images  # sent as they are: vLLM's processor resizes them
    per_patch = image_tokens_per_patch(tiny_engine._model.config)
    expected = encode_request(processor, request, per_patch)["pixel_values"]
    pixels = processor.image_processor(list(built.images), return_tensors="pt")["pixel_values"]
    assert torch.equal(pixels, expected)
