"""What the engine returns for each request."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from functools import cached_property

from .markdown import Block, MarkdownOutput, convert
from .tasks import OCRTask


class FinishReason(str, Enum):
    """Why generation stopped for one output."""

    STOP = "stop"
    """GOT wrote its end token: the output is complete."""
    LENGTH = "length"
    """``max_new_tokens`` ran out: the output is probably cut off."""
    REPETITION = "repetition"
    """GOT fell into a loop; the repeated tail was cut (see ``OCRResult.repeated_tokens_cut``)."""


@dataclass(frozen=True)
class OCRResult:
    """The outcome of one request.

    Attributes:
        text: what GOT wrote, special tokens removed (raw GOT markup for formatted tasks).
        finish_reason: why generation stopped.
        generated_tokens: tokens the model generated for this output, its end token included.
        seconds: this output's share of its batch's wall time (batch time / batch size).
        task: the task that produced it.
        repeated_tokens_cut: tokens of a repeated tail removed from ``text`` (0 unless
            ``finish_reason`` is ``REPETITION``).
    """

    text: str
    finish_reason: FinishReason
    generated_tokens: int
    seconds: float
    task: OCRTask
    repeated_tokens_cut: int = 0

    @cached_property
    def converted(self) -> MarkdownOutput:
        """``text`` as typed blocks and Markdown (converted once, on first access).

        Formatted output goes through the GOT markup converter, plain output is escaped;
        either way the conversion never raises, even on output cut off mid-table.
        """
        return convert(self.text, self.task.output)

    @property
    def markdown(self) -> str:
        """CommonMark + GFM Markdown of ``text``: the form every loader uses."""
        return self.converted.markdown

    @property
    def blocks(self) -> tuple[Block, ...]:
        """The typed blocks (headings, paragraphs, tables...) behind ``markdown``."""
        return self.converted.blocks
