"""Open a document for rendering: a PDF or an image, told apart by its content."""

from __future__ import annotations

from got_loaders.errors import UnsupportedFormatError
from got_model.tasks import OCRTask

from .documents import SourceDocument
from .images import ImageSource
from .pages import DEFAULT_MAX_PIXELS, IMAGE_SIGNATURES, PageSource
from .pdf import PdfSource
from .text_layer import Strategy


def open_document(
    document: SourceDocument,
    task: OCRTask,
    *,
    password: str | None = None,
    position: int = 0,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    strategy: Strategy = Strategy.OCR,
) -> PageSource:
    """Open a PDF or an image (recognised by its content, not its name) for rendering.

    ``max_pixels`` bounds an image file's frames, which Pillow decodes whole, and the images
    shown on a PDF page, which cost MuPDF seconds to decode (``None``: no limit of ours;
    Pillow's ``PIL.Image.MAX_IMAGE_PIXELS`` still applies to image files).

    Raises:
        DocumentError: if the file cannot be read; ``PasswordError`` for an encrypted PDF
            without the right password; ``LimitExceededError`` for an image over
            ``max_pixels``; ``UnsupportedFormatError`` for anything else, and for an
            image with ``Strategy.TEXT`` (an image has no text layer).
    """
    if max_pixels is not None and max_pixels < 1:
        raise ValueError(f"max_pixels must be None or at least 1, got {max_pixels}.")
    head = document.head()
    # An image's signature comes first: a PNG may well mention "%PDF-" in a text chunk.
    if b"%PDF-" in head and not head.startswith(IMAGE_SIGNATURES):
        return PdfSource(
            document,
            task,
            password=password,
            position=position,
            max_pixels=max_pixels,
            strategy=strategy,
        )
    if not head.strip():
        raise UnsupportedFormatError(
            document.name,
            "The file is empty." if not head else "The file holds nothing but white space.",
        )
    source = ImageSource(
        document, task, position=position, max_pixels=max_pixels, strategy=strategy
    )
    if strategy is Strategy.TEXT:
        source.close()
        raise UnsupportedFormatError(
            document.name,
            "strategy='text' reads a PDF's text layer, and an image has none: read images "
            "with strategy='auto' (the text layer where there is one, GOT elsewhere) or 'ocr'.",
        )
    return source
