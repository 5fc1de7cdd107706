"""Page selection: which pages of each document to read, written as users count them (from 1)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from got_loaders.errors import InvalidPagesError, PageSelectionError

PagesArgument = int | str | range | Iterable[int | str] | None
"""What ``pages=`` accepts: ``3``, ``"1-3,7,10-"``, ``[1, 2, "5-6"]``, ``range(1, 4)`` or None."""

_PART = re.compile(r"^\s*(\d+)\s*(?:(-)\s*(\d*)\s*)?$")
MAX_PAGE_NUMBER = 10**9
"""No document has more pages; larger numbers are mistakes (and Python refuses to read
integers of more than 4,300 digits)."""


@dataclass(frozen=True)
class PageSelection:
    """1-based page numbers and ranges; ``None`` as an end means "to the last page".

    Pages are read in document order, each once, whatever order the selection lists them in.
    """

    ranges: tuple[tuple[int, int | None], ...] = ()

    @classmethod
    def parse(cls, pages: PagesArgument | PageSelection) -> PageSelection | None:
        """Parse a ``pages=`` argument; ``None`` selects every page.

        Raises:
            InvalidPagesError: on a page below 1, a reversed range or text that is not a range.
        """
        if pages is None or isinstance(pages, PageSelection):
            return pages
        if isinstance(pages, (bool, bytes, bytearray)):
            raise InvalidPagesError(f"pages must be page numbers or ranges, got {pages!r}.")
        if isinstance(pages, range):
            if pages.step != 1 or not pages:
                raise InvalidPagesError(f"pages={pages!r} must be a non-empty range with step 1.")
            return cls(((_first(pages.start, pages), _last(pages.stop - 1, pages)),))
        items: Iterable[int | str] = [pages] if isinstance(pages, (int, str)) else pages
        ranges: list[tuple[int, int | None]] = []
        try:
            for item in items:
                ranges.extend(_parse_item(item))
        except TypeError:
            raise InvalidPagesError(
                f"pages must be page numbers or ranges, got {pages!r}."
            ) from None
        if not ranges:
            raise InvalidPagesError(f"pages={pages!r} selects no page.")
        return cls(tuple(ranges))

    def indices(self, total_pages: int, source: str) -> list[int]:
        """The 0-based indices selected in a document of ``total_pages`` pages, in order.

        Pages past the end are ignored, so ``pages="1-2"`` over a mix of long PDFs and
        one-page images reads what each has.

        Raises:
            PageSelectionError: if the selection leaves no page of this document.
        """
        chosen: set[int] = set()
        for first, last in self.ranges:
            end = total_pages if last is None else min(last, total_pages)
            chosen.update(range(first - 1, end))
        if not chosen:
            raise PageSelectionError(
                source,
                f"pages={self} selects no page: the document has {total_pages} "
                f"page{'s' if total_pages != 1 else ''}.",
            )
        return sorted(chosen)

    def __str__(self) -> str:
        return ",".join(
            f"{first}-" if last is None else str(first) if first == last else f"{first}-{last}"
            for first, last in self.ranges
        )


def _first(start: int, pages: object) -> int:
    if start < 1:
        raise InvalidPagesError(f"Pages are numbered from 1, got {_short(pages)}.")
    return _last(start, pages)


def _last(number: int, pages: object) -> int:
    if number > MAX_PAGE_NUMBER:
        raise InvalidPagesError(
            f"Page numbers go up to {MAX_PAGE_NUMBER:,}, got {_short(pages)}: write '7-' for "
            "page 7 to the end."
        )
    return number


def _number(digits: str, part: str) -> int:
    if len(digits.lstrip("0")) > len(str(MAX_PAGE_NUMBER)):
        _last(MAX_PAGE_NUMBER + 1, part)
    return int(digits)


def _short(value: object) -> str:
    try:
        text = repr(value)
    except ValueError:  # an integer of more than 4,300 digits
        return "a number far too large"
    return text if len(text) <= 40 else f"{text[:37]}..."


def _parse_item(item: int | str) -> list[tuple[int, int | None]]:
    if isinstance(item, bool):
        raise TypeError
    if isinstance(item, int):
        return [(_first(item, item), item)]  # _first also bounds it
    if not isinstance(item, str):
        raise TypeError
    parsed: list[tuple[int, int | None]] = []
    for part in item.split(","):
        match = _PART.match(part)
        if match is None:
            raise InvalidPagesError(
                f"Cannot read page range {part.strip()!r}: write pages as '3', '1-5' or '7-' "
                "(from page 7 to the end), separated by commas."
            )
        first = _first(_number(match.group(1), part.strip()), part.strip())
        if match.group(2) is None:
            parsed.append((first, first))
        elif not match.group(3):
            parsed.append((first, None))
        else:
            last = _last(_number(match.group(3), part.strip()), part.strip())
            if last < first:
                raise InvalidPagesError(f"Page range {part.strip()!r} runs backwards.")
            parsed.append((first, last))
    return parsed
