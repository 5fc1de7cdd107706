"""A PDF page's text layer: whether it can stand in for OCR, and its blocks when it does.

Born-digital PDFs carry their exact text. With ``strategy="auto"`` each page is judged here,
under PyMuPDF's lock, before it is rendered: a page whose text layer is present, readable and
covers the page, with no math or ruled tables that GOT renders better, is read from that layer
and never reaches the model. The layer becomes the same typed blocks as GOT's output
(headings, paragraphs, list items, tables), so Markdown, plain text and Unstructured elements
come out the same way on both routes.

The text comes from PyMuPDF's ``get_text("dict")``, the ruled tables from ``text_tables``, and
what only the whole document tells (heading levels, running headers) from ``text_document``.
pymupdf4llm (shipped with PyMuPDF 2) was measured and left aside: its layout
mode costs 0.5-1.3 s of CPU a page and prints to stdout (see the README).
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any, NamedTuple, Protocol

from got_model.markdown import (
    Block,
    Code,
    Heading,
    ListItem,
    MarkdownOutput,
    Paragraph,
    Table,
    TableCell,
    Text,
)

from .text_math import MathEvidence, formulas
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
    """auto, OCR: formulas whose structure the text layer loses (sub- and superscripts, big
    operators, radicals) or math glyphs it cannot map (``text_math``): GOT writes them as
    LaTeX. Formulas that read the same as text (``x <= y``) stay on the text route."""
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
    math: MathEvidence = field(default_factory=MathEvidence)
    """Formulas found on the page (see ``text_math``)."""
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
MARGIN_SHARE = 0.1
OUTER_SHARE = 0.2

_TEXT_FLAGS = 64  # pymupdf.TEXT_MEDIABOX_CLIP: ligatures expanded, no image data, no clipping
_FILLED_OR_STROKED = 16 | 32  # MuPDF's FZ_STEXT_FILLED | FZ_STEXT_STROKED char flags
_CID = re.compile(r"\(cid:\d+\)")
_SUBSET = re.compile(r"^[A-Z]{6}\+")
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
_LEADER_REF = re.compile(r"(?:\.\s?){2,}\s*(?:\d{1,4}|[ivxlc]{1,6})\s*$", re.IGNORECASE)
_PAGE_REF = re.compile(r"\d{1,4}|[ivxlc]{1,6}", re.IGNORECASE)
_MONO_FONT = re.compile(
    r"mono|courier|typewriter|consol|menlo|inconsolata|^cm(sl|i)?tt|^sftt|lmtt", re.IGNORECASE
)
_HYPHENATED = re.compile(r"[^\W\d_]-$")
_CJK = re.compile("[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]")
_SENTENCE_END = (".", ":", ";", "!", "?")
HEADING_RATIO = 1.15
_TITLE_RATIO = 1.5
HEADING_CHARS = 200


class DocumentView(Protocol):
    """What ``read_page`` asks of the whole document (``text_document.DocumentText``)."""

    def spans(self, index: int, pdf_page: Any = None) -> list[Span]: ...

    def running(self, index: int, pdf_page: Any) -> frozenset[int]: ...

    def numbers(self, index: int, pdf_page: Any) -> frozenset[int]: ...

    def levels(self) -> HeadingLevels: ...


def read_page(
    pdf_page: Any,
    strategy: Strategy,
    images: Sequence[Any],
    document: DocumentView | None = None,
) -> tuple[PageRoute, TextLayer | None]:
    """The route of one PDF page and, for the text route, its text layer.

    ``pdf_page`` is a PyMuPDF page, used under the caller's lock; ``images`` is its
    ``get_image_info()``; ``document`` the document-wide view (heading levels, running
    headers) of the PDF it belongs to, if any. With ``Strategy.OCR`` nothing is read.
    """
    if strategy is Strategy.OCR:
        return OCR_BY_STRATEGY, None
    try:
        index = int(pdf_page.number)
        spans = page_spans(pdf_page) if document is None else document.spans(index, pdf_page)
        # Text and image boxes are in the page's unrotated coordinates; its rect is as shown.
        stats = measure(spans, pdf_page.rect * pdf_page.derotation_matrix, images)
        reason = judge(stats) if strategy is Strategy.AUTO else RouteReason.STRATEGY
        if reason not in _TEXT_REASONS:
            return PageRoute(Route.OCR, reason), None
        tables = find_tables(pdf_page)
        if strategy is Strategy.AUTO and tables:
            return PageRoute(Route.OCR, RouteReason.TABLE), None
        shown, rotation = pdf_page.rect, pdf_page.rotation_matrix
        rows = shown_rows(spans, rotation)
        furniture = page_numbers(spans, shown, rotation, rows)
        if document is None:
            numbers = frozenset(number_lines(spans, shown, rotation, rows))
            layer = build_layer(spans, tables, furniture, skip_lines=numbers)
            return PageRoute(Route.TEXT, reason), layer
        furniture |= document.running(index, pdf_page)
        numbers = document.numbers(index, pdf_page)
        layer = build_layer(
            spans, tables, furniture, skip_lines=numbers, levels=document.levels(), page=index
        )
        return PageRoute(Route.TEXT, reason), layer
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
    if stats.math.needs_model:
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


class Span(NamedTuple):
    """One span of MuPDF's text (a tuple: a page holds thousands, built on every read)."""

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


def page_spans(pdf_page: Any) -> list[Span]:
    data = pdf_page.get_text("dict", flags=_TEXT_FLAGS)
    spans: list[Span] = []
    line_number = 0
    fonts: dict[str, tuple[str, bool]] = {}  # MuPDF's name -> (name, bold by name)
    for block_number, block in enumerate(data.get("blocks", ())):
        if block.get("type", 0) != 0:
            continue
        for line in block.get("lines", ()):
            for span in line.get("spans", ()):
                raw_font = str(span.get("font", ""))
                named = fonts.get(raw_font)
                if named is None:
                    font = _SUBSET.sub("", raw_font)
                    named = fonts[raw_font] = (font, "bold" in font.lower())
                font, bold_name = named
                char_flags = span.get("char_flags")
                flags = int(span.get("flags", 0))
                invisible = (
                    span.get("alpha", 255) == 0
                    or font == "GlyphLessFont"
                    or (char_flags is not None and not char_flags & _FILLED_OR_STROKED)
                )
                spans.append(
                    Span(
                        str(span.get("text", "")),
                        font,
                        float(span.get("size", 0.0)),
                        bool(flags & 16) or bold_name,
                        invisible,
                        _box(span.get("bbox", (0.0, 0.0, 0.0, 0.0))),
                        line_number,
                        block_number,
                        flags,
                        _point(span.get("origin", (0.0, 0.0))),
                    )
                )
            line_number += 1
    return spans


def _box(values: Sequence[Any]) -> tuple[float, float, float, float]:
    return float(values[0]), float(values[1]), float(values[2]), float(values[3])


def _point(values: Sequence[Any]) -> tuple[float, float]:
    return float(values[0]), float(values[1])


def measure(spans: Sequence[Span], page_rect: Any, images: Sequence[Any]) -> LayerStats:
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
        stats.leaders += sum(len(run) for run in _LEADERS.findall(text))
        bare = _COMBINING.sub("", unicodedata.normalize("NFKD", span.text))  # accents off
        words = _LOWER_WORD.findall(bare)
        stats.words += len(words)
        stats.vowelless += sum(not _VOWELS.search(word) for word in words)
    stats.math = formulas(spans)
    return stats


def _clip(bbox: Sequence[float], rect: Any) -> tuple[float, float, float, float]:
    return (
        max(float(bbox[0]), float(rect.x0)),
        max(float(bbox[1]), float(rect.y0)),
        min(float(bbox[2]), float(rect.x1)),
        min(float(bbox[3]), float(rect.y1)),
    )


def build_layer(
    spans: Sequence[Span],
    tables: Sequence[FoundTable],
    skip: Collection[int] = (),
    *,
    skip_lines: Collection[int] = (),
    levels: HeadingLevels | None = None,
    page: int = 0,
) -> TextLayer:
    """The text layer as blocks: headings by font size (or a short, bold block), list items
    by their bullets or numbers, code by its monospaced lines, paragraphs with end-of-line
    hyphens joined (also across MuPDF's blocks, where a sentence runs on), ruled tables.

    ``skip`` names MuPDF blocks left out of the blocks (page numbers, running headers), and
    ``skip_lines`` lines (a page number inside a header),
    though not of the raw text, which stays the text as the PDF carries it. ``levels`` is the
    document's heading scheme (``text_document``) and ``page`` the page's index in it;
    without them, headings are ranked on the page alone."""
    levels = levels if levels is not None and levels.body else _page_levels(spans)
    table_boxes = [table.bbox for table in tables]
    lines = _lines(spans)
    raw = "\n".join(text for _, text, _ in lines)
    kept = [
        (block, text, line_spans)
        for block, text, line_spans in lines
        if block not in skip
        and line_spans[0].line not in skip_lines
        and not any(_inside(line_spans, box) for box in table_boxes)
    ]
    blocks: list[Block] = []
    pending = sorted(zip(table_boxes, tables, strict=True), key=lambda pair: pair[0][1])
    title_page = _TitlePage(page == 0)
    listing: list[_Line] = []

    def flush_code() -> None:
        if listing:
            blocks.append(_code(listing))
            listing.clear()

    for _, grouped in itertools.groupby(kept, key=lambda line: line[0]):  # by MuPDF block
        group = list(grouped)
        x0, top, x1 = _extent(group)
        # A table goes before the first block below its top in its own column.
        for placed in [p for p in pending if p[0][1] <= top and _overlap(p[0], (x0, x1))]:
            pending.remove(placed)
            flush_code()
            blocks.append(_table(placed[1]))
        for code, run in _runs(group):
            if not code:
                flush_code()
                blocks.extend(_text_blocks(run, levels, page, title_page))
            elif listing and _near(listing[-1], run[0]):
                listing.extend(run)  # MuPDF cut one listing into blocks
            else:
                flush_code()
                listing.extend(run)
    flush_code()
    blocks.extend(_table(table) for _, table in pending)
    return TextLayer(MarkdownOutput(tuple(_run_on(blocks))), raw)


_Line = tuple[int, str, list[Span]]


@dataclass(frozen=True)
class HeadingLevels:
    """A document's heading scheme (see ``text_document.rank_headings``).

    Attributes:
        body: the body text's size (0: unknown, rank on the page alone).
        sizes: heading sizes, largest first (rounded to half a point).
        by_outline: the outline's level for sizes in which outline titles were set.
        first_page_only: sizes seen on the first page only, below its largest: the author,
            affiliation and date lines of a title page, not headings.
        outline: page index -> title key -> the outline's level.
    """

    body: float = 0.0
    sizes: tuple[float, ...] = ()
    by_outline: Mapping[float, int] = field(default_factory=dict)
    first_page_only: frozenset[float] = frozenset()
    outline: Mapping[int, Mapping[str, int]] = field(default_factory=dict)
    alone: bool = False
    """Ranked on one page, without the document: level 1 for a title's size, 2 for other
    large text, 3 for short bold lines."""

    def level(self, text: str, size: float, bold: bool, page: int) -> int | None:
        """The Markdown level of a short block, or None when it is no heading."""
        listed = self.outline.get(page, {}).get(title_key(text))
        if listed is not None:
            return listed
        if self.alone:
            return (1 if size >= self.body * _TITLE_RATIO else 2) if size > self.body else 3
        if size >= self.body * HEADING_RATIO:
            if page == 0 and size in self.first_page_only:
                return None
            if size in self.by_outline:
                return self.by_outline[size]
            if page == 0 and self.outline:  # a title page's lines outside the outline
                return 1 if self.sizes and size >= self.sizes[0] else None
            if self.by_outline:
                above = [level for s, level in self.by_outline.items() if s > size]
                return min(6, max(above) + 1) if above else 1
            return min(6, 1 + sum(1 for s in self.sizes if s > size))
        if bold:
            deepest = max(self.by_outline.values(), default=len(self.sizes))
            return min(6, deepest + 1)
        return None


def _page_levels(spans: Sequence[Span]) -> HeadingLevels:
    """Without the document: headings ranked on the page alone."""
    return HeadingLevels(body=body_size(spans), alone=True)


_NUMBERING = re.compile(
    r"^(?:(?:chapter|appendix|section|part)\s+)?"
    r"(?:[\dA-Z]{1,3}(?:\.\d{1,3})*\.?|[ivxlc]{1,6}\.)[:.]?\s+",
    re.IGNORECASE,
)
_SPACES = re.compile(r"\s+")
_PUNCTUATION = re.compile(r"[^\w\s]")


def title_key(text: str) -> str:
    """A heading or outline title as compared: its numbering ("1.2", "Chapter 3:", "A"),
    case, punctuation and spacing aside."""
    text = _NUMBERING.sub("", unicodedata.normalize("NFKC", text).strip())
    return _SPACES.sub(" ", _PUNCTUATION.sub(" ", text.lower())).strip()


def shown_rows(spans: Sequence[Span], rotation: Any) -> dict[int, tuple[float, float]]:
    """Each block's top and bottom on the page as shown (``rotation``: PyMuPDF's
    ``rotation_matrix``, from the spans' unrotated coordinates)."""
    rows: dict[int, tuple[float, float]] = {}
    b, d, f = float(rotation.b), float(rotation.d), float(rotation.f)
    upright = b == 0 and d == 1
    for span in spans:
        if not span.text.strip():
            continue
        if upright:  # most pages: the shown y is the y
            low, high = rows.get(span.block, (float("inf"), float("-inf")))
            rows[span.block] = (min(low, span.bbox[1] + f), max(high, span.bbox[3] + f))
            continue
        ys = [
            x * rotation.b + y * rotation.d + rotation.f
            for x in (span.bbox[0], span.bbox[2])
            for y in (span.bbox[1], span.bbox[3])
        ]
        low, high = rows.get(span.block, (float("inf"), float("-inf")))
        rows[span.block] = (min(low, *ys), max(high, *ys))
    return rows


def outer_blocks(rows: Mapping[int, tuple[float, float]]) -> tuple[int, int]:
    """The topmost and the bottommost block of ``shown_rows`` (not empty)."""
    return min(rows, key=lambda block: rows[block][0]), max(rows, key=lambda block: rows[block][1])


def page_numbers(
    spans: Sequence[Span],
    shown: Any,
    rotation: Any,
    rows: Mapping[int, tuple[float, float]] | None = None,
) -> frozenset[int]:
    """The MuPDF blocks that hold nothing but a printed page number ("12", "xiv", "- 12 -",
    "Page 3 of 10") in the top or bottom tenth of the page as shown, or as its topmost or
    bottommost block in the top or bottom fifth (LaTeX's number on US Letter sits at about
    0.88 of the height): furniture, not content.

    ``shown`` is the page's rect as displayed; ``rotation`` maps the spans' unrotated
    coordinates onto it (PyMuPDF's ``rotation_matrix``); ``rows`` is ``shown_rows`` of the
    spans, if the caller has it."""
    rows = shown_rows(spans, rotation) if rows is None else rows
    if not rows:
        return frozenset()
    height = float(shown.height)
    first, last = outer_blocks(rows)
    found: set[int] = set()
    top, bottom = float(shown.y0), float(shown.y1)
    for block, grouped in itertools.groupby(spans, key=lambda span: span.block):
        text = " ".join(s.text for s in grouped).strip()
        if block not in rows or not _PAGE_NUMBER.fullmatch(text):
            continue
        y0, y1 = rows[block]
        if (
            y1 <= top + MARGIN_SHARE * height
            or y0 >= bottom - MARGIN_SHARE * height
            or (block == first and y1 <= top + OUTER_SHARE * height)
            or (block == last and y0 >= bottom - OUTER_SHARE * height)
        ):
            found.add(block)
    return frozenset(found)


def number_lines(
    spans: Sequence[Span],
    shown: Any,
    rotation: Any,
    rows: Mapping[int, tuple[float, float]] | None = None,
) -> dict[int, int]:
    """The lines holding nothing but a number inside the page's topmost or bottommost block,
    in its top or bottom fifth, and their values: a running header that sets the page number
    on a line of its own ("2 | 2. OPTIONS FOR THE PACKAGE", "3 Using marks | 5"). Which of
    them is the page's number the document tells (``text_document``); alone, a page drops
    them all."""
    rows = shown_rows(spans, rotation) if rows is None else rows
    if not rows:
        return {}
    height = float(shown.height)
    first, last = outer_blocks(rows)
    edges = set()
    if rows[first][1] <= float(shown.y0) + OUTER_SHARE * height:
        edges.add(first)
    if rows[last][0] >= float(shown.y1) - OUTER_SHARE * height:
        edges.add(last)
    found: dict[int, int] = {}
    for line, grouped in itertools.groupby(spans, key=lambda span: span.line):
        members = list(grouped)
        value = _number_value("".join(s.text for s in members).strip())
        if members[0].block in edges and value is not None:
            found[line] = value
    return found


_ROMAN = {"i": 1, "v": 5, "x": 10, "l": 50, "c": 100}


def _number_value(text: str) -> int | None:
    """The value of a bare page number: "12", "- 12 -", "xiv"; None for anything else."""
    bare = text.strip(" -\u2013\u2014").lower()
    if bare.isdigit() and len(bare) <= 4:
        return int(bare)
    if not bare or len(bare) > 6 or any(c not in _ROMAN for c in bare):
        return None
    values = [_ROMAN[c] for c in bare]
    return sum(-v if v < after else v for v, after in zip(values, [*values[1:], 0], strict=True))


def _lines(spans: Sequence[Span]) -> list[_Line]:
    lines: list[_Line] = []
    for _, grouped in itertools.groupby(spans, key=lambda span: span.line):
        group = list(grouped)
        text = "".join(span.text for span in group).strip()
        if text:
            lines.append((group[0].block, text, group))
    return lines


def _inside(spans: Sequence[Span], box: Sequence[float]) -> bool:
    x0 = min(s.bbox[0] for s in spans)
    y0 = min(s.bbox[1] for s in spans)
    x1 = max(s.bbox[2] for s in spans)
    y1 = max(s.bbox[3] for s in spans)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return box[0] <= cx <= box[2] and box[1] <= cy <= box[3]


def _extent(group: Sequence[_Line]) -> tuple[float, float, float]:
    boxes = [s.bbox for _, _, spans in group for s in spans]
    return min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes)


def _overlap(box: Sequence[float], span: tuple[float, float]) -> bool:
    return min(box[2], span[1]) > max(box[0], span[0])


def body_size(spans: Sequence[Span]) -> float:
    """The size (to half a point) of most of the spans' characters; 0 for none."""
    sizes: dict[float, int] = {}
    for span in spans:
        size = round(span.size * 2) / 2
        sizes[size] = sizes.get(size, 0) + len(span.text.strip())
    return max(sizes, key=sizes.__getitem__) if sizes else 0.0


def monospaced(span: Span) -> bool:
    """Set in a fixed-pitch font (MuPDF's flag, or a typewriter font's name)."""
    return bool(span.flags & 8) or bool(_MONO_FONT.search(span.font))


def _runs(group: Sequence[_Line]) -> Iterator[tuple[bool, list[_Line]]]:
    """A MuPDF block cut into code and text: lines wholly monospaced are code when two or
    more follow each other, when they are the whole block, or when one is indented past the
    block's text (an example line between two sentences)."""
    left = min(s.bbox[0] for _, _, spans in group for s in spans)
    for mono, grouped in itertools.groupby(group, key=_mono_line):
        run = list(grouped)
        if mono:
            spans = run[0][2]
            size = max(s.size for s in spans)
            indented = min(s.bbox[0] for s in spans) >= left + size
            mono = len(run) >= 2 or len(run) == len(group) or indented
        yield mono, run


def _near(above: _Line, below: _Line) -> bool:
    """Whether ``below`` is the next line after ``above`` (less than two lines apart)."""
    size = max(s.size for s in above[2])
    return 0 <= below[2][0].origin[1] - above[2][0].origin[1] < 2.5 * size


def _mono_line(line: _Line) -> bool:
    spans = [s for s in line[2] if s.text.strip()]
    return bool(spans) and all(monospaced(s) for s in spans)


def _code(run: Sequence[_Line]) -> Code:
    """Monospaced lines as one code block, their indentation kept from their positions."""
    spans = [s for _, _, line_spans in run for s in line_spans if s.text.strip()]
    widths = [(s.bbox[2] - s.bbox[0]) / len(s.text) for s in spans if s.text]
    char = sorted(widths)[len(widths) // 2] if widths else 1.0
    left = min(s.bbox[0] for s in spans)
    lines = []
    for _, _, line_spans in run:
        start = min(s.bbox[0] for s in line_spans if s.text.strip())
        indent = round((start - left) / char) if char > 0 else 0
        lines.append(" " * max(0, min(indent, 40)) + "".join(s.text for s in line_spans).strip())
    return Code("\n".join(lines), "")


@dataclass
class _TitlePage:
    """On the first page, the lines between its title and its first paragraph that are not
    bold (authors, affiliations, dates) are no headings."""

    first: bool
    titled: bool = False
    body: bool = False

    def byline(self, bold: bool) -> bool:
        return self.first and self.titled and not self.body and not bold


def _text_blocks(
    group: Sequence[_Line], levels: HeadingLevels, page: int, title_page: _TitlePage
) -> Iterator[Block]:
    texts = [text for _, text, _ in group]
    joined = _join(texts)
    group_spans = [s for _, _, spans in group for s in spans if s.text.strip()]
    size = body_size(group_spans)  # the size of most characters: a drop cap is not a heading
    bold = all(s.bold for s in group_spans)
    short = len(group) <= 3 and len(joined) <= HEADING_CHARS and not _contents_line(group)
    large = size >= levels.body * HEADING_RATIO
    # A bold line of body size ending like a sentence is a run-in heading's paragraph.
    candidate = large or (bold and len(joined) <= 120 and not joined.endswith((".", ":", ",")))
    level = None
    if short and candidate and not _marker(joined):
        level = levels.level(joined, size, bold, page)
    if level is not None and title_page.byline(bold):
        level = None
    if level is not None:
        title_page.titled = title_page.titled or level == 1
        yield Heading(level, (Text(joined),))
        return
    if size and levels.body and abs(size - levels.body) < 1:
        title_page.body = True
    if sum(_contents_line([line]) for line in group) * 2 >= len(group) > 1:
        yield from _contents_entries(group)
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


def _contents_line(group: Sequence[_Line]) -> bool:
    """A table of contents' or an index's entry: it ends in a page number set apart from the
    rest, by leaders or by a gap of more than two characters on the same baseline."""
    if _LEADER_REF.search(" ".join(text for _, text, _ in group)):
        return True
    words = [s for _, _, spans in group for s in spans if s.text.strip()]
    for before, number in itertools.pairwise(words):
        if not _PAGE_REF.fullmatch(number.text.strip()):
            continue
        same_row = abs(number.origin[1] - before.origin[1]) < number.size / 2
        if same_row and number.bbox[0] - before.bbox[2] > 2 * number.size:
            return True
    return False


def _contents_entries(group: Sequence[_Line]) -> Iterator[Block]:
    """A block of contents or index lines: one list item for each entry (an entry ends with
    its page number; a line before that wraps its title)."""
    pending: list[str] = []
    for line in group:
        pending.append(line[1])
        if _contents_line([line]):
            yield ListItem((Text(_join(pending)),))
            pending = []
    if pending:
        yield ListItem((Text(_join(pending)),))


def _run_on(blocks: Sequence[Block]) -> Iterator[Block]:
    """Join a paragraph to the block before it where a sentence runs on across MuPDF's
    blocks (a column's foot, a change of line spacing): the first ends in a lower-case
    letter, a comma or a hyphen, and the second starts in lower case."""
    previous: Block | None = None
    for block in blocks:
        if (
            isinstance(block, Paragraph)
            and isinstance(previous, Paragraph | ListItem)
            and _runs_on(previous.text, block.text)
        ):
            previous = replace(previous, content=(Text(_join([previous.text, block.text])),))
            continue
        if previous is not None:
            yield previous
        previous = block
    if previous is not None:
        yield previous


def _runs_on(before: str, after: str) -> bool:
    if not before or not after or not after[0].islower():
        return False
    return before[-1].islower() or before[-1] in ",-\u2010"


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
