"""The text route's table finder on small PDFs drawn here: tables ruled in every way LaTeX and
word processors rule them, and ruled drawings that are no tables."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import pymupdf

from got_loaders.sources.text_tables import FoundTable, find_tables

COLUMNS = (72.0, 200.0, 330.0)
"""Where each column's text starts."""
RIGHT = 460.0
"""Where the tables' rules end."""
PITCH = 14.0
"""Points from one row's baseline to the next (LaTeX's 12 pt leading, a little more)."""

ROWS = [
    ["Model", "Pages/s", "Errors"],
    ["GOT", "12.5", "3"],
    ["Text", "450", "0"],
    ["Auto", "88", "1"],
    ["Mixed", "140", "2"],
    ["Scanned", "9.5", "4"],
]


def tables_of(draw: Any) -> list[FoundTable]:
    pdf = pymupdf.open()
    page = pdf.new_page(width=612, height=792)
    draw(page)
    return find_tables(pdf.load_page(0))


def write_rows(page: Any, top: float, rows: Sequence[Sequence[str]]) -> list[float]:
    """The rows' text, a row every ``PITCH`` points below ``top``; returns the baselines."""
    baselines = [top + 12 + PITCH * index for index in range(len(rows))]
    for baseline, row in zip(baselines, rows, strict=True):
        for x, cell in zip(COLUMNS, row, strict=True):
            page.insert_text((x + 4, baseline), cell, fontsize=10)
    return baselines


def rule(page: Any, y: float, width: float = 0.4) -> None:
    page.draw_line((COLUMNS[0], y), (RIGHT, y), width=width)


def booktabs(page: Any) -> None:
    """A heading, a paragraph, then a table of 6 rows under three rules: above the header,
    below it and below the last row (\\toprule, \\midrule, \\bottomrule), no vertical ones."""
    page.insert_text((72, 72), "Results", fontsize=16, fontname="hebo")
    page.insert_text((72, 100), "The table below compares the three routes.", fontsize=10)
    top = 130.0
    baselines = write_rows(page, top, ROWS)
    rule(page, top, width=0.8)
    rule(page, baselines[0] + 4)
    rule(page, baselines[-1] + 4, width=0.8)
    page.insert_text((72, baselines[-1] + 40), "A sentence follows the table.", fontsize=10)


def test_a_booktabs_table_keeps_a_row_for_each_line_of_text() -> None:
    [table] = tables_of(booktabs)
    assert table.rows == ROWS
    x0, y0, x1, y1 = table.bbox
    assert (x0, x1) == (COLUMNS[0], RIGHT)
    assert 125 < y0 < 135 < 200 < y1 < 220


def test_a_table_ruled_every_few_rows_keeps_all_its_rows() -> None:
    def grouped(page: Any) -> None:
        baselines = write_rows(page, 100, ROWS)
        for y in (100, baselines[0] + 4, baselines[3] + 4, baselines[-1] + 4):
            rule(page, y)
        for x in (*COLUMNS, RIGHT):
            page.draw_line((x - 2, 100), (x - 2, baselines[-1] + 4), width=0.4)

    [table] = tables_of(grouped)
    assert table.rows == ROWS


def test_a_fully_ruled_grid_makes_a_row_of_each_cell_even_when_one_wraps() -> None:
    def grid(page: Any) -> None:
        lines = [  # (baseline, cells); the second row's note wraps onto a second line
            (112.0, ["Model", "Notes", "Errors"]),
            (130.0, ["GOT", "reads", "3"]),
            (142.0, ["", "every page", ""]),
            (160.0, ["Text", "fast", "0"]),
        ]
        for baseline, cells in lines:
            for x, cell in zip(COLUMNS, cells, strict=True):
                page.insert_text((x + 4, baseline), cell, fontsize=10)
        for y in (100, 116, 146, 164):
            rule(page, y)
        for x in (*COLUMNS, RIGHT):
            page.draw_line((x - 2, 100), (x - 2, 164), width=0.4)

    [table] = tables_of(grid)
    assert table.rows == [
        ["Model", "Notes", "Errors"],
        ["GOT", "reads every page", "3"],
        ["Text", "fast", "0"],
    ]


def test_a_rule_drawn_a_cell_at_a_time_bounds_the_table_as_one() -> None:
    def pieces(page: Any) -> None:
        baselines = write_rows(page, 100, ROWS[:3])
        for y in (100, baselines[0] + 4, baselines[-1] + 4):
            for x0, x1 in zip((*COLUMNS, RIGHT), (*COLUMNS, RIGHT)[1:], strict=False):
                page.draw_line((x0, y), (x1, y), width=0.4)

    [table] = tables_of(pieces)
    assert table.rows == ROWS[:3]


PROSE = (
    "Retrieval systems split long documents into passages before they embed them, and "
    "the quality of those passages decides what a question can find later on. This "
    "paragraph is plain prose in a frame, the kind of box a manual puts around a note."
)


def test_a_framed_paragraph_is_no_table_even_with_a_label_beside_it() -> None:
    """A manual's note: "Note" in a column of its own, then a paragraph of several lines."""

    def framed(page: Any) -> None:
        page.draw_rect(pymupdf.Rect(66, 90, 470, 160), width=0.4)
        page.insert_text((72, 106), "Note", fontsize=10, fontname="hebo")
        page.insert_textbox(pymupdf.Rect(130, 96, 464, 156), PROSE, fontsize=10)

    assert tables_of(framed) == []


def test_framed_code_in_aligned_columns_is_no_table() -> None:
    def code(page: Any) -> None:
        lines = ["x      <- c(1, 2, 3)", "y      <- x * 2", "fit    <- lm(y ~ x)"]
        lines += ["plot   (x, y)", "coef   (fit)"]
        page.draw_rect(pymupdf.Rect(66, 90, 470, 100 + PITCH * len(lines)), width=0.4)
        for index, line in enumerate(lines):
            page.insert_text((72, 104 + PITCH * index), line, fontsize=10, fontname="cour")

    assert tables_of(code) == []


def test_a_circuit_diagram_is_no_table() -> None:
    """Its parts' labels stand in two columns, row under row like a table's cells; its
    resistors are zigzags (slanted lines) inside a frame."""

    def circuit(page: Any) -> None:
        page.draw_rect(pymupdf.Rect(66, 90, 470, 190), width=0.6)
        for row, (left, right) in enumerate([("R1 10k", "C1 100n"), ("R2 4k7", "C2 10u")]):
            y = 110 + 40 * row
            page.insert_text((80, y), left, fontsize=10)
            page.insert_text((300, y), right, fontsize=10)
            points = [(140 + 6 * step, y - 4 + (8 if step % 2 else 0)) for step in range(8)]
            for start, end in itertools.pairwise(points):
                page.draw_line(start, end)
            page.draw_line((90, y + 10), (440, y + 10))

    assert tables_of(circuit) == []


def test_a_framed_figure_with_labels_far_apart_is_no_table() -> None:
    """Boxes joined by straight wires, a label in each: the labels fill a small part of the
    frame's height."""

    def figure(page: Any) -> None:
        page.draw_rect(pymupdf.Rect(66, 90, 470, 400), width=0.6)
        for y, labels in [(100, ("Source", "Filter")), (300, ("Amplifier", "Output"))]:
            for x, label in zip((80, 280), labels, strict=True):
                page.draw_rect(pymupdf.Rect(x - 6, y, x + 114, y + 40), width=0.6)
                page.insert_text((x, y + 24), label, fontsize=10)
            page.draw_line((194, y + 20), (274, y + 20))
        page.draw_line((134, 140), (134, 300))

    assert tables_of(figure) == []


def test_a_page_without_rules_has_no_tables() -> None:
    def plain(page: Any) -> None:
        write_rows(page, 100, ROWS)

    assert tables_of(plain) == []
