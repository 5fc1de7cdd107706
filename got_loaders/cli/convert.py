"""``got-ocr convert``: inputs to Markdown or JSONL files, locally or on Ray Data."""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from typing import TYPE_CHECKING

from got_loaders.content import PageContent
from got_loaders.conversion import (
    Converter,
    Job,
    OutputKind,
    PageCounter,
    Tally,
    check_glob,
    find_jobs,
    output_collisions,
)
from got_loaders.engines import engine_batch_size
from got_loaders.errors import InvalidPagesError
from got_loaders.extras import import_extra
from got_loaders.pipeline import OnError, PagePipeline
from got_loaders.sources.pages import let_pillow_open
from got_loaders.sources.selection import PageSelection
from got_model.cache import ResultCache
from got_model.errors import InvalidTaskError
from got_model.tasks import OCRTask

if TYPE_CHECKING:
    from tqdm import tqdm


from .arguments import parse_task
from .engine import build_engine, check_backend_arguments
from .exit_codes import EXIT_FAILED, EXIT_OK


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
    check_backend_arguments(args, parser)
    on_error = OnError(args.on_error)
    let_pillow_open(args.max_pixels)
    if args.ray is not None:
        check_ray_arguments(args, parser)
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
    engine = build_engine(args, shared=True)
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


def check_ray_arguments(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
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

    from got_loaders.ray import read_documents, start_local_ray, write_pages

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
    engine = build_engine(args, shared=False)
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
