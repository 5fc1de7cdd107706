"""Pages: what every adapter reads from a document, rendered at the size GOT consumes."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import TracebackType
from typing import TYPE_CHECKING

from got_loaders.errors import LimitExceededError
from got_model.tasks import OCRTask

from .selection import PageSelection
from .text_layer import OCR_BY_STRATEGY, PageRoute, TextLayer

if TYPE_CHECKING:
    from PIL import Image

GOT_PATCH_SIZE = 1024  # GOT's encoder reads 1024x1024 pixels per patch

IMAGE_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF8", b"II*\x00", b"MM\x00*", b"BM")
"""How PNG, JPEG, GIF, TIFF and BMP files begin."""

DEFAULT_MAX_PIXELS = 89_478_485
"""The most pixels an image file's frame, or an image shown on a PDF page, may have: Pillow's
own decompression-bomb limit (about 9,459 x 9,459 pixels; an A4 page scanned at 1,100 dpi)."""


def let_pillow_open(max_pixels: int | None) -> None:
    """Raise Pillow's own decompression-bomb limit to ``max_pixels`` when that is higher, in
    a process of ours (a command line, a Ray worker): ``max_pixels`` then decides alone, where
    Pillow would otherwise refuse first (it raises above twice its limit, warns above it)."""
    from PIL import Image

    limit = Image.MAX_IMAGE_PIXELS
    if max_pixels is not None and limit is not None and max_pixels > limit:
        Image.MAX_IMAGE_PIXELS = max_pixels


MetadataValue = str | int | float | bool
"""Metadata values stay flat scalars: vector stores such as Chroma reject nested values."""


class DocumentKind(str, Enum):
    """How a document is read."""

    PDF = "pdf"
    IMAGE = "image"


@dataclass(frozen=True)
class DocumentInfo:
    """One document as the pipeline sees it.

    Attributes:
        source: its name (see ``SourceDocument.name``).
        file_path: the path, or None for bytes and file objects.
        kind: PDF or image.
        total_pages: pages (or image frames) in the whole document, selected or not.
        metadata: the document's own metadata, lower-case keys, flat scalar values.
        position: where it came in the list of inputs (0-based).
    """

    source: str
    file_path: str | None
    kind: DocumentKind
    total_pages: int
    metadata: Mapping[str, MetadataValue] = field(default_factory=dict)
    position: int = 0


@dataclass(frozen=True, eq=False)
class Page:
    """One rendered page.

    Attributes:
        document: the document it belongs to.
        index: 0-based position in the document.
        label: the page label printed on the page when the PDF defines one (e.g. "iv"),
            else the 1-based number as text.
        image: the page, at the size GOT consumes (see ``render_size``); None when it is
            read from its text layer (it is then not rendered at all).
        route: how the page is read (GOT or its text layer), and why.
        text_layer: the page's text layer, on the text route.
    """

    document: DocumentInfo
    index: int
    label: str
    image: Image.Image | None
    route: PageRoute = OCR_BY_STRATEGY
    text_layer: TextLayer | None = None

    @property
    def number(self) -> int:
        """1-based page number."""
        return self.index + 1


class PageSource(ABC):
    """An open document that renders its pages one at a time. Use it as a context manager."""

    info: DocumentInfo

    @abstractmethod
    def render(self, index: int) -> Page:
        """Render page ``index`` (0-based).

        Raises:
            PageRenderError: if this page cannot be rendered; other pages may still work.
        """

    def indices(self, selection: PageSelection | None) -> list[int]:
        """The 0-based pages to read: all of them, or the selection's."""
        if selection is None:
            return list(range(self.info.total_pages))
        return selection.indices(self.info.total_pages, self.info.source)

    def close(self) -> None:  # noqa: B027  (sources holding nothing open need not override)
        """Release the document."""

    def __enter__(self) -> PageSource:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def check_pixels(
    source: str, width: int, height: int, limit: int | None, page: int | None = None
) -> None:
    """Refuse a picture of more than ``limit`` pixels before it is decoded.

    Raises:
        LimitExceededError: naming the file, the page and both sizes.
    """
    if limit is not None and width * height > limit:
        raise LimitExceededError(
            source,
            f"An image of {width} x {height} pixels ({width * height:,}) is more than "
            f"max_pixels={limit:,}. If the file is trusted, raise max_pixels (got-ocr: "
            "--max-pixels); a decompression bomb is refused on purpose.",
            page=page,
        )


def render_size(width: float, height: float, task: OCRTask) -> tuple[int, int]:
    """The pixel size a ``width`` x ``height`` page should have for GOT (any unit in, pixels out).

    Without multi-crop GOT reads one 1024x1024 patch: the longest side becomes 1024, the
    aspect ratio is kept. With multi-crop, GOT's processor resizes the page to exactly the
    tile grid it chooses (``columns`` x ``rows`` patches of 1024), so that is the size: the
    processor then has nothing left to resample, and a long thin page cannot blow up.
    """
    if not task.crop_to_patches:
        scale = GOT_PATCH_SIZE / max(width, height)
        return max(1, round(width * scale)), max(1, round(height * scale))
    columns, rows = tile_grid(width / height, task.max_patches)
    return columns * GOT_PATCH_SIZE, rows * GOT_PATCH_SIZE


def tile_grid(aspect_ratio: float, max_patches: int) -> tuple[int, int]:
    """(columns, rows) of the multi-crop grid whose shape is closest to ``aspect_ratio``.

    The rule of transformers' ``get_optimal_tiled_canvas``. Among equally close grids the
    largest wins: an image of exactly that grid's shape keeps that grid in the processor,
    whose tie-break prefers more tiles only while they cover less than twice the image.
    """
    best, best_diff = (1, 1), math.inf
    grids = sorted(
        {(c, r) for c in range(1, max_patches + 1) for r in range(1, max_patches // c + 1)},
        key=lambda grid: grid[0] * grid[1],
    )
    for columns, rows in grids:
        diff = abs(aspect_ratio - columns / rows)
        if diff <= best_diff:
            best, best_diff = (columns, rows), diff
    return best
