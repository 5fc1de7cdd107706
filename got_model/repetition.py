"""Detect GOT's "AR repeater" loops: an output whose tail has become periodic.

Pure Python on token ids, so it is cheap to test and to call during generation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class RepetitionGuard:
    """When to call a periodic tail a loop.

    A tail counts as a loop once one block of ``period`` tokens (``period <= max_period``) has
    repeated back to back over at least ``min_span`` tokens and at least ``min_repeats`` times.
    Greedy decoding never leaves such a loop by itself, so stopping there only saves the tokens
    GOT would have wasted up to ``max_new_tokens``. The span threshold keeps short legitimate
    repetition (dot leaders, a few identical table rows) from tripping it; a genuine run of
    192+ tokens of identical content (e.g. a long blank form table) is cut too: raise
    ``min_span`` for such documents.

    Attributes:
        min_span: fewest tokens the periodic tail must cover.
        min_repeats: fewest back-to-back copies of the repeated block.
        max_period: longest repeated block looked for, in tokens.
        check_every: during generation, look every this many new tokens.
    """

    min_span: int = 192
    min_repeats: int = 4
    max_period: int = 384
    check_every: int = 16

    def __post_init__(self) -> None:
        for name in ("min_span", "min_repeats", "max_period", "check_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"RepetitionGuard.{name} must be at least 1.")
        if self.min_repeats < 2:
            raise ValueError("RepetitionGuard.min_repeats must be at least 2.")

    def find(self, tokens: Sequence[int]) -> Repetition | None:
        """Return the loop at the end of ``tokens``, or None if the tail is not a loop."""
        total = len(tokens)
        if total < self.min_span:
            return None
        last = tokens[-1]
        limit = min(self.max_period, total // self.min_repeats)
        # The smallest period wins, so a loop of "ab" is reported as period 2, not 4.
        for period in range(1, limit + 1):
            if tokens[-1 - period] != last:  # cheap filter: most periods fail here
                continue
            span = _periodic_span(tokens, period)
            if span >= self.min_span and span >= self.min_repeats * period:
                return Repetition(period=period, span=span, total=total)
        return None


@dataclass(frozen=True)
class Repetition:
    """A periodic tail: the last ``span`` of ``total`` tokens repeat a block of ``period``."""

    period: int
    span: int
    total: int

    @property
    def keep(self) -> int:
        """Tokens to keep: everything before the loop plus one copy of the repeated block."""
        return self.total - self.span + self.period

    @property
    def cut(self) -> int:
        """Tokens removed by keeping only ``keep``."""
        return self.total - self.keep


def _periodic_span(tokens: Sequence[int], period: int) -> int:
    """Length of the longest tail of ``tokens`` that repeats with this period."""
    start = len(tokens) - period
    while start > 0 and tokens[start - 1] == tokens[start - 1 + period]:
        start -= 1
    return len(tokens) - start
