"""Preprocess: requests -> one left-padded model batch.

Each request goes through transformers' ``GotOcr2Processor`` on its own, so every row gets
exactly GOT's prompt for its task (format, box, color, multi-crop, multi-page); the rows are
then padded on the left into one batch for ``generate``.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from .tasks import PLAIN, OCRRequest, OCRTask, OutputFormat, PreparedRequest

if TYPE_CHECKING:
    from PIL import Image

logger = logging.getLogger("got_model")


def image_tokens_per_patch(model_config: Any) -> int:
    """Image tokens GOT's encoder yields per 1024x1024 patch (256 for the real model).

    The projector halves the patch grid twice with stride-2 convolutions.
    """
    vision = model_config.vision_config
    grid = vision.image_size // vision.patch_size
    side = math.ceil(math.ceil(grid / 2) / 2)
    return int(side * side)


def encode_request(
    processor: Any,
    request: OCRRequest,
    num_image_tokens: int,
    fast: PixelEncoder | None = None,
) -> dict[str, Any]:
    """Run GOT's processor on one request; returns ``input_ids`` (1, n) and ``pixel_values``.

    With ``fast``, the requests it handles take its exact, quicker path instead.
    """
    if fast is not None and fast.handles(request):
        return fast.encode(request, num_image_tokens)
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
        # Only what is set: some transformers releases (5.17) index ``box`` whenever it is
        # passed, None included, and fail on every page.
        region: dict[str, Any] = {}
        if task.box is not None:
            region["box"] = list(task.box)  # the processor rescales it in place: a fresh list
        if task.color is not None:
            region["color"] = task.color.value
        encoded = processor(
            images=images[0],
            crop_to_patches=task.crop_to_patches,
            max_patches=task.max_patches,
            **region,
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


class PixelEncoder:
    """GOT's preprocessing of a page, the same to the bit as its PIL image processor's and
    several times cheaper.

    The processor resizes the page to 1024x1024 (Pillow, bicubic), then rescales and normalises
    every pixel in float64/float32 NumPy passes over the whole image: about 200 ms of one CPU
    core per page, more than a GPU needs to read it. Both passes map each 8-bit value of each
    channel to one float, so this encoder runs the processor's own ``rescale`` and
    ``normalize`` once over the 256 possible values and then looks pixels up in that table.
    The resize is Pillow's, as in the processor. The prompt's token ids, which depend only on
    the task, come from the processor on a 1x1 image and are kept per task.

    Only single-image requests without a box or multi-crop take this path; the rest go
    through the processor. ``for_processor`` checks the result against the processor on a
    probe image and returns ``None`` (so the processor is used) if anything differs, as it
    would for the torchvision image processor, whose resize is not Pillow's.
    """

    def __init__(self, processor: Any, table: np.ndarray, size: tuple[int, int], resample: Any):
        self.processor = processor
        self.table = table  # (channels, 256) float32: value -> normalised value
        self.size = size  # (width, height), as Pillow takes it
        self.resample = resample
        self._prompts: dict[tuple[OCRTask, int], torch.Tensor] = {}
        self._lock = threading.Lock()

    @classmethod
    def for_processor(cls, processor: Any, num_image_tokens: int) -> PixelEncoder | None:
        """An encoder that gives exactly what ``processor`` gives, or ``None``."""
        try:
            encoder = cls._from_image_processor(processor)
            if encoder is not None and encoder._agrees(num_image_tokens):
                return encoder
        except Exception as exc:  # an image processor of another kind: use it as it is
            logger.debug("GOT's processor is used as it is: %s: %s", type(exc).__name__, exc)
        return None

    @classmethod
    def _from_image_processor(cls, processor: Any) -> PixelEncoder | None:
        images = processor.image_processor
        if not (images.do_resize and images.do_rescale and images.do_normalize):
            return None
        values = np.arange(256, dtype=np.uint8)
        ramp = np.ascontiguousarray(np.broadcast_to(values, (3, 1, 256)))  # channels first
        rescaled = images.rescale(ramp, images.rescale_factor)
        normalised = np.asarray(images.normalize(rescaled, images.image_mean, images.image_std))
        table = np.ascontiguousarray(normalised[:, 0, :], dtype=np.float32)
        size = images.size
        return cls(processor, table, (int(size["width"]), int(size["height"])), images.resample)

    def _agrees(self, num_image_tokens: int) -> bool:
        from PIL import Image

        generator = np.random.default_rng(0)
        probe = Image.fromarray(generator.integers(0, 256, (53, 37, 3), dtype=np.uint8))
        for task in (PLAIN, OCRTask(output=OutputFormat.FORMATTED)):
            request = OCRRequest((probe,), task)
            expected = encode_request(self.processor, request, num_image_tokens)
            got = self.encode(request, num_image_tokens)
            for name in ("input_ids", "pixel_values"):
                if not torch.equal(expected[name], got[name]):
                    logger.debug("GOT's processor is used as it is: %s differ.", name)
                    return False
        return True

    def handles(self, request: OCRRequest) -> bool:
        """True for one image without a box or multi-crop."""
        task = request.task
        return not request.is_multi_page and task.box is None and not task.crop_to_patches

    def encode(self, request: OCRRequest, num_image_tokens: int) -> dict[str, Any]:
        """``input_ids`` (1, n) and ``pixel_values`` (1, 3, H, W), as ``encode_request``."""
        planes = request.ahead if isinstance(request, PreparedRequest) else None
        if not isinstance(planes, _Planes) or planes.size != self.size:
            planes = self._resized(request.images[0])
        return {
            "input_ids": self._prompt(request.task, num_image_tokens),
            "pixel_values": self._normalised(planes),
        }

    def prepare(self, request: OCRRequest) -> PreparedRequest:
        """``request`` (its page already RGB) with the page resized, the costly half of the
        work, so that ``encode`` is left only the table look-up."""
        return PreparedRequest(request.images, request.task, self._resized(request.images[0]))

    def pixels(self, image: Image.Image) -> torch.Tensor:
        """The processor's pixel values for one RGB image: (1, 3, H, W) float32."""
        return self._normalised(self._resized(image))

    def _resized(self, image: Image.Image) -> _Planes:
        resized = np.asarray(image.resize(self.size, resample=self.resample))
        return _Planes(self.size, np.ascontiguousarray(resized.transpose(2, 0, 1)))

    def _normalised(self, resized: _Planes) -> torch.Tensor:
        planes = resized.planes
        pixels = np.empty(planes.shape, dtype=self.table.dtype)
        for channel, plane in enumerate(planes):
            np.take(self.table[channel], plane, out=pixels[channel])
        return torch.from_numpy(pixels).unsqueeze(0)

    def _prompt(self, task: OCRTask, num_image_tokens: int) -> torch.Tensor:
        key = (task, num_image_tokens)
        with self._lock:
            ids = self._prompts.get(key)
        if ids is None:
            from PIL import Image

            # The prompt does not depend on the image here: a 1x1 image, left unprocessed.
            encoded = self.processor(
                images=Image.new("RGB", (1, 1)),
                return_tensors="pt",
                format=task.output is OutputFormat.FORMATTED,
                color=task.color.value if task.color is not None else None,
                num_image_tokens=num_image_tokens,
                do_resize=False,
                do_rescale=False,
                do_normalize=False,
            )
            ids = encoded["input_ids"]
            with self._lock:
                self._prompts[key] = ids
        return ids


class _Planes:
    """A page resized to ``size`` (width, height), as 8-bit channel planes."""

    def __init__(self, size: tuple[int, int], planes: np.ndarray) -> None:
        self.size = size
        self.planes = planes
