"""Sample documents whose pages say who they are, and an engine that reads them back.

Every page is filled with one colour that encodes (document, page): red = 16 * document + 8,
green = 16 * page + 8. ``FakeEngine`` reads the colour at the centre of the image it gets, so a
test can check which page ended up in which Document without a model, even through JPEG.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from PIL import Image

from got_model import FinishReason, OCREngine, OCRRequest, OCRResult


def page_colour(document: int, page: int) -> tuple[int, int, int]:
    return (16 * document + 8, 16 * page + 8, 200)


def read_colour(image: Image.Image) -> tuple[int, int]:
    """(document, page) encoded in an image made by this module."""
    red, green, _ = image.convert("RGB").getpixel((image.width // 2, image.height // 2))
    return red // 16, green // 16


def make_pdf(
    document: int = 0,
    pages: int = 3,
    *,
    size: tuple[float, float] = (612, 792),
    metadata: dict[str, str] | None = None,
    password: str | None = None,
    labels: str | None = None,
) -> bytes:
    """A PDF of ``pages`` pages of ``size`` points, each filled with its colour."""
    assert pages <= 15, "the colour code holds 15 pages"
    import pymupdf

    pdf = pymupdf.open()
    for index in range(pages):
        page = pdf.new_page(width=size[0], height=size[1])
        fill = tuple(c / 255 for c in page_colour(document, index))
        page.draw_rect(page.rect, color=None, fill=fill)
        page.insert_text((36, 72), f"Document {document}, page {index + 1}", fontsize=18)
    if metadata:
        pdf.set_metadata(metadata)
    if labels:
        pdf.set_page_labels([{"startpage": 0, "prefix": labels, "style": "r", "firstpagenum": 1}])
    if password is None:
        data = pdf.tobytes()
    else:
        data = pdf.tobytes(
            encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw=password, owner_pw=password + "-owner"
        )
    pdf.close()
    return data


def make_image(
    image_format: str,
    document: int = 0,
    *,
    size: tuple[int, int] = (400, 300),
    frames: int = 1,
    orientation: int | None = None,
    mode: str = "RGB",
) -> bytes:
    """An image file whose frame ``i`` is filled with the colour of page ``i``."""
    pictures = [
        Image.new("RGB", size, page_colour(document, index)).convert(mode)
        for index in range(frames)
    ]
    buffer = io.BytesIO()
    options: dict[str, Any] = {}
    if orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = orientation
        options["exif"] = exif
    if frames > 1:
        options.update(save_all=True, append_images=pictures[1:])
    pictures[0].save(buffer, format=image_format, **options)
    return buffer.getvalue()


class FakeEngine(OCREngine):
    """Answers ``\\section*{Document D page P}`` for the page colour it sees; records batches.

    Attributes:
        batches: for each ``recognize_batch`` call, the (document, page) of every request.
        sizes: the size of every image received.
        fail_on: (document, page) pairs that make the whole batch raise, as a model might.
    """

    def __init__(
        self,
        fail_on: Sequence[tuple[int, int]] = (),
        delay: float = 0.0,
        texts: Mapping[tuple[int, int], str] | None = None,
    ) -> None:
        self.batches: list[list[tuple[int, int]]] = []
        self.sizes: list[tuple[int, int]] = []
        self.fail_on = set(fail_on)
        self.delay = delay
        self.texts = dict(texts or {})
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, object]:
        state = self.__dict__.copy()
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def text(self, doc: int, page: int) -> str:
        """What this engine answers for page ``page`` (0-based) of document ``doc``."""
        default = f"\\section*{{Document {doc} page {page}}}\nText of page {page + 1}."
        return self.texts.get((doc, page), default)

    @property
    def model_id(self) -> str:
        return "fake/got"

    def recognize_batch(self, requests: Sequence[OCRRequest]) -> list[OCRResult]:
        seen = [read_colour(request.images[0]) for request in requests]
        with self._lock:
            self.batches.append(seen)
            self.sizes.extend(request.images[0].size for request in requests)
        if self.delay:
            threading.Event().wait(self.delay)
        if self.fail_on & set(seen):
            raise RuntimeError(f"the model choked on {sorted(self.fail_on & set(seen))}")
        return [
            OCRResult(
                text=self.text(doc, page),
                finish_reason=FinishReason.STOP,
                generated_tokens=7 + page,
                seconds=0.0,
                task=request.task,
            )
            for (doc, page), request in zip(seen, requests, strict=True)
        ]
