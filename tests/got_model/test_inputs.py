from __future__ import annotations

import torch
from PIL import Image

from got_model.inputs import collate_left_padded, encode_request, image_tokens_per_patch
from got_model.tasks import FORMATTED, OCRRequest, OCRTask, RegionColor


class _Vision:
    def __init__(self, image_size: int, patch_size: int) -> None:
        self.image_size, self.patch_size = image_size, patch_size


class _Config:
    def __init__(self, image_size: int, patch_size: int) -> None:
        self.vision_config = _Vision(image_size, patch_size)


def test_real_got_has_256_image_tokens_per_patch() -> None:
    assert image_tokens_per_patch(_Config(1024, 16)) == 256
    assert image_tokens_per_patch(_Config(64, 4)) == 16
    assert image_tokens_per_patch(_Config(72, 4)) == 25  # odd grid rounds up at each stride


def test_rows_are_left_padded_with_a_matching_mask() -> None:
    encodings = [
        {"input_ids": torch.tensor([[5, 6, 7]]), "pixel_values": torch.zeros(1, 3, 2, 2)},
        {"input_ids": torch.tensor([[8]]), "pixel_values": torch.ones(2, 3, 2, 2)},
    ]
    batch = collate_left_padded(encodings, pad_token_id=0)
    assert batch["input_ids"].tolist() == [[5, 6, 7], [0, 0, 8]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [0, 0, 1]]
    assert batch["pixel_values"].shape == (3, 3, 2, 2)
    assert batch["pixel_values"][0].sum() == 0
    assert batch["pixel_values"][1:].min() == 1


class _RecordingProcessor:
    """Stands in for GotOcr2Processor: records the keyword arguments of each call."""

    def __init__(self) -> None:
        self.calls: list[dict[str, object]] = []

    def __call__(self, **kwargs: object) -> dict[str, object]:
        self.calls.append(kwargs)
        return {"input_ids": torch.tensor([[1]]), "pixel_values": torch.zeros(1, 3, 2, 2)}


def test_the_processor_gets_a_region_only_when_the_task_has_one() -> None:
    """transformers 5.17's processor indexes ``box`` whenever it is passed, None included."""
    page = Image.new("RGB", (8, 8), "white")
    processor = _RecordingProcessor()
    encode_request(processor, OCRRequest((page,), FORMATTED), 16)
    encode_request(processor, OCRRequest((page,), OCRTask(box=(1, 2, 3, 4))), 16)
    encode_request(processor, OCRRequest((page,), OCRTask(color=RegionColor.RED)), 16)
    plain, boxed, coloured = processor.calls
    assert "box" not in plain
    assert "color" not in plain
    assert boxed["box"] == [1, 2, 3, 4]
    assert "color" not in boxed
    assert coloured["color"] == "red"
    assert "box" not in coloured
