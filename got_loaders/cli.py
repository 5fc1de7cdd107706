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
import dataclasses
import logging
import os
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from got_model import __version__
from got_model.cache import ResultCache, default_cache_path
from got_model.engine import GOT_MAX_NEW_TOKENS, OCREngine
from got_model.errors import GOTError, InvalidTaskError
from got_model.loading import DEFAULT_MODEL_ID, LoadSettings
from got_model.tasks import DEFAULT_MAX_PATCHES, OCRTask, OutputFormat, RegionColor
from got_model.transformers_backend import GOTEngine
from got_model.vllm_backend import VLLMSettings, process_vllm_engine

from .content import PageContent
from .conversion import (
    SUPPORTED_SUFFIXES,
    Converter,
    Job,
    OutputKind,
    PageCounter,
    Tally,
    check_glob,
    find_jobs,
    output_collisions,
)
from .engines import engine_batch_size, shared_engine
from .errors import InvalidPagesError
from .extras import import_extra
from .pipeline import DEFAULT_BATCH_SIZE, OnError, PagePipeline
from .sources.pages import DEFAULT_MAX_PIXELS, let_pillow_open
from .sources.selection import PageSelection
from .sources.text_layer import Strategy

if TYPE_CHECKING:
    from tqdm import tqdm


EXIT_OK = 0
EXIT_FAILED = 1  # some file or page failed; the rest were converted
EXIT_USAGE = 2  # bad arguments (argparse's own code)
EXIT_INTERRUPTED = 130


# -- the command line ----------------------------------------------------------------------


CONVERT_EPILOG = """\
examples:
  got-ocr convert paper.pdf > paper.md
  got-ocr convert scans/ -o out/ --skip-existing     resume: finished outputs are kept
  got-ocr convert docs/ -o out/ -f jsonl --glob '*.pdf' --pages 1-5
  cat scan.png | got-ocr convert - --task plain

outputs are written whole (through a temporary file) as each document finishes. A document
with a failed page is still written without that page (unless --on-error raise); rerunning
without --skip-existing retries it, and the result cache makes the rest of the rerun cheap.
A batch that runs out of GPU memory is split and retried, down to one page.

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
        choices=[*(k.value for k in OutputKind), "parquet"],
        default=None,
        help="Markdown per document, or JSON lines {text, metadata} per page; with --ray, "
        "rows per page in Parquet or JSON lines (default: markdown; with --ray, parquet)",
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
    errors = convert.add_argument_group("errors and limits")
    errors.add_argument(
        "--on-error",
        choices=[o.value for o in OnError],
        default="warn",
        help="a file or page that cannot be read: warn = report it at once and go on, "
        "skip = go on and list the failures at the end, raise = stop at the first one "
        "(documents finished before it are kept) (default: %(default)s)",
    )
    errors.add_argument(
        "--max-pages",
        type=int,
        metavar="N",
        help="refuse a document with more than N pages to read (default: no limit)",
    )
    errors.add_argument(
        "--max-pixels",
        type=int,
        default=DEFAULT_MAX_PIXELS,
        metavar="N",
        help="refuse an image file, or an image shown on a PDF page, of more than N pixels "
        "(a likely decompression bomb; default: %(default)s, Pillow's limit)",
    )
    task = convert.add_argument_group("task")
    task.add_argument(
        "--strategy",
        choices=[s.value for s in Strategy],
        default=Strategy.OCR.value,
        help="where a PDF page's text comes from: ocr: always GOT; text: the PDF's text layer "
        "only (GOT never loads); auto: per page, the text layer where it is good, GOT where "
        "it is needed (default: %(default)s)",
    )
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
        help="read only this region, in pixels of the page as GOT reads it: a PDF page with "
        "its longest side at 1024, an image at its own size (shrunk to 1024 when larger)",
    )
    task.add_argument(
        "--color",
        choices=[c.value for c in RegionColor],
        help="read only the text inside a box drawn in this color",
    )
    engine = convert.add_argument_group("engine")
    engine.add_argument(
        "--backend",
        choices=["transformers", "vllm"],
        default="transformers",
        help="transformers: static batches on any torch device; vllm: continuous batching on "
        "vLLM, many times the pages/s on a GPU (pip install 'got-loaders[vllm]') "
        "(default: %(default)s)",
    )
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
        choices=["auto", "bfloat16", "bf16", "float16", "fp16", "half", "float32", "fp32"],
        metavar="DTYPE",
        help="auto (bf16, or fp16, on GPU; fp32 on CPU), bfloat16, float16 or float32, or "
        "bf16 / fp16 / half / fp32 (default: %(default)s)",
    )
    engine.add_argument(
        "--batch-size",
        type=int,
        default=None,
        metavar="N",
        help="pages per model batch, filled across files (default: "
        f"{DEFAULT_BATCH_SIZE}; with --backend vllm, {VLLMSettings.batch_size}, which vLLM "
        "batches on continuously)",
    )
    engine.add_argument(
        "--max-new-tokens",
        type=int,
        default=GOT_MAX_NEW_TOKENS,
        metavar="N",
        help="the most tokens GOT may write for a page (default: %(default)s)",
    )
    engine.add_argument(
        "--sort-window",
        type=int,
        default=None,
        metavar="N",
        help="batch up to N pages by how much text they hold, not in reading order, so a "
        "batch does not wait on one long page; output order is kept. 0: reading order "
        "(default: 4 batches)",
    )
    engine.add_argument(
        "--compile",
        action="store_true",
        help="static cache and torch.compile for the decoding step (CUDA; the first batch "
        "of each size compiles, then batches run faster)",
    )
    engine.add_argument(
        "--gpu-memory-utilization",
        type=float,
        default=None,
        metavar="SHARE",
        help="with --backend vllm: the share of GPU memory vLLM may take (default: "
        f"{VLLMSettings.gpu_memory_utilization})",
    )
    engine.add_argument(
        "--enforce-eager",
        action="store_true",
        help="with --backend vllm: no CUDA graphs (vLLM starts sooner, decodes slower)",
    )
    scale = convert.add_argument_group("Ray Data (pip install 'got-loaders[ray]')")
    scale.add_argument(
        "--ray",
        nargs="?",
        const="",
        metavar="ADDRESS",
        help="read on Ray Data: pages render in CPU tasks, GOT runs in a pool of actors; "
        "without ADDRESS, the cluster RAY_ADDRESS names or a new local one, else e.g. 'auto' "
        "or 'ray://head:10001' (put --ray after the inputs, or write --ray=ADDRESS). Writes "
        "one row per page to -o DIR, which must be new or empty",
    )
    scale.add_argument(
        "--actors",
        type=int,
        default=1,
        metavar="N",
        help="with --ray: engines reading at once, one per GPU (default: %(default)s)",
    )
    scale.add_argument(
        "--cpus-per-actor",
        type=float,
        default=1.0,
        metavar="C",
        help="with --ray: CPUs each engine holds; the render tasks use the rest "
        "(default: %(default)s)",
    )
    scale.add_argument(
        "--gpus-per-actor",
        type=float,
        default=None,
        metavar="G",
        help="with --ray: GPUs each engine holds (default: 1 when the cluster has GPUs)",
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
    for name in ("batch_size", "max_new_tokens", "max_pages", "max_pixels"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1.")
    if args.sort_window is not None and args.sort_window < 0:
        parser.error("--sort-window must be at least 0.")
    _check_backend_arguments(args, parser)
    on_error = OnError(args.on_error)
    let_pillow_open(args.max_pixels)
    if args.ray is not None:
        _check_ray_arguments(args, parser)
    elif args.format == "parquet":
        parser.error("-f parquet needs --ray; without it, -f markdown or jsonl.")
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
    if args.ray is not None:
        return _run_on_ray(args, jobs, problems, task, pages)
    kind = OutputKind(args.format or OutputKind.MARKDOWN.value)
    tally_existing = 0
    if args.skip_existing:
        before = len(jobs)
        jobs = [j for j in jobs if not (args.output_dir / f"{j.output}{kind.suffix}").exists()]
        tally_existing = before - len(jobs)
    for problem in problems:
        print(f"got-ocr: error: {problem}", file=err)
    if problems and on_error is OnError.RAISE:
        return EXIT_FAILED

    cache = None if args.no_cache else ResultCache(args.cache)
    if cache is not None:
        cache.open()  # a cache that cannot work is a clear error now, not a warning later
    engine = _engine(args, shared=True)
    pipeline = PagePipeline(
        engine,
        task,
        batch_size=engine_batch_size(engine, args.batch_size),
        pages=pages,
        password=args.password,
        # The converter hears of every skipped page; with raise the first one stops the run.
        on_error=OnError.RAISE if on_error is OnError.RAISE else OnError.SKIP,
        cache=cache,
        max_pages=args.max_pages,
        max_pixels=args.max_pixels,
        sort_window=args.sort_window,
        strategy=args.strategy,
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
        counter = PageCounter(jobs, task, pages, args.password)

    def report(message: str) -> None:
        if on_error is OnError.SKIP:
            return  # listed after the run
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
        failures = converter.tally.failures
        if on_error is OnError.SKIP and failures:  # listed even when the run stops early
            print(f"got-ocr: skipped {len(failures)}:", file=err)
            for failure in failures:
                print(f"got-ocr: error: {failure}", file=err)
    tally.skipped_existing = tally_existing
    failed = bool(problems or tally.failures)
    if not args.quiet:
        print(_summary(tally, time.perf_counter() - started, len(problems)), file=err)
    return EXIT_FAILED if failed else EXIT_OK


def _engine(args: argparse.Namespace, *, shared: bool) -> OCREngine:
    """The engine the command line asks for; ``shared``: the process's one for these
    settings (a local run), else a fresh one to pickle to Ray's actors."""
    if args.backend == "vllm":
        return process_vllm_engine(*_vllm_settings(args))
    settings = {
        "revision": args.revision,
        "device": args.device,
        "dtype": args.dtype,
        "batch_size": args.batch_size or DEFAULT_BATCH_SIZE,
        "max_new_tokens": args.max_new_tokens,
        "compile": args.compile,
    }
    if shared:
        return shared_engine(args.model, **settings)
    return GOTEngine(args.model, **settings)


def _vllm_settings(args: argparse.Namespace) -> tuple[LoadSettings, VLLMSettings]:
    defaults = VLLMSettings()
    load = LoadSettings(
        model=args.model, revision=args.revision, dtype=_VLLM_DTYPES.get(args.dtype, args.dtype)
    )
    settings = dataclasses.replace(
        defaults,
        max_new_tokens=args.max_new_tokens,
        batch_size=args.batch_size or defaults.batch_size,
        gpu_memory_utilization=args.gpu_memory_utilization or defaults.gpu_memory_utilization,
        enforce_eager=args.enforce_eager,
    )
    return load, settings


# The short dtype names got-ocr takes, as vLLM spells them.
_VLLM_DTYPES = {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}


def _check_backend_arguments(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    if args.backend == "vllm":
        if args.device != "auto":
            parser.error("--device is for --backend transformers: vLLM runs on its own device.")
        if args.compile:
            parser.error("--compile is for --backend transformers: vLLM compiles on its own.")
    else:
        for flag, value in (
            ("--gpu-memory-utilization", args.gpu_memory_utilization),
            ("--enforce-eager", args.enforce_eager or None),
        ):
            if value is not None:
                parser.error(f"{flag} needs --backend vllm.")
    share = args.gpu_memory_utilization
    if share is not None and not 0 < share <= 1:
        parser.error("--gpu-memory-utilization must be more than 0 and at most 1.")


def _check_ray_arguments(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    if args.output_dir is None:
        parser.error("--ray writes its rows to a directory: give -o/--output-dir.")
    if args.format == OutputKind.MARKDOWN.value:
        parser.error("--ray writes one row per page: -f parquet (the default) or jsonl.")
    if args.ray and os.path.exists(args.ray):  # "--ray a.pdf b.pdf": an input, not an address
        args.inputs.insert(0, args.ray)
        args.ray = ""
    if "-" in args.inputs:
        parser.error("--ray reads files, not standard input ('-').")
    if args.output_dir.is_dir() and any(args.output_dir.iterdir()):
        parser.error(
            f"-o {args.output_dir} is not empty: Ray would add its files beside the old ones "
            "(a rerun would hold every page twice). Give a new or empty directory."
        )
    if args.on_error == OnError.RAISE.value:
        parser.error(
            "--on-error raise does not apply to --ray: every failure is a row with its error, "
            "and the exit status is 1 when there is one."
        )
    for option in ("skip_existing", "page_markers"):
        if getattr(args, option):
            parser.error(f"--{option.replace('_', '-')} does not apply to --ray.")
    if args.actors < 1:
        parser.error("--actors must be at least 1.")
    if args.cpus_per_actor < 0:
        parser.error("--cpus-per-actor must be 0 or more.")
    if args.gpus_per_actor is not None and args.gpus_per_actor < 0:
        parser.error("--gpus-per-actor must be 0 or more.")


def _run_on_ray(
    args: argparse.Namespace,
    jobs: list[Job],
    problems: list[str],
    task: OCRTask,
    pages: PageSelection | None,
) -> int:
    """``convert --ray``: the same documents and settings, read on Ray Data, written as rows."""
    err = sys.stderr
    ray = import_extra("ray", "got-ocr --ray")

    from .ray import read_documents, start_local_ray, write_pages

    for problem in problems:
        print(f"got-ocr: error: {problem}", file=err)
    if not jobs:
        print("got-ocr: no documents to read.", file=err)
        return EXIT_FAILED
    started = time.perf_counter()
    if not ray.is_initialized():
        try:
            if args.ray or os.environ.get("RAY_ADDRESS"):
                ray.init(address=args.ray or None, log_to_driver=not args.quiet)
            else:
                start_local_ray(args.actors, args.cpus_per_actor)
        except Exception as exc:  # Ray's own errors say what is wrong with the address
            where = f" at {args.ray}" if args.ray else ""
            print(f"got-ocr: error: cannot start or reach Ray{where}: {exc}", file=err)
            return EXIT_FAILED
    # Pickled to the actors as these settings: each loads its own model there.
    engine = _engine(args, shared=False)
    dataset = read_documents(
        [str(job.document.path) for job in jobs],
        engine=engine,
        task=task,
        content=args.content,
        strategy=args.strategy,
        pages=pages,
        password=args.password,
        batch_size=engine_batch_size(engine, args.batch_size),
        actors=args.actors,
        num_gpus=args.gpus_per_actor,
        num_cpus=args.cpus_per_actor,
        cache=None if args.no_cache else (args.cache or True),
        max_pages=args.max_pages,
        max_pixels=args.max_pixels,
    )
    rows = write_pages(dataset, args.output_dir, args.format or "parquet")
    errors = [error for error in rows["error"] if error]
    for error in errors:
        print(f"got-ocr: error: {error}", file=err)
    if not args.quiet:
        tally = Tally(
            documents=len(jobs),
            pages=len(rows) - len(errors),
            cached_pages=int(rows["cached"].sum()),
            text_layer_pages=int((rows["route"] == "text").sum()),
            failures=errors,
        )
        print(_summary(tally, time.perf_counter() - started, len(problems)), file=err)
    return EXIT_FAILED if errors or problems else EXIT_OK


def _follow_count(progress: tqdm, counter: PageCounter) -> None:
    """Give the bar its total (and so an ETA) as soon as the pages are counted."""

    def follow() -> None:
        counter.done.wait()
        if not counter.stopped:
            progress.total = counter.total
            progress.refresh()

    threading.Thread(target=follow, name="got-ocr-total", daemon=True).start()


def _summary(tally: Tally, seconds: float, bad_inputs: int) -> str:
    rate = tally.pages / seconds if seconds > 0 else 0.0
    parts = [
        f"got-ocr: {tally.documents} document{'s' * (tally.documents != 1)}, "
        f"{tally.pages} page{'s' * (tally.pages != 1)} in {seconds:.1f} s ({rate:.2f} pages/s)"
    ]
    if tally.cached_pages:
        parts.append(f"{tally.cached_pages} from the cache")
    if tally.text_layer_pages:
        parts.append(f"{tally.text_layer_pages} from the text layer")
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
