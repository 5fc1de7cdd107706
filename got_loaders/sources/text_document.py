"""What the text route learns from a whole PDF rather than one page.

A page alone cannot tell a section from a subsection (both are "larger than the body"), nor a
running header from a heading. This reads the document once, lazily, on its first text-route
page: the outline (``get_toc``, when the PDF has one), and the font sizes of short blocks on a
fixed sample of pages, ranked into heading levels. Running headers and footers are lines at the
top or bottom of a page that recur, digits aside, at the same edge of a page up to two pages
away (odd and even pages may carry different ones).

Each page's spans are extracted once: pages read for the sample or as a neighbour are kept in a
small cache until their own turn comes. Everything here runs under the source's PyMuPDF lock,
and every answer depends on the document only, never on which pages were read before (results
are cached per page).
"""

from __future__ import annotations

import re
from collections import Counter, OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .text_layer import (
    HEADING_CHARS,
    HEADING_RATIO,
    HeadingLevels,
    Span,
    body_size,
    number_lines,
    outer_blocks,
    page_spans,
    shown_rows,
    title_key,
)

SAMPLE_PAGES = 12
"""Pages whose block sizes rank the headings: the first three, the rest spread evenly."""
CACHED_PAGES = 32
EDGE_SHARE = 0.12
"""Running headers and footers are looked for in this share of the page at its top and
bottom (a LaTeX page number on US Letter sits at about 0.88 of the height: the outermost
block counts up to ``OUTER_SHARE``)."""
OUTER_SHARE = 0.2
NEIGHBOURS = (-2, -1, 1, 2)

_DIGITS = re.compile(r"\d+")
_ROMAN = re.compile(r"\b[ivxlc]{1,7}\b")
_SPACE = re.compile(r"\s+")


def edge_key(text: str) -> str:
    """A line as compared across pages: case, spacing and numbers (arabic or roman) aside."""
    lowered = _SPACE.sub(" ", text.lower()).strip()
    return _ROMAN.sub("#", _DIGITS.sub("#", lowered))


@dataclass
class DocumentText:
    """The document-wide view of one open PDF, for ``text_layer.read_page``."""

    pdf: Any
    _spans: OrderedDict[int, list[Span]] = field(default_factory=OrderedDict)
    _edges_of: dict[int, tuple[dict[int, str], dict[int, int]]] = field(default_factory=dict)
    _levels: HeadingLevels | None = None
    _sampled: dict[int, list[Span]] = field(default_factory=dict)

    def spans(self, index: int, pdf_page: Any = None) -> list[Span]:
        """Page ``index``'s spans, extracted once while they stay in the cache (the sample's
        pages stay until their own turn)."""
        sampled = self._sampled.pop(index, None)
        if sampled is not None:
            return sampled
        cached = self._spans.get(index)
        if cached is None:
            cached = page_spans(self.pdf.load_page(index) if pdf_page is None else pdf_page)
            self._spans[index] = cached
            while len(self._spans) > CACHED_PAGES:
                self._spans.popitem(last=False)
        self._spans.move_to_end(index)
        return cached

    def edges(self, index: int, pdf_page: Any = None) -> dict[int, str]:
        """Page ``index``'s blocks at its top or bottom edge: block number -> "top:key" or
        "bottom:key"."""
        return self._edge_info(index, pdf_page)[0]

    def edge_numbers(self, index: int, pdf_page: Any = None) -> dict[int, int]:
        """Page ``index``'s number-only lines in its outermost blocks: line -> value."""
        return self._edge_info(index, pdf_page)[1]

    def _edge_info(self, index: int, pdf_page: Any) -> tuple[dict[int, str], dict[int, int]]:
        found = self._edges_of.get(index)
        if found is None:
            page = self.pdf.load_page(index) if pdf_page is None else pdf_page
            spans = self.spans(index, page)
            shown, rotation = page.rect, page.rotation_matrix
            rows = shown_rows(spans, rotation)
            found = (
                edge_blocks(spans, shown, rotation, rows),
                number_lines(spans, shown, rotation, rows),
            )
            self._edges_of[index] = found
        return found

    def running(self, index: int, pdf_page: Any) -> frozenset[int]:
        """The blocks of page ``index`` that repeat at the same edge of a nearby page."""
        own = self.edges(index, pdf_page)
        if not own:
            return frozenset()
        nearby: set[str] = set()
        for step in NEIGHBOURS:
            other = index + step
            if 0 <= other < self.pdf.page_count:
                try:
                    nearby.update(self.edges(other).values())
                except Exception:  # a broken neighbour only has no headers to offer
                    self._edges_of[other] = ({}, {})
        return frozenset(block for block, key in own.items() if key in nearby)

    def numbers(self, index: int, pdf_page: Any) -> frozenset[int]:
        """The lines of page ``index`` that print its page number inside a header or footer:
        the number is its label, or it steps with the pages around (a section's number in
        the same header stays the same, and stays)."""
        own = self.edge_numbers(index, pdf_page)
        if not own:
            return frozenset()
        label = str(pdf_page.get_label() or "").strip().lower()
        stepped: set[int] = set()
        for step in NEIGHBOURS:
            other = index + step
            if 0 <= other < self.pdf.page_count:
                try:
                    stepped.update(value - step for value in self.edge_numbers(other).values())
                except Exception:  # a broken neighbour has no numbers to offer
                    self._edges_of[other] = ({}, {})
        return frozenset(
            line for line, value in own.items() if value in stepped or str(value) == label
        )

    def levels(self) -> HeadingLevels:
        """The document's heading scheme, read once."""
        if self._levels is None:
            self._levels = self._read_levels()
        return self._levels

    def _read_levels(self) -> HeadingLevels:
        total = self.pdf.page_count
        outline: dict[int, dict[str, int]] = {}
        try:
            toc = self.pdf.get_toc(simple=True)
        except Exception:
            toc = []
        for level, title, page in toc:
            key = title_key(str(title))
            if key and 1 <= int(page) <= total:
                outline.setdefault(int(page) - 1, {}).setdefault(key, min(int(level), 6))
        sample = sample_pages(total)
        spans_by_page: dict[int, list[Span]] = {}
        for index in sample:
            try:
                spans_by_page[index] = self.spans(index)
            except Exception:
                continue
            self._sampled[index] = spans_by_page[index]
        return rank_headings(spans_by_page, outline)


def sample_pages(total: int) -> list[int]:
    """The first three pages, then pages spread evenly: ``SAMPLE_PAGES`` at most."""
    if total <= SAMPLE_PAGES:
        return list(range(total))
    rest = SAMPLE_PAGES - 3
    step = (total - 3) / rest
    return [0, 1, 2, *sorted({3 + int(i * step) for i in range(rest)})]


def edge_blocks(
    spans: Sequence[Span],
    shown: Any,
    rotation: Any,
    rows: dict[int, tuple[float, float]] | None = None,
) -> dict[int, str]:
    """Blocks lying wholly in the top or bottom ``EDGE_SHARE`` of the page as shown, and the
    outermost block at each edge within ``OUTER_SHARE``, set no larger than the page's body
    text: block -> "top:key"/"bottom:key"."""
    rows = shown_rows(spans, rotation) if rows is None else rows
    if not rows:
        return {}
    height = float(shown.height)
    top, bottom = float(shown.y0), float(shown.y1)
    first, last = outer_blocks(rows)
    edges: dict[int, str] = {}
    for block, (y0, y1) in rows.items():
        if y1 <= top + EDGE_SHARE * height or (block == first and y1 <= top + OUTER_SHARE * height):
            edges[block] = "top:"
        elif y0 >= bottom - EDGE_SHARE * height or (
            block == last and y0 >= bottom - OUTER_SHARE * height
        ):
            edges[block] = "bottom:"
    if not edges:
        return {}
    members: dict[int, list[Span]] = {block: [] for block in edges}
    for span in spans:
        if span.block in members:
            members[span.block].append(span)
    body = body_size(spans)
    found: dict[int, str] = {}
    for block, edge in edges.items():
        key = edge_key("".join(span.text for span in members[block]))
        # Headers and footers are set small: a large line is a heading.
        if key and body_size(members[block]) <= body * HEADING_RATIO:
            found[block] = edge + key
    return found


def rank_headings(
    spans_by_page: dict[int, list[Span]], outline: dict[int, dict[str, int]]
) -> HeadingLevels:
    """Heading levels from the sample: the sizes of short blocks above the body size, largest
    first; the outline's level for a size where outline titles were found in that size; sizes
    seen only on the first page below its largest are its author and date lines."""
    all_spans = [span for spans in spans_by_page.values() for span in spans]
    body = body_size(all_spans)
    if not body:
        return HeadingLevels(outline=outline)
    pages_of: dict[float, set[int]] = {}
    outline_levels: dict[float, Counter[int]] = {}
    for index, spans in spans_by_page.items():
        for size, text in _short_blocks(spans):
            if size < body * HEADING_RATIO:
                continue
            pages_of.setdefault(size, set()).add(index)
            level = outline.get(index, {}).get(title_key(text))
            if level is not None:
                outline_levels.setdefault(size, Counter())[level] += 1
    sizes = sorted(pages_of, reverse=True)
    first_page_only: frozenset[float] = frozenset()
    if len(spans_by_page) >= 3 and sizes:
        on_first = [size for size in sizes if pages_of[size] == {0}]
        if on_first and on_first[0] == sizes[0]:
            on_first = on_first[1:]  # the title keeps its heading
        first_page_only = frozenset(on_first)
    return HeadingLevels(
        body=body,
        sizes=tuple(size for size in sizes if size not in first_page_only),
        by_outline={size: count.most_common(1)[0][0] for size, count in outline_levels.items()},
        first_page_only=first_page_only,
        outline=outline,
    )


def _short_blocks(spans: Iterable[Span]) -> list[tuple[float, str]]:
    """(size, text) of each block of at most three lines and ``HEADING_CHARS`` characters."""
    blocks: dict[int, list[Span]] = {}
    for span in spans:
        blocks.setdefault(span.block, []).append(span)
    found = []
    for members in blocks.values():
        text = " ".join("".join(s.text for s in members).split())
        if not text or len(text) > HEADING_CHARS or len({s.line for s in members}) > 3:
            continue
        found.append((body_size(members), text))
    return found
