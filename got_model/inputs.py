"""Preprocess: requests -> one left-padded model batch.

Each request goes through transformers' ``GotOcr2Processor`` on its own, so every row gets
exactly GOT's prompt for its task (format, box, color, multi-crop, multi-page); the rows are
then padded on the left into one batch for ``generate``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

from .tasks import OCRRequest, OutputFormat


def image_tokens_per_patch(model_config: Any) -> int:
    """Image tokens GOT's encoder yields per 1024x1024 patch (256 for the real model).

    The projector halves the patch grid twice with stride-2 convolutions.
    """
    vision = model_config.vision_config
    grid = vision.image_size // vision.patch_size
    side = math.ceil(math.ceil(grid / 2) / 2)
    return int(side * side)


def encode_request(processor: Any, request: OCRRequest, num_image_tokens: int) -> dict[str, Any]:
    """Run GOT's processor on one request; returns ``input_ids`` (1, n) and ``pixel_values``."""
    images = list(request.images)  # already RGB: the engine converts before batching
    task = request.task
    common: dict[str, Any] = {
        "return_tensors": "pt",
        "format": task.output is OutputFormat.FORMATTED,
        "num_image_tokens": num_image_tokens,
    }
    if request.is_multi_page:
        encoded = processor(images=images, multi_page=True, **common)
    else:
        encoded = processor(
            images=images[0],
            # The processor rescales the box in place: hand it a fresh list.
            box=list(task.box) if task.box is not None else None,
            color=task.color.value if task.color is not None else None,
            crop_to_patches=task.crop_to_patches,
            max_patches=task.max_patches,
            **common,
        )
    return {"input_ids": encoded["input_ids"], "pixel_values": encoded["pixel_values"]}


def collate_left_padded(encodings: Sequence[dict[str, Any]], pad_token_id: int) -> dict[str, Any]:
    """Stack encoded rows into one batch, padding on the left with a matching attention mask.

    Left padding keeps every row's last prompt token in the last column, where generation
    continues; the mask hides the padding from attention.
    """
    lengths = [int(enc["input_ids"].shape[-1]) for enc in encodings]
    width = max(lengths)
    input_ids = torch.full((len(encodings), width), pad_token_id, dtype=torch.long)
    attention_mask = torch.zeros((len(encodings), width), dtype=torch.long)
    for row, (enc, length) in enumerate(zip(encodings, lengths, strict=True)):
        input_ids[row, width - length :] = enc["input_ids"][0]
        attention_mask[row, width - length :] = 1
    # GOT scatters image features into the <imgpad> positions in row order, so the patches
    # are concatenated in the same row order.
    pixel_values = torch.cat([enc["pixel_values"] for enc in encodings], dim=0)
    return {"input_ids": input_ids, "attention_mask": attention_mask, "pixel_values": pixel_values}
