"""GOT's formatted output (Mathpix-style LaTeX markup) -> typed blocks.

GOT writes one paragraph per line. The parser walks the text once, looking only for what
starts a block: a newline, ``\\[``, ``\\begin{...}``, and the sectioning commands. Text in
between is a paragraph and goes to the inline parser. Every opener is paired up front
(``Source``), so an opener GOT never closed (output cut off, unbalanced braces) just runs
to the end of its span: the parser degrades to the structure it found plus the raw
remainder, and never raises.
"""

from __future__ import annotations

import re

from .blocks import Block, Code, Footnote, Formula, Heading, ListItem, MarkdownOutput, Paragraph
from .inline import Inline, Math, Strong, Text
from .inline import to_text as inline_text
from .latex_inline import MATH_ENVIRONMENTS, MAX_NESTING, InlineParser, strip_blank_ends
from .plain import convert_plain
from .source import Environment, Source
from .special import special_content
from .tables import parse_tabular

_BLOCK_TOKEN = re.compile(
    r"""
      (?P<newline>\n)
    | (?<!\\)(?:\\\\)*\\(?:
          (?P<begin>begin)[ \t]*\{
        | (?P<end>end)[ \t]*\{\ *[A-Za-z@]+\*?\ *\}
        | (?P<command>title|author|date|chapter|section|subsection|subsubsection|paragraph
            |subparagraph|footnotetext|caption|item)(?![A-Za-z])\*?
        | (?P<math>[(\[])
      )
    """,
    re.VERBOSE,
)
_ITEM_TOKEN = re.compile(
    r"(?<!\\)(?:\\\\)*\\(?:(?P<item>item)(?![A-Za-z])|(?P<begin>begin)\b|(?P<math>[(\[]))"
)
_BULLET = re.compile(r"[ \t]*(?:[-*\u2022\u25cf\u25aa\u25e6\u00b7]|\\textbullet)[ \t]+(?=\S)")
_SET_COUNTER = re.compile(r"\\setcounter\s*\{enumi\}\s*\{\s*(\d{1,6})\s*\}")
# A line that starts one of these ends any {group} or unclosed \[ before it.
_NEW_BLOCK = (
    r"\n[ \t]*(?:\n|\\(?:(?:sub)*section|title|author|chapter|item|footnotetext|caption"
    r"|begin\s*\{(?:tabular|itemize|enumerate|description|center|abstract|table|figure)))"
)
_GROUP_BREAK = re.compile(_NEW_BLOCK + r"|\n[ \t]*\\\[")
_DISPLAY_STOP = re.compile(_NEW_BLOCK)
# A heading or footnote argument longer than this is a brace GOT never closed.
_LONGEST_ARGUMENT = 4000
_OPTION = re.compile(r"[ \t]*\[[^\[\]\n]*\]")
_SPACE = re.compile(r"\s*")

HEADING_LEVELS = {
    "title": 1,
    "chapter": 2,
    "section": 2,
    "subsection": 3,
    "subsubsection": 4,
    "paragraph": 5,
    "subparagraph": 6,
}
_LIST_ENVIRONMENTS = frozenset(
    "itemize enumerate description compactitem compactenum asparaenum inparaenum tablenotes".split()
)
_TABLE_ENVIRONMENTS = frozenset("tabular tabular* tabularx tabulary longtable".split())
# Environments that only frame their content: how many {arguments} to skip first.
_CONTAINERS = {
    "center": 0,
    "flushleft": 0,
    "flushright": 0,
    "figure": 0,
    "table": 0,
    "quote": 0,
    "quotation": 0,
    "verse": 0,
    "document": 0,
    "minipage": 1,
    "multicols": 1,
    "wrapfigure": 2,
    "wraptable": 2,
    "adjustbox": 1,
    "threeparttable": 0,
    "spacing": 1,
    "singlespace": 0,
    "footnotesize": 0,
    "small": 0,
    "scriptsize": 0,
    "landscape": 0,
    "sidewaystable": 0,
    "sidewaysfigure": 0,
    "frame": 0,
    "titlepage": 0,
    "mdframed": 0,
    "tcolorbox": 0,
    "boxed": 0,
    "fbox": 0,
    "subfigure": 1,
    "subtable": 1,
}
_LABELLED = frozenset(
    "theorem lemma proof definition corollary proposition remark example note claim "
    "conjecture assumption exercise solution".split()
)
_CODE_LANGUAGES = {
    "tikzpicture": "tikz",
    "verbatim": "text",
    "Verbatim": "text",
    "lstlisting": "text",
    "minted": "text",
    "alltt": "text",
    "chemfig": "chemfig",
}


def convert_formatted(text: str) -> MarkdownOutput:
    """Convert one formatted-mode GOT output into blocks; never raises.

    The parser is built not to fail (the test suite drives it with generated input); if a
    case it does not foresee still breaks it, the text comes back as escaped plain
    paragraphs rather than taking a whole batch down.
    """
    try:
        return parse_formatted(text)
    except Exception:
        return convert_plain(text)


def parse_formatted(text: str) -> MarkdownOutput:
    """The converter itself, without ``convert_formatted``'s last-resort fallback."""
    whole = special_content(text)
    if whole is not None:
        return MarkdownOutput((whole,))
    return _FormattedParser(text).run()


class _FormattedParser:
    def __init__(self, text: str) -> None:
        self.text = text.replace("\r\n", "\n").replace("\r", "\n")
        self.source = Source.scan(self.text)
        self.inline = InlineParser(self.source)
        self.pending_item: tuple[int, str | None] | None = None
        self.nesting = 0

    def run(self) -> MarkdownOutput:
        blocks: list[Block] = []
        self._blocks(0, len(self.text), blocks, depth=0)
        for label, content in self.inline.footnotes:
            blocks.append(Footnote(tuple(content), label=label))
        return MarkdownOutput(tuple(blocks))

    # -- block level ------------------------------------------------------------------

    def _blocks(self, start: int, end: int, out: list[Block], depth: int) -> None:
        if self.nesting >= MAX_NESTING:
            out.append(Paragraph((Text(self.text[start:end]),)))
            return
        self.nesting += 1
        try:
            self._scan_blocks(start, end, out, depth)
        finally:
            self.nesting -= 1

    def _scan_blocks(self, start: int, end: int, out: list[Block], depth: int) -> None:
        text, source = self.text, self.source
        pos = paragraph = start
        braces_from, reach = start, None  # braces seen so far in this paragraph, and how far
        search = _BLOCK_TOKEN.search
        while True:
            match = search(text, pos, end)
            if match is None:
                break
            if match.group("newline"):
                # GOT ends each paragraph with one newline, unless a {group} is still open.
                newline = match.start()
                if braces_from < paragraph:
                    braces_from, reach = paragraph, None
                reach = self._group_reach(braces_from, newline, end, reach)
                braces_from = newline
                if reach is not None and reach > newline and not _GROUP_BREAK.match(text, newline):
                    pos = match.end()
                    continue
                self._paragraph(paragraph, newline, out, depth)
                pos = paragraph = match.end()
            elif match.group("math") == "(":
                close = source.math_end(match.start("math") - 1, end)
                pos = match.end() if close is None else close + 2
            elif match.group("math"):
                at = match.start("math") - 1
                self._paragraph(paragraph, at, out, depth)
                pos = paragraph = self._display_math(at, end, out)
            elif match.group("end"):
                self._paragraph(paragraph, match.start("end") - 1, out, depth)
                pos = paragraph = match.end()  # an \end{...} with no \begin: markup only
            elif match.group("begin"):
                at = match.start("begin") - 1
                env = source.environments.get(at)
                if env is None:  # "\begin{" with no name: GOT stopped right there
                    pos = match.end()
                    continue
                self._paragraph(paragraph, at, out, depth)
                pos = paragraph = self._environment(env, end, out, depth)
            else:
                command = match.group("command")
                self._paragraph(paragraph, match.start("command") - 1, out, depth)
                pos = paragraph = self._command(command, match.end(), end, out, depth)
        self._paragraph(paragraph, end, out, depth)

    def _group_reach(self, start: int, newline: int, end: int, reach: int | None) -> int | None:
        """The furthest ``}`` closing a ``{`` opened in ``[start, newline)``, or ``reach``."""
        brace = self.text.find("{", start, newline)
        while brace != -1:
            close = self.source.group_end(brace, end)
            if close is not None and (reach is None or close > reach):
                reach = close
            brace = self.text.find("{", brace + 1, newline)
        return reach

    def _paragraph(self, start: int, stop: int, out: list[Block], depth: int) -> None:
        # An \item outside a list marks the text up to its line end; it never carries over.
        pending, self.pending_item = self.pending_item, None
        if start >= stop or self.text[start:stop].isspace():
            if pending is not None and pending[1]:
                out.append(ListItem((), depth=pending[0], label=pending[1]))
            return
        bullet = _BULLET.match(self.text, start, stop)
        if bullet and pending is None:  # a line GOT wrote as "- text" or "• text"
            pending = (depth, None)
            start = bullet.end()
        nodes = strip_blank_ends(self.inline.parse(start, stop))
        if not nodes or not inline_text(nodes).strip():
            # Nothing to read: an empty \textbf{} or a lone \quad.
            if pending is not None and pending[1]:
                out.append(ListItem((), depth=pending[0], label=pending[1]))
            return
        if pending is not None:
            out.append(ListItem(tuple(nodes), depth=pending[0], label=pending[1]))
        else:
            out.append(Paragraph(tuple(nodes)))

    def _display_math(self, at: int, end: int, out: list[Block]) -> int:
        close = self.source.math_end(at, end)
        if close is not None:
            latex = self.text[at + 2 : close].strip()
            if latex:
                out.append(Formula(latex))
            return close + 2
        # Unclosed: the math runs to the next blank line or the next line that opens a
        # block (a section, a list, a table), where GOT surely moved on.
        block = _DISPLAY_STOP.search(self.text, at, end)
        stop = block.start() if block else end
        latex = self.text[at + 2 : stop].strip()
        if latex:
            out.append(Formula(latex, complete=False))
        return stop

    def _command(self, command: str, pos: int, end: int, out: list[Block], depth: int) -> int:
        name = command.rstrip("*")
        if name == "item":
            label = None
            option = _OPTION.match(self.text, pos, end)
            if option:
                label = self.text[option.start() : option.end()].strip()[1:-1]
                pos = option.end()
            self.pending_item = (depth, label)
            return pos
        start, stop, after = self._argument(pos, end)
        nodes = strip_blank_ends(self.inline.parse(start, stop))
        if not nodes:
            return after
        level = HEADING_LEVELS.get(name)
        if level is not None:
            out.append(Heading(level, tuple(nodes)))
        elif name == "footnotetext":
            # GOT puts several notes in one \footnotetext, one a line: each is a block.
            out.extend(Footnote(line) for line in _lines(nodes))
        else:  # author, date, caption
            out.append(Paragraph(tuple(nodes)))
        return after

    def _argument(self, pos: int, end: int) -> tuple[int, int, int]:
        """A block command's ``{argument}``: (start, stop, resume). Unclosed, or holding a
        blank line or a new section (so not closed where GOT meant), it runs to the end of
        the line."""
        option = _OPTION.match(self.text, pos, end)
        if option:
            pos = option.end()
        pos = _SPACE.match(self.text, pos, end).end()  # type: ignore[union-attr]
        if pos < end and self.text[pos] == "{":
            close = self.source.group_end(pos, end)
            if (
                close is not None
                and close - pos <= _LONGEST_ARGUMENT
                and not _DISPLAY_STOP.search(self.text, pos, close)
            ):
                return pos + 1, close, close + 1
            pos += 1
        line_end = self.text.find("\n", pos, end)
        stop = end if line_end == -1 else line_end
        # "\title{\nR...": GOT starts a title's text on the line after the brace, so an
        # output cut off there keeps that line, unless it opens a block of its own.
        if (
            stop < end
            and not self.text[pos:stop].strip()
            and not _DISPLAY_STOP.match(self.text, stop, end)
        ):
            pos = stop + 1
            line_end = self.text.find("\n", pos, end)
            stop = end if line_end == -1 else line_end
        return pos, stop, stop

    # -- environments -----------------------------------------------------------------

    def _environment(self, env: Environment, end: int, out: list[Block], depth: int) -> int:
        body_end = min(env.body_end, end)
        after = min(env.end, end)
        name = env.name
        bare = name.rstrip("*")
        if bare in _LIST_ENVIRONMENTS:
            self._list(env, body_end, out, depth)
        elif name in _TABLE_ENVIRONMENTS or bare in _TABLE_ENVIRONMENTS:
            out.append(parse_tabular(env, self.inline, body_end))
        elif bare in MATH_ENVIRONMENTS:
            latex = self.text[env.start : after].strip()
            out.append(Formula(latex, complete=env.closed and env.end <= end))
        elif bare == "abstract":
            out.append(Heading(2, (Text("Abstract"),)))
            self._blocks(env.body_start, body_end, out, depth)
        elif bare in _CONTAINERS:
            body = self._skip_arguments(env.body_start, body_end, _CONTAINERS[bare])
            self._blocks(body, body_end, out, depth)
        elif bare in _LABELLED:
            out.append(Paragraph((Strong((Text(bare.capitalize() + "."),)),)))
            self._blocks(env.body_start, body_end, out, depth)
        else:
            language = _CODE_LANGUAGES.get(bare, "latex")
            raw = self.text[env.start : after]
            if bare in ("verbatim", "Verbatim", "lstlisting", "minted", "alltt"):
                raw = self.text[
                    self._skip_arguments(
                        env.body_start, body_end, 1 if bare == "minted" else 0
                    ) : body_end
                ]
            if raw.strip():
                out.append(Code(raw.strip("\n"), language))
        return after

    def _skip_arguments(self, pos: int, end: int, count: int) -> int:
        option = _OPTION.match(self.text, pos, end)  # figure[h] takes no {argument}
        if option:
            pos = option.end()
        for argument in self.source.arguments(pos, end, count):
            if not argument.closed:
                break  # keep the body: an unclosed argument would swallow it
            pos = argument.after
        return pos

    def _list(self, env: Environment, body_end: int, out: list[Block], depth: int) -> None:
        text, source = self.text, self.source
        ordered = env.name.rstrip("*") in ("enumerate", "compactenum", "asparaenum", "inparaenum")
        description = env.name.rstrip("*") == "description"
        starts: list[tuple[int, int]] = []  # (\item offset, content start)
        pos = env.body_start
        while True:
            match = _ITEM_TOKEN.search(text, pos, body_end)
            if match is None:
                break
            pos = match.end()
            if match.group("item"):
                starts.append((match.start("item") - 1, match.end()))
            elif match.group("begin"):
                nested = source.environments.get(match.start("begin") - 1)
                if nested is not None:
                    pos = max(pos, min(nested.end, body_end))
            else:
                close = source.math_end(match.start("math") - 1, body_end)
                pos = body_end if close is None else close + 2
        first = starts[0][0] if starts else body_end
        set_counter = _SET_COUNTER.search(text, env.body_start, first)
        counter = int(set_counter.group(1)) if set_counter else 0
        self._blocks(env.body_start, first, out, depth)  # text before the first \item
        for index, (_, content) in enumerate(starts):
            stop = starts[index + 1][0] if index + 1 < len(starts) else body_end
            label = None
            label_nodes: list[Inline] = []
            option = _OPTION.match(text, content, stop)
            if option:
                label_nodes = self.inline.parse(
                    text.index("[", option.start()) + 1, option.end() - 1
                )
                label = inline_text(label_nodes).strip() or None
                content = option.end()
            inner: list[Block] = []
            self._blocks(content, stop, inner, depth + 1)
            nodes, rest = _item_content(inner)
            if description and label:
                nodes = [Strong(tuple(label_nodes)), Text(" "), *nodes]
                label = None
            number = None
            if ordered and label is None:  # like LaTeX, a labelled \item does not count
                counter += 1
                number = counter
            out.append(ListItem(tuple(nodes), depth=depth, number=number, label=label))
            out.extend(rest)


def _lines(nodes: list[Inline]) -> list[tuple[Inline, ...]]:
    """Inline content cut at its line breaks, blank lines left out."""
    lines: list[list[Inline]] = [[]]
    for node in nodes:
        if not isinstance(node, Text) or "\n" not in node.text:
            lines[-1].append(node)
            continue
        first, *rest = node.text.split("\n")
        lines[-1].append(Text(first))
        lines.extend([Text(part)] for part in rest)
    kept = (strip_blank_ends(line) for line in lines)
    return [tuple(line) for line in kept if line and inline_text(line).strip()]


def _item_content(blocks: list[Block]) -> tuple[list[Inline], list[Block]]:
    """An item's own text (its paragraphs and math, run together) and the blocks after it."""
    nodes: list[Inline] = []
    rest: list[Block] = []
    for block in blocks:
        if rest or not isinstance(block, Paragraph | Formula):
            rest.append(block)
            continue
        if nodes:
            nodes.append(Text(" "))
        if isinstance(block, Paragraph):
            nodes.extend(block.content)
        else:
            nodes.append(Math(block.latex, display=True))
    return nodes, rest
