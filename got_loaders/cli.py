"""``got-ocr``: convert PDFs and images to Markdown or JSONL from the command line.

    got-ocr convert paper.pdf scans/ -o out/
    got-ocr convert - --format jsonl < scan.png
    got-ocr cache info

Runs the same page pipeline as the framework adapters: pages render ahead on a thread, batches
fill across files, a bad file or page is reported and the run goes on, and the result cache
makes a rerun skip every page already read.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import IO, TYPE_CHECKING

from got_model import __version__
from got_model.cache import ResultCache, default_cache_path
from got_model.engine import GOT_MAX_NEW_TOKENS
from got_model.errors import GOTError, InvalidTaskError
from got_model.loading import DEFAULT_MODEL_ID
from got_model.tasks import DEFAULT_MAX_PATCHES, OCRTask, OutputFormat, RegionColor

from .content import PageContent, page_metadata, page_text
from .documents import SourceDocument
from .engines import shared_engine
from .errors import DocumentError, InvalidPagesError
from .pages import open_document
from .pipeline import DEFAULT_BATCH_SIZE, OnError, PagePipeline, PageResult
from .selection import PageSelection

if TYPE_CHECKING:
    from tqdm import tqdm

SUPPORTED_SUFFIXES = (".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".gif")
STDIN = "-"

EXIT_OK = 0
EXIT_FAILED = 1  # some file or page failed; the rest were converted
EXIT_USAGE = 2  # bad arguments (argparse's own code)
EXIT_INTERRUPTED = 130


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
            if sys.stdin is None:
                problems.append("-: there is no standard input (it is closed).")
                continue
            data = sys.stdin.buffer.read()
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
        elif path.exists():
            key = str(path.resolve())
            if key not in seen:
                seen.add(key)
                jobs.append(Job(_file_document(path, argument), Path(path.name)))
        else:
            problems.append(f"{argument}: no such file or directory.")
    return name_outputs(jobs), problems


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
    stems: dict[Path, int] = {}
    for job in jobs:
        stem = job.source.with_suffix("")
        stems[stem] = stems.get(stem, 0) + 1
    named = []
    for job in jobs:
        stem = job.source.with_suffix("")
        named.append(replace(job, output=stem if stems[stem] == 1 else job.source))
    return named


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
                "text": page_text(item.result, content),
                "metadata": page_metadata(item, model_id, task),
            }
            lines.append(json.dumps(record, ensure_ascii=False) + "\n")
        return "".join(lines)
    parts = []
    for item in results:
        text = page_text(item.result, content)
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
class _Tally:
    documents: int = 0
    pages: int = 0
    cached_pages: int = 0
    skipped_existing: int = 0
    failures: list[str] = field(default_factory=list)
    failed_documents: set[str] = field(default_factory=set)


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
        self.tally = _Tally()
        self._next = 0  # the first document not written yet
        pipeline.on_skip = self._skipped

    def run(self) -> _Tally:
        pending: list[PageResult] = []  # the pages read so far of the current document
        for item in self.pipeline.run([job.document for job in self.jobs]):
            position = item.page.document.position
            if pending and _position(pending) != position:
                self._finish_until(position, pending)
                pending = []
            pending.append(item)
            self.tally.pages += 1
            self.tally.cached_pages += item.cached
            if self.progress is not None:
                self.progress.set_postfix_str(item.page.document.source[-40:], refresh=False)
                self.progress.update(1)
        self._finish_until(len(self.jobs), pending)
        return self.tally

    def _finish_until(self, end: int, pending: list[PageResult]) -> None:
        """Write every document before position ``end``: they have no more pages to come."""
        for position in range(self._next, end):
            self._finish(position, pending if _position(pending) == position else [])
        self._next = end

    def _skipped(self, error: DocumentError) -> None:
        self.tally.failures.append(str(error))
        self.tally.failed_documents.add(error.source)
        self.report(f"error: {error}")

    def _finish(self, position: int, results: list[PageResult]) -> None:
        job = self.jobs[position]
        failed = job.document.name in self.tally.failed_documents
        if not results and failed:
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


class _PageCounter:
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


# -- the command line ----------------------------------------------------------------------


CONVERT_EPILOG = """\
examples:
  got-ocr convert paper.pdf > paper.md
  got-ocr convert scans/ -o out/ --skip-existing     resume: finished outputs are kept
  got-ocr convert docs/ -o out/ -f jsonl --glob '*.pdf' --pages 1-5
  cat scan.png | got-ocr convert - --task plain

outputs are written whole (through a temporary file) as each document finishes. A document
with a failed page is still written without that page; rerunning without --skip-existing
retries it, and the result cache makes the rest of the rerun cheap.

exit status: 0 when everything was converted, 1 when a file or page failed (the others were
converted) or no page could be read at all (model missing), 2 for bad arguments,
130 when interrupted.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="got-ocr",
        description="Convert PDFs and images to Markdown with GOT-OCR 2.0.",
        epilog="Run 'got-ocr COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    convert = commands.add_parser(
        "convert",
        help="convert PDFs and images to Markdown or JSONL",
        description=(
            "Convert PDFs and images (PNG, JPEG, TIFF, WebP, BMP, GIF) to Markdown (one file\n"
            "per document) or JSONL (one line per page, with its metadata). A file or page\n"
            "that fails is reported and the run goes on. Pages already read (same pixels,\n"
            "task and model) come from the result cache instead of the model."
        ),
        epilog=CONVERT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    convert.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="files, directories (searched recursively) or '-' for standard input",
    )
    out = convert.add_argument_group("output")
    out.add_argument(
        "-o",
        "--output-dir",
        type=Path,
        metavar="DIR",
        help="write one file per document here (<name>.md or .jsonl), mirroring the layout "
        "of directory inputs (default: everything to standard output)",
    )
    out.add_argument(
        "-f",
        "--format",
        choices=[k.value for k in OutputKind],
        default="markdown",
        help="Markdown per document, or JSON lines {text, metadata} per page "
        "(default: %(default)s)",
    )
    out.add_argument(
        "--content",
        choices=[c.value for c in PageContent],
        default="markdown",
        help="page text as Markdown, plain text, or GOT's raw output (default: %(default)s)",
    )
    out.add_argument(
        "--page-markers",
        action="store_true",
        help="start each page of the Markdown with <!-- page N -->",
    )
    out.add_argument(
        "--skip-existing",
        action="store_true",
        help="skip documents whose output file exists (resume a run; needs -o)",
    )
    select = convert.add_argument_group("input selection")
    select.add_argument(
        "--glob",
        action="append",
        metavar="PATTERN",
        help="in directories, convert files matching this pattern (repeatable; default: "
        + ", ".join(f"*{suffix}" for suffix in SUPPORTED_SUFFIXES)
        + ", any case)",
    )
    select.add_argument(
        "--pages",
        metavar="SPEC",
        help="1-based pages to read in each document, e.g. '1-3,7,10-' (default: all)",
    )
    select.add_argument("--password", help="for encrypted PDFs")
    task = convert.add_argument_group("task")
    task.add_argument(
        "--task",
        choices=[o.value for o in OutputFormat],
        default="formatted",
        help="formatted: headings, tables and math; plain: text only (default: %(default)s)",
    )
    task.add_argument(
        "--multi-crop",
        action="store_true",
        help="read each page as up to --max-patches 1024px tiles (dense or large pages)",
    )
    task.add_argument(
        "--max-patches",
        type=int,
        default=DEFAULT_MAX_PATCHES,
        metavar="N",
        help="the most tiles --multi-crop may use (default: %(default)s)",
    )
    task.add_argument(
        "--box",
        metavar="X1,Y1,X2,Y2",
        help="read only this region: pixels of the page as GOT reads it (longest side 1024)",
    )
    task.add_argument(
        "--color",
        choices=[c.value for c in RegionColor],
        help="read only the text inside a box drawn in this color",
    )
    engine = convert.add_argument_group("engine")
    engine.add_argument(
        "--model",
        default=DEFAULT_MODEL_ID,
        metavar="ID_OR_DIR",
        help="Hugging Face Hub id or local directory (default: %(default)s)",
    )
    engine.add_argument("--revision", help="Hub branch, tag or commit to pin")
    engine.add_argument(
        "--device", default="auto", help="auto (CUDA, then MPS, then CPU), cuda, cuda:1, mps, cpu"
    )
    engine.add_argument(
        "--dtype",
        default="auto",
        choices=["auto", "bfloat16", "float16", "float32"],
        help="auto: bf16 (or fp16) on GPU, fp32 on CPU (default: %(default)s)",
    )
    engine.add_argument(
        "--batch-size",
        type=int,
        default=DEFAULT_BATCH_SIZE,
        metavar="N",
        help="pages per model batch, filled across files (default: %(default)s)",
    )
    engine.add_argument(
        "--max-new-tokens",
        type=int,
        default=GOT_MAX_NEW_TOKENS,
        metavar="N",
        help="the most tokens GOT may write for a page (default: %(default)s)",
    )
    _add_cache_options(convert, with_off=True)
    shown = convert.add_argument_group("messages")
    progress = shown.add_mutually_exclusive_group()
    progress.add_argument(
        "--progress",
        action="store_true",
        default=None,
        help="show a progress bar (default: only when standard error is a terminal)",
    )
    progress.add_argument(
        "--no-progress", dest="progress", action="store_false", help="never show one"
    )
    shown.add_argument(
        "-q", "--quiet", action="store_true", help="print only errors: no bar, no summary"
    )

    cache = commands.add_parser(
        "cache",
        help="show or clear the result cache",
        description="The result cache keeps every page read, keyed by its pixels, the task "
        f"and the model, so a rerun skips it. Default file: {_default_cache_hint()}.",
    )
    actions = cache.add_subparsers(dest="action", metavar="ACTION", required=True)
    info = actions.add_parser("info", help="where the cache is, its entries and size")
    _add_cache_options(info, with_off=False)
    clear = actions.add_parser("clear", help="delete every cached result")
    _add_cache_options(clear, with_off=False)
    return parser


def _add_cache_options(parser: argparse.ArgumentParser, *, with_off: bool) -> None:
    group = parser.add_argument_group("result cache")
    options = group.add_mutually_exclusive_group() if with_off else group
    options.add_argument(
        "--cache",
        type=Path,
        metavar="FILE",
        help=f"the cache's SQLite file (default: {_default_cache_hint()})",
    )
    if with_off:
        options.add_argument(
            "--no-cache", action="store_true", help="neither read nor fill the result cache"
        )


def _default_cache_hint() -> str:
    try:
        return str(default_cache_path())
    except Exception:  # platformdirs cannot tell: still print the help
        return "the user cache directory"


def parse_task(args: argparse.Namespace) -> OCRTask:
    box = None
    if args.box is not None:
        try:
            box = tuple(float(value) for value in args.box.split(","))
        except ValueError:
            raise InvalidTaskError(
                f"--box takes four numbers X1,Y1,X2,Y2, not {args.box!r}."
            ) from None
    return OCRTask(
        output=OutputFormat(args.task),
        box=box,  # type: ignore[arg-type]  # OCRTask checks there are four
        color=RegionColor(args.color) if args.color else None,
        crop_to_patches=args.multi_crop,
        max_patches=args.max_patches,
    )


def run_convert(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    err = sys.stderr
    try:
        task = parse_task(args)
        pages = PageSelection.parse(args.pages)
    except (InvalidTaskError, InvalidPagesError) as exc:
        parser.error(str(exc))
    for name in ("batch_size", "max_new_tokens"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1.")
    if args.skip_existing and args.output_dir is None:
        parser.error("--skip-existing needs -o/--output-dir.")
    if args.output_dir is not None and args.output_dir.exists() and not args.output_dir.is_dir():
        parser.error(f"-o {args.output_dir}: this is a file, not a directory.")
    for pattern in args.glob or ():
        problem = check_glob(pattern)
        if problem:
            parser.error(problem)

    jobs, problems = find_jobs(args.inputs, args.glob)
    if args.output_dir is not None:
        collisions = output_collisions(jobs)
        if collisions:
            parser.error(" ".join(collisions))
    kind = OutputKind(args.format)
    tally_existing = 0
    if args.skip_existing:
        before = len(jobs)
        jobs = [j for j in jobs if not (args.output_dir / f"{j.output}{kind.suffix}").exists()]
        tally_existing = before - len(jobs)
    for problem in problems:
        print(f"got-ocr: error: {problem}", file=err)

    cache = None if args.no_cache else ResultCache(args.cache)
    if cache is not None:
        cache.open()  # a cache that cannot work is a clear error now, not a warning later
    engine = shared_engine(
        args.model,
        revision=args.revision,
        device=args.device,
        dtype=args.dtype,
        batch_size=args.batch_size,
        max_new_tokens=args.max_new_tokens,
    )
    pipeline = PagePipeline(
        engine,
        task,
        batch_size=args.batch_size,
        pages=pages,
        password=args.password,
        on_error=OnError.SKIP,
        cache=cache,
    )
    wanted = args.progress if args.progress is not None else err.isatty()
    show_progress = wanted and not args.quiet
    if not show_progress:
        # transformers draws its own bars (loading weights) unless the Hub's switch is off;
        # it is read when huggingface_hub is first imported, which has not happened yet.
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    started = time.perf_counter()
    progress, counter = None, None
    if show_progress and jobs:
        from tqdm import tqdm

        progress = tqdm(total=None, unit="page", file=err, dynamic_ncols=True, smoothing=0.1)
        counter = _PageCounter(jobs, task, pages, args.password)

    def report(message: str) -> None:
        if progress is not None:
            progress.write(f"got-ocr: {message}", file=err)
        else:
            print(f"got-ocr: {message}", file=err)

    converter = Converter(
        pipeline,
        jobs,
        kind=kind,
        content=PageContent(args.content),
        page_markers=args.page_markers,
        output_dir=args.output_dir,
        stdout=sys.stdout,
        progress=progress,
        report=report,
    )
    if progress is not None and counter is not None:
        _follow_count(progress, counter)
    try:
        if progress is not None:
            from tqdm.contrib.logging import logging_redirect_tqdm

            with logging_redirect_tqdm():  # log lines above the bar, not through it
                tally = converter.run()
        else:
            tally = converter.run()
    finally:
        if counter is not None:
            counter.stop()
        if progress is not None:
            progress.close()
        if cache is not None:
            cache.close()
    tally.skipped_existing = tally_existing
    failed = bool(problems or tally.failures)
    if not args.quiet:
        print(_summary(tally, time.perf_counter() - started, len(problems)), file=err)
    return EXIT_FAILED if failed else EXIT_OK


def _follow_count(progress: tqdm, counter: _PageCounter) -> None:
    """Give the bar its total (and so an ETA) as soon as the pages are counted."""

    def follow() -> None:
        counter.done.wait()
        if not counter.stopped:
            progress.total = counter.total
            progress.refresh()

    threading.Thread(target=follow, name="got-ocr-total", daemon=True).start()


def _summary(tally: _Tally, seconds: float, bad_inputs: int) -> str:
    rate = tally.pages / seconds if seconds > 0 else 0.0
    parts = [
        f"got-ocr: {tally.documents} document{'s' * (tally.documents != 1)}, "
        f"{tally.pages} page{'s' * (tally.pages != 1)} in {seconds:.1f} s ({rate:.2f} pages/s)"
    ]
    if tally.cached_pages:
        parts.append(f"{tally.cached_pages} from the cache")
    if tally.skipped_existing:
        parts.append(f"{tally.skipped_existing} skipped (output exists)")
    failures = len(tally.failures) + bad_inputs
    if failures:
        parts.append(f"{failures} error{'s' * (failures != 1)} (see above)")
    return "; ".join(parts)


def run_cache(args: argparse.Namespace) -> int:
    cache = ResultCache(args.cache)
    with cache:
        if args.action == "clear":
            deleted = cache.clear()
            print(f"Deleted {deleted} cached result{'s' * (deleted != 1)} from {cache.path}.")
            return EXIT_OK
        info = cache.info()
    print(f"path:     {info.path}")
    if not info.exists:
        print("entries:  0 (no cache file yet)")
        return EXIT_OK
    print(f"entries:  {info.entries}")
    print(f"size:     {_size(info.size_bytes)}")
    if info.oldest is not None and info.newest is not None:
        print(f"oldest:   {_when(info.oldest)}")
        print(f"newest:   {_when(info.newest)}")
    for model, count in info.models.items():
        print(f"model:    {model} ({count})")
    return EXIT_OK


def _size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def _when(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp))


def main(argv: Iterable[str] | None = None) -> int:
    """The ``got-ocr`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(None if argv is None else list(argv))
    # Errors are reported by the command itself; library warnings go to stderr once.
    logging.basicConfig(level=logging.WARNING, format="got-ocr: %(name)s: %(message)s")
    try:
        if args.command == "cache":
            return run_cache(args)
        return run_convert(args, parser)
    except BrokenPipeError:  # the reader of standard output went away (| head): stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("got-ocr: interrupted; results already written and cached are kept.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except GOTError as exc:  # no page can be read: the model is missing, the cache is broken
        print(f"got-ocr: error: {exc}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
