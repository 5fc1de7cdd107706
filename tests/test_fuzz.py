"""The fuzz harness (``fuzz/run.py``): every target runs a few repeatable inputs cleanly, and the
harness really fails on an unexpected exception and on a hang.

The long, time-bounded run is CI's ``python fuzz/run.py --seconds 90``; here each target gets
a fixed seed and a few dozen inputs, so the suite exercises every target in seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import strategies as st

from fuzz.run import SHRUNK, Budget, Failure, fuzz_target, main
from fuzz.targets import (
    Reproducer,
    Target,
    TaskInput,
    all_targets,
    check_selection,
    check_task,
)

TARGETS = {target.name: target for target in all_targets()}
INPUTS = {"markdown": 20, "parse-formatted": 40, "pages": 20, "page-selection": 150}
INPUTS["ocr-task"] = 150
# What a target's check returns when the code under test did its job (not an expected error).
SUCCESS = {"markdown": "converted", "parse-formatted": "converted", "pages": "rendered"}
SUCCESS |= {"page-selection": "selected", "ocr-task": "task"}


def _failures(failures: list[Failure]) -> list[str]:
    return [f"{f.error} at {f.where}\n{f.traceback}" for f in failures]


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_target_runs_clean(name: str, tmp_path: Path) -> None:
    budget = Budget(seconds=8, max_inputs=INPUTS[name], input_timeout=20, shrink_seconds=2)
    report = fuzz_target(TARGETS[name], budget, seed=0, artifacts=tmp_path)
    assert report.inputs >= INPUTS[name] or report.seconds >= budget.seconds
    assert report.outcomes[SUCCESS[name]] > 0, report.outcomes  # inputs reach the real work
    assert not _failures(list(report.failures.values()))
    assert not list(tmp_path.glob("*in-flight*")), "the native watchdog left its input behind"


# Found by the fuzzer: Python's own ValueError (int() of more than 4,300 digits) and
# OverflowError (float() of a huge int) escaped, instead of the project's typed errors.
@pytest.mark.parametrize(
    "pages",
    ["9" * 5000, "1-" + "9" * 5000, 10**5000, 10**9 + 1],
    ids=["digits", "range-end", "int", "just-over"],
)
def test_a_huge_page_number_is_a_pages_error(pages: object) -> None:
    assert check_selection((pages, 3)) == "InvalidPagesError"


@pytest.mark.parametrize("box", [(0, 0, 1, 10**400), "1234"])
def test_a_box_beyond_float_range_or_a_string_is_a_task_error(box: object) -> None:
    task = TaskInput("plain", box, None, False, 12, (10.0, 10.0), (8, 8))
    assert check_task(task) == "InvalidTaskError"


def test_max_patches_is_bounded() -> None:
    task = TaskInput("plain", None, None, True, 10**6, (10.0, 10.0), (8, 8))
    assert check_task(task) == "InvalidTaskError"


def _toy_target(name: str, check: Callable[[int], str], high: int = 1000) -> Target[int]:
    return Target(
        name,
        f"integers 0..{high}",
        lambda: st.integers(0, high),
        check,
        lambda n: Reproducer(str(n).encode(), ".txt", "VALUE = int(DATA)\n", str(n)),
    )


def _raises_from_ten(n: int) -> str:
    if n >= 10:
        raise ValueError(f"boom {n}")
    return "fine"


def _hangs_from_a_thousand(n: int) -> str:
    while n >= 1000:
        n += 1
    return "fine"


def test_an_unexpected_exception_fails_the_run_and_is_shrunk(tmp_path: Path) -> None:
    target = _toy_target("boom", _raises_from_ten)
    budget = Budget(seconds=10, max_inputs=100, shrink_seconds=10)
    report = fuzz_target(target, budget, seed=0, artifacts=tmp_path)
    [failure] = report.failures.values()
    assert failure.error == "ValueError: boom 10"
    assert failure.value == 10
    assert failure.state == SHRUNK
    assert "_raises_from_ten" in failure.where


def test_a_hang_is_caught_and_reported(tmp_path: Path) -> None:
    target = _toy_target("hang", _hangs_from_a_thousand, high=1010)
    budget = Budget(seconds=10, max_inputs=100, input_timeout=0.05, shrink_seconds=2)
    started = time.monotonic()
    report = fuzz_target(target, budget, seed=0, artifacts=tmp_path)
    assert time.monotonic() - started < 10
    [failure] = report.failures.values()
    assert failure.error == "InputHangError: no result after 0.05 s"
    assert "_hangs_from_a_thousand" in failure.where  # where the input was stuck
    assert failure.value >= 1000
    assert report.slowest_seconds >= 0.05


def test_the_command_line_exits_non_zero_and_saves_a_replay(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    targets = [_toy_target("boom", _raises_from_ten), _toy_target("fine", lambda n: "fine")]
    argv = ["--seconds", "4", "--seed", "3", "--artifacts", str(tmp_path), "--max-inputs", "50"]
    assert main(argv, targets) == 1
    assert main([*argv, "--target", "fine"], targets) == 0
    out = capsys.readouterr().out
    assert "[boom] FAILED (1)" in out
    assert "[fine] ok" in out
    assert (tmp_path / "boom-1.txt").read_bytes() == b"10"
    replay = (tmp_path / "boom-1.py").read_text()
    namespace: dict[str, object] = {"__file__": str(tmp_path / "boom-1.py")}
    exec(compile(replay, "boom-1.py", "exec"), namespace)
    assert namespace["VALUE"] == 10
