from __future__ import annotations

import io

import pytest
from PIL import Image

from got_model import ImageInputError, to_rgb
from tests.conftest import noise_image


@pytest.mark.parametrize(
    "mode", ["1", "L", "P", "RGB", "RGBA", "LA", "CMYK", "YCbCr", "I", "I;16", "F", "RGBX", "PA"]
)
def test_every_mode_becomes_rgb_of_the_same_size(mode: str) -> None:
    source = Image.new("RGB", (7, 5), (200, 100, 50))
    image = source.convert(mode) if mode not in {"I;16", "PA"} else _special(mode)
    result = to_rgb(image)
    assert result.mode == "RGB"
    assert result.size == image.size


def _special(mode: str) -> Image.Image:
    if mode == "I;16":
        return Image.new("I;16", (7, 5), 65535)
    return Image.new("PA", (7, 5))


def test_transparent_pixels_flatten_on_white() -> None:
    image = Image.new("RGBA", (4, 4), (0, 0, 0, 0))
    image.putpixel((1, 1), (0, 0, 0, 255))
    result = to_rgb(image)
    assert result.getpixel((0, 0)) == (255, 255, 255)
    assert result.getpixel((1, 1)) == (0, 0, 0)


def test_palette_transparency_flattens_on_white() -> None:
    image = Image.new("P", (2, 1))
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    image.putpixel((1, 0), 1)
    image.info["transparency"] = 0
    assert to_rgb(image).getpixel((0, 0)) == (255, 255, 255)
    assert to_rgb(image).getpixel((1, 0)) == (255, 0, 0)


def test_sixteen_bit_is_scaled_not_clipped() -> None:
    image = Image.new("I;16", (3, 1))
    for x, value in enumerate((0, 32896, 65535)):
        image.putpixel((x, 0), value)
    assert [to_rgb(image).getpixel((x, 0))[0] for x in range(3)] == [0, 128, 255]


def test_sixteen_bit_png_round_trip() -> None:
    buffer = io.BytesIO()
    Image.new("I;16", (5, 5), 20000).save(buffer, format="PNG")
    result = to_rgb(Image.open(io.BytesIO(buffer.getvalue())))
    assert result.getpixel((0, 0)) == (78, 78, 78)  # 20000 / 65535 * 255


def test_float_image_is_stretched_to_its_range() -> None:
    image = Image.new("F", (2, 1))
    image.putpixel((0, 0), -3.0)
    image.putpixel((1, 0), 5.0)
    result = to_rgb(image)
    assert result.getpixel((0, 0)) == (0, 0, 0)
    assert result.getpixel((1, 0)) == (255, 255, 255)


def test_cmyk_white_stays_white() -> None:
    assert to_rgb(Image.new("CMYK", (1, 1), (0, 0, 0, 0))).getpixel((0, 0)) == (255, 255, 255)


def test_truncated_file_raises_typed_error() -> None:
    buffer = io.BytesIO()
    noise_image(1, (64, 64)).save(buffer, format="PNG")
    broken = Image.open(io.BytesIO(buffer.getvalue()[:200]))
    with pytest.raises(ImageInputError, match="Cannot decode"):
        to_rgb(broken)


def test_non_image_raises_typed_error() -> None:
    with pytest.raises(ImageInputError, match="str"):
        to_rgb("page.png")  # type: ignore[arg-type]
