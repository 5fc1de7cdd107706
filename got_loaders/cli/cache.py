"""``got-ocr cache``: where the result cache is, how big, and clearing it."""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING

from got_model.cache import ResultCache

if TYPE_CHECKING:
    pass


from .exit_codes import EXIT_OK


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
