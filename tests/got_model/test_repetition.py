from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from got_model import RepetitionGuard

GUARD = RepetitionGuard(min_span=40, min_repeats=4, max_period=32)


def test_finds_the_smallest_period_and_keeps_one_copy() -> None:
    prefix = list(range(100, 130))
    tokens = prefix + [1, 2, 3] * 30
    loop = GUARD.find(tokens)
    assert loop is not None
    assert (loop.period, loop.span, loop.total) == (3, 90, 120)
    assert tokens[: loop.keep] == [*prefix, 1, 2, 3]
    assert loop.cut == 87


def test_loop_start_is_found_beyond_the_window_of_one_check() -> None:
    tokens = [9] + [4, 5] * 500
    loop = GUARD.find(tokens)
    assert loop is not None
    assert loop.span == 1000
    assert tokens[: loop.keep] == [9, 4, 5]


def test_short_repeats_are_legitimate() -> None:
    # 39 tokens of dot leaders: under min_span, so not a loop.
    assert GUARD.find([7, 8] + [0] * 39) is None
    assert GUARD.find([7, 8] + [0] * 40) is not None


def test_long_periods_need_enough_copies() -> None:
    block = list(range(200, 230))  # period 30
    assert GUARD.find(list(range(50)) + block * 3) is None  # 90 tokens but only 3 copies
    loop = GUARD.find(list(range(50)) + block * 4)
    assert loop is not None
    assert loop.period == 30


def test_periods_longer_than_max_period_are_ignored() -> None:
    block = list(range(300, 340))  # period 40 > 32
    assert GUARD.find(block * 10) is None


@pytest.mark.parametrize("field", ["min_span", "min_repeats", "max_period", "check_every"])
def test_rejects_nonsense_settings(field: str) -> None:
    with pytest.raises(ValueError, match=field):
        RepetitionGuard(**{field: 0})


@given(st.lists(st.integers(0, 50), min_size=0, max_size=300))
def test_a_reported_loop_really_is_periodic(tokens: list[int]) -> None:
    loop = GUARD.find(tokens)
    if loop is None:
        return
    tail = tokens[-loop.span :]
    assert all(tail[i] == tail[i + loop.period] for i in range(len(tail) - loop.period))
    assert loop.span >= GUARD.min_span
    assert loop.span >= GUARD.min_repeats * loop.period
    assert 0 < loop.keep <= loop.total == len(tokens)


@given(
    prefix=st.lists(st.integers(0, 1000), max_size=100),
    block=st.lists(st.integers(0, 1000), min_size=1, max_size=32),
    copies=st.integers(1, 60),
)
def test_every_long_enough_loop_is_found(prefix: list[int], block: list[int], copies: int) -> None:
    tokens = prefix + block * copies
    loop = GUARD.find(tokens)
    span = len(block) * copies
    if span >= GUARD.min_span and copies >= GUARD.min_repeats:
        assert loop is not None
        assert len(block) % loop.period == 0  # the block itself may be periodic
        kept = tokens[: loop.keep]
        assert kept == tokens[: len(tokens) - loop.span + loop.period]
        assert len(kept) <= len(prefix) + len(block)


@given(st.lists(st.integers(0, 10_000), unique=True, max_size=500))
def test_text_without_repeats_is_never_a_loop(tokens: list[int]) -> None:
    assert GUARD.find(tokens) is None
