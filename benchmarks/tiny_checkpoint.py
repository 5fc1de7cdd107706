"""How long the tiny GOT checkpoint takes to build and load, and how big it is.

python benchmarks/tiny_checkpoint.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path


def main() -> None:
    started = time.perf_counter()
    import transformers  # noqa: F401  (import cost reported apart from the build)

    from got_model import GOTEngine
    from got_model.testing import build_tiny_checkpoint

    imported = time.perf_counter()
    print(f"import torch + transformers: {imported - started:.1f} s")
    with tempfile.TemporaryDirectory() as tmp:
        for attempt in (1, 2):
            begin = time.perf_counter()
            path = build_tiny_checkpoint(Path(tmp) / f"tiny-{attempt}")
            built = time.perf_counter() - begin
            size = sum(f.stat().st_size for f in Path(path).iterdir()) / 1e6
            begin = time.perf_counter()
            GOTEngine(path, device="cpu").load()
            loaded = time.perf_counter() - begin
            print(f"build #{attempt}: {built:.2f} s, {size:.2f} MB on disk, load {loaded:.2f} s")


if __name__ == "__main__":
    main()
