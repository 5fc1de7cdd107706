"""Reading user-facing string options ("page", "skip", ...) into their enums."""

from __future__ import annotations

from enum import Enum
from typing import TypeVar

E = TypeVar("E", bound=Enum)


def parse_option(kind: type[E], value: E | str, argument: str) -> E:
    """``kind(value)``, with an error naming the argument and every accepted value."""
    try:
        return kind(value)
    except ValueError:
        accepted = ", ".join(repr(member.value) for member in kind)
        raise ValueError(f"{argument} must be one of {accepted}, not {value!r}.") from None
