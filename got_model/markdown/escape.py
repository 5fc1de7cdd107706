"""Escaping text so that Markdown shows it as written, with as few backslashes as that takes.

CommonMark lets a backslash escape any ASCII punctuation, so escaping more than needed is
always safe, but every needless ``\\`` is noise for readers and embedding models (manuals are
full of ``\\section``, ``a[i]``, ``x * y``, ``snake_case``). A character is escaped here only
where CommonMark + GFM (tables, strikethrough) and our ``$`` math would read it as syntax:

- ``\\`` only before ASCII punctuation or a line end (anything else keeps the backslash);
- ``*`` ``_`` ``~`` runs only where they could pair up into emphasis or strikethrough: a run
  that can open (by CommonMark's flanking rules) with one that can close after it, so
  ``x * y``, ``snake_case``, ``2*x`` or a lone ``‘*’`` keep their characters;
- ``]`` only before ``(`` ``[`` ``:`` (links, references, definitions), ``[`` before ``^``
  (footnote marks), ``^`` before ``[`` (inline footnotes), ``!`` before a link, ``<``
  where it could open a tag or an autolink, ``&`` where it makes a character reference;
- `````` ` `````` and ``$`` always (renderers disagree on when a ``$`` opens math);
- ``|`` only inside table cells, and a line that could be a table's delimiter row;
- ``#`` ``>`` ``-`` ``+`` ``*`` ``=`` and ``1.`` only at the start of a line.

Text is escaped a piece at a time (a ``Text`` node between math, emphasis or links), so a
character at either end of a piece is escaped whenever what follows could complete syntax.
``tests/got_model/test_markdown_escape.py`` renders generated text through a real CommonMark
+ GFM parser and checks a reader sees exactly the characters that went in.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

_ESCAPED = r"""
      [`$]                            # code spans and $math$ pair up across the paragraph
    | \\(?=[!-/:-@\[-`{-~]|[ \t]*[\r\n]|\s*\Z)  # one that would escape, or break the line
    | \*(?<!\*\*)\** | ~(?<!~~)~* | _(?<!__)_*  # whole delimiter runs: see _runs_to_escape
    | \](?=[(\[:])                    # ](  ][  ]:  make links and link definitions
    | \[(?=\^)                        # [^  is a footnote reference
    | \^(?=\[)                        # ^[  is an inline footnote (Pandoc, markdown-it)
    | <(?=[A-Za-z/!?]|[^\s<>]*@|\Z)   # <tag  </tag  <!--  <?  <a@b.c>: HTML or an autolink
    | &(?=\#?[A-Za-z0-9]+;)           # &amp; &#123; are character references
"""
_PATTERNS = {
    (in_table, in_link): re.compile(
        _ESCAPED
        + ("| \\|  # a pipe ends a table cell\n" if in_table else "")
        + ("| [\\[\\]]  # an unpaired bracket ends a link's text early\n" if in_link else ""),
        re.VERBOSE,
    )
    for in_table in (False, True)
    for in_link in (False, True)
}

# Character classes of CommonMark's flanking rules. Parsers differ on a few characters
# (non-ASCII symbols are punctuation only since CommonMark 0.31; markdown-it counts \v as
# whitespace), so those are given both classes and every reading is considered.
_SPACE, _PUNCT, _OTHER = 1, 2, 4
_ASCII_PUNCT = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
_DELIMITER_RUN = re.compile(r"\*+|_+|~+")


def _classes(char: str) -> int:
    if char in " \t\n\r\f":
        return _SPACE
    if char < "\x80":
        return _SPACE | _OTHER if char == "\v" else _PUNCT if char in _ASCII_PUNCT else _OTHER
    category = unicodedata.category(char)
    if category == "Zs":
        return _SPACE
    return {"P": _PUNCT, "S": _PUNCT | _OTHER}.get(category[0], _OTHER)


@cache
def _flanks(intraword: bool, before: int, after: int) -> tuple[bool, bool]:
    """Whether a delimiter run between characters of these classes can open, and close,
    emphasis (CommonMark's left- and right-flanking rules) under any reading."""
    opens = closes = False
    for last in (c for c in (_SPACE, _PUNCT, _OTHER) if before & c):
        for following in (c for c in (_SPACE, _PUNCT, _OTHER) if after & c):
            left = following != _SPACE and (following != _PUNCT or last in (_SPACE, _PUNCT))
            right = last != _SPACE and (last != _PUNCT or following in (_SPACE, _PUNCT))
            opens |= left and (intraword or not right or last == _PUNCT)
            closes |= right and (intraword or not left or following == _PUNCT)
    return opens, closes


def _runs_to_escape(text: str, block_start: bool, block_end: bool) -> set[int]:
    """Where the ``*``, ``_`` and ``~`` runs that could make emphasis or strikethrough start.

    A run that can open is escaped when a run that can close comes after it (or text we do
    not see does); then no opener left as text has a closer to pair with. A ``*`` that can
    close is also escaped when our own ``*`` markup may stand before the text. At an end of
    the piece that is not a block's end (blanks aside) the neighbour is unknown, so the run
    is escaped.
    """
    escaped: set[int] = set()
    closer_after = dict.fromkeys("*_~", not block_end)
    # Emphasis we write around the text moves the text's outer blanks outside its markers.
    first, last = len(text) - len(text.lstrip()), len(text.rstrip())
    for run in reversed(list(_DELIMITER_RUN.finditer(text))):
        start, end = run.span()
        marker = text[start]
        if (start == first and not block_start) or (end == last and not block_end):
            escaped.add(start)
            closer_after[marker] = True
            continue
        before = _classes(text[start - 1]) if start else _SPACE
        after = _classes(text[end]) if end < len(text) else _SPACE
        opens, closes = _flanks(marker != "_", before, after)
        if (opens and closer_after[marker]) or (closes and marker == "*" and not block_start):
            escaped.add(start)
        closer_after[marker] |= closes
    return escaped


_LINE_START = re.compile(
    r"""
    ^[ \t]*                              # leading blanks would make indented code
    (?:
        (?P<block>\#{1,6}(?=[ \t]|$)     # ATX heading
        | >                              # block quote
        | [-+*](?=[ \t]|$)               # bullet list item
        | [-=]+[ \t]*$                   # setext underline or thematic break
        | [-|:](?=[ \t|:]*-)[ \t|:-]*$   # a table's delimiter row
        )
      | (?P<run>[*_][ \t*_]*$|~{3,})     # a thematic break, a ~~~ code fence
      | (?P<digits>\d{1,9})(?P<delim>[.)])(?=[ \t]|$)  # ordered list item
      | (?P<reference>\[\^[^\]\n]*\])(?=:)          # our own [^1] mark, read as a definition
    )?
    """,
    re.VERBOSE | re.MULTILINE,
)


# Two trailing spaces would be a hard line break.
_TRAILING_BLANKS = re.compile(r"[ \t]+$", re.MULTILINE)


def _escape_line_start(match: re.Match[str]) -> str:
    block = match.group("block")
    if block:
        return "\\" + block
    run = match.group("run")
    if run:
        return re.sub(r"[*_~]", r"\\\g<0>", run)
    delim = match.group("delim")
    if delim:
        return match.group("digits") + "\\" + delim
    reference = match.group("reference")
    if reference:
        return reference + "\\"  # "[^1]\: text" stays a mark followed by text
    return ""


def escape_inline(
    text: str,
    *,
    in_table: bool = False,
    in_link: bool = False,
    before_bracket: bool = False,
    block_start: bool = False,
    block_end: bool = False,
) -> str:
    """Escape a piece of text that sits inside a line of Markdown (not at its start).

    ``in_table``: the text is in a GFM table cell, where ``|`` ends the cell. ``in_link``:
    it is a link's text, where any ``[`` or ``]`` can end the link text early.
    ``before_bracket``: a ``[`` follows the text (a link or a footnote mark we write), which
    a last ``]`` ``!`` or ``^`` would turn into a reference, an image or an inline note.
    ``block_start`` / ``block_end``: nothing but blanks comes before / after the text in its
    block (a paragraph, heading, list item or cell), so its ends are known.
    """
    has_runs = "*" in text or "_" in text or "~" in text
    runs = _runs_to_escape(text, block_start, block_end) if has_runs else ()

    def escape(match: re.Match[str]) -> str:
        found = match.group()
        if found[0] in "*_~" and match.start() not in runs:
            return found
        return "".join("\\" + c for c in found)

    escaped = _PATTERNS[in_table, in_link].sub(escape, text)
    if before_bracket and text.endswith(("!", "^") if in_link else ("]", "!", "^")):
        escaped = escaped[:-1] + "\\" + escaped[-1]  # in a link, "]" is escaped already
    return escaped


def escape_line_starts(markdown: str) -> str:
    """Escape what would open a block at the start of each line, and drop leading blanks.

    Works on already-rendered inline Markdown: our own markup never starts a line with
    the characters this touches. ``escape_inline`` judges ``*``, ``_`` and ``~`` runs as
    inline syntax only; as bullets, rules and fences at a line's start they are escaped here.
    """
    return _LINE_START.sub(_escape_line_start, _TRAILING_BLANKS.sub("", markdown))


def escape_markdown(text: str) -> str:
    """Escape plain text so a CommonMark/GFM renderer shows exactly its characters.

    Lines keep their line breaks; leading and trailing blanks of each line are dropped
    (Markdown would read them as code blocks or hard breaks).
    """
    return escape_line_starts(escape_inline(text, block_start=True, block_end=True))
