"""Inline content: the nodes a line of GOT text becomes, and their Markdown, HTML and text."""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from .escape import escape_inline

_NEWLINES = re.compile(r"\s*\n\s*")


@dataclass(frozen=True, slots=True)
class Text:
    """Literal text, exactly as the reader should see it."""

    text: str


@dataclass(frozen=True, slots=True)
class Math:
    """LaTeX math; ``display`` when GOT set it apart (``\\[ ... \\]``) inside an inline context."""

    latex: str
    display: bool = False


@dataclass(frozen=True, slots=True)
class Strong:
    children: tuple[Inline, ...]


@dataclass(frozen=True, slots=True)
class Emphasis:
    children: tuple[Inline, ...]


@dataclass(frozen=True, slots=True)
class InlineCode:
    code: str


@dataclass(frozen=True, slots=True)
class Link:
    url: str
    children: tuple[Inline, ...]


@dataclass(frozen=True, slots=True)
class FootnoteRef:
    """A ``\\footnote`` mark; its text is the ``Footnote`` block with the same label."""

    label: str


@dataclass(frozen=True, slots=True)
class LineBreak:
    """A forced line break (``\\\\`` in text)."""


Inline = Text | Math | Strong | Emphasis | InlineCode | Link | FootnoteRef | LineBreak


def single_line(text: str) -> str:
    return _NEWLINES.sub(" ", text).strip()


@dataclass(frozen=True, slots=True)
class _Styled:
    """Emphasis waiting for its neighbours: ``*`` only works where CommonMark's flanking
    rules let it open and close, so the markers are chosen once both sides are known."""

    marker: str
    tag: str
    inner: str


def _is_space(char: str) -> bool:
    return not char or char.isspace()


def _is_punctuation(char: str) -> bool:
    return bool(char) and unicodedata.category(char)[0] in "PS"


def _styled(part: _Styled, before: str, after: str) -> str:
    inner = part.inner
    stripped = inner.strip()
    if not stripped:
        return inner
    lead = inner[: len(inner) - len(inner.lstrip())]
    trail = inner[len(inner.rstrip()) :]
    before = lead[-1:] or before
    after = trail[:1] or after
    first, last = stripped[0], stripped[-1]
    opens = not _is_punctuation(first) or _is_space(before) or _is_punctuation(before)
    closes = not _is_punctuation(last) or _is_space(after) or _is_punctuation(after)
    if opens and closes and "*" not in (before, after):
        return f"{lead}{part.marker}{stripped}{part.marker}{trail}"
    # "**注意：**请" or "a**(a)**b" would show the asterisks: inline HTML always works.
    return f"{lead}<{part.tag}>{stripped}</{part.tag}>{trail}"


def _code_span(code: str) -> str:
    code = single_line(code)
    if not code:
        return ""
    longest = max((len(run) for run in re.findall(r"`+", code)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if code.startswith("`") or code.endswith("`") else ""
    return f"{fence}{pad}{code}{pad}{fence}"


def _math_markdown(latex: str, *, display: bool) -> str:
    latex = single_line(latex)
    if not latex:
        return ""
    return f"$${latex}$$" if display else f"${latex}$"


def _renders_nothing(node: Inline) -> bool:
    if isinstance(node, Text):
        return not node.text
    if isinstance(node, Math):
        return not node.latex.strip()
    if isinstance(node, InlineCode):
        return not node.code.strip()
    if isinstance(node, Strong | Emphasis):
        return all(_renders_nothing(child) for child in node.children)
    return False


def _joined_text(nodes: Iterable[Inline]) -> list[Inline]:
    """Neighbouring text as one ``Text`` (escaping looks at a character's neighbours, and at
    a piece's ends must assume the worst) and neighbouring code as one span."""
    joined: list[Inline] = []
    for node in nodes:
        if _renders_nothing(node):
            continue
        if isinstance(node, Text) and joined and isinstance(joined[-1], Text):
            joined[-1] = Text(joined[-1].text + node.text)
        elif isinstance(node, InlineCode) and joined and isinstance(joined[-1], InlineCode):
            joined[-1] = InlineCode(joined[-1].code + node.code)  # `a``b` is one span
        else:
            joined.append(node)
    return joined


def to_markdown(
    nodes: Iterable[Inline], *, in_table: bool = False, in_link: bool = False, block: bool = False
) -> str:
    """Render inline nodes as Markdown; line-start escaping is the caller's job.

    ``in_table``: inside a GFM table cell; ``in_link``: inside a link's text; ``block``: the
    nodes are all of a block's content (nothing of ours stands before or after them).
    """
    parts: list[str | _Styled] = []
    joined = _joined_text(nodes)
    last = len(joined) - 1
    for index, node in enumerate(joined):
        if isinstance(node, Text):
            next_node = joined[index + 1] if index < last else None
            text = escape_inline(
                node.text,
                in_table=in_table,
                in_link=in_link,
                before_bracket=isinstance(next_node, Link | FootnoteRef),
                block_start=block and index == 0,
                block_end=block and index == last,
            )
            if index and isinstance(joined[index - 1], FootnoteRef) and text.startswith(("(", "[")):
                text = "\\" + text  # "[^1](x)" and "[^1][]" would be links
            parts.append(text)
        elif isinstance(node, Math):
            latex = node.latex
            if in_table:
                # A pipe splits a GFM table cell even inside math; \vert is the same symbol.
                latex = latex.replace(r"\|", r"\Vert ").replace("|", r"\vert ")
            parts.append(_math_markdown(latex, display=node.display))
        elif isinstance(node, Strong):
            inner = to_markdown(node.children, in_table=in_table, in_link=in_link)
            parts.append(_Styled("**", "strong", inner))
        elif isinstance(node, Emphasis):
            inner = to_markdown(node.children, in_table=in_table, in_link=in_link)
            parts.append(_Styled("*", "em", inner))
        elif isinstance(node, InlineCode):
            code = node.code.replace("|", "\\|") if in_table else node.code
            parts.append(_code_span(code))
        elif isinstance(node, Link):
            label = to_markdown(node.children, in_table=in_table, in_link=True)
            label = label or escape_inline(node.url, in_table=in_table, in_link=True)
            url = re.sub(r"[\s<>\\|]", lambda m: f"%{ord(m.group()):02X}", node.url)
            parts.append(f"[{label}](<{url}>)")
        elif isinstance(node, FootnoteRef):
            parts.append(f"[^{node.label}]")
        else:
            parts.append("\n")
    if not any(isinstance(part, _Styled) for part in parts):
        return "".join(parts)  # type: ignore[arg-type]
    out: list[str] = []
    for index, part in enumerate(parts):
        if isinstance(part, str):
            out.append(part)
            continue
        following = parts[index + 1] if index + 1 < len(parts) else ""
        after = following[:1] if isinstance(following, str) else "*"
        out.append(_styled(part, out[-1][-1:] if out else "", after))
    return "".join(out)


def to_html(nodes: Iterable[Inline]) -> str:
    """Render inline nodes as HTML (used inside HTML tables); math stays ``$...$``."""
    parts: list[str] = []
    for node in nodes:
        if isinstance(node, Text):
            parts.append(html.escape(node.text, quote=False))
        elif isinstance(node, Math):
            parts.append(html.escape(_math_markdown(node.latex, display=node.display), quote=False))
        elif isinstance(node, Strong):
            parts.append(f"<strong>{to_html(node.children)}</strong>")
        elif isinstance(node, Emphasis):
            parts.append(f"<em>{to_html(node.children)}</em>")
        elif isinstance(node, InlineCode):
            parts.append(f"<code>{html.escape(node.code, quote=False)}</code>")
        elif isinstance(node, Link):
            label = to_html(node.children) or html.escape(node.url, quote=False)
            parts.append(f'<a href="{html.escape(node.url)}">{label}</a>')
        elif isinstance(node, FootnoteRef):
            parts.append(f"<sup>{html.escape(node.label)}</sup>")
        else:
            parts.append("<br>")
    return "".join(parts)


def to_text(nodes: Iterable[Inline]) -> str:
    """Plain text: what a reader sees, with math as ``$latex$``."""
    parts: list[str] = []
    for node in nodes:
        if isinstance(node, Text):
            parts.append(node.text)
        elif isinstance(node, Math):
            parts.append(_math_markdown(node.latex, display=node.display))
        elif isinstance(node, Strong | Emphasis):
            parts.append(to_text(node.children))
        elif isinstance(node, InlineCode):
            parts.append(node.code)
        elif isinstance(node, Link):
            parts.append(to_text(node.children) or node.url)
        elif isinstance(node, FootnoteRef):
            parts.append(f"[{node.label}]")
        else:
            parts.append("\n")
    return "".join(parts)
