"""One linear pass over GOT's markup that pairs braces, environments and math delimiters.

The parsers then jump from an opener to its closer in constant time, so even output that
is nothing but unbalanced braces converts in linear time. Anything unpaired maps to
``None``: the parsers treat it as cut off and keep what follows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import NamedTuple

_BRACES = re.compile(r"\\.|[{}]", re.DOTALL)
# The lookbehind skips "\\\\begin": a line break followed by the word "begin".
_ENVIRONMENTS = re.compile(r"(?<!\\)(?:\\\\)*\\(begin|end)[ \t]*\{( *[A-Za-z@]+\*? *)\}")
_MATH = re.compile(
    r"\\\\|\\[()\[\]]|\n(?:[ \t]*\n|[ \t]*\\(?:(?:sub)*section|title|chapter|item)\b)?"
)


_OPTION = re.compile(r"\s*\[[^\[\]{}]*\]")
_BLANKS = re.compile(r"\s*")


class Argument(NamedTuple):
    """A ``{...}`` argument: its content is ``text[start:stop]``; parsing goes on at ``after``.

    An argument GOT never closed runs to the end of the span it was read in.
    """

    start: int
    stop: int
    after: int
    closed: bool


@dataclass(frozen=True)
class Environment:
    """A ``\\begin{name}`` and, when GOT wrote it, its ``\\end{name}``."""

    name: str
    start: int
    """Offset of the backslash of ``\\begin``."""
    body_start: int
    body_end: int
    """Offset of ``\\end`` (or of the end of the text when unclosed)."""
    end: int
    """Offset just past ``\\end{name}`` (or the end of the text when unclosed)."""
    closed: bool


@dataclass
class Source:
    """GOT markup with its pairs found."""

    text: str
    braces: dict[int, int] = field(default_factory=dict)
    """Offset of ``{`` -> offset of its ``}``."""
    environments: dict[int, Environment] = field(default_factory=dict)
    """Offset of ``\\begin`` -> its environment."""
    math: dict[int, int] = field(default_factory=dict)
    """Offset of ``\\(`` or ``\\[`` -> offset of its ``\\)`` or ``\\]``."""

    @classmethod
    def scan(cls, text: str) -> Source:
        source = cls(text)
        source._pair_braces()
        source._pair_environments()
        source._pair_math()
        return source

    def _pair_braces(self) -> None:
        stack: list[int] = []
        for match in _BRACES.finditer(self.text):
            token = match.group()
            if token == "{":
                stack.append(match.start())
            elif token == "}" and stack:
                self.braces[stack.pop()] = match.start()

    def _pair_environments(self) -> None:
        open_envs: list[tuple[str, int, int]] = []  # (name, \begin offset, body start)
        depth_of: dict[str, list[int]] = {}  # name -> indexes in open_envs, innermost last
        for match in _ENVIRONMENTS.finditer(self.text):
            name = match.group(2).strip()
            start = match.start(1) - 1
            if match.group(1) == "begin":
                depth_of.setdefault(name, []).append(len(open_envs))
                open_envs.append((name, start, match.end()))
                continue
            indexes = depth_of.get(name)
            if not indexes:
                continue  # an \end with no \begin: markup only
            index = indexes.pop()
            _, begin, body_start = open_envs[index]
            self.environments[begin] = Environment(
                name, begin, body_start, start, match.end(), closed=True
            )
            # Environments opened inside and never closed end here too.
            for inner_name, inner_start, inner_body in open_envs[index + 1 :]:
                depth_of[inner_name].pop()
                self.environments[inner_start] = Environment(
                    inner_name, inner_start, inner_body, start, start, closed=False
                )
            del open_envs[index:]
        end = len(self.text)
        for name, start, body_start in open_envs:
            self.environments[start] = Environment(name, start, body_start, end, end, closed=False)

    def _pair_math(self) -> None:
        # GOT writes inline math on one line and display math within one block: an opener
        # still open at a line end (inline) or at a blank line or new section (display) was
        # never closed, so a stray closer further on cannot swallow the text in between.
        opened: int | None = None
        closer = ""
        for match in _MATH.finditer(self.text):
            token = match.group()
            if token == "\\\\":
                continue
            if token in ("\\(", "\\["):
                opened = match.start()
                closer = "\\)" if token == "\\(" else "\\]"
            elif token[0] == "\n":
                if opened is not None and (closer == "\\)" or token != "\n"):
                    opened = None
            elif opened is not None and token == closer:
                self.math[opened] = match.start()
                opened = None

    def arguments(self, pos: int, end: int, count: int) -> list[Argument]:
        """Up to ``count`` ``{arguments}`` from ``pos``, blanks and ``[options]`` skipped.

        Stops at the first thing that is not an argument, and after one left unclosed.
        """
        text = self.text
        found: list[Argument] = []
        while len(found) < count:
            option = _OPTION.match(text, pos, end)
            while option:
                pos = option.end()
                option = _OPTION.match(text, pos, end)
            pos = _BLANKS.match(text, pos, end).end()  # type: ignore[union-attr]
            if pos >= end or text[pos] != "{":
                break
            close = self.group_end(pos, end)
            if close is None:
                found.append(Argument(pos + 1, end, end, closed=False))
                break
            found.append(Argument(pos + 1, close, close + 1, closed=True))
            pos = close + 1
        return found

    def group_end(self, open_brace: int, limit: int) -> int | None:
        """Offset of the ``}`` closing the ``{`` at ``open_brace``, if it is before ``limit``."""
        close = self.braces.get(open_brace)
        return close if close is not None and close < limit else None

    def math_end(self, opener: int, limit: int) -> int | None:
        close = self.math.get(opener)
        return close if close is not None and close < limit else None
