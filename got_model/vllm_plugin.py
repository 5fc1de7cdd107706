"""A vLLM general plugin: what vLLM needs from transformers' GOT processor and older releases lack.

vLLM runs GOT through its Transformers modeling backend (``model_impl="transformers"``). To
place image tokens it asks the processor ``_get_num_multimodal_tokens(image_sizes, **kwargs)``,
which ``GotOcr2Processor`` has from transformers 5.25 on. ``register`` adds it where it is
missing. vLLM calls ``register`` in each of its processes, through the entry point this
package declares in the group ``vllm.general_plugins``; importing ``got_model`` changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def register() -> None:
    """Give ``GotOcr2Processor`` a ``_get_num_multimodal_tokens`` if its release has none."""
    try:
        from transformers import GotOcr2Processor
    except ImportError:  # a transformers without GOT: vLLM cannot run it either way
        return
    if not hasattr(GotOcr2Processor, "_get_num_multimodal_tokens"):
        GotOcr2Processor._get_num_multimodal_tokens = num_multimodal_tokens


def num_multimodal_tokens(
    processor: Any, image_sizes: Sequence[Sequence[int]] | None = None, **kwargs: Any
) -> Any:
    """Image tokens and patches per image, as ``GotOcr2Processor`` would lay them out.

    ``image_sizes`` are (height, width); ``kwargs`` are the processor's image options
    (``num_image_tokens``, ``crop_to_patches``, ``max_patches``...). Each patch (a 1024x1024
    tile, or the whole page resized to one) costs ``num_image_tokens`` tokens.
    """
    from transformers.processing_utils import MultiModalData

    if image_sizes is None:
        return MultiModalData()
    options = {"num_image_tokens": 256, "crop_to_patches": False, "min_patches": 1}
    options.update({"max_patches": 12, **kwargs})
    per_patch = int(options["num_image_tokens"])
    images = processor.image_processor
    patches = [
        int(images.get_number_of_image_patches(int(height), int(width), options))
        for height, width in image_sizes
    ]
    return MultiModalData(
        num_image_tokens=[count * per_patch for count in patches], num_image_patches=patches
    )
