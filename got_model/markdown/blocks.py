"""The typed blocks a GOT output becomes, each rendering its own Markdown."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import ClassVar

from . import inline
from .escape import escape_inline, escape_line_starts
from .inline import Inline


class BlockKind(str, Enum):
    """What a block is; adapters map these to their own element types."""

    HEADING = "heading"
    PARAGRAPH = "paragraph"
    LIST_ITEM = "list_item"
    TABLE = "table"
    FORMULA = "formula"
    CODE = "code"
    FOOTNOTE = "footnote"


class Alignment(str, Enum):
    """A table column's alignment, from the ``tabular`` column spec (``l``, ``c``, ``r``)."""

    LEFT = "left"
    CENTER = "center"
    RIGHT = "right"


def _line_markdown(content: tuple[Inline, ...]) -> str:
    """Inline content that must stay on one line (headings, list items, cells)."""
    return inline.single_line(inline.to_markdown(content, block=True))


def _text_markdown(content: tuple[Inline, ...]) -> str:
    """Inline content as a block of its own lines (paragraphs, footnotes)."""
    return escape_line_starts(inline.to_markdown(content, block=True)).strip()


@dataclass(frozen=True)
class Heading:
    """A title or section heading; ``level`` 1 is the document title (``\\title``)."""

    kind: ClassVar[BlockKind] = BlockKind.HEADING
    level: int
    content: tuple[Inline, ...]

    @property
    def text(self) -> str:
        return inline.single_line(inline.to_text(self.content))

    @property
    def markdown(self) -> str:
        body = _line_markdown(self.content)
        # A trailing run of '#' would be read as the heading's closing sequence.
        body = re.sub(r"(#+)$", lambda m: "\\#" * len(m.group(1)), body)
        return f"{'#' * self.level} {body}"


@dataclass(frozen=True)
class Paragraph:
    """Running text; may hold inline math, emphasis, links and footnote marks."""

    kind: ClassVar[BlockKind] = BlockKind.PARAGRAPH
    content: tuple[Inline, ...]

    @property
    def text(self) -> str:
        return inline.to_text(self.content).strip()

    @property
    def markdown(self) -> str:
        return _text_markdown(self.content)


@dataclass(frozen=True)
class ListItem:
    """One ``\\item``; ``depth`` 0 is a top-level list, ``number`` is set in ordered lists."""

    kind: ClassVar[BlockKind] = BlockKind.LIST_ITEM
    content: tuple[Inline, ...]
    depth: int = 0
    number: int | None = None
    label: str | None = None
    """The item's own label (``\\item[(a)]``), shown before its text."""

    @property
    def ordered(self) -> bool:
        return self.number is not None

    @property
    def text(self) -> str:
        body = inline.single_line(inline.to_text(self.content))
        return f"{self.label} {body}".rstrip() if self.label else body

    @property
    def markdown(self) -> str:
        marker = f"{self.number}." if self.number is not None else "-"
        body = _line_markdown(self.content)
        if self.label:
            body = f"{escape_line_starts(escape_inline(self.label))} {body}".rstrip()
        # An item that looks like a block of its own ("- # x", "- 1. x") or a GFM task
        # ("- [ ] x") must stay text.
        body = escape_line_starts(body)
        if re.match(r"\[[ xX]\](?=[ \t]|$)", body):
            body = "\\" + body
        return f"{'    ' * self.depth}{marker} {body}".rstrip()


@dataclass(frozen=True)
class TableCell:
    content: tuple[Inline, ...]
    colspan: int = 1
    rowspan: int = 1

    @property
    def text(self) -> str:
        return inline.single_line(inline.to_text(self.content))


@dataclass(frozen=True)
class Table:
    """A ``tabular``: rows of cells, the first row read as the header.

    ``markdown`` is a GFM pipe table, or the HTML table when a cell spans rows or columns
    (pipe tables cannot show spans). ``pipe_table`` and ``html`` give either form.
    """

    kind: ClassVar[BlockKind] = BlockKind.TABLE
    rows: tuple[tuple[TableCell, ...], ...]
    alignments: tuple[Alignment | None, ...] = ()
    complete: bool = True
    """False when GOT stopped before ``\\end{tabular}``: the rows are those it wrote."""

    @property
    def has_spans(self) -> bool:
        return any(cell.colspan > 1 or cell.rowspan > 1 for row in self.rows for cell in row)

    @property
    def text(self) -> str:
        return "\n".join(" | ".join(cell.text for cell in row) for row in self.rows)

    @property
    def markdown(self) -> str:
        return self.html if self.has_spans else self.pipe_table

    @property
    def pipe_table(self) -> str:
        """GFM pipe table; a spanning cell fills its first slot and leaves the others empty."""
        grid = _grid(self.rows)
        if not grid:
            return ""
        width = len(grid[0])
        lines = ["| " + " | ".join(row) + " |" for row in grid]
        aligns = list(self.alignments[:width]) + [None] * (width - len(self.alignments))
        delimiter = "| " + " | ".join(_DELIMITERS[a] for a in aligns) + " |"
        lines.insert(1, delimiter)
        return "\n".join(lines)

    @property
    def html(self) -> str:
        if not self.rows:
            return ""
        out = ["<table>"]
        # A header cell spanning rows takes those rows into the header: browsers cut a
        # rowspan at the end of its <thead>, which would shift the body's cells.
        header = max(1, *(cell.rowspan for cell in self.rows[0]))
        header = min(header, len(self.rows))
        for index, row in enumerate(self.rows):
            tag = "th" if index < header else "td"
            if index == 0:
                out.append("<thead>")
            elif index == header:
                out.append("<tbody>")
            cells = []
            for cell in row:
                attrs = ""
                if cell.colspan > 1:
                    attrs += f' colspan="{cell.colspan}"'
                if cell.rowspan > 1:
                    attrs += f' rowspan="{cell.rowspan}"'
                body = inline.to_html(cell.content).replace("\n", " ")
                cells.append(f"<{tag}{attrs}>{body}</{tag}>")
            out.append("<tr>" + "".join(cells) + "</tr>")
            if index == header - 1:
                out.append("</thead>")
        if len(self.rows) > header:
            out.append("</tbody>")
        out.append("</table>")
        return "".join(out)


_DELIMITERS = {
    None: "---",
    Alignment.LEFT: ":---",
    Alignment.CENTER: ":---:",
    Alignment.RIGHT: "---:",
}


def _grid(rows: tuple[tuple[TableCell, ...], ...]) -> list[list[str]]:
    """Lay cells out on a rectangular grid of Markdown cell texts, honouring spans."""
    covered_until: dict[int, int] = {}  # column -> last row a rowspan above covers
    grid: list[dict[int, str]] = []
    for r, row in enumerate(rows):
        line: dict[int, str] = {}
        c = 0
        for cell in row:
            while covered_until.get(c, -1) >= r or c in line:
                c += 1
            cell_markdown = inline.to_markdown(cell.content, in_table=True, block=True)
            line[c] = inline.single_line(cell_markdown)
            for dc in range(cell.colspan):
                line.setdefault(c + dc, "")
                if cell.rowspan > 1:
                    covered_until[c + dc] = max(covered_until.get(c + dc, -1), r + cell.rowspan - 1)
            c += cell.colspan
        grid.append(line)
    width = max((max(line) + 1 for line in grid if line), default=0)
    if not width:
        return []
    return [[line.get(c, "") for c in range(width)] for line in grid]


@dataclass(frozen=True)
class Formula:
    """Display math, as LaTeX (``\\[ ... \\]`` or a math environment)."""

    kind: ClassVar[BlockKind] = BlockKind.FORMULA
    latex: str
    complete: bool = True
    """False when the output ended before the math was closed."""

    @property
    def text(self) -> str:
        return self.latex

    @property
    def markdown(self) -> str:
        # No blank lines: one inside $$...$$ ends the block for most parsers.
        return f"$$\n{_no_blank_lines(self.latex)}\n$$"


def _no_blank_lines(text: str) -> str:
    return "\n".join(line for line in text.strip().splitlines() if line.strip())


@dataclass(frozen=True)
class Code:
    """Content that is not prose: TikZ, SMILES, Humdrum kern, or markup we did not understand.

    ``language`` is the fence's info string (``tikz``, ``smiles``, ``kern``, ``latex``).
    """

    kind: ClassVar[BlockKind] = BlockKind.CODE
    code: str
    language: str

    @property
    def text(self) -> str:
        return self.code

    @property
    def markdown(self) -> str:
        longest = max((len(run) for run in re.findall(r"`{3,}", self.code)), default=2)
        fence = "`" * (longest + 1)
        return f"{fence}{self.language}\n{self.code.strip(chr(10))}\n{fence}"


@dataclass(frozen=True)
class Footnote:
    """A footnote's text. ``label`` links it to a ``FootnoteRef``; a ``\\footnotetext``
    GOT wrote without a mark in the text has no label and renders as a plain paragraph."""

    kind: ClassVar[BlockKind] = BlockKind.FOOTNOTE
    content: tuple[Inline, ...]
    label: str | None = None

    @property
    def text(self) -> str:
        return inline.to_text(self.content).strip()

    @property
    def markdown(self) -> str:
        body = _text_markdown(self.content)
        if self.label is None:
            return body
        return f"[^{self.label}]: " + body.replace("\n", "\n    ")

    @property
    def unlinked_markdown(self) -> str:
        """The footnote as a paragraph led by its mark, for when no reference links it."""
        body = _text_markdown(self.content)
        return f"<sup>{self.label}</sup> {body}" if self.label else body


Block = Heading | Paragraph | ListItem | Table | Formula | Code | Footnote


@dataclass(frozen=True)
class MarkdownOutput:
    """One GOT output as typed blocks, and the Markdown they make together."""

    blocks: tuple[Block, ...] = field(default=())

    @property
    def markdown(self) -> str:
        """CommonMark + GFM Markdown (pipe tables, footnotes, ``$`` math), ending in a newline."""
        parts: list[str] = []
        previous: Block | None = None
        footnotes: list[Footnote] = []
        for block in self.blocks:
            if isinstance(block, Footnote) and block.label is not None:
                footnotes.append(block)  # placed after the body, once we know it links them
                continue
            if isinstance(block, ListItem):
                # Markdown nests an item only under the item before it; deeper than that
                # (after a table inside an item, say) the indent would make a code block.
                deepest = previous.depth + 1 if isinstance(previous, ListItem) else 0
                if block.depth > deepest:
                    block = replace(block, depth=deepest)
            rendered = block.markdown
            if not rendered:
                continue
            if parts:
                tight = isinstance(block, ListItem) and isinstance(previous, ListItem)
                parts.append("\n" if tight else "\n\n")
            parts.append(rendered)
            previous = block
        body = "".join(parts)
        for footnote in footnotes:
            # A mark inside an HTML table is <sup>n</sup>, not a Markdown reference; a
            # definition nothing references is dropped by renderers, so show it as text.
            linked = f"[^{footnote.label}]" in body
            rendered = footnote.markdown if linked else footnote.unlinked_markdown
            if rendered:
                body += ("\n\n" if body else "") + rendered
        return body + "\n" if body else ""

    @property
    def text(self) -> str:
        """Plain text of every block, blank-line separated (for embedding or search)."""
        return "\n\n".join(t for t in (block.text for block in self.blocks) if t)
