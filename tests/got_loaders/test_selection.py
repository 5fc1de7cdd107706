"""Page selection: 1-based numbers and ranges, read in document order."""

from __future__ import annotations

import pytest

from got_loaders.errors import InvalidPagesError, PageSelectionError
from got_loaders.sources.selection import PageSelection


def indices(pages: object, total: int = 10) -> list[int]:
    selection = PageSelection.parse(pages)  # type: ignore[arg-type]
    assert selection is not None
    return selection.indices(total, "doc.pdf")


@pytest.mark.parametrize(
    ("pages", "expected"),
    [
        (3, [2]),
        ("3", [2]),
        ("1-3", [0, 1, 2]),
        ("1-3,7", [0, 1, 2, 6]),
        (" 8 - , 2 ", [1, 7, 8, 9]),
        ("9-", [8, 9]),
        ([5, 1, "2-3"], [0, 1, 2, 4]),
        ("2,2,1-2", [0, 1]),
        (range(1, 4), [0, 1, 2]),
        (range(10, 11), [9]),
        ((4, 6), [3, 5]),
    ],
)
def test_selections_become_sorted_unique_indices(pages: object, expected: list[int]) -> None:
    assert indices(pages) == expected


def test_none_selects_everything() -> None:
    assert PageSelection.parse(None) is None


@pytest.mark.parametrize(
    "pages", [0, -1, "0", "3-1", "a", "1-2-3", "", ",", [], True, 1.5, [None], range(0, 3)]
)
def test_malformed_selections_are_rejected_up_front(pages: object) -> None:
    with pytest.raises(InvalidPagesError):
        PageSelection.parse(pages)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("pages", "expected"), [("9-11", [8, 9]), ("2,12", [1]), ("1-", list(range(10)))]
)
def test_pages_past_the_end_are_ignored(pages: object, expected: list[int]) -> None:
    assert indices(pages) == expected


@pytest.mark.parametrize("pages", [11, "11-", "11-20,30"])
def test_a_selection_with_no_page_of_the_document_names_the_file(pages: object) -> None:
    with pytest.raises(PageSelectionError, match=r"doc\.pdf: .* has 10 pages") as info:
        indices(pages)
    assert info.value.source == "doc.pdf"


def test_selection_prints_as_it_is_written() -> None:
    assert str(PageSelection.parse("1-3, 5, 7-")) == "1-3,5,7-"
