"""A PDF page's ruled tables, for the text route (see ``text_layer``)."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any


def _box(values: Any) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = (float(value) for value in values)
    return x0, y0, x1, y1


@dataclass(frozen=True)
class FoundTable:
    bbox: tuple[float, float, float, float]
    rows: list[list[str]]


def find_tables(pdf_page: Any) -> list[FoundTable]:
    """The page's ruled tables of at least 2 x 2 cells, by PyMuPDF's line-based finder.

    PyMuPDF 2 gates that finder by its layout model (about a second a page on a CPU) unless
    told not to; older versions have no layout model and no such argument. Each cell's text is
    read with a clip to the cell: ``Table.extract()`` can put a number's characters out of
    order ("125\n." for "12.5").
    """
    area = _ruled_area(pdf_page)
    if area is None:
        return []
    import pymupdf
    from pymupdf import table  # Page.find_tables passes its keywords on to this

    # The finder works in the page's rotated (as shown) coordinates, the text and drawings in
    # its unrotated ones.
    shown, unshown = pdf_page.rotation_matrix, pdf_page.derotation_matrix
    signature = inspect.signature(table.find_tables)
    options: dict[str, Any] = {"clip": pymupdf.Rect(area) * shown}
    if "use_layout" in signature.parameters:
        options["use_layout"] = False
    found = pdf_page.find_tables(**options)

    def text(cell: Any) -> str:
        if not cell:
            return ""
        return " ".join(pdf_page.get_text("text", clip=pymupdf.Rect(cell) * unshown).split())

    return [
        FoundTable(
            _box(pymupdf.Rect(t.bbox) * unshown),
            [[text(cell) for cell in row.cells] for row in t.rows],
        )
        for t in found.tables
        if t.row_count >= 2 and t.col_count >= 2
    ]


def _ruled_area(pdf_page: Any) -> tuple[float, float, float, float] | None:
    """Where the page's horizontal and vertical edges (lines, rectangles) lie, if it draws at
    least two of each: the least a ruled table needs; None otherwise.

    The table finder reads every character it may look at in Python (about 200 ms on a page
    dense with text, even with no table on it), so it is run only on such pages, clipped to
    that area; this look costs a few milliseconds.
    """
    across = down = 0
    box = [float("inf"), float("inf"), float("-inf"), float("-inf")]
    for path in pdf_page.get_cdrawings():
        for item in path.get("items", ()):
            if item[0] == "re":
                x0, y0, x1, y1 = item[1]
                across, down = across + 2, down + 2
            elif item[0] == "l":
                (x0, y0), (x1, y1) = item[1], item[2]
                flat, upright = abs(y1 - y0) < 1 <= abs(x1 - x0), abs(x1 - x0) < 1 <= abs(y1 - y0)
                if not (flat or upright):
                    continue
                across, down = across + flat, down + upright
            else:
                continue
            box = [
                min(box[0], x0, x1),
                min(box[1], y0, y1),
                max(box[2], x0, x1),
                max(box[3], y0, y1),
            ]
    if across < 2 or down < 2:
        return None
    margin = 2.0
    return box[0] - margin, box[1] - margin, box[2] + margin, box[3] + margin
