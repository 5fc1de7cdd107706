"""Image files as pages: PNG, JPEG, WebP, BMP, GIF (first frame), TIFF (every frame a page)."""

from __future__ import annotations

import warnings

from got_model.images import to_rgb
from got_model.tasks import OCRTask

from .documents import SourceDocument
from .errors import DocumentError, PageRenderError, UnsupportedFormatError
from .pages import DocumentInfo, DocumentKind, MetadataValue, Page, PageSource, render_scale

# Formats whose every frame is a page; in other formats (animated GIF, WebP, PNG) only the
# first frame is the picture itself.
MULTI_PAGE_FORMATS = frozenset({"TIFF", "MPO"})


class ImageSource(PageSource):
    """An open image file; frames are decoded when they are rendered."""

    def __init__(self, document: SourceDocument, task: OCRTask, *, position: int = 0) -> None:
        from PIL import Image, UnidentifiedImageError

        self._task = task
        name = document.name
        stream = document.stream()
        try:
            with warnings.catch_warnings():
                # Pillow only warns between its bomb limit and twice it; treat both alike.
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                image = Image.open(stream)
        except UnidentifiedImageError:
            stream.close()
            raise UnsupportedFormatError(
                name,
                "Not a PDF nor an image format Pillow can read "
                "(PNG, JPEG, WebP, BMP, GIF, TIFF, ...).",
            ) from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            stream.close()
            raise DocumentError(name, f"Refusing a suspiciously large image: {exc}") from None
        except (OSError, ValueError, SyntaxError) as exc:
            stream.close()
            raise DocumentError(name, f"Cannot read the image: {exc}.") from exc
        self._image = image
        image_format = image.format or "unknown"
        frames = getattr(image, "n_frames", 1) if image_format in MULTI_PAGE_FORMATS else 1
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
        from PIL import Image, ImageOps

        try:
            self._image.seek(index)
            frame: Image.Image = self._image
            if frame.format == "JPEG":
                # Decode at a reduced size straight away when the file is far larger than needed.
                scale = min(1.0, render_scale(frame.width, frame.height, self._task))
                frame.draft("RGB", (round(frame.width * scale), round(frame.height * scale)))
            # A detached RGB copy (the file closes after the last page): palette and 16-bit
            # images would otherwise be resized with nearest-neighbour or not at all.
            frame = to_rgb(ImageOps.exif_transpose(frame))
            scale = render_scale(frame.width, frame.height, self._task)
            if scale < 1.0:
                size = (max(1, round(frame.width * scale)), max(1, round(frame.height * scale)))
                frame = frame.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
        except (OSError, ValueError, SyntaxError, EOFError) as exc:
            raise PageRenderError(
                self.info.source, f"Cannot decode the image: {exc}.", page=index + 1
            ) from exc
        return Page(document=self.info, index=index, label=str(index + 1), image=frame)

    def close(self) -> None:
        self._image.close()
