"""Image files as pages: PNG, JPEG, WebP, BMP, GIF (first frame), TIFF (every frame a page)."""

from __future__ import annotations

from typing import TYPE_CHECKING, BinaryIO

from got_loaders.errors import (
    DocumentError,
    LimitExceededError,
    PageRenderError,
    UnsupportedFormatError,
)
from got_model.errors import ImageInputError
from got_model.images import to_rgb
from got_model.tasks import OCRTask

from .documents import SourceDocument
from .pages import (
    DEFAULT_MAX_PIXELS,
    DocumentInfo,
    DocumentKind,
    MetadataValue,
    Page,
    PageSource,
    check_pixels,
    render_size,
)
from .text_layer import OCR_BY_STRATEGY, PageRoute, Route, RouteReason, Strategy

if TYPE_CHECKING:
    from PIL import Image

# Only in TIFF is every frame a page. Other formats' extra frames are animation (GIF, WebP,
# APNG) or a camera's preview pictures (MPO, a JPEG variant): the first frame is the picture.
MULTI_PAGE_FORMATS = frozenset({"TIFF"})

_ORIENTATION = 0x0112  # the EXIF tag

READABLE_FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "GIF", "TIFF")  # JPEG covers MPO
"""The Pillow formats read: scans and screenshots. Pillow's others stay closed, EPS above all
(Pillow hands it to Ghostscript, which would run the file's PostScript)."""


class ImageSource(PageSource):
    """An open image file; frames are decoded when they are rendered."""

    def __init__(
        self,
        document: SourceDocument,
        task: OCRTask,
        *,
        position: int = 0,
        max_pixels: int | None = DEFAULT_MAX_PIXELS,
        strategy: Strategy = Strategy.OCR,
    ) -> None:
        from PIL import Image, UnidentifiedImageError

        self._task = task
        self._route = (
            PageRoute(Route.OCR, RouteReason.IMAGE_FILE)
            if strategy is Strategy.AUTO
            else OCR_BY_STRATEGY
        )
        self._max_pixels = max_pixels
        name = document.name
        stream: BinaryIO = document.stream()
        try:
            image = Image.open(stream, formats=READABLE_FORMATS)
            check_pixels(name, image.width, image.height, max_pixels)
            _check_pixels(image.width * image.height, Image.MAX_IMAGE_PIXELS)
            image_format = image.format or "unknown"
            frames = getattr(image, "n_frames", 1) if image_format in MULTI_PAGE_FORMATS else 1
        except UnidentifiedImageError:
            stream.close()
            raise UnsupportedFormatError(
                name,
                "Neither a PDF nor an image in a format read here (PNG, JPEG, WebP, BMP, GIF, "
                "TIFF), or a damaged one. Convert it to PDF or PNG first.",
            ) from None
        except Image.DecompressionBombError as exc:
            stream.close()
            raise LimitExceededError(
                name,
                f"Refusing a suspiciously large image (Pillow: {exc}) If the file is "
                "trusted, raise the limit: got-ocr --max-pixels; in Python, max_pixels and "
                "Pillow's own PIL.Image.MAX_IMAGE_PIXELS.",
            ) from None
        except DocumentError:
            stream.close()
            raise
        except Exception as exc:  # Pillow's plugins raise all sorts on broken headers
            stream.close()
            raise DocumentError(name, f"Cannot read the image: {exc}.") from exc
        # Pillow does not close a stream it was handed; this source owns it.
        self._stream = stream
        self._image = image
        metadata: dict[str, MetadataValue] = {
            "format": image_format,
            "image_width": image.width,
            "image_height": image.height,
        }
        self.info = DocumentInfo(
            source=name,
            file_path=document.file_path,
            kind=DocumentKind.IMAGE,
            total_pages=frames,
            metadata=metadata,
            position=position,
        )

    def render(self, index: int) -> Page:
        try:
            self._image.seek(index)
            frame: Image.Image = self._image
            check_pixels(self.info.source, frame.width, frame.height, self._max_pixels, index + 1)
            if frame.format == "JPEG":
                # Decode at a reduced size straight away when the file is far larger than needed.
                frame.draft("RGB", render_size(frame.width, frame.height, self._task))
            frame = prepare_image(frame, self._task)
        except LimitExceededError:
            raise
        except Exception as exc:  # Pillow's decoders raise all sorts on broken data
            cause = exc.__cause__ if isinstance(exc, ImageInputError) and exc.__cause__ else exc
            raise PageRenderError(
                self.info.source,
                f"Cannot decode the image ({str(cause).rstrip('.')}): the file is damaged or "
                "cut short. Export or download it again.",
                page=index + 1,
            ) from exc
        return Page(
            document=self.info, index=index, label=str(index + 1), image=frame, route=self._route
        )

    def close(self) -> None:
        self._image.close()
        self._stream.close()


def prepare_image(image: Image.Image, task: OCRTask) -> Image.Image:
    """``image`` upright (EXIF orientation), RGB, and no larger than what GOT reads.

    The result is a detached copy (an image file closes after its last page). It is made RGB
    before any resize: palette and 16-bit images would otherwise be resized with
    nearest-neighbour or not at all.
    """
    from PIL import Image, ImageOps

    original = image
    if _orientation(image) != 1:  # exif_transpose copies even when upright
        image = ImageOps.exif_transpose(image)
    image = to_rgb(image)
    width, height = render_size(image.width, image.height, task)
    if width >= image.width and height >= image.height:
        return image.copy() if image is original else image
    return image.resize((width, height), Image.Resampling.LANCZOS, reducing_gap=3.0)


def _orientation(image: Image.Image) -> int:
    """The EXIF orientation, 1 (upright) when there is none or the EXIF cannot be read."""
    try:
        return int(image.getexif().get(_ORIENTATION, 1))
    except Exception:  # a PNG's or WebP's eXIf chunk need not be valid
        return 1


def _check_pixels(pixels: int, limit: int | None) -> None:
    # Pillow only warns between its limit and twice it, and silencing that warning with
    # warnings.catch_warnings() is not thread-safe: compare the size ourselves instead.
    if limit is not None and pixels > limit:
        from PIL import Image

        raise Image.DecompressionBombError(
            f"{pixels} pixels is more than Pillow's limit of {limit} (PIL.Image.MAX_IMAGE_PIXELS)."
        )
