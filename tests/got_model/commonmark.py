"""A real CommonMark + GFM parser to check our Markdown parses as intended.

markdown-it-py with the GFM table and strikethrough rules, plus the dollar-math and
footnote plugins that Markdown renderers with math support (MyST, Obsidian, GitHub) follow.
"""

from __future__ import annotations

from functools import cache

from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.dollarmath import dollarmath_plugin
from mdit_py_plugins.footnote import footnote_plugin


@cache
def markdown_parser() -> MarkdownIt:
    parser = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    return parser.use(dollarmath_plugin, double_inline=True).use(footnote_plugin)


def parse(markdown: str) -> list[Token]:
    return markdown_parser().parse(markdown)


def block_types(markdown: str) -> list[str]:
    """The opening block tokens, in order (``heading_open``, ``table_open``, ``math_block``...)."""
    return [
        token.type
        for token in parse(markdown)
        if token.nesting >= 0 and token.level == 0 and token.type != "inline"
    ]


def visible_text(markdown: str) -> str:
    """What a reader sees: inline text, with line breaks as ``\\n`` and paragraphs as ``\\n\\n``."""
    paragraphs: list[str] = []
    for token in parse(markdown):
        if token.type != "inline":
            continue
        parts: list[str] = []
        for child in token.children or []:
            if child.type in ("softbreak", "hardbreak"):
                parts.append("\n")
            elif child.type in ("text", "code_inline", "html_inline"):
                parts.append(child.content)
            elif child.type == "math_inline":
                parts.append(f"${child.content}$")
        paragraphs.append("".join(parts))
    return "\n\n".join(paragraphs)
