"""Turn a PIL image of any mode into the 8-bit RGB picture GOT reads."""

from __future__ import annotations

from PIL import Image

from .errors import ImageInputError

_WHITE = (255, 255, 255)
# Modes Pillow converts to RGB faithfully by itself.
_DIRECT_MODES = frozenset({"1", "L", "P", "RGB", "RGBX", "CMYK", "YCbCr", "LAB", "HSV"})
_ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})


def to_rgb(image: Image.Image) -> Image.Image:
    """Return ``image`` as 8-bit RGB, without changing its size.

    Transparent areas are flattened onto white (scanned pages and screenshots are read on paper
    colour, and black-on-transparent text would otherwise vanish); 16-bit and 32-bit integer
    images are scaled down to 8 bits; float images are stretched to their own range.

    Raises:
        ImageInputError: if the image cannot be decoded or has an unusable size.
    """
    if not isinstance(image, Image.Image):
        raise ImageInputError(f"Expected a PIL image, got {type(image).__name__}.")
    width, height = image.size
    if width < 1 or height < 1:
        raise ImageInputError(f"Image has an empty size {width}x{height}.")
    try:
        image.load()  # Pillow decodes lazily: surface a truncated file here, with context
        return _convert(image)
    except (OSError, ValueError, SyntaxError) as exc:  # Pillow decodes lazily, errors surface here
        raise ImageInputError(
            f"Cannot decode image ({image.mode}, {width}x{height}): {exc}"
        ) from exc


def _convert(image: Image.Image) -> Image.Image:
    mode = image.mode
    if mode == "RGB":
        return image
    if mode == "P" and "transparency" in image.info:
        return _flatten_alpha(image.convert("RGBA"))
    if mode in _ALPHA_MODES:
        return _flatten_alpha(image.convert("RGBA"))
    if mode in _DIRECT_MODES:
        return image.convert("RGB")
    if mode.startswith("I") or mode == "F":
        return _scale_to_8bit(image).convert("RGB")
    # Anything else Pillow can open (e.g. rare raw modes): let Pillow try.
    return image.convert("RGB")


def _flatten_alpha(rgba: Image.Image) -> Image.Image:
    # One new picture: the image pasted onto white through its own alpha (a page-sized RGBA
    # canvas and alpha_composite would take three).
    flat = Image.new("RGB", rgba.size, _WHITE)
    flat.paste(rgba, mask=rgba.getchannel("A"))
    return flat


def _scale_to_8bit(image: Image.Image) -> Image.Image:
    import numpy as np

    array = np.asarray(image, dtype=np.float64)
    if image.mode == "F":
        low, high = float(np.nanmin(array)), float(np.nanmax(array))
        if high <= 1.0 and low >= 0.0:
            low, high = 0.0, 1.0
    else:
        # 16-bit scans use the full 0..65535 range; a 32-bit "I" image usually holds 16-bit data.
        low, high = 0.0, 65535.0 if float(array.max(initial=0)) <= 65535 else float(array.max())
    span = high - low or 1.0
    scaled = np.clip((np.nan_to_num(array, nan=low) - low) * (255.0 / span), 0, 255)
    return Image.fromarray(scaled.round().astype(np.uint8), mode="L")
