"""``got-ocr``: convert PDFs and images to Markdown or JSONL from the command line.

    got-ocr convert paper.pdf scans/ -o out/
    got-ocr convert - --format jsonl < scan.png
    got-ocr cache info
    got-ocr serve --port 8000           one GPU for many clients (convert --server URL)

Runs the same page pipeline as the framework adapters: pages render ahead on a thread, batches
fill across files, a bad file or page is reported and the run goes on, and the result cache
makes a rerun skip every page already read.

- ``arguments``: the parser and the task it asks for;
- ``convert``: ``got-ocr convert``, locally or on Ray Data;
- ``engine``: the engine the arguments describe;
- ``serve``: ``got-ocr serve``, vLLM's OpenAI-compatible server for GOT;
- ``cache``: ``got-ocr cache``;
- ``exit_codes``: what ``got-ocr`` returns.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable

from got_model.errors import GOTError

from .arguments import build_parser
from .cache import run_cache
from .convert import run_convert
from .exit_codes import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from .serve import run_serve

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "build_parser",
    "main",
    "run_cache",
    "run_convert",
    "run_serve",
]


def main(argv: Iterable[str] | None = None) -> int:
    """The ``got-ocr`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(None if argv is None else list(argv))
    # Errors are reported by the command itself; library warnings go to stderr once.
    logging.basicConfig(level=logging.WARNING, format="got-ocr: %(name)s: %(message)s")
    try:
        if args.command == "cache":
            return run_cache(args)
        if args.command == "serve":
            return run_serve(args, parser)
        return run_convert(args, parser)
    except BrokenPipeError:  # the reader of standard output went away (| head): stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILED
    except KeyboardInterrupt:
        if args.command == "serve":
            print("got-ocr: interrupted; the server is stopped.", file=sys.stderr)
        else:
            print(
                "got-ocr: interrupted; results already written and cached are kept.",
                file=sys.stderr,
            )
        return EXIT_INTERRUPTED
    except GOTError as exc:  # no page can be read: the model is missing, the cache is broken
        print(f"got-ocr: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
