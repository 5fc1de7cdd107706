"""A PDF page's text layer: whether it can stand in for OCR, and its blocks when it does.

Born-digital PDFs carry their exact text. With ``strategy="auto"`` each page is judged here,
under PyMuPDF's lock, before it is rendered: a page whose text layer is present, readable and
covers the page, with no math or ruled tables that GOT renders better, is read from that layer
and never reaches the model. The layer becomes the same typed blocks as GOT's output
(headings, paragraphs, list items, tables), so Markdown, plain text and Unstructured elements
come out the same way on both routes.

The text comes from PyMuPDF's ``get_text("dict")`` and its ruled-table finder
(``find_tables``). pymupdf4llm (shipped with PyMuPDF 2) was measured and left aside: its layout
mode costs 0.5-1.3 s of CPU a page and prints to stdout (see the README).
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections import Counter
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from got_model.markdown import (
    Block,
    Heading,
    ListItem,
    MarkdownOutput,
    Paragraph,
    Table,
    TableCell,
    Text,
)

from .text_tables import FoundTable, find_tables


class Strategy(str, Enum):
    """Where a PDF page's text comes from."""

    OCR = "ocr"
    """Always GOT (the default)."""
    TEXT = "text"
    """Always the PDF's text layer, as Markdown; GOT is never loaded. Pages without one come
    out empty; image files cannot be read this way."""
    AUTO = "auto"
    """Per page: the text layer where it is good, GOT where it is needed (``RouteReason``)."""


class Route(str, Enum):
    """The way one page was read."""

    OCR = "ocr"
    TEXT = "text"


class RouteReason(str, Enum):
    """Why a page took its route (the ``route_reason`` metadata key)."""

    STRATEGY = "strategy"
    """``strategy="ocr"`` or ``"text"`` left no choice."""
    TEXT_LAYER = "text_layer"
    """auto, text: the text layer is present, readable and covers the page."""
    OCR_LAYER = "ocr_layer"
    """auto, text: the page's text is an invisible layer (an earlier OCR over a scan) that
    reads as real text."""
    IMAGE_FILE = "image_file"
    """auto, OCR: an image file has no text layer."""
    NO_TEXT = "no_text"
    """auto, OCR: the page has no text layer (a scan, or text drawn as outlines)."""
    IMAGES = "images"
    """auto, OCR: images cover at least half the page and the text layer over them holds
    almost nothing (a scan with a stamp or a header line of text, say)."""
    GARBLED = "garbled"
    """auto, OCR: the text layer does not read as text: unmapped glyphs (U+FFFD,
    ``(cid:N)``), private-use or control characters, or letters in no plausible mix."""
    MATH = "math"
    """auto, OCR: math fonts or math symbols: GOT writes the formulas as LaTeX."""
    TABLE = "table"
    """auto, OCR: a ruled table: GOT writes its cells and spans."""
    TEXT_ERROR = "text_error"
    """auto, OCR: MuPDF failed to read the text layer."""


@dataclass(frozen=True)
class PageRoute:
    """How one page was read, and why."""

    route: Route
    reason: RouteReason


OCR_BY_STRATEGY = PageRoute(Route.OCR, RouteReason.STRATEGY)
_TEXT_REASONS = frozenset({RouteReason.STRATEGY, RouteReason.TEXT_LAYER, RouteReason.OCR_LAYER})


@dataclass(frozen=True)
class TextLayer:
    """A page's text as the PDF carries it.

    Attributes:
        converted: the typed blocks and their Markdown.
        text: the text as extracted, line by line (``content="raw"``).
    """

    converted: MarkdownOutput
    text: str


@dataclass
class LayerStats:
    """What the judgement of a text layer looks at (non-space characters throughout)."""

    chars: int = 0
    invisible: int = 0
    """Characters nobody sees: render mode 3, fully transparent, or Tesseract's font."""
    bad: int = 0
    """U+FFFD, ``(cid:N)``, private-use and control characters."""
    math: int = 0
    """Characters in math fonts, and math symbols anywhere."""
    letters: int = 0
    """Letters and digits."""
    leaders: int = 0
    """Characters in runs of dots, dashes or underscores (a table of contents' leaders)."""
    words: int = 0
    """Lower-case words of three Latin letters or more (accents removed)."""
    vowelless: int = 0
    """Of those, words without a e i o u y: "wkh" for "the" under a shifted character map."""
    image_share: float = 0.0
    """The share of the page that images cover (their areas summed, at most 1)."""
    over_images: int = 0
    """Characters whose centre lies on an image."""


# Thresholds of the judgement; see RouteReason.
IMAGE_SHARE = 0.5
IMAGE_TEXT_CHARS = 100
BAD_SHARE = 0.05
LETTER_SHARE = 0.5
WORD_SAMPLE = 20
VOWELLESS_SHARE = 0.3
MATH_CHARS = 3
MARGIN_SHARE = 0.1

_TEXT_FLAGS = 64  # pymupdf.TEXT_MEDIABOX_CLIP: ligatures expanded, no image data, no clipping
_FILLED_OR_STROKED = 16 | 32  # MuPDF's FZ_STEXT_FILLED | FZ_STEXT_STROKED char flags
_CID = re.compile(r"\(cid:\d+\)")
_SUBSET = re.compile(r"^[A-Z]{6}\+")
_MATH_FONT = re.compile(r"^(CMMI|CMSY|CMEX|CMBSY|MSAM|MSBM|EUFM|EUSM|RSFS|ESINT)|Math|Symbol", re.I)
# Math operators, arrows aside; minus (U+2212) and the bullet operator (U+2219) are prose's too.
_MATH = re.compile(
    "[\u2200-\u2211\u2213-\u2218\u221a-\u22ff\u27c0-\u27ef\u2980-\u2aff\U0001d400-\U0001d7ff]"
)
_BAD = re.compile("[\ufffd\x00-\x1f\x7f-\x9f\ue000-\uf8ff\U000f0000-\U0010ffff]")
_ALNUMERIC = re.compile(r"[^\W_]")
_LEADERS = re.compile(r"[.\u2026\u00b7_-]{3,}")
_COMBINING = re.compile("[\u0300-\u036f]")
_LOWER_WORD = re.compile(r"(?<![^\W\d_])[a-z]{3,}(?![^\W\d_])")
_VOWELS = re.compile("[aeiouy]")
# Roman numerals of front matter only: letters such as "mix" or "civil" are words.
_PAGE_NUMBER = re.compile(
    r"(?:page\s+)?[-\u2013\u2014]?\s*(?:\d{1,4}|[ivx]{1,6})\s*[-\u2013\u2014]?"
    r"(?:\s*(?:of|/)\s*\d{1,4})?",
    re.IGNORECASE,
)
_BULLET = re.compile(r"^\s*([\u2022\u25e6\u25aa\u2023\u2219\u00b7*\u2013-])\s+(?=\S)")
_NUMBERED = re.compile(r"^\s*(\d{1,3})[.)]\s+(?=\S)")
_HYPHENATED = re.compile(r"[^\W\d_]-$")
_CJK = re.compile("[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]")
_SENTENCE_END = (".", ":", ";", "!", "?")
_HEADING_RATIO = 1.15
_TITLE_RATIO = 1.5
_HEADING_CHARS = 200


def read_page(
    pdf_page: Any, strategy: Strategy, images: Sequence[Any]
) -> tuple[PageRoute, TextLayer | None]:
    """The route of one PDF page and, for the text route, its text layer.

    ``pdf_page`` is a PyMuPDF page, used under the caller's lock; ``images`` is its
    ``get_image_info()``. With ``Strategy.OCR`` nothing is read.
    """
    if strategy is Strategy.OCR:
        return OCR_BY_STRATEGY, None
    try:
        spans = _spans(pdf_page)
        # Text and image boxes are in the page's unrotated coordinates; its rect is as shown.
        stats = measure(spans, pdf_page.rect * pdf_page.derotation_matrix, images)
        reason = judge(stats) if strategy is Strategy.AUTO else RouteReason.STRATEGY
        if reason not in _TEXT_REASONS:
            return PageRoute(Route.OCR, reason), None
        tables = find_tables(pdf_page)
        if strategy is Strategy.AUTO and tables:
            return PageRoute(Route.OCR, RouteReason.TABLE), None
        furniture = page_numbers(spans, pdf_page.rect, pdf_page.rotation_matrix)
        return PageRoute(Route.TEXT, reason), build_layer(spans, tables, skip=furniture)
    except Exception:
        if strategy is Strategy.TEXT:
            raise
        return PageRoute(Route.OCR, RouteReason.TEXT_ERROR), None


def judge(stats: LayerStats) -> RouteReason:
    """Why GOT should read the page, or the text route's reason when the layer is good.

    Tables aside: they need the table finder, run only when nothing else sent the page to GOT.
    """
    if stats.chars == 0:
        return RouteReason.NO_TEXT
    if stats.image_share >= IMAGE_SHARE and stats.over_images < IMAGE_TEXT_CHARS:
        return RouteReason.IMAGES
    if garbled(stats):
        return RouteReason.GARBLED
    if stats.math >= MATH_CHARS:
        return RouteReason.MATH
    if stats.invisible * 2 >= stats.chars:
        return RouteReason.OCR_LAYER
    return RouteReason.TEXT_LAYER


def garbled(stats: LayerStats) -> bool:
    """Whether the layer fails to read as text: too many unmapped glyphs, too few letters
    (leaders aside), or too many lower-case words without a vowel (a font's wrong character
    map gives such text: "Wklv lv wkh" for "This is the"; acronyms and part numbers, in
    capitals, do not count)."""
    if stats.bad >= BAD_SHARE * stats.chars:
        return True
    counted = stats.chars - stats.leaders
    if counted >= 20 and stats.letters < LETTER_SHARE * counted:
        return True
    return stats.words >= WORD_SAMPLE and stats.vowelless >= VOWELLESS_SHARE * stats.words


@dataclass(frozen=True)
class _Span:
    text: str
    font: str
    size: float
    bold: bool
    invisible: bool
    bbox: tuple[float, float, float, float]
    line: int
    """The index of its line on the page."""
    block: int
    flags: int = 0
    """MuPDF's span flags: 1 superscript, 2 italic, 4 serifed, 8 monospaced, 16 bold."""
    origin: tuple[float, float] = (0.0, 0.0)
    """The baseline's start (x, y)."""


def _spans(pdf_page: Any) -> list[_Span]:
    data = pdf_page.get_text("dict", flags=_TEXT_FLAGS)
    spans: list[_Span] = []
    line_number = 0
    for block_number, block in enumerate(data.get("blocks", ())):
        if block.get("type", 0) != 0:
            continue
        for line in block.get("lines", ()):
            for span in line.get("spans", ()):
                font = _SUBSET.sub("", str(span.get("font", "")))
                char_flags = span.get("char_flags")
                invisible = (
                    span.get("alpha", 255) == 0
                    or font == "GlyphLessFont"
                    or (char_flags is not None and not char_flags & _FILLED_OR_STROKED)
                )
                spans.append(
                    _Span(
                        text=str(span.get("text", "")),
                        font=font,
                        size=float(span.get("size", 0.0)),
                        bold=bool(int(span.get("flags", 0)) & 16) or "bold" in font.lower(),
                        invisible=invisible,
                        bbox=_box(span.get("bbox", (0.0, 0.0, 0.0, 0.0))),
                        line=line_number,
                        block=block_number,
                        flags=int(span.get("flags", 0)),
                        origin=_point(span.get("origin", (0.0, 0.0))),
                    )
                )
            line_number += 1
    return spans


def _box(values: Sequence[Any]) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = (float(value) for value in values)
    return x0, y0, x1, y1


def _point(values: Sequence[Any]) -> tuple[float, float]:
    x, y = (float(value) for value in values)
    return x, y


def measure(spans: Sequence[_Span], page_rect: Any, images: Sequence[Any]) -> LayerStats:
    """Count what ``judge`` looks at."""
    stats = LayerStats()
    page_area = max(1e-6, float(page_rect.width) * float(page_rect.height))
    boxes = [_clip(image["bbox"], page_rect) for image in images]
    boxes = [box for box in boxes if box[2] > box[0] and box[3] > box[1]]
    stats.image_share = min(1.0, sum((b[2] - b[0]) * (b[3] - b[1]) for b in boxes) / page_area)
    for span in spans:
        text = "".join(span.text.split())
        if not text:
            continue
        count = len(text)
        stats.chars += count
        if span.invisible:
            stats.invisible += count
        centre = ((span.bbox[0] + span.bbox[2]) / 2, (span.bbox[1] + span.bbox[3]) / 2)
        if any(b[0] <= centre[0] <= b[2] and b[1] <= centre[1] <= b[3] for b in boxes):
            stats.over_images += count
        stats.bad += len(_BAD.findall(text)) + sum(len(m) for m in _CID.findall(text))
        stats.letters += len(_ALNUMERIC.findall(text))
        stats.math += count if _MATH_FONT.search(span.font) else len(_MATH.findall(text))
        stats.leaders += sum(len(run) for run in _LEADERS.findall(text))
        bare = _COMBINING.sub("", unicodedata.normalize("NFKD", span.text))  # accents off
        words = _LOWER_WORD.findall(bare)
        stats.words += len(words)
        stats.vowelless += sum(not _VOWELS.search(word) for word in words)
    return stats


def _clip(bbox: Sequence[float], rect: Any) -> tuple[float, float, float, float]:
    return (
        max(float(bbox[0]), float(rect.x0)),
        max(float(bbox[1]), float(rect.y0)),
        min(float(bbox[2]), float(rect.x1)),
        min(float(bbox[3]), float(rect.y1)),
    )


def build_layer(
    spans: Sequence[_Span], tables: Sequence[FoundTable], skip: Collection[int] = ()
) -> TextLayer:
    """The text layer as blocks: headings by font size (or a short, bold block), list items
    by their bullets or numbers, paragraphs with end-of-line hyphens joined, ruled tables.

    ``skip`` names MuPDF blocks left out of the blocks (page numbers), though not of the raw
    text, which stays the text as the PDF carries it."""
    table_boxes = [table.bbox for table in tables]
    lines = _lines(spans)
    raw = "\n".join(text for _, text, _ in lines)
    body = _body_size(spans)
    kept = [
        (block, text, line_spans)
        for block, text, line_spans in lines
        if block not in skip and not any(_inside(line_spans, box) for box in table_boxes)
    ]
    blocks: list[Block] = []
    pending = sorted(zip(table_boxes, tables, strict=True), key=lambda pair: pair[0][1])
    for _, grouped in itertools.groupby(kept, key=lambda line: line[0]):  # by MuPDF block
        group = list(grouped)
        top = min(s.bbox[1] for _, _, line_spans in group for s in line_spans)
        while pending and pending[0][0][1] <= top:
            blocks.append(_table(pending.pop(0)[1]))
        blocks.extend(_text_blocks(group, body))
    blocks.extend(_table(table) for _, table in pending)
    return TextLayer(MarkdownOutput(tuple(blocks)), raw)


_Line = tuple[int, str, list[_Span]]


def page_numbers(spans: Sequence[_Span], shown: Any, rotation: Any) -> frozenset[int]:
    """The MuPDF blocks that hold nothing but a printed page number ("12", "xiv", "- 12 -",
    "Page 3 of 10") in the top or bottom tenth of the page as shown: furniture, not content.

    ``shown`` is the page's rect as displayed; ``rotation`` maps the spans' unrotated
    coordinates onto it (PyMuPDF's ``rotation_matrix``)."""
    found: set[int] = set()
    band = MARGIN_SHARE * float(shown.height)
    for block, grouped in itertools.groupby(spans, key=lambda span: span.block):
        members = list(grouped)
        if not _PAGE_NUMBER.fullmatch(" ".join(s.text for s in members).strip()):
            continue
        corners = [
            (x * rotation.b + y * rotation.d + rotation.f)  # the shown y of (x, y)
            for s in members
            for x in (s.bbox[0], s.bbox[2])
            for y in (s.bbox[1], s.bbox[3])
        ]
        if max(corners) <= shown.y0 + band or min(corners) >= shown.y1 - band:
            found.add(block)
    return frozenset(found)


def _lines(spans: Sequence[_Span]) -> list[_Line]:
    lines: list[_Line] = []
    for _, grouped in itertools.groupby(spans, key=lambda span: span.line):
        group = list(grouped)
        text = "".join(span.text for span in group).strip()
        if text:
            lines.append((group[0].block, text, group))
    return lines


def _inside(spans: Sequence[_Span], box: Sequence[float]) -> bool:
    x0 = min(s.bbox[0] for s in spans)
    y0 = min(s.bbox[1] for s in spans)
    x1 = max(s.bbox[2] for s in spans)
    y1 = max(s.bbox[3] for s in spans)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return box[0] <= cx <= box[2] and box[1] <= cy <= box[3]


def _body_size(spans: Sequence[_Span]) -> float:
    sizes: Counter[float] = Counter()
    for span in spans:
        sizes[round(span.size * 2) / 2] += len(span.text.strip())
    return sizes.most_common(1)[0][0] if sizes else 0.0


def _text_blocks(group: Sequence[_Line], body: float) -> Iterator[Block]:
    texts = [text for _, text, _ in group]
    joined = _join(texts)
    group_spans = [s for _, _, spans in group for s in spans if s.text.strip()]
    size = _body_size(group_spans)  # the size of most characters: a drop cap is not a heading
    short = len(group) <= 3 and len(joined) <= _HEADING_CHARS
    if short and body and size >= body * _HEADING_RATIO:
        yield Heading(1 if size >= body * _TITLE_RATIO else 2, (Text(joined),))
        return
    bold = short and len(joined) <= 120 and all(s.bold for s in group_spans)
    if bold and not joined.endswith((".", ":", ",")) and not _marker(joined):
        yield Heading(3, (Text(joined),))
        return
    paragraph: list[str] = []
    item: tuple[int | None, list[str]] | None = None
    for number, text in enumerate(texts):
        # A line that wraps a sentence ("... signed on / 12. March") starts no item.
        starts = number == 0 or item is not None or texts[number - 1].endswith(_SENTENCE_END)
        marker = _marker(text) if starts else None
        if marker is not None:
            yield from _flush(paragraph, item)
            paragraph, item = [], (marker[0], [marker[1]])
        elif item is not None:
            item[1].append(text)
        else:
            paragraph.append(text)
    yield from _flush(paragraph, item)


def _marker(text: str) -> tuple[int | None, str] | None:
    """(number or None, the item's text) for a line that starts a list item."""
    bullet = _BULLET.match(text)
    if bullet:
        return None, text[bullet.end() :]
    numbered = _NUMBERED.match(text)
    if numbered:
        return int(numbered.group(1)), text[numbered.end() :]
    return None


def _flush(paragraph: list[str], item: tuple[int | None, list[str]] | None) -> Iterator[Block]:
    if paragraph:
        yield Paragraph((Text(_join(paragraph)),))
    if item is not None:
        yield ListItem((Text(_join(item[1])),), number=item[0])


def _join(lines: Sequence[str]) -> str:
    """Lines of one block as one text: a word hyphenated at a line's end is joined again, and
    a break between two CJK characters (which take no spaces) is no space."""
    parts: list[str] = []
    for line in lines:
        last = parts[-1] if parts else ""
        if not last:
            parts.append(line)
        elif _HYPHENATED.search(last[-2:]) and line[:1].islower():
            parts[-1] = last[:-1]
            parts.append(line)
        elif _CJK.match(last[-1]) and _CJK.match(line[:1]):
            parts.append(line)
        else:
            parts.append(" " + line)
    return "".join(parts)


def _table(table: FoundTable) -> Table:
    width = max((len(row) for row in table.rows), default=0)
    return Table(
        tuple(
            tuple(TableCell((Text(cell),)) for cell in [*row, *[""] * (width - len(row))])
            for row in table.rows
        )
    )
