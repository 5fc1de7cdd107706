"""PDFs with (and without) text layers, made in code: born-digital, scanned, garbled, math.

Each builder draws one kind of page; ``make_text_pdf`` puts several kinds in one file.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pymupdf

from .samples import page_colour

PARAGRAPH = (
    "Retrieval systems split long documents into passages before they embed them, and "
    "the quality of those passages decides what a question can find later on. This "
    "paragraph is plain prose, the kind of text a born-digital report carries exactly."
)


def born_digital(page: Any, number: int = 1) -> None:
    """A title, a section heading, two paragraphs (one word hyphenated at a line's end),
    a bulleted and a numbered list."""
    y = 72.0
    page.insert_text((72, y), f"Annual Report {number}", fontsize=24, fontname="hebo")
    y += 40
    page.insert_text((72, y), "Introduction", fontsize=15, fontname="hebo")
    y += 24
    y = _paragraph(page, y, PARAGRAPH)
    y += 8
    page.insert_text((72, y), "The second paragraph ends a line with a hyphen-", fontsize=11)
    page.insert_text((72, y + 14), "ated word, which the text route joins again.", fontsize=11)
    y += 40
    for line in ("\u2022 first point of the list", "\u2022 second point of the list"):
        page.insert_text((72, y), line, fontsize=11)
        y += 20
    y += 6
    for line in ("1. step one is numbered", "2. step two follows it"):
        page.insert_text((72, y), line, fontsize=11)
        y += 20


def _paragraph(page: Any, y: float, text: str, fontsize: float = 11) -> float:
    rect = pymupdf.Rect(72, y - fontsize, 540, y + 200)
    page.insert_textbox(rect, text, fontsize=fontsize)
    return y + 4 * (fontsize + 3)


def scanned(page: Any, number: int = 1) -> None:
    """A picture of a born-digital page, and no text: what a scanner makes."""
    source = pymupdf.open()
    born_digital(source.new_page(width=page.rect.width, height=page.rect.height), number)
    picture = source[0].get_pixmap(dpi=72)
    page.insert_image(page.rect, pixmap=picture)
    source.close()


def scanned_with_stamp(page: Any, number: int = 1) -> None:
    """A scan with one visible line of text stamped at its foot (as archives add)."""
    scanned(page, number)
    page.insert_text((72, page.rect.height - 20), "Downloaded from the archive", fontsize=8)


def ocr_layer(text: str) -> Callable[[Any, int], None]:
    """A scan under an invisible text layer saying ``text`` (what OCR software leaves)."""

    def draw(page: Any, number: int = 1) -> None:
        scanned(page, number)
        rect = pymupdf.Rect(72, 60, 540, 700)
        page.insert_textbox(rect, text, fontsize=11, render_mode=3)

    return draw


def shifted(text: str, by: int = 3) -> str:
    """``text`` with every letter moved ``by`` places: a font's wrong character map."""

    def move(char: str) -> str:
        if char.isascii() and char.isalpha():
            base = ord("a") if char.islower() else ord("A")
            return chr(base + (ord(char) - base + by) % 26)
        return char

    return "".join(map(move, text))


def shifted_text(page: Any, number: int = 1) -> None:
    """Visible text whose layer reads as letters in no language."""
    _paragraph(page, 90, shifted(PARAGRAPH * 2))


def math_page(page: Any, number: int = 1) -> None:
    """Prose with formulas written in Unicode math symbols."""
    y = _paragraph(page, 90, PARAGRAPH)
    writer = pymupdf.TextWriter(page.rect)
    font = pymupdf.Font("cjk")  # MuPDF's own font with math symbols (subset on save)
    for formula in ("\u222b f(x) dx \u2264 \u2211 a_i", "\u2200 x \u2208 S: x \u2260 \u2205"):
        writer.append((100, y), formula, font=font, fontsize=12)
        y += 24
    writer.write_text(page)


def table_page(page: Any, number: int = 1) -> None:
    """A heading, a paragraph and a ruled 3 x 4 table."""
    page.insert_text((72, 72), "Results", fontsize=16, fontname="hebo")
    y = _paragraph(page, 100, PARAGRAPH)
    columns, rows, height = [72, 200, 330, 460], 4, 20
    for row in range(rows + 1):
        page.draw_line((columns[0], y + row * height), (columns[-1], y + row * height))
    for x in columns:
        page.draw_line((x, y), (x, y + rows * height))
    cells = [["Model", "Pages/s", "Errors"], ["GOT", "12.5", "3"], ["Text", "450", "0"]]
    cells.append(["Auto", "88", "1"])
    for row, values in enumerate(cells):
        for column, value in enumerate(values):
            page.insert_text((columns[column] + 4, y + row * height + 14), value, fontsize=10)
    _paragraph(page, y + rows * height + 40, "The table above is followed by this sentence.")


def coloured(page: Any, number: int = 1) -> None:
    """A page in ``samples``' colour code (document 0), with no text at all: the fake engine
    reads it back as page ``number - 1``."""
    fill = tuple(c / 255 for c in page_colour(0, number - 1))
    page.draw_rect(page.rect, color=None, fill=fill)


def make_text_pdf(kinds: Sequence[Callable[..., None]], *, broken_fonts: bool = False) -> bytes:
    """One page per builder in ``kinds``, A4-ish; fonts subset.

    ``broken_fonts`` drops every font's ToUnicode map: the pages look the same, but their
    text layer reads as glyph numbers, as in PDFs from some old or careless producers.
    """
    pdf = pymupdf.open()
    for number, kind in enumerate(kinds, start=1):
        kind(pdf.new_page(width=612, height=792), number)
    pdf.subset_fonts()
    if broken_fonts:
        for xref in range(1, pdf.xref_length()):
            if pdf.xref_get_key(xref, "ToUnicode")[0] != "null":
                pdf.xref_set_key(xref, "ToUnicode", "null")
    data = pdf.tobytes(garbage=3, deflate=True)
    pdf.close()
    return data


def unicode_page(text: str) -> Callable[[Any, int], None]:
    """``text`` in MuPDF's CJK font (a Type 0 font, so ``broken_fonts`` can break it)."""

    def draw(page: Any, number: int = 1) -> None:
        writer = pymupdf.TextWriter(page.rect)
        writer.fill_textbox(pymupdf.Rect(72, 72, 540, 700), text, font=pymupdf.Font("cjk"))
        writer.write_text(page)

    return draw
