"""What ``got-ocr convert`` does, apart from its arguments: find the documents, name their
outputs, run them through the page pipeline and write each one as soon as it is read.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import IO, TYPE_CHECKING

from got_model.tasks import OCRTask

from .content import PageContent, page_metadata, page_text
from .errors import DocumentError
from .pipeline import PagePipeline, PageResult
from .sources.dispatch import open_document
from .sources.documents import SourceDocument
from .sources.selection import PageSelection

if TYPE_CHECKING:
    from tqdm import tqdm

SUPPORTED_SUFFIXES = (".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".gif")
STDIN = "-"


class OutputKind(str, Enum):
    """What ``convert`` writes for each document."""

    MARKDOWN = "markdown"
    JSONL = "jsonl"

    @property
    def suffix(self) -> str:
        return ".md" if self is OutputKind.MARKDOWN else ".jsonl"


# -- inputs --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    """One document to convert and where its output goes."""

    document: SourceDocument
    source: Path
    """The input's path under the directory it was found in (its name, for a file argument)."""
    output: Path = Path()
    """The output's path under the output directory, without its suffix."""


def find_jobs(inputs: Sequence[str], globs: Sequence[str] | None) -> tuple[list[Job], list[str]]:
    """The documents the inputs name, in order, and a message for each input that names none.

    Files are taken whatever their name (PDFs and images are recognised by content);
    directories are searched recursively for ``globs`` (default: PDF and image suffixes, any
    case); ``-`` reads standard input once. Each job's ``output`` is set (``name_outputs``).
    """
    jobs: list[Job] = []
    problems: list[str] = []
    seen: set[str] = set()
    for argument in inputs:
        if argument == STDIN:
            if STDIN in seen:
                problems.append("-: standard input can be read only once.")
                continue
            seen.add(STDIN)
            data = _read_stdin()
            if isinstance(data, str):
                problems.append(f"-: {data}")
                continue
            jobs.append(Job(SourceDocument.from_input(data, name="stdin"), Path("stdin")))
            continue
        path = Path(argument)
        if path.is_dir():
            found = sorted(_walk(path, globs))
            if not found:
                what = ", ".join(globs) if globs else "PDF or image"
                problems.append(f"{argument}: no {what} files in this directory.")
            for file in found:
                key = str(file.resolve())
                if key not in seen:
                    seen.add(key)
                    jobs.append(Job(SourceDocument.from_input(file), file.relative_to(path)))
        elif path.is_file() or path.is_fifo():
            key = str(path.resolve())
            if key not in seen:
                seen.add(key)
                jobs.append(Job(_file_document(path, argument), Path(path.name)))
        elif path.exists():
            problems.append(f"{argument}: not a file, a directory or a pipe.")
        else:
            problems.append(f"{argument}: no such file or directory.")
    return name_outputs(jobs), problems


def _read_stdin() -> bytes | str:
    """Standard input's bytes, or why it cannot be read (closed, or a device that never
    ends, such as ``< /dev/zero``)."""
    if sys.stdin is None:
        return "there is no standard input (it is closed)."
    try:
        mode = os.fstat(sys.stdin.fileno()).st_mode
    except (OSError, ValueError, AttributeError):  # not backed by a descriptor: a stream
        mode = None
    if mode is not None and not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
        return "standard input is not a file or a pipe."
    try:
        return bytes(sys.stdin.buffer.read())
    except (OSError, ValueError, AttributeError) as exc:
        return f"cannot read standard input ({exc})."


def _file_document(path: Path, argument: str) -> SourceDocument:
    if path.is_file():
        return SourceDocument.from_input(path)  # read lazily, as the pipeline gets to it
    # A pipe or a process substitution (<(...)) can be read only once: read it now.
    return SourceDocument.from_input(path.read_bytes(), name=argument)


def _walk(directory: Path, globs: Sequence[str] | None) -> Iterator[Path]:
    if globs:
        for pattern in globs:
            yield from (path for path in directory.rglob(pattern) if path.is_file())
        return
    for path in directory.rglob("*"):
        if path.suffix.lower() in SUPPORTED_SUFFIXES and path.is_file():
            yield path


def check_glob(pattern: str) -> str | None:
    """Why ``pattern`` cannot be a ``--glob`` (it must stay inside the directory), or None."""
    if not pattern:
        return "--glob takes a pattern such as '*.pdf', not an empty string."
    if Path(pattern).is_absolute() or ".." in Path(pattern).parts:
        return f"--glob {pattern!r} must be relative to the directory, without '..'."
    return None


def name_outputs(jobs: Sequence[Job]) -> list[Job]:
    """Each job with its output path: the input's path without its suffix (``a/scan``), or
    with it (``a/scan.pdf``) where two inputs would otherwise share one output."""
    outputs = [job.source.with_suffix("") for job in jobs]
    while True:
        counts: dict[Path, int] = {}
        for output in outputs:
            counts[output] = counts.get(output, 0) + 1
        renamed = [
            job.source if counts[output] > 1 else output
            for job, output in zip(jobs, outputs, strict=True)
        ]
        if renamed == outputs:  # no clash left that a full name can settle
            return [replace(job, output=out) for job, out in zip(jobs, outputs, strict=True)]
        outputs = renamed


def output_collisions(jobs: Sequence[Job]) -> list[str]:
    """Messages for documents that would still write the same output file."""
    owners: dict[Path, list[str]] = {}
    for job in jobs:
        owners.setdefault(job.output, []).append(job.document.name)
    return [
        f"{' and '.join(names)} would all be written to {relative}.*: give them different "
        "names, or convert them in separate runs with different -o directories."
        for relative, names in owners.items()
        if len(names) > 1
    ]


# -- outputs -------------------------------------------------------------------------------


def render_document(
    results: Sequence[PageResult],
    kind: OutputKind,
    content: PageContent,
    *,
    model_id: str,
    task: OCRTask,
    page_markers: bool,
) -> str:
    """One document's output: Markdown pages joined by blank lines, or a JSON line per page."""
    if kind is OutputKind.JSONL:
        lines = []
        for item in results:
            record = {
                "text": page_text(item, content),
                "metadata": page_metadata(item, model_id, task),
            }
            lines.append(json.dumps(record, ensure_ascii=False) + "\n")
        return "".join(lines)
    parts = []
    for item in results:
        text = page_text(item, content)
        if page_markers:
            text = f"{page_marker(item)}\n\n{text}" if text else page_marker(item)
        parts.append(text)
    body = "\n\n".join(part for part in parts if part)
    return body + "\n" if body else ""


def page_marker(item: PageResult) -> str:
    """An HTML comment before each page: invisible when rendered, easy to split on."""
    page = item.page
    label = "" if page.label == str(page.number) else f' label="{page.label}"'
    return f"<!-- page {page.number}{label} -->"


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file: a killed run never leaves half a
    file behind for ``--skip-existing`` to mistake for a finished one.

    Names that are not valid UTF-8 (kept by Python as surrogate escapes) are written as
    backslash escapes, so every output is valid UTF-8.
    """
    data = text.encode("utf-8", "backslashreplace")
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".got-ocr-", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        with contextlib.suppress(OSError):  # some file systems have no permissions to set
            os.chmod(temporary, 0o666 & ~_umask())  # as open() would have made it
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# -- the conversion ------------------------------------------------------------------------


@dataclass
class Tally:
    documents: int = 0
    pages: int = 0
    cached_pages: int = 0
    text_layer_pages: int = 0
    skipped_existing: int = 0
    failures: list[str] = field(default_factory=list)


class Converter:
    """Runs ``convert``: feeds the jobs through one pipeline and writes each document as soon
    as its last page is read."""

    def __init__(
        self,
        pipeline: PagePipeline,
        jobs: Sequence[Job],
        *,
        kind: OutputKind,
        content: PageContent,
        page_markers: bool,
        output_dir: Path | None,
        stdout: IO[str],
        progress: tqdm | None,
        report: Callable[[str], None],
    ) -> None:
        self.pipeline = pipeline
        self.jobs = list(jobs)
        self.kind = kind
        self.content = content
        self.page_markers = page_markers
        self.output_dir = output_dir
        self.stdout = stdout
        self.progress = progress
        self.report = report
        self.tally = Tally()
        self._next = 0  # the first document not written yet
        self._positions = {job.document.name: index for index, job in enumerate(self.jobs)}
        self._errors: dict[int, int] = {}  # errors reported, per document position
        pipeline.on_skip = self._skipped

    def run(self) -> Tally:
        """Convert every job; a fatal error (the model cannot load) still writes the
        documents read in full before it, then propagates."""
        pending: list[PageResult] = []  # the pages read so far of the current document
        try:
            for item in self.pipeline.run([job.document for job in self.jobs]):
                position = item.page.document.position
                if pending and _position(pending) != position:
                    self._finish_until(position, pending)
                    pending = []
                pending.append(item)
                self.tally.pages += 1
                self.tally.cached_pages += item.cached
                self.tally.text_layer_pages += item.result is None
                if self.progress is not None:
                    self.progress.set_postfix_str(item.page.document.source[-40:], refresh=False)
                    self.progress.update(1)
        except BaseException:
            # With pages read, a document's errors are all page errors.
            failed = self._errors.get(_position(pending), 0)
            if pending and len(pending) + failed == self._selected_pages(pending[0]):
                self._finish_until(_position(pending) + 1, pending)
            raise
        self._finish_until(len(self.jobs), pending)
        return self.tally

    def _selected_pages(self, item: PageResult) -> int:
        """How many pages of ``item``'s document the run reads."""
        total = item.page.document.total_pages
        selection = self.pipeline.pages
        return total if selection is None else len(selection.indices(total, ""))

    def _finish_until(self, end: int, pending: list[PageResult]) -> None:
        """Write every document before position ``end``: they have no more pages to come."""
        while self._next < end:
            position = self._next
            self._next += 1  # before writing: an interrupted write is never written twice
            self._finish(position, pending if _position(pending) == position else [])

    def _skipped(self, error: DocumentError) -> None:
        position = error.position
        if position is None:  # written here, not by the pipeline
            position = self._positions.get(error.source, -1)
        self._errors[position] = self._errors.get(position, 0) + 1
        self.tally.failures.append(str(error))
        self.report(f"error: {error}")

    def _finish(self, position: int, results: list[PageResult]) -> None:
        job = self.jobs[position]
        if not results and position in self._errors:
            return  # nothing was read: no output, the error is already reported
        pipeline = self.pipeline
        text = render_document(
            results,
            self.kind,
            self.content,
            model_id=pipeline.engine.model_id,
            task=pipeline.task,
            page_markers=self.page_markers,
        )
        if self.output_dir is None:
            if self.kind is OutputKind.MARKDOWN and len(self.jobs) > 1:
                text = f"<!-- source: {job.document.name} -->\n\n{text}"
            # Names that are not valid UTF-8 print as backslash escapes, whatever the locale.
            self.stdout.write(text.encode("utf-8", "backslashreplace").decode("utf-8"))
            self.stdout.flush()
        else:
            target = self.output_dir / f"{job.output}{self.kind.suffix}"
            try:
                write_atomically(target, text)
            except OSError as exc:
                self._skipped(DocumentError(job.document.name, f"Cannot write {target}: {exc}."))
                return
        self.tally.documents += 1


def _position(results: list[PageResult]) -> int:
    return results[0].page.document.position if results else -1


class PageCounter:
    """Counts the pages to read on a background thread, for the progress bar's total and ETA."""

    def __init__(
        self, jobs: Sequence[Job], task: OCRTask, pages: PageSelection | None, password: str | None
    ) -> None:
        self.total = 0
        self.done = threading.Event()
        self._args = (list(jobs), task, pages, password)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._count, name="got-ocr-count", daemon=True)
        self._thread.start()

    def _count(self) -> None:
        jobs, task, pages, password = self._args
        try:
            for job in jobs:
                if self._stop.is_set():
                    return
                try:
                    with open_document(job.document, task, password=password) as source:
                        self.total += len(source.indices(pages))
                except Exception:  # the pipeline reports it; the count is only for the ETA
                    continue
        finally:
            self.done.set()

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()
