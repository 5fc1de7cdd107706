"""PDF pages through PyMuPDF, rendered straight to the size GOT consumes."""

from __future__ import annotations

import logging
import re
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from got_loaders.errors import DocumentError, LimitExceededError, PageRenderError, PasswordError
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
from .text_document import DocumentText
from .text_layer import Route, Strategy, read_page

logger = logging.getLogger("got_loaders")

# MuPDF keeps global state and PyMuPDF is not thread-safe, even across documents. Loaders
# render on background threads, so every call into PyMuPDF holds this lock.
_PYMUPDF_LOCK = threading.RLock()

_PDF_DATE = re.compile(
    r"^D:(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(Z|[+-]\d{2}(?:'?\d{2})?'?)?"
)
_MUPDF_CODE = re.compile(r"^code=\d+:\s*")
_DROPPED_KEYS = frozenset({"encryption"})  # says how the file was protected: no use downstream


class PdfSource(PageSource):
    """An open PDF. Pages render one at a time, under PyMuPDF's lock."""

    def __init__(
        self,
        document: SourceDocument,
        task: OCRTask,
        *,
        password: str | None = None,
        position: int = 0,
        max_pixels: int | None = DEFAULT_MAX_PIXELS,
        strategy: Strategy = Strategy.OCR,
    ) -> None:
        import pymupdf

        self._task = task
        self._strategy = strategy
        self._max_pixels = max_pixels
        name = document.name
        with _PYMUPDF_LOCK:
            try:
                if document.path is not None and _encodable(document.path):
                    pdf = pymupdf.open(document.path, filetype="pdf")
                elif document.path is not None:
                    # MuPDF takes UTF-8 paths only: a name that is not UTF-8 is read here.
                    pdf = pymupdf.open(stream=document.path.read_bytes(), filetype="pdf")
                else:
                    pdf = pymupdf.open(stream=document.data, filetype="pdf")
            except Exception as exc:  # MuPDF's errors are not all RuntimeErrors
                raise DocumentError(
                    name,
                    f"Cannot open the PDF ({_mupdf_reason(exc)}): the file is damaged or not "
                    "a PDF. Download or export it again; if a PDF viewer opens it, saving it "
                    "anew there (or `mutool clean in.pdf out.pdf`) may repair it.",
                ) from exc
            try:
                _unlock(pdf, name, password)
                total = pdf.page_count
                metadata = pdf_metadata(pdf.metadata or {})
            except DocumentError:
                pdf.close()
                raise
            except Exception as exc:
                pdf.close()
                raise DocumentError(
                    name,
                    f"Cannot read the PDF ({_mupdf_reason(exc)}): its structure is damaged. "
                    "Export it again, or try `mutool clean in.pdf out.pdf`.",
                ) from exc
            if pdf.is_repaired:
                # MuPDF rebuilt a broken cross-reference table: pages may come out incomplete.
                logger.warning(
                    "%s: the PDF is damaged; MuPDF repaired it, but pages may be incomplete "
                    "or blank.",
                    name,
                )
                metadata["repaired"] = True
        self._pdf = pdf
        self._document: DocumentText | None = None  # the text route's view, on first use
        self.info = DocumentInfo(
            source=name,
            file_path=document.file_path,
            kind=DocumentKind.PDF,
            total_pages=total,
            metadata=metadata,
            position=position,
        )

    def render(self, index: int) -> Page:
        import pymupdf
        from PIL import Image

        with _PYMUPDF_LOCK:
            pdf_page = pixmap = None
            try:
                pdf_page = self._pdf.load_page(index)
                label = pdf_page.get_label() or str(index + 1)
                images = pdf_page.get_image_info() if self._strategy is not Strategy.OCR else ()
                if self._document is None and self._strategy is not Strategy.OCR:
                    self._document = DocumentText(self._pdf)
                route, layer = read_page(pdf_page, self._strategy, images, self._document)
                if route.route is Route.TEXT:  # read from the text layer: nothing to render
                    return Page(self.info, index, label, None, route=route, text_layer=layer)
                self._check_images(pdf_page, index, images or None)
                rect = pdf_page.rect  # already rotated by the page's /Rotate
                if rect.width <= 0 or rect.height <= 0:
                    raise ValueError(f"the page has an empty size ({rect.width}x{rect.height} pt)")
                width, height = render_size(rect.width, rect.height, self._task)
                if self._task.crop_to_patches:  # exactly the tile grid, as the processor would
                    matrix = pymupdf.Matrix(width / rect.width, height / rect.height)
                else:  # one scale, set by the long side, keeps the aspect ratio and 1024 px
                    scale = (
                        width / rect.width if rect.width >= rect.height else height / rect.height
                    )
                    matrix = pymupdf.Matrix(scale, scale)
                pixmap = pdf_page.get_pixmap(matrix=matrix, colorspace=pymupdf.csRGB, alpha=False)
                if pixmap.width < 1 or pixmap.height < 1:
                    # MuPDF rounds a side under a thousandth of a pixel down to nothing (a page
                    # of 40 x 2e9 pt): scale each side on its own to render_size's one pixel.
                    matrix = pymupdf.Matrix(width / rect.width, height / rect.height)
                    pixmap = pdf_page.get_pixmap(
                        matrix=matrix, colorspace=pymupdf.csRGB, alpha=False
                    )
                if pixmap.width < 1 or pixmap.height < 1:
                    raise ValueError(
                        f"a {rect.width:g}x{rect.height:g} pt page renders to no pixels"
                    )
                image = Image.frombytes("RGB", (pixmap.width, pixmap.height), pixmap.samples)
            except LimitExceededError:
                raise
            except Exception as exc:  # MuPDF's errors are not all RuntimeErrors
                raise PageRenderError(
                    self.info.source,
                    f"Cannot {'read' if self._strategy is Strategy.TEXT else 'render'} the "
                    f"page ({_mupdf_reason(exc)}); the other pages are "
                    "read. Export the PDF again, or leave this page out with pages=...",
                    page=index + 1,
                ) from exc
            finally:
                del pdf_page, pixmap  # freed under the lock, like every other PyMuPDF call
        return Page(document=self.info, index=index, label=label, image=image, route=route)

    def _check_images(self, pdf_page: Any, index: int, images: Any = None) -> None:
        """Refuse a page that draws an image of more than ``max_pixels``, inline images
        included. MuPDF decodes such an image at the resolution it renders, so memory stays
        mostly flat, but the decoding still takes seconds: 3 to 16 s for one page showing a
        30,000 x 30,000 pixel image on this project's CPU. Images the page's resources list
        but never draw (resources shared by every page, say) do not count."""
        if self._max_pixels is None:
            return
        for image in pdf_page.get_image_info() if images is None else images:
            width, height = int(image["width"]), int(image["height"])
            check_pixels(self.info.source, width, height, self._max_pixels, index + 1)

    def close(self) -> None:
        with _PYMUPDF_LOCK:
            self._pdf.close()


def _mupdf_reason(error: BaseException) -> str:
    """MuPDF's own words for ``error``: PyMuPDF wraps them ("Failed to open file ... as type
    pdf"), so the innermost cause is taken, without its ``code=N:`` prefix."""
    while error.__cause__ is not None or error.__context__ is not None:
        error = error.__cause__ or error.__context__  # type: ignore[assignment]
    return _MUPDF_CODE.sub("", str(error)).strip().rstrip(".") or type(error).__name__


def _encodable(path: Path) -> bool:
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:  # surrogate escapes of bytes that are not UTF-8
        return False
    return True


def _unlock(pdf: Any, name: str, password: str | None) -> None:
    if not pdf.needs_pass:
        return
    if password is None:
        raise PasswordError(
            name, "The PDF is encrypted: pass its password (password=..., or got-ocr --password)."
        )
    if not pdf.authenticate(password):
        raise PasswordError(name, "The password does not open this PDF.")


def pdf_metadata(raw: dict[str, Any]) -> dict[str, MetadataValue]:
    """PyMuPDF's document metadata as LangChain's PDF loaders shape it.

    Keys are lower-cased (``creationDate`` becomes ``creationdate``); PDF dates become ISO 8601
    when they parse; ``creationdate``, ``creator`` and ``producer`` are always present, empty
    when the file has none.
    """
    metadata: dict[str, MetadataValue] = {"creationdate": "", "creator": "", "producer": ""}
    for key, value in raw.items():
        key = key.lower()
        if key in _DROPPED_KEYS or value is None:
            continue
        text = str(value).strip()
        metadata[key] = pdf_date(text) if key in {"creationdate", "moddate"} else text
    return metadata


def pdf_date(value: str) -> str:
    """``D:20240102030405+01'00'`` -> ``2024-01-02T03:04:05+01:00``; anything else unchanged."""
    match = _PDF_DATE.match(value)
    if match is None:
        return value
    year, month, day, hour, minute, second, zone = match.groups()
    try:
        moment = datetime(
            int(year),
            int(month or 1),
            int(day or 1),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
        )
    except ValueError:
        return value
    text = moment.isoformat()
    if zone == "Z":
        return text + "+00:00"
    if zone:
        digits = zone.replace("'", "")
        return f"{text}{digits[:3]}:{digits[3:5] or '00'}"
    return text
