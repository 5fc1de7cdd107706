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


@dataclass(frozen=True)
class GenerationStats:
    """What an engine's ``generate`` calls have cost so far (see ``GOTEngine.stats``).

    A batch runs as many decode steps as its longest output needs, and every row pays for
    each step: rows already finished are padding. ``useful_fraction`` is the share of the
    steps paid for that wrote a token of an output.

    Attributes:
        batches: ``generate`` calls.
        pages: requests (rows) in them.
        generated_tokens: tokens the outputs needed, the end token included.
        decode_steps: rows times steps, summed over batches: what the batches cost.
        seconds: wall time spent in batches (preprocessing, generation, decoding).
    """

    batches: int = 0
    pages: int = 0
    generated_tokens: int = 0
    decode_steps: int = 0
    seconds: float = 0.0

    @property
    def useful_fraction(self) -> float:
        """``generated_tokens / decode_steps`` (1.0 before any batch)."""
        return self.generated_tokens / self.decode_steps if self.decode_steps else 1.0

    @property
    def pages_per_second(self) -> float:
        """Pages read per second spent in batches (0.0 before any batch)."""
        return self.pages / self.seconds if self.seconds else 0.0

    def __add__(self, other: GenerationStats) -> GenerationStats:
        return GenerationStats(
            self.batches + other.batches,
            self.pages + other.pages,
            self.generated_tokens + other.generated_tokens,
            self.decode_steps + other.decode_steps,
            self.seconds + other.seconds,
        )

    def __sub__(self, other: GenerationStats) -> GenerationStats:
        """What happened between two snapshots: ``after - before``."""
        return GenerationStats(
            self.batches - other.batches,
            self.pages - other.pages,
            self.generated_tokens - other.generated_tokens,
            self.decode_steps - other.decode_steps,
            self.seconds - other.seconds,
        )
