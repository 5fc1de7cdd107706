"""Pages/s of got_loaders.ray.read_documents with 1 and 2 engine actors.

Each run reads the same PDFs end to end (Ray Data's render tasks, the actor pool, the rows
materialized), from a Ray instance started once; a run's time includes starting its actors
and loading their models, as a batch job pays it. By default the engine is the tiny random
checkpoint on the CPU: the figure is the pipeline's own throughput and how it scales with
actors on this machine, not GOT's. ``--model`` and ``--device cuda`` measure a real engine
(give the cluster a GPU per actor).

    python benchmarks/ray_throughput.py [--pages 96] [--files 4] [--actors 1 2] [--repeat 2]
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from pathlib import Path


def make_pdfs(folder: Path, files: int, pages: int, seed: int = 0) -> list[str]:
    """``files`` PDFs of ``pages`` pages in all, each page a different noisy picture."""
    import pymupdf
    from PIL import Image

    rng = random.Random(seed)
    paths = []
    for number in range(files):
        pdf = pymupdf.open()
        for _ in range(pages // files + (number < pages % files)):
            data = bytes(rng.randrange(256) for _ in range(96 * 64 * 3))
            picture = Image.frombytes("RGB", (96, 64), data).resize((612, 792))
            page = pdf.new_page(width=612, height=792)
            buffer = _png(picture)
            page.insert_image(page.rect, stream=buffer)
        path = folder / f"doc{number}.pdf"
        pdf.save(path)
        pdf.close()
        paths.append(str(path))
    return paths


def _png(picture: object) -> bytes:
    import io

    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")  # type: ignore[attr-defined]
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=96)
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--actors", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeat", type=int, default=2, help="runs of each; the best counts")
    parser.add_argument("--model", help="a GOT checkpoint (default: build the tiny one)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=8)
    args = parser.parse_args()

    import ray
    import ray.data

    from got_loaders.pipeline import PagePipeline
    from got_loaders.ray import read_documents
    from got_model import FORMATTED, GOTEngine
    from got_model.testing import build_tiny_checkpoint

    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        model = args.model or build_tiny_checkpoint(folder / "got-tiny")
        paths = make_pdfs(folder, args.files, args.pages)
        cores = os.cpu_count() or 1
        # Logical CPUs: every actor holds one, and the render tasks need some besides.
        ray.init(num_cpus=cores + max(args.actors), include_dashboard=False, log_to_driver=False)
        ray.data.DataContext.get_current().enable_progress_bars = False
        engine = GOTEngine(
            model,
            device=args.device,
            max_new_tokens=args.max_new_tokens,
            batch_size=args.batch_size,
        )
        print(
            f"{args.pages} pages in {args.files} PDFs, model {'tiny' if not args.model else model}"
            f" on {args.device}, {args.max_new_tokens} new tokens at most, batch "
            f"{args.batch_size}, {cores} cores"
        )
        print("| actors | best s | pages/s | vs 1 actor | runs (s) |")
        print("|---|---|---|---|---|")
        runs = []
        for _ in range(args.repeat):  # the same pages without Ray, for reference
            started = time.perf_counter()
            local = PagePipeline(engine, FORMATTED, batch_size=args.batch_size)
            count = sum(1 for _ in local.run(paths))
            runs.append(time.perf_counter() - started)
        print(
            f"| none (PagePipeline, this process) | {min(runs):.1f} | "
            f"{count / min(runs):.2f} | - | " + ", ".join(f"{run:.1f}" for run in runs) + " |"
        )
        baseline = None
        for actors in args.actors:
            runs = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                rows = read_documents(
                    paths, engine=engine, actors=actors, batch_size=args.batch_size
                ).materialize()
                count = rows.count()
                runs.append(time.perf_counter() - started)
                if count != args.pages:
                    raise AssertionError(f"{count} rows for {args.pages} pages")
            best = min(runs)
            baseline = baseline or best
            print(
                f"| {actors} | {best:.1f} | {args.pages / best:.2f} | x{baseline / best:.2f} | "
                + ", ".join(f"{run:.1f}" for run in runs)
                + " |"
            )
        ray.shutdown()


if __name__ == "__main__":
    main()
