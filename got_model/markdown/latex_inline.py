"""GOT's inline markup (``\\textbf``, ``\\( \\)``, ``\\footnote``, text escapes) -> inline nodes."""

from __future__ import annotations

import re
from functools import cache, lru_cache
from typing import TYPE_CHECKING

from .inline import (
    Emphasis,
    FootnoteRef,
    Inline,
    InlineCode,
    LineBreak,
    Link,
    Math,
    Strong,
    Text,
    to_text,
)
from .source import Argument, Source

if TYPE_CHECKING:
    from pylatexenc.latex2text import LatexNodes2Text

MAX_NESTING = 48
"""Deeper nesting (groups in groups, lists in lists) is kept as raw text: Python's stack is
finite, and GOT's own pages nest a handful of levels at most."""
MATH_ENVIRONMENTS = frozenset(
    "equation align gather multline eqnarray flalign alignat displaymath math split aligned "
    "gathered cases array matrix pmatrix bmatrix vmatrix Vmatrix Bmatrix smallmatrix "
    "subequations".split()
)
_TOKEN = re.compile(r"\\(?:[A-Za-z@]+\*?|[^A-Za-z@]|$)|[{}~]", re.DOTALL)
_SPACE_AFTER_WORD_MACRO = re.compile(r"[ \t]*(?:\n[ \t]*)?")
# No text macro takes more arguments; "\alpha{a}{a}{a}..." must not all go to pylatexenc.
_MOST_ARGUMENTS = 4
_ENVIRONMENT_NAME = re.compile(r" *[A-Za-z@]+\*? *")
_LINE_SPACING = re.compile(r"\*?\[\s*-?[\d.]+\s*[a-z]{2}\s*\]")
_OPTIONAL = re.compile(r"\s*\[[^\[\]{}]*\]")
_BEFORE_GROUP = re.compile(r"\s*")

_SYMBOLS = {
    "%": "%",
    "&": "&",
    "$": "$",
    "_": "_",
    "#": "#",
    "{": "{",
    "}": "}",
    " ": " ",
    ",": " ",
    ";": " ",
    ":": " ",
    ">": " ",
    "!": "",
    "/": "",
    "-": "",
    "\n": " ",
    "textbackslash": "\\",
    "textasciitilde": "~",
    "textasciicircum": "^",
    "textless": "<",
    "textgreater": ">",
    "textbar": "|",
    "textunderscore": "_",
    "textendash": "\u2013",
    "textemdash": "\u2014",
    "textbullet": "\u2022",
    "ldots": "\u2026",
    "dots": "\u2026",
    "textellipsis": "\u2026",
    "S": "\u00a7",
    "P": "\u00b6",
    "copyright": "\u00a9",
    "textregistered": "\u00ae",
    "texttrademark": "\u2122",
    "dag": "\u2020",
    "ddag": "\u2021",
    "textdegree": "\u00b0",
    "quad": " ",
    "qquad": " ",
    "enspace": " ",
    "thinspace": " ",
    "space": " ",
    "LaTeX": "LaTeX",
    "TeX": "TeX",
    "slash": "/",
    "ss": "\u00df",
}
# Layout and font-size switches: they change how text looks, not what it says.
_IGNORED = frozenset(
    "noindent indent centering raggedright raggedleft hfill vfill par newpage clearpage "
    "pagebreak linebreak nolinebreak smallskip medskip bigskip maketitle tiny scriptsize "
    "footnotesize small normalsize large Large LARGE huge Huge protect relax "
    "rmfamily sffamily ttfamily mdseries upshape normalfont displaystyle".split()
)
# Commands that set layout or counters: how many {arguments} to skip with them.
_IGNORED_WITH_ARGUMENTS = {
    "vspace": 1,
    "hspace": 1,
    "label": 1,
    "addvspace": 1,
    "phantom": 1,
    "captionsetup": 1,
    "footnotemark": 0,
    "setlength": 2,
    "setcounter": 2,
    "addtocounter": 2,
    "stepcounter": 1,
}
_TRANSPARENT = frozenset(
    "underline uline textsc textrm textsf textup textnormal mbox hbox text textmd "
    "textcolor colorbox fbox makebox framebox mathrm centerline "
    # Block commands nested in another argument: their text, not pylatexenc's "§ TITLE".
    "title author date chapter section subsection subsubsection paragraph subparagraph "
    "caption footnotetext".split()
)
_STRONG = frozenset(["textbf", "mathbf", "boldsymbol"])
_EMPHASIS = frozenset(["textit", "emph", "textsl", "mathit"])
_STRONG_SWITCHES = frozenset(["bf", "bfseries"])
_EMPHASIS_SWITCHES = frozenset(["it", "itshape", "em", "sl", "slshape"])
# pylatexenc would write the date of the run, or a reference placeholder: keep these raw.
# Math macros outside math stay LaTeX (pylatexenc only logs warnings for them).
_KEEP_AS_WRITTEN = frozenset(
    "today includegraphics input include frac nicefrac textfrac braket ketbra".split()
)
# Commands whose first arguments are settings, not text.
_LEADING_SETTINGS = {"textcolor": 1, "colorbox": 1, "makebox": 0, "framebox": 0}


class InlineParser:
    """Turns a span of GOT markup into inline nodes; collects footnotes as it goes."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.text = source.text
        self.footnotes: list[tuple[str, list[Inline]]] = []
        self.depth = 0

    def parse(self, start: int, end: int) -> list[Inline]:
        return self.parse_many([(start, end)])

    def parse_many(self, spans: list[tuple[int, int]]) -> list[Inline]:
        """Parse several spans into one run of inline nodes."""
        nodes: list[Inline] = []
        for start, end in spans:
            self._parse_into(nodes, start, end)
        return _merge_text(nodes)

    # The loop is the converter's hot path: plain text between tokens is copied in one slice.
    def _parse_into(self, nodes: list[Inline], start: int, end: int) -> None:
        if self.depth >= MAX_NESTING:  # no real page nests this deep: keep the rest as text
            nodes.append(Text(self.text[start:end]))
            return
        self.depth += 1
        try:
            self._parse_span(nodes, start, end)
        finally:
            self.depth -= 1

    def _parse_span(self, nodes: list[Inline], start: int, end: int) -> None:
        text = self.text
        pos = start
        search = _TOKEN.search
        while pos < end:
            match = search(text, pos, end)
            if match is None:
                nodes.append(Text(text[pos:end]))
                return
            if match.start() > pos:
                nodes.append(Text(text[pos : match.start()]))
            token = match.group()
            pos = match.end()
            if token == "{":
                close = self.source.group_end(match.start(), end)
                if close is None:
                    nodes.append(Text("{"))
                else:
                    self._parse_into(nodes, pos, close)
                    pos = close + 1
            elif token == "}":
                nodes.append(Text("}"))
            elif token == "~":
                nodes.append(Text(" "))
            else:
                pos = self._command(nodes, token[1:], match.start(), pos, end)

    def _command(self, nodes: list[Inline], name: str, start: int, pos: int, end: int) -> int:
        """Handle ``\\name`` found at ``start``; return where parsing goes on."""
        if not name:  # a lone backslash at the very end
            nodes.append(Text("\\"))
            return pos
        if name in ("(", "["):
            close = self.source.math_end(start, end)
            stop = end if close is None else close
            latex = self.text[pos:stop].strip()
            if latex:
                nodes.append(Math(latex, display=name == "["))
            return end if close is None else close + 2
        if name == "\\" or name == "newline":
            nodes.append(LineBreak())
            spacing = _LINE_SPACING.match(self.text, pos, end)  # \\[2pt], not "\\ [1] Smith"
            return spacing.end() if spacing and name == "\\" else pos
        symbol = _SYMBOLS.get(name)
        if symbol is not None:
            if symbol:
                nodes.append(Text(symbol))
            if symbol == " ":  # \quad and friends are spaces themselves
                return pos
            return self._skip_space_after(name, pos, end)
        bare = name.rstrip("*")
        if bare in _IGNORED:
            return self._skip_space_after(name, pos, end)
        if bare in _IGNORED_WITH_ARGUMENTS:
            for _ in range(max(1, _IGNORED_WITH_ARGUMENTS[bare])):
                group = self._group(pos, end)
                if group is None:
                    break
                pos = group[2]
            return pos
        if name in (")", "]"):  # a closer with no opener: GOT wrote "(C\)" for "(C)"
            nodes.append(Text(name))
            return pos
        if bare in _STRONG_SWITCHES or bare in _EMPHASIS_SWITCHES:
            # {\bf text}: the switch applies to the rest of its group.
            inner: list[Inline] = []
            self._parse_into(inner, pos, end)
            wrapped = _merge_text(inner)
            nodes.append(
                Strong(tuple(wrapped)) if bare in _STRONG_SWITCHES else Emphasis(tuple(wrapped))
            )
            return end
        if bare in _STRONG or bare in _EMPHASIS or bare in _TRANSPARENT:
            return self._styled(nodes, bare, pos, end)
        if bare in ("begin", "end"):
            return self._environment(nodes, bare, start, pos, end)
        if bare == "footnote":
            return self._footnote(nodes, pos, end)
        if bare in ("href", "url", "texttt", "verb"):
            return self._literal_argument(nodes, bare, start, pos, end)
        if bare in ("cite", "citep", "citet", "ref", "eqref", "pageref", "autoref"):
            group = self._group(pos, end)
            if group is None:
                nodes.append(Text("\\" + name))
                return pos
            key = self.text[group[0] : group[1]].strip()
            shown = {
                "cite": f"[{key}]",
                "citep": f"[{key}]",
                "citet": f"[{key}]",
                "eqref": f"({key})",
            }
            nodes.append(Text(shown.get(bare, key)))
            return group[2]
        return self._fallback(nodes, name, start, pos, end)

    def _environment(self, nodes: list[Inline], which: str, start: int, pos: int, end: int) -> int:
        """An environment inside a line or cell: math stays math, a nested ``tabular``
        becomes its cells' text line by line, anything else contributes its content."""
        env = self.source.environments.get(start)
        if env is None:
            group = self._group(pos, end)
            if which == "end" and group and _ENVIRONMENT_NAME.fullmatch(self.text, *group[:2]):
                return group[2]  # a stray \end{name}: markup only
            nodes.append(Text("\\" + which))  # "\begin{" with no name: keep what follows
            return pos
        body_end = min(env.body_end, end)
        after = min(env.end, end)
        bare = env.name.rstrip("*")
        if bare in MATH_ENVIRONMENTS:
            nodes.append(Math(self.text[start:after].strip()))
            return after
        body = env.body_start
        if bare in ("tabular", "array", "tabularx"):
            for _ in range(2 if bare == "tabularx" else 1):
                group = self._group(body, body_end)
                if group is None:
                    break
                body = group[2]
        inner: list[Inline] = []
        self._parse_into(inner, body, body_end)
        if bare.startswith("tabular"):
            inner = [Text(n.text.replace("&", " ")) if isinstance(n, Text) else n for n in inner]
        nodes.extend(strip_blank_ends(_merge_text(inner)))
        return after

    def _skip_space_after(self, name: str, pos: int, end: int) -> int:
        # TeX swallows the blanks after a control word ("Stra\ss e" is "Straße"), and "{}"
        # is how authors keep one ("\ldots{} or").
        if not name[-1:].isalpha():
            return pos
        if self.text.startswith("{}", pos) and pos + 2 <= end:
            return pos + 2
        while pos < end and self.text[pos] in " \t":
            pos += 1
        return pos

    def _group(self, pos: int, end: int) -> Argument | None:
        """The ``{...}`` argument at ``pos`` (blanks and ``[options]`` skipped), if any."""
        found = self.source.arguments(pos, end, 1)
        return found[0] if found else None

    def _styled(self, nodes: list[Inline], name: str, pos: int, end: int) -> int:
        for _ in range(_LEADING_SETTINGS.get(name, 0)):
            setting = self._group(pos, end)
            if setting is None or self._group(setting[2], end) is None:
                break  # \textcolor{text} with its colour left out: the group is the text
            pos = setting[2]
        group = self._group(pos, end)
        if group is None:
            return pos
        inner: list[Inline] = []
        self._parse_into(inner, group[0], group[1])
        children = tuple(_merge_text(inner))
        if name in _STRONG:
            nodes.append(Strong(children))
        elif name in _EMPHASIS:
            nodes.append(Emphasis(children))
        else:
            nodes.extend(children)
        return group[2]

    def _footnote(self, nodes: list[Inline], pos: int, end: int) -> int:
        group = self._group(pos, end)
        if group is None:
            return pos
        label = str(len(self.footnotes) + 1)
        content: list[Inline] = []
        self._parse_into(content, group[0], group[1])
        self.footnotes.append((label, _merge_text(content)))
        nodes.append(FootnoteRef(label))
        return group[2]

    def _literal_argument(
        self, nodes: list[Inline], name: str, start: int, pos: int, end: int
    ) -> int:
        if name == "verb":
            # \verb|code|: the delimiter is whatever character follows.
            if pos < end:
                close = self.text.find(self.text[pos], pos + 1, end)
                if close != -1:
                    nodes.append(InlineCode(self.text[pos + 1 : close]))
                    return close + 1
            nodes.append(Text("\\verb"))
            return pos
        group = self._group(pos, end)
        if group is None:
            nodes.append(Text(self.text[start:pos]))
            return pos
        value = self.text[group[0] : group[1]]
        if name == "texttt":
            inner: list[Inline] = []
            self._parse_into(inner, group[0], group[1])
            nodes.append(InlineCode(to_text(inner)))
            return group[2]
        url = (
            value.strip()
            .replace("\\%", "%")
            .replace("\\#", "#")
            .replace("\\_", "_")
            .replace("\\&", "&")
        )
        if name == "url":
            nodes.append(Link(url, (Text(url),)))
            return group[2]
        label_group = self._group(group[2], end)
        if label_group is None:
            nodes.append(Link(url, (Text(url),)))
            return group[2]
        label: list[Inline] = []
        self._parse_into(label, label_group[0], label_group[1])
        nodes.append(Link(url, tuple(_merge_text(label))))
        return label_group[2]

    def _fallback(self, nodes: list[Inline], name: str, start: int, pos: int, end: int) -> int:
        """Accents and symbols pylatexenc knows; any other command is kept as written."""
        stop = pos
        if not name[0].isalpha() or len(name) == 1:
            # Accents take one character or a group: \'e, \"{o}, \v c.
            blank = _BEFORE_GROUP.match(self.text, stop, end)
            at = blank.end() if blank and name.isalpha() else stop
            if at < end and self.text[at] == "{":
                close = self.source.group_end(at, end)
                stop = at + 1 if close is None else close + 1
            elif at < end:
                stop = at + 1
        arguments = 0
        while stop < end and arguments < _MOST_ARGUMENTS:
            arguments += 1
            option = _OPTIONAL.match(self.text, stop, end)
            if option:
                stop = option.end()
                continue
            if self.text[stop] != "{":
                break
            close = self.source.group_end(stop, end)
            if close is None:
                break
            stop = close + 1
        fragment = self.text[start:stop]
        converted = _known_macro_text(name.rstrip("*"), fragment)
        nodes.append(Text(converted if converted is not None else fragment))
        if converted is not None and stop == pos:
            return self._skip_space_after(name, pos, end)
        return stop


@cache
def _pylatexenc() -> tuple[LatexNodes2Text, object, object]:
    from pylatexenc.latex2text import LatexNodes2Text
    from pylatexenc.latex2text import get_default_latex_context_db as text_macros
    from pylatexenc.latexwalker import get_default_latex_context_db as argument_specs

    converter = LatexNodes2Text(math_mode="verbatim", strict_latex_spaces=False)
    return converter, text_macros(), argument_specs()


@lru_cache(maxsize=2048)  # pages repeat the same accents and symbols
def _known_macro_text(name: str, fragment: str) -> str | None:
    """The text pylatexenc makes of a macro it knows (accents, symbols), else None."""
    converter, text_macros, argument_specs = _pylatexenc()
    if name in _KEEP_AS_WRITTEN or text_macros.get_macro_spec(name) is None:  # type: ignore[attr-defined]
        return None
    spec = argument_specs.get_macro_spec(name)  # type: ignore[attr-defined]
    wants_group = spec is not None and "{" in getattr(spec.args_parser, "argspec", "")
    if wants_group and "{" not in fragment and name[0].isalpha() and len(name) > 1:
        return None  # "\overline x" without braces: pylatexenc would only log a warning
    try:
        text = converter.latex_to_text(fragment)
    except Exception:  # pylatexenc is tolerant, but this path must never raise
        return None
    # Its placeholders for things with no text ("< g r a p h i c s >") say nothing useful.
    stripped = text.strip()
    return text if stripped and not stripped.startswith("<") else None


def strip_blank_ends(nodes: list[Inline]) -> list[Inline]:
    if nodes and isinstance(nodes[0], Text):
        nodes[0] = Text(nodes[0].text.lstrip())
    if nodes and isinstance(nodes[-1], Text):
        nodes[-1] = Text(nodes[-1].text.rstrip())
    return [n for n in nodes if not (isinstance(n, Text) and not n.text)]


def _merge_text(nodes: list[Inline]) -> list[Inline]:
    merged: list[Inline] = []
    pending: list[str] = []
    for node in nodes:
        if isinstance(node, Text):
            pending.append(node.text)
            continue
        if pending:
            merged.append(Text("".join(pending)))
            pending = []
        merged.append(node)
    if pending:
        merged.append(Text("".join(pending)))
    return merged
