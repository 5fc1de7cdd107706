"""Escaping text so that Markdown shows it as written.

CommonMark lets a backslash escape any ASCII punctuation, so escaping more than needed is
always safe; escaping less keeps the text readable for people and embedding models. These
rules escape what can start Markdown syntax and leave the rest (``snake_case``, ``3.5``,
``a - b``) alone. ``tests/got_model/test_markdown_escape.py`` checks them against a real
CommonMark + GFM parser with generated text.
"""

from __future__ import annotations

import re

# Characters that are syntax wherever they stand: emphasis, code, math (ours uses $),
# tables, strikethrough, and the backslash itself.
_ALWAYS = str.maketrans({c: "\\" + c for c in "\\`*$|~"})

_INLINE_CONTEXT = re.compile(
    r"""
      (?<![^\W_])_+|_+(?![^\W_])  # underscores not inside a word can open emphasis
    | \](?=[(\[:])                # ](  ][  ]:  make links and link definitions
    | \[(?=\^)                    # [^  is a footnote reference
    | \^(?=\[)                    # ^[  is an inline footnote (Pandoc, markdown-it)
    | <(?=[A-Za-z/!?])            # <tag  </tag  <!--  <?  are raw HTML or autolinks
    | &(?=\#?[A-Za-z0-9]+;)       # &amp; &#123; are character references
    """,
    re.VERBOSE,
)

_LINE_START = re.compile(
    r"""
    ^[ \t]*                              # leading blanks would make indented code
    (?:
        (?P<block>\#{1,6}(?=[ \t]|$)     # ATX heading
        | >                              # block quote
        | [-+](?=[ \t]|$)                # bullet list item
        | [-=]+[ \t]*$                   # setext underline or thematic break
        )
      | (?P<digits>\d{1,9})(?P<delim>[.)])(?=[ \t]|$)  # ordered list item
      | (?P<reference>\[\^[^\]\n]*\])(?=:)          # our own [^1] mark, read as a definition
    )?
    """,
    re.VERBOSE | re.MULTILINE,
)


# Two trailing spaces would be a hard line break.
_TRAILING_BLANKS = re.compile(r"[ \t]+$", re.MULTILINE)


def _escape_context(match: re.Match[str]) -> str:
    return "".join("\\" + c for c in match.group())


def _escape_line_start(match: re.Match[str]) -> str:
    block = match.group("block")
    if block:
        return "\\" + block
    delim = match.group("delim")
    if delim:
        return match.group("digits") + "\\" + delim
    reference = match.group("reference")
    if reference:
        return reference + "\\"  # "[^1]\: text" stays a mark followed by text
    return ""


def escape_inline(text: str) -> str:
    """Escape text that sits inside a line of Markdown (not at its start)."""
    return _INLINE_CONTEXT.sub(_escape_context, text.translate(_ALWAYS))


def escape_line_starts(markdown: str) -> str:
    """Escape what would open a block at the start of each line, and drop leading blanks.

    Works on already-rendered inline Markdown: our own markup never starts a line with
    the characters this touches (``*`` from text is already escaped by ``escape_inline``).
    """
    return _LINE_START.sub(_escape_line_start, _TRAILING_BLANKS.sub("", markdown))


def escape_markdown(text: str) -> str:
    """Escape plain text so a CommonMark/GFM renderer shows exactly its characters.

    Lines keep their line breaks; leading and trailing blanks of each line are dropped
    (Markdown would read them as code blocks or hard breaks).
    """
    return escape_line_starts(escape_inline(text))
