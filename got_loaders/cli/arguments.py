"""``got-ocr``'s arguments: the parser of both commands, and the task they ask for."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from got_loaders.content import PageContent
from got_loaders.conversion import (
    SUPPORTED_SUFFIXES,
    OutputKind,
)
from got_loaders.pipeline import DEFAULT_BATCH_SIZE, OnError
from got_loaders.sources.pages import DEFAULT_MAX_PIXELS
from got_loaders.sources.text_layer import Strategy
from got_model import __version__
from got_model.cache import default_cache_path
from got_model.engine import GOT_MAX_NEW_TOKENS
from got_model.errors import InvalidTaskError
from got_model.loading import DEFAULT_MODEL_ID
from got_model.server_engine import API_KEY_VARIABLE, ServerSettings
from got_model.tasks import DEFAULT_MAX_PATCHES, OCRTask, OutputFormat, RegionColor
from got_model.vllm_backend import VLLMSettings

from .engine import DTYPE_CHOICES
from .serve import add_serve_parser

if TYPE_CHECKING:
    pass


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
        default=None,
        metavar="ID_OR_DIR",
        help=f"Hugging Face Hub id or local directory (default: {DEFAULT_MODEL_ID}); with "
        "--server, the served model to use (default: the server's)",
    )
    engine.add_argument("--revision", help="Hub branch, tag or commit to pin")
    engine.add_argument(
        "--device", default="auto", help="auto (CUDA, then MPS, then CPU), cuda, cuda:1, mps, cpu"
    )
    engine.add_argument(
        "--dtype",
        default="auto",
        choices=DTYPE_CHOICES,
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
    remote = convert.add_argument_group(
        "GOT server (pip install 'got-loaders[client]'; start one with got-ocr serve)"
    )
    remote.add_argument(
        "--server",
        metavar="URL",
        help="read pages on the GOT server at URL (e.g. http://127.0.0.1:8000) instead of "
        "loading the model here: many processes share its GPU",
    )
    remote.add_argument(
        "--api-key",
        metavar="KEY",
        help=f"with --server: the server's API key (default: ${API_KEY_VARIABLE})",
    )
    remote.add_argument(
        "--max-in-flight",
        type=int,
        default=None,
        metavar="N",
        help=f"with --server: requests open at once (default: {ServerSettings.max_in_flight})",
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

    add_serve_parser(commands)

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
