"""Multi-crop renders agree with the tile grid transformers' GOT processor will choose."""

from __future__ import annotations

import random

import pytest

from got_loaders.sources.pages import render_size, tile_grid
from got_model import OCRTask


@pytest.mark.parametrize("max_patches", [1, 2, 4, 6, 9, 12])
def test_rendered_canvas_keeps_the_processors_grid(max_patches: int) -> None:
    processor = pytest.importorskip("transformers.models.got_ocr2.image_processing_pil_got_ocr2")
    task = OCRTask(crop_to_patches=True, max_patches=max_patches)
    rng = random.Random(max_patches)
    for _ in range(200):
        width, height = rng.uniform(20, 20000), rng.uniform(20, 20000)
        columns, rows = tile_grid(width / height, max_patches)
        canvas = render_size(width, height, task)
        assert canvas == (columns * 1024, rows * 1024)
        # the processor, handed our rendered canvas, tiles it on the same grid
        chosen = processor.get_optimal_tiled_canvas(
            (canvas[1], canvas[0]), (1024, 1024), 1, max_patches
        )
        assert chosen == (columns, rows), (width, height)
