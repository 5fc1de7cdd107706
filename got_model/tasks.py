"""What to ask GOT for: typed tasks and requests, validated before any model work."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

from .errors import InvalidTaskError

if TYPE_CHECKING:
    from PIL import Image


class OutputFormat(str, Enum):
    """GOT's two output styles."""

    PLAIN = "plain"
    """Plain text, reading order."""
    FORMATTED = "formatted"
    """GOT's "OCR with format": Mathpix-style markup (sections, tabular, LaTeX math)."""


class RegionColor(str, Enum):
    """Colors GOT's fine-grained OCR understands: text inside a box drawn in that color."""

    RED = "red"
    GREEN = "green"
    BLUE = "blue"


DEFAULT_MAX_PATCHES = 12  # GOT's own default for dynamic resolution
MAX_PATCHES_LIMIT = 64
"""Each tile costs 256 image tokens: 64 already fill 16,640 tokens of the decoder's context
(and choosing among every grid of a huge count would take seconds and gigabytes)."""


@dataclass(frozen=True)
class OCRTask:
    """One GOT task: the output format and, optionally, a region or multi-crop tiling.

    Args:
        output: plain text or formatted (Mathpix-style) output.
        box: read only this region, ``(x1, y1, x2, y2)`` in pixels of the image it is applied to.
        color: read only the text inside a box drawn in this color on the image.
        crop_to_patches: multi-crop dynamic resolution for large or wide images: the image is
            tiled into up to ``max_patches`` 1024x1024 crops plus a thumbnail.
        max_patches: the most tiles ``crop_to_patches`` may use.

    Raises:
        InvalidTaskError: on a malformed box, an unknown color or contradicting options.
    """

    output: OutputFormat = OutputFormat.PLAIN
    box: tuple[float, float, float, float] | None = None
    color: RegionColor | None = None
    crop_to_patches: bool = False
    max_patches: int = DEFAULT_MAX_PATCHES

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "output", OutputFormat(self.output))
            if self.color is not None:
                object.__setattr__(self, "color", RegionColor(self.color))
        except ValueError as exc:
            raise InvalidTaskError(str(exc)) from None
        if self.box is not None:
            object.__setattr__(self, "box", _checked_box(self.box))
        if self.box is not None and self.color is not None:
            raise InvalidTaskError("A task takes a box or a color, not both.")
        if isinstance(self.max_patches, bool) or not isinstance(self.max_patches, int):
            raise InvalidTaskError(f"max_patches must be an integer, got {self.max_patches!r}.")
        if self.max_patches < 1 or (self.crop_to_patches and self.max_patches > MAX_PATCHES_LIMIT):
            raise InvalidTaskError(
                f"max_patches must be from 1 to {MAX_PATCHES_LIMIT}, got {self.max_patches}."
            )
        if self.crop_to_patches and (self.box is not None or self.color is not None):
            raise InvalidTaskError("Region OCR (box or color) cannot be combined with multi-crop.")

    @property
    def is_region(self) -> bool:
        """True when the task reads one region (by box or color) rather than the whole image."""
        return self.box is not None or self.color is not None

    def describe(self) -> str:
        """A short, stable label for metadata, e.g. ``"formatted"`` or ``"plain+box"``."""
        parts = [self.output.value]
        if self.box is not None:
            parts.append("box")
        if self.color is not None:
            parts.append(f"color:{self.color.value}")
        if self.crop_to_patches:
            parts.append(f"crop:{self.max_patches}")
        return "+".join(parts)

    def check_box_fits(self, width: int, height: int) -> None:
        """Raise InvalidTaskError unless the box lies inside a ``width`` x ``height`` image."""
        if self.box is None:
            return
        _, _, x2, y2 = self.box
        if x2 > width or y2 > height:
            raise InvalidTaskError(
                f"Box {self.box} does not fit inside the {width}x{height} image: "
                "coordinates are pixels of the image the task is applied to."
            )


def _checked_box(box: Sequence[float]) -> tuple[float, float, float, float]:
    if isinstance(box, (str, bytes)):  # "1234" would read as four one-digit numbers
        raise InvalidTaskError(f"A box is four numbers (x1, y1, x2, y2), got {box!r}.")
    try:
        values = tuple(float(v) for v in box)
    except (TypeError, ValueError, OverflowError):
        raise InvalidTaskError(f"A box is four numbers (x1, y1, x2, y2), got {box!r}.") from None
    if len(values) != 4:
        raise InvalidTaskError(f"A box is four numbers (x1, y1, x2, y2), got {box!r}.")
    x1, y1, x2, y2 = values
    if min(values) < 0:
        raise InvalidTaskError(f"Box {tuple(box)} has a negative coordinate.")
    if not (x1 < x2 and y1 < y2):
        raise InvalidTaskError(f"Box {tuple(box)} must satisfy x1 < x2 and y1 < y2.")
    return (x1, y1, x2, y2)


PLAIN = OCRTask()
FORMATTED = OCRTask(output=OutputFormat.FORMATTED)


@dataclass(frozen=True)
class OCRRequest:
    """One unit of work for the engine: an image (or several pages) and the task to run on it.

    Several images make a multi-page request: GOT reads them as one document and writes one
    continuous output. Region and multi-crop tasks need a single image.
    """

    images: tuple[Image.Image, ...]
    task: OCRTask = PLAIN

    def __post_init__(self) -> None:
        from PIL import Image

        images = self.images
        if isinstance(images, Image.Image):
            images = (images,)
        images = tuple(images)
        if not images:
            raise InvalidTaskError("A request needs at least one image.")
        for index, image in enumerate(images):
            if not isinstance(image, Image.Image):
                raise InvalidTaskError(
                    f"Image {index} of the request is a {type(image).__name__}, not a PIL image."
                )
        object.__setattr__(self, "images", images)
        if not isinstance(self.task, OCRTask):
            raise InvalidTaskError(f"task must be an OCRTask, got {type(self.task).__name__}.")
        if self.is_multi_page and (self.task.is_region or self.task.crop_to_patches):
            raise InvalidTaskError(
                "Multi-page OCR reads whole pages: it cannot take a box, a color or multi-crop."
            )
        self.task.check_box_fits(*images[0].size)

    @property
    def is_multi_page(self) -> bool:
        """True when several pages are read as one document."""
        return len(self.images) > 1


@dataclass(frozen=True)
class PreparedRequest(OCRRequest):
    """A request whose RGB page an engine has already worked on ahead (``OCREngine.prepare``).

    ``ahead`` is the engine's own, opaque to everyone else.
    """

    ahead: Any = field(default=None, compare=False, repr=False)
