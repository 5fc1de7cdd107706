"""A PDF page's ruled tables, for the text route (see ``text_layer``).

A table here is text between horizontal rules of one width (a rule drawn a cell at a time
counts as one): a fully ruled grid, a booktabs table (\\toprule, \\midrule, \\bottomrule and
no vertical lines), or a table ruled every few rows. Its rows come from the rules where they
mark every row (see ``_rows``), else from its lines of text; its columns from the vertical
rules and from the gaps that run down through its lines between the words. What is found is
kept only if it reads as a table (``_reads_as_table``, ``_drawn``, ``_monospaced``), so that
drawings, plots and framed paragraphs or code are left to the text blocks.

PyMuPDF's own finder (``Page.find_tables``) was measured and left aside: its line strategy
joins all text between two rules into one row (11 rows became 2 under group rules, booktabs
tables were not found at all), its text strategy cuts words in two and adds empty rows, and a
page of large tables took it 1-3 s.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

_Box = tuple[float, float, float, float]

RULE_MIN = 15.0
"""The shortest horizontal rule, in points, that can bound a table."""
SAME_EDGE = 3.0
"""How far apart, in points, the ends of two rules of one table may lie."""
GUTTER = 0.5
"""The narrowest gap between two columns, as a share of the text's line height (a word
space is about a quarter; LaTeX puts 12 pt between the columns of 10 pt text)."""
CROSSING_SHARE = 0.25
"""The share of rows whose text may run across a column gap (a cell spanning columns)."""
MONOSPACED = 8
"""MuPDF's span flag for a monospaced font."""
MONOSPACED_SHARE = 0.95
"""The share of a box's characters in monospaced fonts that makes it code, not a table."""
DRAWN_STROKES = 3
"""The curves and slanted lines that make a ruled box a drawing, not a table."""
SHORT_WORDS = 8
"""A table's cells are short: at most this many words a line in most of them."""


@dataclass(frozen=True)
class FoundTable:
    """One table: where it stands on the page (unrotated coordinates, like the text) and
    its cells' text, row by row, every row as long as the widest."""

    bbox: _Box
    rows: list[list[str]]


@dataclass(frozen=True)
class _Word:
    x0: float
    y0: float
    x1: float
    y1: float
    text: str

    @property
    def centre(self) -> tuple[float, float]:
        return (self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2


@dataclass(frozen=True)
class _Rules:
    across: list[tuple[float, float, float]]
    """Horizontal rules: (x0, x1, y)."""
    down: list[tuple[float, float, float]]
    """Vertical rules: (x, y0, y1)."""
    strokes: list[tuple[float, float]]
    """The middles of curves and slanted lines: a drawing's, never a table's."""


def find_tables(pdf_page: Any) -> list[FoundTable]:
    """The page's tables of at least 2 x 2 cells that stand between horizontal rules.

    Pages without two horizontal rules of one width cost only a look at their drawings (a
    few milliseconds); the others, one extraction of their words.
    """
    rules = _rules(pdf_page)
    areas = _ruled_areas(rules)
    if not areas:
        return []
    words = [
        _Word(float(w[0]), float(w[1]), float(w[2]), float(w[3]), str(w[4]))
        for w in pdf_page.get_text("words")
        if str(w[4]).strip()
    ]
    found: list[FoundTable] = []
    candidates = (
        t for x0, x1, tops in areas for t in _tables_between(pdf_page, x0, x1, tops, words, rules)
    )
    for table in sorted(candidates, key=lambda t: -_area(t.bbox)):
        # Rules of two widths in one table (a frame and the rules inside it) find it twice.
        if all(_overlap(table.bbox, kept.bbox) < 0.5 * _area(table.bbox) for kept in found):
            found.append(table)
    return sorted(found, key=lambda t: (t.bbox[1], t.bbox[0]))


def _area(box: _Box) -> float:
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def _overlap(a: _Box, b: _Box) -> float:
    return _area((max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])))


def _rules(pdf_page: Any) -> _Rules:
    """The page's horizontal and vertical strokes: lines, thin rectangles (TeX draws its
    rules as filled ones) and the sides of other rectangles."""
    across: list[tuple[float, float, float]] = []
    down: list[tuple[float, float, float]] = []
    strokes: list[tuple[float, float]] = []
    for path in pdf_page.get_cdrawings():
        for item in path.get("items", ()):
            if item[0] == "l":
                (x0, y0), (x1, y1) = item[1], item[2]
                if abs(y1 - y0) < 1 <= abs(x1 - x0):
                    across.append((min(x0, x1), max(x0, x1), (y0 + y1) / 2))
                elif abs(x1 - x0) < 1 <= abs(y1 - y0):
                    down.append(((x0 + x1) / 2, min(y0, y1), max(y0, y1)))
                elif abs(x1 - x0) >= 1 and abs(y1 - y0) >= 1:
                    strokes.append(((x0 + x1) / 2, (y0 + y1) / 2))
            elif item[0] == "c":
                points = item[1:]
                strokes.append(
                    (
                        sum(p[0] for p in points) / len(points),
                        sum(p[1] for p in points) / len(points),
                    )
                )
            elif item[0] == "re":
                x0, y0, x1, y1 = (float(v) for v in item[1])
                x0, x1, y0, y1 = min(x0, x1), max(x0, x1), min(y0, y1), max(y0, y1)
                if y1 - y0 <= 2:
                    across.append((x0, x1, (y0 + y1) / 2))
                elif x1 - x0 <= 2:
                    down.append(((x0 + x1) / 2, y0, y1))
                else:
                    across += [(x0, x1, y0), (x0, x1, y1)]
                    down += [(x0, y0, y1), (x1, y0, y1)]
    return _Rules(across, down, strokes)


def _ruled_areas(rules: _Rules) -> list[tuple[float, float, list[float]]]:
    """Horizontal rules grouped by their ends: (x0, x1, the rules' heights, top down) for
    each group of two or more, the only places a table is looked for."""
    groups: list[tuple[float, float, list[float]]] = []
    for x0, x1, y in _joined(rules.across):
        if x1 - x0 < RULE_MIN:
            continue
        for gx0, gx1, ys in groups:
            if abs(gx0 - x0) <= SAME_EDGE and abs(gx1 - x1) <= SAME_EDGE:
                if y - ys[-1] > 1:  # a rule drawn twice, or both sides of a thin box
                    ys.append(y)
                break
        else:
            groups.append((x0, x1, [y]))
    return [group for group in groups if len(group[2]) >= 2]


def _joined(across: Sequence[tuple[float, float, float]]) -> list[tuple[float, float, float]]:
    """Horizontal rules with the pieces of one rule joined (a rule drawn a cell at a time,
    as \\hhline and many word processors draw them), top down."""
    joined: list[tuple[float, float, float]] = []
    for x0, x1, y in sorted(across, key=lambda rule: (round(rule[2] * 2), rule[0])):
        if joined and abs(joined[-1][2] - y) <= 0.5 and x0 <= joined[-1][1] + 1:
            joined[-1] = (joined[-1][0], max(joined[-1][1], x1), joined[-1][2])
        else:
            joined.append((x0, x1, y))
    return sorted(joined, key=lambda rule: rule[2])


def _tables_between(
    pdf_page: Any,
    x0: float,
    x1: float,
    tops: Sequence[float],
    words: Sequence[_Word],
    rules: _Rules,
) -> Iterator[FoundTable]:
    """The tables in the bands between consecutive rules of one width: runs of bands whose
    text is set in columns, each read as one table. Bands without text or with a single line
    (a title spanning the columns) join their neighbours; a band of prose (the page between a
    running header's rule and a table's) ends a run."""
    margin = 2.0
    inside = [w for w in words if x0 - margin <= w.centre[0] <= x1 + margin]
    bands = [
        _text_rows([w for w in inside if top < w.centre[1] < bottom])
        for top, bottom in itertools.pairwise(tops)
    ]
    run: list[int] = []
    columned = False
    for index, band in enumerate([*bands, None]):
        if band is not None:
            box = (x0, tops[index], x1, tops[index + 1])
            wide = bool(band) and _width(_grid([band], _separators(rules, box))) >= 2
            if wide or len(band) <= 1:
                run.append(index)
                columned = columned or wide
                continue
        while run and not bands[run[-1]]:
            run.pop()
        while run and not bands[run[0]]:
            run.pop(0)
        if run and columned:
            box = (x0, tops[run[0]], x1, tops[run[-1] + 1])
            rows = _rows([bands[i] for i in run], box, rules)
            grid = _grid(rows, _separators(rules, box))
            if (
                _reads_as_table(grid, rows, box)
                and not _drawn(rules, box)
                and not _monospaced(pdf_page, box)
            ):
                yield FoundTable(box, grid)
        run, columned = [], False


def _width(grid: Sequence[Sequence[str]]) -> int:
    return len(grid[0]) if grid else 0


def _separators(rules: _Rules, box: _Box) -> list[float]:
    """The vertical rules that run down through at least half of ``box``'s height (TeX
    draws a column's rule in one piece a row), by their x."""
    x0, top, x1, bottom = box
    covered: dict[float, float] = {}
    for x, y0, y1 in rules.down:
        if x0 - 2 < x < x1 + 2 and y1 > top and y0 < bottom:
            key = next((k for k in covered if abs(k - x) <= 1), x)
            covered[key] = covered.get(key, 0.0) + min(y1, bottom) - max(y0, top)
    return sorted(x for x, length in covered.items() if length >= 0.5 * (bottom - top))


def _rows(
    bands: Sequence[Sequence[Sequence[_Word]]], box: _Box, rules: _Rules
) -> list[list[Sequence[_Word]]]:
    """The table's rows, each as its lines of text.

    TeX draws a vertical rule in one piece a row, however many lines a cell wraps onto:
    where such pieces end inside the table, they mark its rows. Without them, horizontal
    rules between nearly every two lines (more than half of the bands hold a single line)
    make a row of each band, its cells possibly wrapped; rules between groups of rows
    (booktabs, or a rule every few rows) leave each line a row."""
    x0, top, x1, bottom = box
    ends = sorted(
        y
        for x, y0, y1 in rules.down
        if x0 - 2 < x < x1 + 2
        for y in (y0, y1)
        if top + 1 < y < bottom - 1
    )
    lines = [line for band in bands for line in band]
    if ends:
        cuts = [top, *ends, bottom]
        pieces = [
            [line for line in lines if a < _middle(line) < b]
            for a, b in itertools.pairwise(cuts)
            if b - a > 1
        ]
        return [piece for piece in pieces if piece]
    if sum(len(band) == 1 for band in bands if band) * 2 > sum(1 for band in bands if band):
        return [list(band) for band in bands if band]
    return [[line] for line in lines]


def _middle(line: Sequence[_Word]) -> float:
    return statistics.median(w.centre[1] for w in line)


def _text_rows(words: Sequence[_Word]) -> list[list[_Word]]:
    """Words grouped into the lines of text they stand on, top down: a word joins the line
    above when it overlaps it by half its height (a subscript does; the next line does not)."""
    rows: list[list[_Word]] = []
    span = (0.0, 0.0)
    for word in sorted(words, key=lambda w: w.centre[1]):
        overlap = min(span[1], word.y1) - max(span[0], word.y0)
        if rows and overlap >= 0.5 * min(word.y1 - word.y0, span[1] - span[0]):
            rows[-1].append(word)
            span = (min(span[0], word.y0), max(span[1], word.y1))
        else:
            rows.append([word])
            span = (word.y0, word.y1)
    return [sorted(row, key=lambda w: w.x0) for row in rows]


def _grid(
    rows: Sequence[Sequence[Sequence[_Word]]], separators: Sequence[float]
) -> list[list[str]]:
    """The rows (each its lines of text) as cells, without empty rows or columns.

    A gap that some rows cross (a cell spanning columns) parts two columns only when both
    hold text in at least half of the rows."""
    lines = [line for row in rows for line in row]
    cuts = _columns(lines, separators)
    while True:
        grid = [_cells([w for line in row for w in line], [x for x, _ in cuts]) for row in rows]
        weak = [
            index
            for index, (_, strict) in enumerate(cuts)
            if not strict
            and min(
                sum(bool(row[index]) for row in grid), sum(bool(row[index + 1]) for row in grid)
            )
            * 2
            < len(grid)
        ]
        if not weak:
            break
        del cuts[weak[0]]
    used = [i for i in range(len(cuts) + 1) if any(row[i] for row in grid)]
    return [[row[i] for i in used] for row in grid if any(row)]


def _columns(
    lines: Sequence[Sequence[_Word]], separators: Sequence[float]
) -> list[tuple[float, bool]]:
    """Where the columns meet, and whether no line crosses there: the separators (vertical
    rules) and the middles of the gaps, ``GUTTER`` line heights wide or more, that run down
    through all lines but a few (``CROSSING_SHARE``, when there are 5 or more)."""
    words = [w for line in lines for w in line]
    if not words:
        return []
    height = statistics.median(w.y1 - w.y0 for w in words)
    allowed = int(CROSSING_SHARE * len(lines)) if len(lines) >= 5 else 0
    edges = sorted({*(w.x0 for w in words), *(w.x1 for w in words)})
    cuts: list[tuple[float, bool]] = []
    gap: tuple[float, float, int] | None = None
    for a, b in itertools.pairwise(edges):
        middle = (a + b) / 2
        crossing = sum(any(w.x0 < middle < w.x1 for w in line) for line in lines)
        if crossing <= allowed:
            gap = (a, b, crossing) if gap is None else (gap[0], b, max(gap[2], crossing))
            continue
        if gap is not None and gap[1] - gap[0] >= GUTTER * height:
            cuts.append(((gap[0] + gap[1]) / 2, gap[2] == 0))
        gap = None
    merged: list[tuple[float, bool]] = []
    for x, strict in sorted([*cuts, *((x, True) for x in separators)]):
        if merged and x - merged[-1][0] < GUTTER * height:
            merged[-1] = (merged[-1][0], merged[-1][1] or strict)
            continue  # a gap that holds a rule, or a double rule
        merged.append((x, strict))
    return merged


def _cells(words: Sequence[_Word], cuts: Sequence[float]) -> list[str]:
    cells: list[list[str]] = [[] for _ in range(len(cuts) + 1)]
    for word in words:
        cells[sum(cut < word.centre[0] for cut in cuts)].append(word.text)
    return [" ".join(cell) for cell in cells]


def _reads_as_table(
    grid: Sequence[Sequence[str]], rows: Sequence[Sequence[Sequence[_Word]]], box: _Box
) -> bool:
    """Whether a grid is a table rather than a drawing, a framed paragraph or framed code.

    A table has at least 2 rows and 2 columns; text (more than dots) in more than half of
    its cells, and in two cells or more of more than half of its rows; at most
    ``SHORT_WORDS`` words a line in three cells out of four of those with text; lines of text
    that fill its height densely (``_dense``). (Nor may all its text be in monospaced
    fonts, ``_monospaced``: that is code or a file's listing, which ``text_layer`` keeps as
    code.)

    So a framed paragraph has a single column (no gap runs down through its lines); a
    drawing's or a plot's labels stand far apart and leave most cells empty or alone in
    their row; an index's underlined page numbers hold only dots and numbers beside empty
    cells.
    """
    if len(grid) < 2 or len(grid[0]) < 2:
        return False
    filled = [[bool(cell.strip(" .\u00b7\u2026")) for cell in row] for row in grid]
    cells = [
        cell
        for row, flags in zip(grid, filled, strict=True)
        for cell, full in zip(row, flags, strict=True)
        if full
    ]
    if len(cells) * 2 <= len(grid) * len(grid[0]):
        return False
    if sum(sum(row) >= 2 for row in filled) * 2 <= len(grid):
        return False
    short = sum(
        len(cell.split()) <= SHORT_WORDS * len(row)
        for cells_row, row in zip(grid, rows, strict=True)
        for cell in cells_row
        if cell.strip(" .\u00b7\u2026")
    )
    if short * 4 < len(cells) * 3:
        return False
    return _dense([line for row in rows for line in row], box)


def _dense(lines: Sequence[Sequence[_Word]], box: _Box) -> bool:
    """Whether the lines of text fill at least a quarter of the table's height, as a
    table's rows do; a drawing's labels stand far apart."""
    height = sum(max(w.y1 for w in line) - min(w.y0 for w in line) for line in lines)
    return height * 4 >= box[3] - box[1]


def _drawn(rules: _Rules, box: _Box) -> bool:
    """Whether ``box`` holds a drawing: curves or slanted lines (a plot, a diagram)."""
    x0, y0, x1, y1 = box
    return sum(x0 <= x <= x1 and y0 <= y <= y1 for x, y in rules.strokes) >= DRAWN_STROKES


def _monospaced(pdf_page: Any, box: _Box) -> bool:
    """Whether (nearly) all characters in ``box`` are set in monospaced fonts."""
    counts = [0, 0]
    for block in pdf_page.get_text("dict", clip=box)["blocks"]:
        for line in block.get("lines", ()):
            for span in line["spans"]:
                counts[bool(span["flags"] & MONOSPACED)] += len(span["text"].strip())
    return counts[1] >= MONOSPACED_SHARE * sum(counts) > 0
