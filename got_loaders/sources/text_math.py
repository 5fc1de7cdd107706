"""Formulas in a PDF page's text layer: whether GOT should read the page to write them as LaTeX.

The judgement looks at what the characters do, not at the fonts' names alone. TeX sets many
glyphs that are not math in its math fonts (an itemize bullet in CMSY, the dots of a table of
contents' leaders in CMMI, the epsilon of the LaTeX2e logo, a ``<`` in running text), and
prose uses math symbols too (a footnote's dagger, an arrow between menu items, the minus of
"-5 °C"). A formula is a run of math tokens on one line, between two prose words, that holds

* an operator or a relation *between* two operands (``a + b``, ``x ≤ 1``, ``f: X → Y``), the run
  holding at least one math-specific token: a letter of a math font (CMMI, CMSY, MathTime,
  Latin Modern Math, ...), a Greek letter standing alone, a mathematical alphanumeric
  (U+1D400-1D7FF), a symbol such as ∞ ∂ ∇, a big operator or a math-only relation (∈ ≤ ⊂ ≠);
* a sub- or superscript: a smaller span on a shifted baseline right after a math token
  (``f_k``, ``(a+b)^2``, ``10^{-3}``); a footnote mark after a word, the raised "A" of the
  LaTeX logo and an ordinal's "st" have no math token under them;
* a big operator, a radical or a glyph of a math extension font (``∑ ∏ ∫ √``, big delimiters).

So a lone variable (``$n$``), bullets, leaders, logos, footnote marks, arrows between words,
"−5 °C", "3 × 4 mm" (digits alone, with no math-specific token) and "3 x 4 mm" (an upright
letter is a word) are no formulas. Monospaced spans are code, never math. A text font whose
name merely contains "Math" is a text font: only known math families make letters variables.

Unmapped glyphs in math fonts (U+FFFD, private-use or control characters: MathTime's
``MT2SYS`` minus, say, which leaves ``i D j �1`` for i = j − 1) are counted apart: the text
layer cannot carry that math at all.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from functools import lru_cache
from operator import attrgetter
from typing import Protocol


class MathSpan(Protocol):
    """What the judgement reads of a span (``text_layer.Span`` has it)."""

    @property
    def text(self) -> str: ...
    @property
    def font(self) -> str:
        """The font's name, subset prefix removed."""

    @property
    def size(self) -> float: ...
    @property
    def bbox(self) -> tuple[float, float, float, float]: ...
    @property
    def line(self) -> int:
        """The index of its line on the page."""

    @property
    def flags(self) -> int:
        """MuPDF's span flags: 2 italic, 8 monospaced."""

    @property
    def origin(self) -> tuple[float, float]:
        """The baseline's start (x, y)."""


@dataclass(frozen=True)
class MathEvidence:
    """The formulas found on a page.

    Attributes:
        formulas: math runs (inline or display, counted per line) holding an operator between
            operands, a sub- or superscript, or a big operator.
        structured: of those, the ones plain text cannot carry: with a sub- or superscript,
            a big operator, a radical or a glyph of a math extension font.
        chars: non-space characters in the formulas.
        garbled_math: unmapped characters (U+FFFD, private-use, control) in math fonts or
            next to a math token.
    """

    formulas: int = 0
    structured: int = 0
    chars: int = 0
    garbled_math: int = 0

    @property
    def needs_model(self) -> bool:
        """Whether GOT should read the page: its text layer garbles some math, or loses the
        structure of a formula (a script, a big operator, a radical). Linear formulas
        (``x ≤ y``, ``n × n``, ``H(t) = −log(1 − F(t))``) read the same in the text layer."""
        return bool(self.garbled_math or self.structured)


class _Font(IntEnum):
    TEXT = 0
    CODE = 1
    MATH_LETTERS = 2
    """Math italic and math symbol fonts: their letters are variables (or calligraphic)."""
    MATH_EXTENSION = 3
    """Big operators and delimiters."""


# Known math families by name (subset prefix removed). Not "Math" anywhere: text fonts have it.
_MATH_EXTENSION_FONT = re.compile(
    r"^(CMEX|LMMathExtension|MT2EX|MTEX|EUEX|(n?tx|n?px)exx?a?\d*$|zp\w+7v|"
    r"LucidaNewMath-Extension|MathJax_Size|MJXc?-TeX-size|STIXSize|ESINT)",
    re.IGNORECASE,
)
_MATH_LETTER_FONT = re.compile(
    r"^(CMMI|CMBRMI|CMSY|CMBSY|LMMathItalic|LMMathSymbols|MT2MI|MT2SY|MT2BM|MT2MS|MTMI|MTSY|"
    r"MSAM|MSBM|EUR[MB]|EUS[MB]|EUF[MB]|RSFS|rtxmi|ntxmi|ntxbmi|ntxsy|txmi|txsy|pxmi|pxsy|"
    r"NewTXMI|NewPXMI|zp\w+7[my]|MathematicalPi|Mathematica\d|Symbol(MT)?([,-]|$)|"
    r"LucidaNewMath|MathJax_(Math|AMS|Caligraphic|Fraktur|Script)|MJXc?-TeX-(math|ams|cal|"
    r"frak|script)|STIXNonUnicode|(LatinModern|Cambria|STIX|STIXTwo|STIX2|XITS|NewCM|Fira|"
    r"Libertinus|Asana|KpMath|Garamond|DejaVu|GFSNeohellenic|Euler)\W?Math|TeXGyre\w*Math)",
    re.IGNORECASE,
)
_MONO_FONT = re.compile(r"^(CMTT|LMMono|SFTT|Courier|DejaVuSansMono)|Mono|Consol", re.IGNORECASE)
_MONOSPACED = 8
_ITALIC = 2


@lru_cache(maxsize=512)
def _font_class(font: str) -> _Font:
    if _MATH_EXTENSION_FONT.search(font):
        return _Font.MATH_EXTENSION
    if _MATH_LETTER_FONT.search(font):
        return _Font.MATH_LETTERS
    if _MONO_FONT.search(font):
        return _Font.CODE
    return _Font.TEXT


class _Kind(IntEnum):
    BREAK = 0
    """A prose word, code, or a wide gap: ends a run."""
    VAR = 1
    """A math-specific operand: a math font's letter, a lone Greek letter, ∞, 𝑥."""
    OPERAND = 2
    """Any other operand: an italic letter of a text font, a function name (sin, log)."""
    NUMBER = 3
    WEAK_OP = 4
    """An operator prose uses too: = + − < > × · / ± arrows."""
    STRONG_OP = 5
    """A math-only operator or relation: ∈ ≤ ⊂ ≠ ∀ ..."""
    BIG = 6
    """A big operator, a radical, a math extension font's glyph."""
    OPEN = 7
    CLOSE = 8
    BAR = 9
    PUNCT = 10
    BAD = 11


_LEFT_OPERANDS = frozenset(
    {_Kind.VAR, _Kind.OPERAND, _Kind.NUMBER, _Kind.CLOSE, _Kind.BAR, _Kind.BAD}
)
_RIGHT_OPERANDS = frozenset(
    {_Kind.VAR, _Kind.OPERAND, _Kind.NUMBER, _Kind.OPEN, _Kind.BAR, _Kind.BIG, _Kind.BAD}
)
_OPERATORS = frozenset({_Kind.WEAK_OP, _Kind.STRONG_OP})
_MATH_SPECIFIC = frozenset({_Kind.VAR, _Kind.STRONG_OP, _Kind.BIG})

_TOKEN = re.compile(r"\s+|[^\W\d_]+|\d+(?:[.,]\d+)*|.", re.DOTALL)
# An upright text font's span with none of these is prose words only: one BREAK, no tokens.
_MAYBE_MATH = re.compile(
    r"[\d=+<>×·÷±/()\[\]{}|\u0370-\u03ff\u2016\u2100-\u2bff\ufffd\ue000-\uf8ff\x00-\x1f"
    r"\U0001d400-\U0001d7ff]"
)
# In an italic one, a letter standing alone may be a variable too.
_MAYBE_MATH_ITALIC = re.compile(_MAYBE_MATH.pattern + r"|(?<![^\W\d_])[^\W\d_](?![^\W\d_])")
_BIG_CHARS = frozenset("∑∏∐∫∬∭∮∯∰∱∲∳√∛∜⋀⋁⋂⋃⨀⨁⨂⨃⨄⨅⨆⨉⨊⨋⨌⨍⨎⨏⨐⨑⨒⨓⨔⨕⨖⨗⨘⨙⨚⨛⨜")
_VAR_SYMBOLS = frozenset("∞∂∇∅ℓ℘ℏℑℜℵℶ")
# Operators prose uses as well: alone they make no formula.
_WEAK_OPS = frozenset("=+−<>×·÷±∓∗⋆∘/~≈≃") | frozenset(map(chr, range(0x2190, 0x2200)))
_OPEN = frozenset("([{⟨⌊⌈⟦⟪")
_CLOSE = frozenset(")]}⟩⌋⌉⟧⟫")
_BARS = frozenset("|‖∣∥")
# Math-only: the Mathematical Operators blocks, Misc. Math Symbols, Supplemental Arrows-A
# aside (long arrows are prose's too); bullets, the footnote asterisk and minus are not.
_STRONG = re.compile("[\u2200-\u22ff\u27c0-\u27e5\u2980-\u2aff\u2b30-\u2b4c]")
_NOT_STRONG = frozenset("\u2212\u2213\u2217\u2218\u2219\u22c5\u22c6\u2026")
_BAD = re.compile("[\ufffd\x00-\x1f\x7f-\x9f\ue000-\uf8ff\U000f0000-\U0010ffff]")
_FUNCTIONS = frozenset(
    "sin cos tan cot sec csc sinh cosh tanh arcsin arccos arctan log ln lg exp lim liminf "
    "limsup max min sup inf det dim ker deg gcd lcm arg mod Pr tr".split()
)

# Geometry of scripts, as shares of the base's font size.
_SCRIPT_SIZE = 0.85
_SCRIPT_SHIFT = 0.1
_SCRIPT_GAP = 0.5
_RUN_GAP = 2.5


@dataclass(slots=True)
class _Atom:
    kind: _Kind
    text: str
    script_of: int = -1
    """For the first atom of a script span: the index of its base atom."""


@dataclass(frozen=True)
class Formula:
    """One formula found on a line (for inspection)."""

    text: str
    """Its atoms, joined by spaces."""
    structured: bool
    """Whether it has a script, a big operator, a radical or a math extension glyph."""


def formulas(spans: Sequence[MathSpan]) -> MathEvidence:
    """The formulas among a page's spans, in reading order (``text_layer.page_spans``)."""
    found = structured = chars = garbled = 0
    for _, grouped in itertools.groupby(spans, key=attrgetter("line")):
        line = list(grouped)
        if not any(_may_hold_math(span) for span in line):
            continue
        line_formulas, line_garbled = line_math(line)
        garbled += line_garbled
        for formula in line_formulas:
            found += 1
            structured += formula.structured
            chars += len(formula.text) - formula.text.count(" ")
    return MathEvidence(found, structured, chars, garbled)


def _may_hold_math(span: MathSpan) -> bool:
    if span.flags & _MONOSPACED:
        return False
    if _font_class(span.font) is not _Font.TEXT:
        return True
    return bool((_MAYBE_MATH_ITALIC if span.flags & _ITALIC else _MAYBE_MATH).search(span.text))


def line_math(line: Sequence[MathSpan]) -> tuple[list[Formula], int]:
    """The formulas on one line's spans, and its count of unmapped math characters."""
    atoms: list[_Atom] = []
    garbled = 0
    base: MathSpan | None = None
    base_atom = -1
    right = 0.0  # the right edge of the base and its scripts so far
    for span in line:
        text = span.text
        if not text or text.isspace():
            continue
        font = _Font.CODE if span.flags & _MONOSPACED else _font_class(span.font)
        script = base is not None and _is_script(span, base, right)
        if base is not None and not script and span.bbox[0] - right > _RUN_GAP * base.size:
            atoms.append(_Atom(_Kind.BREAK, ""))
        first = len(atoms)
        if font is _Font.CODE:
            atoms.append(_Atom(_Kind.BREAK, text))
        elif font is _Font.TEXT and not (
            _MAYBE_MATH_ITALIC if span.flags & _ITALIC else _MAYBE_MATH
        ).search(text):
            bare = text.strip()  # a word of a script (x_max) is an operand
            function = bare in _FUNCTIONS and not span.flags & _ITALIC
            kind = _Kind.OPERAND if script or function else _Kind.BREAK
            atoms.append(_Atom(kind, bare))
        else:
            garbled += _tokens(text, font, bool(span.flags & _ITALIC), script, atoms)
        if script:
            if len(atoms) > first:
                atoms[first].script_of = base_atom
            right = max(right, span.bbox[2])
        else:
            base, right = span, span.bbox[2]
            if len(atoms) > first:
                base_atom = len(atoms) - 1
    found = []
    for run in _runs(atoms):
        verdict = _judge_run(atoms, run)
        if verdict:
            found.append(Formula(" ".join(atoms[i].text for i in run), verdict > 1))
    return found, garbled + _garbled_beside_math(atoms)


def _is_script(span: MathSpan, base: MathSpan, right: float) -> bool:
    size = base.size
    return (
        span.size <= _SCRIPT_SIZE * size
        and abs(span.origin[1] - base.origin[1]) >= _SCRIPT_SHIFT * size
        and span.bbox[0] - right <= _SCRIPT_GAP * size
    )


def _tokens(text: str, font: _Font, italic: bool, script: bool, atoms: list[_Atom]) -> int:
    """Append ``text``'s atoms; return how many of its characters are unmapped math."""
    garbled = 0
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token.isspace():
            continue
        first = token[0]
        if first.isdigit():
            start, end = match.span()
            glued = (start > 0 and text[start - 1].isalpha()) or text[end : end + 1].isalpha()
            word = font is _Font.TEXT and glued  # MP3, 25th, tb27: a word
            atoms.append(_Atom(_Kind.BREAK if word else _Kind.NUMBER, token))
        elif first.isalpha():
            if font is not _Font.TEXT:  # each letter of a math font is a variable
                kind = _Kind.BIG if font is _Font.MATH_EXTENSION else _Kind.VAR
                atoms.extend(_Atom(kind, char) for char in token)
            elif len(token) == 1:
                atoms.append(_Atom(_letter(first, italic), token))
            elif (token in _FUNCTIONS and not italic) or script:
                atoms.append(_Atom(_Kind.OPERAND, token))
            elif all(_is_math_alphanumeric(char) for char in token):
                atoms.extend(_Atom(_Kind.VAR, char) for char in token)
            else:
                atoms.append(_Atom(_Kind.BREAK, token))
        else:
            kind = _symbol(first)
            if kind is _Kind.BAD and font is not _Font.TEXT:
                garbled += 1  # unmapped: MathTime's minus, a big delimiter, ...
                kind = _Kind.WEAK_OP
            if font is _Font.MATH_EXTENSION:
                kind = _Kind.BIG
            atoms.append(_Atom(kind, token))
    return garbled


def _letter(char: str, italic: bool) -> _Kind:
    if _is_math_alphanumeric(char) or "\u0370" <= char <= "\u03ff":
        return _Kind.VAR  # a Greek letter standing alone
    if "\u2100" <= char <= "\u214f":
        return _Kind.VAR  # letterlike: ℝ ℓ ℏ
    return _Kind.OPERAND if italic else _Kind.BREAK  # "a", "I", the "x" of "3 x 4 mm"


def _is_math_alphanumeric(char: str) -> bool:
    return "\U0001d400" <= char <= "\U0001d7ff"


def _symbol(char: str) -> _Kind:
    if char in _BIG_CHARS:
        return _Kind.BIG
    if char in _VAR_SYMBOLS or _is_math_alphanumeric(char):
        return _Kind.VAR
    if char in _WEAK_OPS:
        return _Kind.WEAK_OP
    if char in _OPEN:
        return _Kind.OPEN
    if char in _CLOSE:
        return _Kind.CLOSE
    if char in _BARS:
        return _Kind.BAR
    if char not in _NOT_STRONG and _STRONG.match(char):
        return _Kind.STRONG_OP
    if _BAD.match(char):
        return _Kind.BAD
    return _Kind.PUNCT


def _runs(atoms: Sequence[_Atom]) -> list[list[int]]:
    """Indices of the atoms between breaks, scripts kept with their bases."""
    runs: list[list[int]] = []
    current: list[int] = []
    for index, atom in enumerate(atoms):
        if atom.kind is _Kind.BREAK:
            if current:
                runs.append(current)
            current = []
        else:
            current.append(index)
    if current:
        runs.append(current)
    return runs


def _judge_run(atoms: Sequence[_Atom], run: Sequence[int]) -> int:
    """0: no formula; 1: a formula; 2: a formula plain text cannot carry."""
    kinds = [atoms[i].kind for i in run]
    if _Kind.BIG in kinds:
        return 2
    for position, index in enumerate(run):
        base = atoms[index].script_of
        if base >= 0 and _scripts(atoms, base, run, position):
            return 2
    if not _MATH_SPECIFIC.intersection(kinds):
        return 0
    for position, kind in enumerate(kinds):
        if kind is not _Kind.WEAK_OP and kind is not _Kind.STRONG_OP:
            continue
        left = kinds[position - 1] if position else None
        right = _right_operand(kinds, position + 1)
        if left in _LEFT_OPERANDS and right is not None:
            return 1
        if kind is _Kind.STRONG_OP and _Kind.VAR in (left, right):
            return 1  # ∀x, ¬p, x ∈
    return 0


def _right_operand(kinds: Sequence[_Kind], position: int) -> _Kind | None:
    """The operand right of an operator, through a unary sign (``= −1``)."""
    while position < len(kinds) and kinds[position] is _Kind.WEAK_OP:
        position += 1
    if position < len(kinds) and kinds[position] in _RIGHT_OPERANDS:
        return kinds[position]
    return None


def _scripts(atoms: Sequence[_Atom], base: int, run: Sequence[int], position: int) -> bool:
    """Whether the script starting at ``run[position]`` sits on a math token."""
    base_kind = atoms[base].kind
    script = [atoms[i].kind for i in run[position:]]
    if base_kind is _Kind.VAR:
        return True
    if base_kind in (_Kind.CLOSE, _Kind.BAR):  # (a+b)^2; not "(see section 1)" and a footnote
        inside = (atoms[i].kind for i in run[:position])
        return any(k in _MATH_SPECIFIC for k in inside) or any(
            k in (_Kind.VAR, _Kind.WEAK_OP, _Kind.STRONG_OP) for k in script[:2]
        )
    if base_kind is _Kind.OPERAND:  # x², lim_{n→∞}; not the raised "A" of the LaTeX logo
        return any(
            k in (_Kind.VAR, _Kind.NUMBER, _Kind.WEAK_OP, _Kind.STRONG_OP) for k in script[:3]
        )
    if base_kind is _Kind.BREAK and len(atoms[base].text) == 1:  # a bold vector: x^T
        return _Kind.VAR in script[:2]
    if base_kind is _Kind.NUMBER:
        # 10^{-3}, 2^n, 2^{31}; not a footnote's mark after 1998, 2014/06/01 or "gcc 10"
        # (note 107), nor 2^{nd} or 128^+.
        if _Kind.VAR in script[:2]:
            return True
        if len(script) > 1 and script[0] in _OPERATORS and script[1] in _RIGHT_OPERANDS:
            return True
        exponent = atoms[run[position]]
        before = atoms[base - 1].kind if base else _Kind.BREAK
        return (
            exponent.kind is _Kind.NUMBER
            and len(exponent.text) <= 2
            and len(atoms[base].text) <= 2
            and before in (_Kind.BREAK, _Kind.OPEN)
        )
    return False


def _garbled_beside_math(atoms: Sequence[_Atom]) -> int:
    """Unmapped characters of text fonts right next to a math-specific token."""
    count = 0
    for index, atom in enumerate(atoms):
        if atom.kind is not _Kind.BAD:
            continue
        neighbours = atoms[max(0, index - 1) : index + 2]
        count += any(n.kind in _MATH_SPECIFIC for n in neighbours)
    return count
