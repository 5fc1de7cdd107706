"""The text route's structure on real-looking documents: heading levels from the whole
document (sizes ranked, the outline), running headers and page numbers across pages, code
listings, tables of contents, and paragraphs that run on across MuPDF's blocks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pymupdf

from got_loaders.pipeline import PagePipeline, PageResult
from got_loaders.sources.text_layer import Span, build_layer
from got_loaders.sources.text_tables import FoundTable
from got_model import FORMATTED
from got_model.markdown import Code, Heading, ListItem, Paragraph, Table
from tests.got_loaders.samples import FakeEngine

BODY = (
    "This sentence is body text of the kind a manual is made of, long enough to fill a line.",
    "It goes on for a second line so that the block reads as a paragraph of prose here.",
)


def lines(
    page: Any, y: float, texts: Sequence[str], *, size: float = 10, font: str = "helv"
) -> float:
    """Lines 1.3 sizes apart in one text block; returns the y below them."""
    writer = pymupdf.TextWriter(page.rect)
    for text in texts:
        writer.append((72, y), text, font=pymupdf.Font(font), fontsize=size)
        y += size * 1.3
    writer.write_text(page)
    return y + 2 * size


def read_text(data: bytes) -> list[PageResult]:
    return list(PagePipeline(FakeEngine(), FORMATTED, strategy="text").run([data]))


def blocks_of(result: PageResult) -> list[Any]:
    assert result.converted is not None
    return list(result.converted.blocks)


def article(pages: int = 4, *, outline: bool = False) -> bytes:
    """A LaTeX-like article: a title, a non-bold author line and a date on page 1, sections
    (14 pt bold), subsections (12 pt bold) and body (10 pt) on every page, a running header
    with the page number at the top, and the page number alone at 0.88 of the height."""
    pdf = pymupdf.open()
    toc: list[list[Any]] = []
    for number in range(1, pages + 1):
        page = pdf.new_page(width=612, height=792)
        lines(page, 40, [f"A Short Article on Structure          {number}"], size=9)
        y = 100.0
        if number == 1:
            y = lines(page, y, ["The Structure of Documents"], size=17)
            y = lines(page, y, ["Ada Author and Bob Writer"], size=12)
            y = lines(page, y, ["March 2024"], size=12)
        y = lines(page, y, [f"{number} Section number {number}"], size=14, font="hebo")
        toc.append([1, f"{number} Section number {number}", number])
        y = lines(page, y, BODY)
        y = lines(page, y, [f"{number}.1 A subsection here"], size=12, font="hebo")
        toc.append([2, f"{number}.1 A subsection here", number])
        y = lines(page, y, BODY)
        lines(page, 697, [str(number)])  # 0.88 of the height: LaTeX's foot on US Letter
    if outline:
        pdf.set_toc(toc)
    data = pdf.tobytes()
    pdf.close()
    return data


def headings(result: PageResult) -> list[tuple[int, str]]:
    return [(b.level, b.text) for b in blocks_of(result) if isinstance(b, Heading)]


def test_heading_levels_come_from_the_document_and_a_byline_is_no_heading() -> None:
    results = read_text(article())
    assert headings(results[0]) == [
        (1, "The Structure of Documents"),
        (2, "1 Section number 1"),
        (3, "1.1 A subsection here"),
    ]
    texts = [b.text for b in blocks_of(results[0])]
    assert "Ada Author and Bob Writer" in texts  # a paragraph
    assert "March 2024" in texts
    for number, result in enumerate(results[1:], start=2):
        assert headings(result) == [
            (2, f"{number} Section number {number}"),
            (3, f"{number}.1 A subsection here"),
        ]


def test_with_an_outline_its_levels_are_the_headings_levels() -> None:
    results = read_text(article(outline=True))
    assert headings(results[1]) == [(1, "2 Section number 2"), (2, "2.1 A subsection here")]
    assert (1, "The Structure of Documents") in headings(results[0])


def test_running_headers_and_low_page_numbers_are_dropped_on_every_page() -> None:
    results = read_text(article())
    for number, result in enumerate(results, start=1):
        texts = [b.text for b in blocks_of(result)]
        assert not any("A Short Article" in text for text in texts), texts
        assert str(number) not in texts, texts
        assert f"A Short Article on Structure          {number}" in result.raw  # type: ignore[union-attr]


def test_a_single_page_keeps_a_line_that_only_looks_like_a_header() -> None:
    [result] = read_text(article(pages=1))
    texts = [b.text for b in blocks_of(result)]
    assert any(text.startswith("A Short Article on Structure") for text in texts), texts


def test_a_code_listing_keeps_its_lines_and_indentation_and_the_prose_after_it_is_apart() -> None:
    pdf = pymupdf.open()
    page = pdf.new_page()
    writer = pymupdf.TextWriter(page.rect)
    font, mono = pymupdf.Font("helv"), pymupdf.Font("cour")
    writer.append(
        (72, 100), "Define the function as follows, then call it:", font=font, fontsize=10
    )
    writer.append((100, 113), "square <- function(x) {", font=mono, fontsize=10)
    writer.append((118, 126), "x * x", font=mono, fontsize=10)
    writer.append((100, 139), "}", font=mono, fontsize=10)
    writer.append((72, 152), "which returns the square of its argument.", font=font, fontsize=10)
    writer.write_text(page)
    [result] = read_text(pdf.tobytes())
    blocks = blocks_of(result)
    assert [type(b) for b in blocks] == [Paragraph, Code, Paragraph], blocks
    assert blocks[1].code == "square <- function(x) {\n   x * x\n}"
    assert "```\nsquare <- function(x) {\n   x * x\n}\n```" in result.converted.markdown  # type: ignore[union-attr]


def test_a_table_of_contents_is_a_list_of_entries_not_headings() -> None:
    pdf = pymupdf.open()
    page = pdf.new_page()
    y = lines(page, 80, ["Contents"], size=16, font="hebo")
    entries = [
        "1 Introduction . . . . . . . . . . . 1",
        "2 Getting started . . . . . . . . . 4",
        "2.1 Installing . . . . . . . . . . . . 5",
    ]
    lines(page, y, entries, font="hebo")
    [result] = read_text(pdf.tobytes())
    blocks = blocks_of(result)
    assert [type(b) for b in blocks] == [Heading, ListItem, ListItem, ListItem], blocks
    assert [b.text for b in blocks[1:]] == entries


def test_a_sentence_that_runs_on_across_blocks_is_one_paragraph() -> None:
    pdf = pymupdf.open()
    page = pdf.new_page()
    y = lines(page, 100, ["The first part of this sentence ends its block with the word", "the"])
    lines(page, y + 20, ["second part, which goes on in a block of its own, and a hyphen-"])
    lines(page, y + 80, ["ated word. A new sentence follows."])
    [result] = read_text(pdf.tobytes())
    blocks = blocks_of(result)
    assert [type(b) for b in blocks] == [Paragraph], blocks
    assert "with the word the second part" in blocks[0].text
    assert "a hyphenated word." in blocks[0].text


def test_a_new_sentence_in_a_new_block_stays_a_new_paragraph() -> None:
    pdf = pymupdf.open()
    page = pdf.new_page()
    y = lines(page, 100, ["A finished sentence."])
    lines(page, y + 20, ["another block starting lower-case after a full stop."])
    [result] = read_text(pdf.tobytes())
    assert len(blocks_of(result)) == 2


def span(text: str, x0: float, y0: float, block: int, line: int, size: float = 10) -> Span:
    return Span(
        text=text,
        font="Helvetica",
        size=size,
        bold=False,
        invisible=False,
        bbox=(x0, y0, x0 + 5 * len(text), y0 + size),
        line=line,
        block=block,
        origin=(x0, y0 + size * 0.8),
    )


def test_a_table_in_the_right_column_goes_after_that_column_s_text_above_it() -> None:
    spans = [
        span("Left column, top.", 50, 100, 0, 0),
        span("Left column, further down.", 50, 400, 1, 1),
        span("Right column, above the table.", 320, 100, 2, 2),
        span("Right column, below the table.", 320, 400, 3, 3),
    ]
    table = FoundTable((320, 200, 560, 300), [["a", "b"], ["1", "2"]])
    blocks = build_layer(spans, [table]).converted.blocks
    kinds = [b.text if not isinstance(b, Table) else "TABLE" for b in blocks]
    assert kinds == [
        "Left column, top.",
        "Left column, further down.",
        "Right column, above the table.",
        "TABLE",
        "Right column, below the table.",
    ]


def test_a_page_number_on_a_line_of_its_own_in_a_header_is_dropped_and_the_rest_kept() -> None:
    # Headers that differ page to page (so not running), each one block: the page number on
    # a line of its own, stepping with the pages, and the section's number, which stays.
    pdf = pymupdf.open()
    for number, title in zip((7, 8, 9), ("ALPHA", "BETA", "GAMMA"), strict=True):
        page = pdf.new_page(width=612, height=792)
        lines(page, 60, [str(number), "3", f"OPTIONS FOR {title}"], size=9)
        lines(page, 120, BODY)
    results = read_text(pdf.tobytes())
    for number, result in zip((7, 8, 9), results, strict=True):
        words = " ".join(b.text for b in blocks_of(result)).split()
        assert str(number) not in words, words
        assert "3" in words, words  # the section's number is no page number
        assert "OPTIONS" in words, words
