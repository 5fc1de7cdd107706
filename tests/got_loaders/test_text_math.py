"""Formulas in a text layer: what the characters do, not the fonts' names alone.

Most cases are small PDFs made with PyMuPDF, their fonts renamed to TeX's or MathTime's
(MuPDF reports a font by its BaseFont); the rest are spans built by hand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pymupdf
import pytest

from got_loaders.sources.text_math import MathEvidence, _Font, _font_class, formulas

_SUBSET = re.compile(r"^[A-Z]{6}\+")


@dataclass(frozen=True)
class _Span:
    text: str
    font: str
    size: float = 10.0
    bbox: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    line: int = 0
    flags: int = 4
    origin: tuple[float, float] = (0.0, 0.0)


class _Page:
    """A page whose fonts take the names of math fonts: ``font(role, source, name)`` embeds
    one of PyMuPDF's fonts under a new name, ``text`` writes with it, and ``spans()`` reads the
    saved PDF back as the text route does."""

    def __init__(self) -> None:
        self.pdf = pymupdf.open()
        self.page = self.pdf.new_page(width=612, height=792)
        self.sources = {"tiro": "tiro", "cour": "cour"}
        self.names: dict[str, str] = {}
        self.unmapped: set[str] = set()

    def font(self, role: str, source: str, name: str, *, unmapped: bool = False) -> None:
        """``source``: "tiro" and "tiit" (Nimbus Roman) or "cjk" (Droid Sans Fallback, for
        ∗ and ⟨⟩-less symbols); ``unmapped`` drops its character map."""
        self.page.insert_font(fontname=role, fontbuffer=pymupdf.Font(source).buffer)
        self.sources[role] = source
        self.names[role] = name
        if unmapped:
            self.unmapped.add(role)

    def text(self, x: float, y: float, text: str, role: str = "tiro", size: float = 10) -> float:
        """Writes ``text`` with its baseline at (x, y); returns where it ends."""
        self.page.insert_text((x, y), text, fontname=role, fontsize=size)
        return x + float(pymupdf.Font(self.sources[role]).text_length(text, fontsize=size))

    def spans(self) -> list[_Span]:
        for xref, _, _, _, role, _ in self.page.get_fonts():
            if role not in self.names:
                continue
            name = f"/ABCDEF+{self.names[role]}"
            self.pdf.xref_set_key(xref, "BaseFont", name)
            descendant = re.search(r"(\d+) 0 R", self.pdf.xref_get_key(xref, "DescendantFonts")[1])
            if descendant:
                self.pdf.xref_set_key(int(descendant.group(1)), "BaseFont", name)
            if role in self.unmapped:
                self.pdf.xref_set_key(xref, "ToUnicode", "null")
        saved = pymupdf.open("pdf", self.pdf.tobytes())
        return _read_spans(saved[0].get_text("dict", flags=64))


def _read_spans(data: dict[str, Any]) -> list[_Span]:
    spans: list[_Span] = []
    line_number = 0
    for block in data["blocks"]:
        for line in block.get("lines", ()):
            for span in line["spans"]:
                spans.append(
                    _Span(
                        text=span["text"],
                        font=_SUBSET.sub("", span["font"]),
                        size=span["size"],
                        bbox=tuple(span["bbox"]),
                        line=line_number,
                        flags=span["flags"],
                        origin=tuple(span["origin"]),
                    )
                )
            line_number += 1
    return spans


def _text_of(spans: list[_Span]) -> str:
    return "".join(span.text for span in spans)


def test_a_formula_with_a_subscript_needs_the_model() -> None:
    page = _Page()
    page.font("mi", "tiit", "CMMI10")
    page.font("sy", "tiro", "CMSY10")
    x = page.text(72, 100, "A polynomial time function ")
    x = page.text(x, 100, "f", "mi")
    x = page.text(x, 101.5, "k", "mi", size=7)  # f_k: smaller, on a lowered baseline
    x = page.text(x + 3, 100, "=")
    x = page.text(x + 3, 100, "1 ")
    x = page.text(x, 100, "\u2212", "sy")
    x = page.text(x + 2, 100, "k", "mi")
    page.text(x + 2, 100, " is one-way.")
    spans = page.spans()
    assert "\u2212" in _text_of(spans)

    found = formulas(spans)

    assert found.formulas == 1
    assert found.structured == 1
    assert found.needs_model
    assert found.garbled_math == 0


def test_a_linear_formula_is_found_but_reads_as_text() -> None:
    page = _Page()
    page.font("mi", "tiit", "CMMI10")
    page.font("sy", "tiro", "CMSY10")
    x = page.text(72, 100, "for all ")
    x = page.text(x, 100, "x", "mi")
    x = page.text(x + 2, 100, "\u2264", "sy")
    x = page.text(x + 2, 100, "y", "mi")
    page.text(x, 100, " in the set")

    found = formulas(page.spans())

    assert (found.formulas, found.structured, found.needs_model) == (1, 0, False)
    assert found.chars == 3


def test_tex_furniture_is_no_math() -> None:
    """Bullets in CMSY, leaders in CMMI, the LaTeX and LaTeX2e logos, footnote marks, an
    arrow between menu items, a lone variable, "−5 °C", "3 × 4 mm", "3 x 4 mm": each of
    these sent a page to GOT by the count of math-font characters."""
    page = _Page()
    page.font("mi", "tiit", "CMMI10")
    page.font("sy", "tiro", "CMSY10")
    page.font("ss", "cjk", "CMSY7")
    y = 100.0
    for item in ("first point", "second point", "third point"):
        page.text(page.text(72, y, "\u2022", "sy") + 6, y, item)
        y += 14
    x = page.text(72, y, "Introduction ")
    page.text(page.text(x, y, ". " * 30, "mi") + 4, y, "12")  # a table of contents' leaders
    y += 14
    x = page.text(72, y, "Typeset with L")
    x = page.text(x - 2, y - 2, "A", size=7)  # the raised, smaller A of the logo
    x = page.text(x, y, "TeX and LaTeX2")
    page.text(x, y + 1, "\u03b5", "mi")
    y += 14
    x = page.text(72, y, "as shown")
    x = page.text(x, y - 3, "\u2217", "ss", size=7)  # footnote marks
    x = page.text(x + 4, y, "and noted")
    page.text(x, y - 3, "\u2020", "sy", size=7)
    y += 14
    x = page.text(72, y, "choose File ")
    page.text(page.text(x, y, "\u2192", "sy") + 3, y, " Save as, for every ")
    y += 14
    x = page.text(72, y, "with ")
    page.text(page.text(x, y, "n", "mi") + 2, y, " pages at ")
    y += 14
    x = page.text(72, y, "nights at ")
    page.text(page.text(x, y, "\u2212", "sy"), y, "5 \u00b0C, boards of 3 ")
    y += 14
    x = page.text(72, y, "boards of 3 ")
    page.text(page.text(x, y, "\u00d7", "sy") + 3, y, "4 mm and 3 x 4 mm")
    spans = page.spans()
    assert {"\u2022", "\u2192", "\u03b5", "\u2217", "\u2212", "\u00d7"} <= set(_text_of(spans))

    assert formulas(spans) == MathEvidence()


def test_a_text_font_named_math_is_a_text_font() -> None:
    page = _Page()
    page.font("mt", "tiit", "MathText-Italic")
    page.text(72, 100, "Mathematics for everyone: let a = b and c + d be", "mt")
    page.text(72, 114, "the sums we met in chapter 2 = part one.", "mt")

    assert formulas(page.spans()) == MathEvidence()


def test_mathtime_glyphs_without_a_character_map_are_garbled_math() -> None:
    """MathTime's MT2SYS minus has no Unicode: ``i D j �1`` for i = j − 1."""
    page = _Page()
    page.font("mi", "tiit", "MT2MIT")
    page.font("sy", "tiro", "MT2SYS", unmapped=True)
    x = page.text(72, 100, "where ")
    x = page.text(x, 100, "i D j", "mi")
    x = page.text(x + 2, 100, "\u2212", "sy")
    page.text(x + 2, 100, "1 holds.")
    spans = page.spans()
    assert "\ufffd" in _text_of(spans)

    found = formulas(spans)

    assert found.garbled_math == 1
    assert found.needs_model


def test_a_big_operator_of_an_extension_font_is_structured() -> None:
    page = _Page()
    page.font("mi", "tiit", "CMMI10")
    page.font("sx", "tiro", "CMEX10")
    x = page.text(72, 100, "the total ")
    x = page.text(x, 100, "\u2211", "sx", size=14)
    page.text(x + 2, 100, "x", "mi")

    found = formulas(page.spans())

    assert (found.formulas, found.structured, found.needs_model) == (1, 1, True)


def test_code_is_no_math() -> None:
    page = _Page()
    page.text(72, 100, "x = y + 1; if (k <= n) f(k) = x * 2;", "cour")

    assert formulas(page.spans()) == MathEvidence()


def _line(*parts: tuple[str, str, float, float, int]) -> list[_Span]:
    """Spans of one line: (text, font, size, baseline shift, flags), laid out left to right."""
    spans, x = [], 72.0
    for text, font, size, shift, flags in parts:
        width = 0.5 * size * len(text)
        y = 100.0 + shift
        spans.append(_Span(text, font, size, (x, y - size, x + width, y), 0, flags, (x, y)))
        x += width
    return spans


ROMAN, ITALIC = 4, 6


def test_math_alphanumerics_make_formulas() -> None:
    linear = _line(("\U0001d465 = \U0001d466 + 1", "CambriaMath", 10, 0, ROMAN))
    squared = _line(
        ("area ", "Calibri", 10, 0, ROMAN),
        ("\U0001d465", "CambriaMath", 10, 0, ROMAN),
        ("2", "CambriaMath", 7, -3, ROMAN),
    )

    assert formulas(linear) == MathEvidence(formulas=1, chars=5)
    assert formulas(squared).needs_model


@pytest.mark.parametrize(
    ("parts", "needs_model"),
    [
        # x² in a text font's italic: the text layer says "x2".
        ([("x", "Times-Italic", 10, 0, ITALIC), ("2", "Times-Roman", 7, -3, ROMAN)], True),
        # 10^{-3}
        ([("10", "CMR10", 10, 0, ROMAN), ("\u22123", "CMSY7", 7, -3, ROMAN)], True),
        # (a+b)^2
        (
            [
                ("(", "CMR10", 10, 0, ROMAN),
                ("a", "CMMI10", 10, 0, ITALIC),
                ("+", "CMR10", 10, 0, ROMAN),
                ("b", "CMMI10", 10, 0, ITALIC),
                (")", "CMR10", 10, 0, ROMAN),
                ("2", "CMR7", 7, -3, ROMAN),
            ],
            True,
        ),
        # "in 1998" and a footnote mark; "(see section 1)" and one
        ([("in 1998", "CMR10", 10, 0, ROMAN), ("1", "CMR7", 7, -3, ROMAN)], False),
        ([("(see section 1)", "CMR10", 10, 0, ROMAN), ("1", "CMR7", 7, -3, ROMAN)], False),
        # the 2nd; the italic LaTeX logo's raised A
        ([("the 2", "Times-Roman", 10, 0, ROMAN), ("nd", "Times-Roman", 7, -3, ROMAN)], False),
        (
            [
                ("L", "LMRoman10-Italic", 10, 0, ITALIC),
                ("A", "LMRoman7-Italic", 7, -2, ITALIC),
                ("TEX", "LMRoman10-Italic", 10, 0, ITALIC),
            ],
            False,
        ),
        # a word with a footnote dagger
        ([("noted", "CMR10", 10, 0, ROMAN), ("\u2020", "CMSY7", 7, -3, ROMAN)], False),
    ],
)
def test_scripts_count_on_math_tokens_only(
    parts: list[tuple[str, str, float, float, int]], needs_model: bool
) -> None:
    assert formulas(_line(*parts)).needs_model is needs_model


def test_greek_words_are_prose_and_a_lone_greek_letter_is_a_variable() -> None:
    prose = _line(("Η γλώσσα = η φωνή", "Times-Roman", 10, 0, ROMAN))
    level = _line(("at a level ", "Times-Roman", 10, 0, ROMAN), ("α = 0.05", "Times", 10, 0, ROMAN))

    assert formulas(prose) == MathEvidence()
    assert formulas(level).formulas == 1


def test_unmapped_glyphs_next_to_math_tokens_are_garbled_math() -> None:
    spans = _line(
        ("so ", "Times-Roman", 10, 0, ROMAN),
        ("\u03b1", "Times-Roman", 10, 0, ROMAN),
        ("\ufffd", "F12", 10, 0, ROMAN),
        (" 2 in price \ufffd 3", "Times-Roman", 10, 0, ROMAN),
    )

    assert formulas(spans).garbled_math == 1  # the one beside α, not the one between numbers


def test_lines_are_judged_apart() -> None:
    spans = [
        _Span("x", "CMMI10", line=0, flags=ITALIC),
        _Span("=", "CMR10", line=1),
        _Span("y", "CMMI10", line=2, flags=ITALIC),
    ]

    assert formulas(spans) == MathEvidence()
    assert formulas([]) == MathEvidence()


@pytest.mark.parametrize(
    ("font", "kind"),
    [
        ("CMMI10", _Font.MATH_LETTERS),
        ("CMSY7", _Font.MATH_LETTERS),
        ("LMMathItalic10-Regular", _Font.MATH_LETTERS),
        ("MT2MIT", _Font.MATH_LETTERS),
        ("MT2SYS", _Font.MATH_LETTERS),
        ("CambriaMath", _Font.MATH_LETTERS),
        ("MSBM10", _Font.MATH_LETTERS),
        ("CMEX10", _Font.MATH_EXTENSION),
        ("LMMathExtension10-Regular", _Font.MATH_EXTENSION),
        ("CMR10", _Font.TEXT),
        ("MathText-Italic", _Font.TEXT),
        ("Mathilde-Regular", _Font.TEXT),
        ("CMTT10", _Font.CODE),
    ],
)
def test_fonts_by_family(font: str, kind: _Font) -> None:
    assert _font_class(font) is kind


def test_an_unmapped_glyph_of_a_math_font_is_garbled_math_alone() -> None:
    assert formulas([_Span("\ufffd", "MT2SYS")]).garbled_math == 1
    assert formulas([_Span("\ufffd", "CMEX10")]).needs_model
    assert formulas([_Span("\ufffd", "Times-Roman")]) == MathEvidence()


def test_arrows_between_meta_variables_are_no_math() -> None:
    """ltnews: ``→file/⟨name⟩/before``, the brackets and arrow in CMSY."""
    spans = _line(
        ("\u2192", "LMMathSymbols10-Regular", 10, 0, ROMAN),
        ("file/", "LMMono10-Regular", 10, 0, 8),
        ("\u27e8", "LMMathSymbols10-Regular", 10, 0, ROMAN),
        ("name", "LMRoman10-Italic", 10, 0, ITALIC),
        ("\u27e9\u2192", "LMMathSymbols10-Regular", 10, 0, ROMAN),
        ("\u27e8", "LMMathSymbols10-Regular", 10, 0, ROMAN),
        ("arg", "LMRoman10-Italic", 10, 0, ITALIC),
        ("1", "LMRoman7-Regular", 7, 1.5, ROMAN),
        ("\u27e9", "LMMathSymbols10-Regular", 10, 0, ROMAN),
    )

    assert formulas(spans) == MathEvidence()


@pytest.mark.parametrize(
    ("parts", "needs_model"),
    [
        ([("with 2", "CMR10", 10, 0, ROMAN), ("31", "CMR7", 7, -3, ROMAN)], True),
        ([("gcc 10", "CMR10", 10, 0, ROMAN), ("107", "CMR7", 7, -3, ROMAN)], False),
        ([("of 2014/06/01", "CMR10", 10, 0, ROMAN), ("1", "CMR7", 7, -3, ROMAN)], False),
        ([("128", "CMR10", 10, 0, ROMAN), ("+", "CMR7", 7, -3, ROMAN)], False),
    ],
)
def test_a_number_raised_over_a_number_is_a_power_or_a_footnote(
    parts: list[tuple[str, str, float, float, int]], needs_model: bool
) -> None:
    assert formulas(_line(*parts)).needs_model is needs_model
