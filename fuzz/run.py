"""Fuzz the GOT Markdown converter and the page sources for a bounded wall time.

CI runs, from the repository root::

    python fuzz/run.py --seconds 90

Each target (``--list`` names them) gets an equal share of the time; time a target leaves
unused goes to the ones after it. Inputs come from Hypothesis strategies (``fuzz/targets.py``),
driven in runs with fresh seeds until the target's time is up, so a failing input is shrunk
to a small reproducer. A failure is any exception the target's contract does not allow, or
an input that runs longer than ``--input-timeout`` (a hang). Each distinct failure (exception
type and line) is shrunk once, for at most ``--shrink-seconds``; the run then looks for other
failures. Its input is saved under ``--artifacts`` as a file and a ``.py`` that replays it.

Exit status: 0 when no target failed, 1 when one did, 2 on bad arguments. Nothing is kept
between runs (no Hypothesis database): ``--seed`` and ``--max-inputs`` make a run
repeatable. Without a time limit of its own a native call (MuPDF, a Pillow decoder) cannot be
interrupted from Python: for those targets a watchdog ends the whole process if one input
runs past three times ``--input-timeout``; the input is then left in
``ARTIFACTS/<target>-in-flight.*``.
"""

from __future__ import annotations

import argparse
import contextlib
import faulthandler
import os
import random
import signal
import sys
import tempfile
import threading
import time
import traceback
import warnings
import zlib
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis.errors import Flaky

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fuzz.targets import Reproducer, Target, all_targets

EXAMPLES_PER_RUN = 200
"""Inputs per Hypothesis run: each run starts from a fresh seed."""
SHRUNK = "shrunk"
NOT_SHRUNK = "not fully shrunk (time ran out, or found while shrinking another failure)"
FLAKY = "flaky: did not fail again when Hypothesis replayed it"


@dataclass(frozen=True)
class Budget:
    """How long to fuzz one target.

    Attributes:
        seconds: wall time for finding failures.
        max_inputs: stop after this many inputs (repeatable runs: same seed, same inputs).
        input_timeout: one input running longer than this is a failure ("hang").
        shrink_seconds: once a new failure is found, shrinking it may run this long, even
            past ``seconds``.
    """

    seconds: float
    max_inputs: int | None = None
    input_timeout: float = 10.0
    shrink_seconds: float = 20.0


@dataclass
class Failure:
    """One distinct failure: the smallest input seen for it.

    Attributes:
        error: the exception, one line ("ValueError: ...", or "hang: ...").
        where: the innermost frame, "file:line in function".
        traceback: the last frames and the exception, as Python prints them.
        value: the failing input.
        occurrences: inputs that failed this way.
        state: whether Hypothesis finished shrinking it.
    """

    error: str
    where: str
    traceback: str
    value: Any
    occurrences: int = 1
    state: str = NOT_SHRUNK


@dataclass
class TargetReport:
    """What fuzzing one target found."""

    name: str
    inputs: int = 0
    runs: int = 0
    seconds: float = 0.0
    slowest_seconds: float = 0.0
    slowest_input: Any = None
    outcomes: Counter[str] = field(default_factory=Counter)
    failures: dict[tuple[str, str], Failure] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return bool(self.failures)


class InputHangError(Exception):
    """An input ran past the per-input timeout: reported as a failure and shrunk."""


class _Interrupt(BaseException):
    """Raised by the timer's signal handler. A BaseException, so that the ``except
    Exception`` of the code under test cannot swallow it."""


class _OutOfTime(BaseException):
    """Ends a Hypothesis run from inside the test when the target's time is up."""


class _Clock:
    """The per-input timer (SIGALRM), armed only while an input runs."""

    def __init__(self) -> None:
        self.armed = False
        self.usable = (
            hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
        )

    def _fire(self, signum: int, frame: FrameType | None) -> None:
        if self.armed:
            self.armed = False
            raise _Interrupt

    @contextmanager
    def installed(self) -> Iterator[None]:
        if not self.usable:
            yield
            return
        previous = signal.signal(signal.SIGALRM, self._fire)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)

    @contextmanager
    def limit(self, seconds: float) -> Iterator[None]:
        if not self.usable:
            yield
            return
        self.armed = True
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            yield
        finally:
            self.armed = False
            signal.setitimer(signal.ITIMER_REAL, 0)


@contextmanager
def _native_watchdog(
    target: Target[Any], value: Any, budget: Budget, artifacts: Path
) -> Iterator[None]:
    """Leave the input on disk and arm faulthandler's exit: nothing else stops a stuck C call."""
    reproducer = target.reproducer(value)
    in_flight = artifacts / f"{target.name}-in-flight{reproducer.suffix}"
    in_flight.write_bytes(reproducer.data)
    try:
        faulthandler.dump_traceback_later(budget.input_timeout * 3, exit=True, file=2)
        armed = True
    except (ValueError, OSError):  # no stderr to write to: the soft timer only
        armed = False
    try:
        yield
    finally:
        if armed:
            faulthandler.cancel_dump_traceback_later()
        in_flight.unlink()


def _failure_key(exc: BaseException) -> tuple[str, str]:
    frames = traceback.extract_tb(exc.__traceback__)
    where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"
    return type(exc).__qualname__, where


def _describe(exc: BaseException, error: str | None) -> tuple[str, str, str]:
    """(one-line error, innermost frame, traceback tail without the harness's frames)."""
    harness = (str(Path(__file__).resolve()), os.sep + "hypothesis" + os.sep)
    frames = [
        frame
        for frame in traceback.extract_tb(exc.__traceback__)
        if not any(part in frame.filename for part in harness)
    ]
    where = f"{frames[-1].filename}:{frames[-1].lineno} in {frames[-1].name}" if frames else "?"
    error = error or "".join(traceback.format_exception_only(exc)).strip()
    tail = "".join(traceback.format_list(frames[-6:])) + error
    return error, where, tail


def fuzz_target(
    target: Target[Any], budget: Budget, *, seed: int, artifacts: Path | None = None
) -> TargetReport:
    """Fuzz one target within ``budget``; failures are collected, not raised."""
    report = TargetReport(target.name)
    strategy = target.inputs()
    rng = random.Random(seed ^ zlib.crc32(target.name.encode()))
    clock = _Clock()
    start = time.monotonic()
    generate_until = start + budget.seconds
    known: set[tuple[str, str]] = set()  # failures shrunk in an earlier run: not again
    new_in_run: set[tuple[str, str]] = set()
    stop_at = generate_until

    def record(key: tuple[str, str], exc: BaseException, value: Any, error: str | None) -> None:
        nonlocal stop_at
        failure = report.failures.get(key)
        if key in known and failure is not None:
            failure.occurrences += 1
            return
        # A later failing input of a run is a smaller one: Hypothesis only shrinks.
        seen = 0 if failure is None else failure.occurrences
        report.failures[key] = Failure(*_describe(exc, error), value, seen + 1)
        if not new_in_run:
            stop_at = time.monotonic() + budget.shrink_seconds
        new_in_run.add(key)

    def one_input(value: Any) -> None:
        if time.monotonic() > stop_at or (
            budget.max_inputs is not None and report.inputs >= budget.max_inputs and not new_in_run
        ):
            raise _OutOfTime
        report.inputs += 1
        began = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a dependency's warning is not a failure
                if target.native and artifacts is not None:
                    with (
                        _native_watchdog(target, value, budget, artifacts),
                        clock.limit(budget.input_timeout),
                    ):
                        outcome = target.check(value)
                else:
                    with clock.limit(budget.input_timeout):
                        outcome = target.check(value)
            report.outcomes[outcome] += 1
        except _Interrupt as interrupt:  # its traceback shows where the input was stuck
            hang = InputHangError(f"no result after {budget.input_timeout:g} s")
            key = ("hang", "")
            record(key, interrupt, value, f"InputHangError: {hang}")
            if key not in known:
                raise hang from None
        except Exception as exc:
            key = _failure_key(exc)
            record(key, exc, value, None)
            if key not in known:
                raise
        finally:
            elapsed = time.perf_counter() - began
            # The first input pays for imports and warm caches: it says nothing about inputs.
            if report.inputs > 1 and elapsed > report.slowest_seconds:
                report.slowest_seconds, report.slowest_input = elapsed, value

    with clock.installed():
        for value in target.warm_up() if target.warm_up else []:
            # What fails here, fuzzing finds again: an input without edits is one it makes.
            with warnings.catch_warnings(), contextlib.suppress(Exception, _Interrupt):
                warnings.simplefilter("ignore")
                with clock.limit(budget.input_timeout):
                    target.check(value)
        while time.monotonic() < generate_until and (
            budget.max_inputs is None or report.inputs < budget.max_inputs
        ):
            examples = EXAMPLES_PER_RUN
            if budget.max_inputs is not None:
                examples = min(examples, budget.max_inputs - report.inputs)
            run = settings(
                database=None,
                deadline=None,
                max_examples=examples,
                phases=[Phase.generate, Phase.shrink],
                suppress_health_check=list(HealthCheck),
                verbosity=Verbosity.quiet,
                report_multiple_bugs=False,  # one at a time; the next run finds the next
            )(hypothesis_seed(rng.getrandbits(64))(given(strategy)(one_input)))
            new_in_run.clear()
            stop_at = generate_until
            report.runs += 1
            try:
                run()
            except _OutOfTime:
                pass
            except Exception as exc:  # the failures were recorded as they happened
                if not new_in_run:
                    raise  # not the target's: Hypothesis or the harness itself broke
                if isinstance(exc, Flaky):
                    for key in new_in_run:
                        report.failures[key].state = FLAKY
                else:  # Hypothesis raises the failure it shrank, from its last replay
                    key = ("hang", "") if isinstance(exc, InputHangError) else _failure_key(exc)
                    if key in report.failures:
                        report.failures[key].state = SHRUNK
            known |= new_in_run
    report.seconds = time.monotonic() - start
    return report


def save_failures(report: TargetReport, target: Target[Any], artifacts: Path) -> list[Path]:
    """Write each failure's input and a ``.py`` that replays it; return the ``.py`` files."""
    scripts = []
    for number, failure in enumerate(report.failures.values(), 1):
        reproducer: Reproducer = target.reproducer(failure.value)
        stem = artifacts / f"{target.name}-{number}"
        data_file = stem.with_suffix(reproducer.suffix)
        data_file.write_bytes(reproducer.data)
        script = stem.with_suffix(".py")
        script.write_text(
            f'"""{target.name}: {failure.error.splitlines()[0][:200]!s}\n\n'
            f"Seen at {failure.where}.\nReplay it from the repository root: python {script}\n"
            f'"""\n\nfrom pathlib import Path\n\n'
            f"DATA = Path(__file__).with_name({data_file.name!r}).read_bytes()\n"
            f"{reproducer.code}",
            encoding="utf-8",
        )
        scripts.append(script)
    return scripts


def print_report(report: TargetReport, target: Target[Any], scripts: Sequence[Path]) -> None:
    slowest = ""
    if report.slowest_input is not None:
        summary = target.reproducer(report.slowest_input).summary
        slowest = f"; slowest input {report.slowest_seconds:.3f} s: {summary[:160]}"
    status = f"FAILED ({len(report.failures)})" if report.failed else "ok"
    print(
        f"[{report.name}] {status}: {report.inputs} inputs in {report.seconds:.1f} s "
        f"({report.runs} runs){slowest}"
    )
    if report.outcomes:
        print("  outcomes: " + ", ".join(f"{n} {o}" for o, n in report.outcomes.most_common(8)))
    for failure, script in zip(report.failures.values(), scripts, strict=True):
        print(f"  - {failure.error.splitlines()[-1]}  ({failure.occurrences}x, {failure.state})")
        print(f"    at {failure.where}")
        print(f"    input: {target.reproducer(failure.value).summary}")
        print(f"    replay: python {script}")
        print("    " + failure.traceback.replace("\n", "\n    "))


def run(
    targets: Sequence[Target[Any]],
    *,
    seconds: float,
    seed: int,
    artifacts: Path,
    max_inputs: int | None = None,
    input_timeout: float = 10.0,
    shrink_seconds: float = 20.0,
) -> list[TargetReport]:
    """Fuzz ``targets`` one after another, sharing ``seconds`` between them; print reports."""
    _quiet_logs()
    deadline = time.monotonic() + seconds
    reports = []
    for position, target in enumerate(targets):
        share = max(0.0, deadline - time.monotonic()) / (len(targets) - position)
        budget = Budget(share, max_inputs, input_timeout, shrink_seconds)
        report = fuzz_target(target, budget, seed=seed, artifacts=artifacts)
        print_report(report, target, save_failures(report, target, artifacts))
        sys.stdout.flush()
        reports.append(report)
    return reports


def _quiet_logs() -> None:
    """Fuzz inputs are broken on purpose: MuPDF's repairs and the loaders' warnings about
    damaged files would be thousands of lines. Failures are reported, not logged."""
    import logging

    import pymupdf

    pymupdf.TOOLS.mupdf_display_errors(False)
    pymupdf.TOOLS.mupdf_display_warnings(False)
    for name in ("got_loaders", "got_model", "pylatexenc"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _limit_memory(size: int) -> None:
    try:
        import resource
    except ImportError:  # not on Windows
        return
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        size = min(size, hard)
    resource.setrlimit(resource.RLIMIT_AS, (size, hard))


def main(argv: Sequence[str] | None = None, targets: Sequence[Target[Any]] | None = None) -> int:
    """The command line; returns the exit status. ``targets`` replaces the project's (tests)."""
    by_name = {target.name: target for target in (all_targets() if targets is None else targets)}
    parser = argparse.ArgumentParser(
        prog="python fuzz/run.py", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    parser.add_argument("--seconds", type=float, default=60.0, help="total wall time (60)")
    parser.add_argument(
        "--target", action="append", choices=sorted(by_name), help="repeatable; default all"
    )
    parser.add_argument("--seed", type=int, help="default: random, printed")
    parser.add_argument("--artifacts", type=Path, help="default: a new temporary directory")
    parser.add_argument("--max-inputs", type=int, help="per target, for repeatable runs")
    parser.add_argument("--input-timeout", type=float, default=10.0, help="seconds (10)")
    parser.add_argument("--shrink-seconds", type=float, default=20.0, help="per failure (20)")
    parser.add_argument(
        "--memory-limit-mb",
        type=int,
        default=4096,
        help="address-space limit of this process (4096; 0: none): a runaway allocation "
        "becomes a MemoryError, reported as a failure, instead of the machine's OOM killer",
    )
    parser.add_argument("--list", action="store_true", help="list the targets and exit")
    args = parser.parse_args(argv)
    if args.list:
        for target in by_name.values():
            print(f"{target.name:16} {target.description}")
        return 0
    os.environ.setdefault("DO_NOT_TRACK", "1")
    if args.memory_limit_mb > 0:
        _limit_memory(args.memory_limit_mb * 1024 * 1024)
    seed = args.seed if args.seed is not None else random.SystemRandom().getrandbits(32)
    artifacts = args.artifacts or Path(tempfile.mkdtemp(prefix="got-fuzz-"))
    artifacts.mkdir(parents=True, exist_ok=True)
    chosen = [by_name[name] for name in args.target] if args.target else list(by_name.values())
    print(
        f"fuzz: seed {seed}, {args.seconds:g} s over {len(chosen)} targets, "
        f"artifacts in {artifacts}"
    )
    sys.stdout.flush()
    reports = run(
        chosen,
        seconds=args.seconds,
        seed=seed,
        artifacts=artifacts,
        max_inputs=args.max_inputs,
        input_timeout=args.input_timeout,
        shrink_seconds=args.shrink_seconds,
    )
    failed = [report.name for report in reports if report.failed]
    print(f"fuzz: {'FAILED: ' + ', '.join(failed) if failed else 'no failures'} (seed {seed})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
