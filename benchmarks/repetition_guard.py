"""What the repetition guard saves, what it costs, and what no_repeat_ngram_size=20 does instead.

Runs GOT's real generate path on the tiny checkpoint, rewired to loop the way GOT does
("AR repeater"), plus a pure-Python cost measurement of one guard check.

    python benchmarks/repetition_guard.py [--max-new-tokens 4096]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from PIL import Image

from got_model import GOTEngine, RepetitionGuard
from got_model.testing import build_tiny_checkpoint, make_looping


def _run(engine: GOTEngine, image: Image.Image) -> tuple[str, int, float, int]:
    started = time.perf_counter()
    result = engine.recognize(image)
    return (
        result.finish_reason.value,
        result.generated_tokens,
        time.perf_counter() - started,
        len(result.text),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--max-new-tokens", type=int, default=4096)
    args = parser.parse_args()

    guard = RepetitionGuard()
    tokens = [random.randrange(150_000) for _ in range(args.max_new_tokens)]
    checks = 2000
    started = time.perf_counter()
    for _ in range(checks):
        guard.find(tokens)
    per_check_us = (time.perf_counter() - started) / checks * 1e6
    print(f"guard check on {len(tokens)} non-looping tokens: {per_check_us:.1f} us")

    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = build_tiny_checkpoint(Path(tmp) / "tiny")
        image = Image.new("RGB", (64, 64), "white")
        looping = GOTEngine(checkpoint, device="cpu")
        looping.load()
        tokenizer = looping._processor.tokenizer
        make_looping(looping, [tokenizer.convert_tokens_to_ids(c) for c in ("a", "b", "c")])
        components = (looping._model, looping._processor)
        rows = [
            ("no guard", {"repetition_guard": None}),
            ("default guard", {}),
            (
                "no_repeat_ngram_size=20, no guard",
                {"repetition_guard": None, "no_repeat_ngram_size": 20},
            ),
        ]
        print(f"\nlooping page, max_new_tokens={args.max_new_tokens} (tiny model, CPU):")
        print(f"{'setting':<36}{'finish':<12}{'tokens':>8}{'seconds':>10}{'chars':>8}")
        for name, settings in rows:
            engine = GOTEngine.from_components(
                *components, max_new_tokens=args.max_new_tokens, **settings
            )
            reason, count, seconds, chars = _run(engine, image)
            print(f"{name:<36}{reason:<12}{count:>8}{seconds:>10.2f}{chars:>8}")

        # Cost on output that does not loop within the limit: a cycle through the whole
        # vocabulary is longer than the guard's max_period, so the guard checks but never fires.
        n = min(args.max_new_tokens, 512)
        long_cycle = GOTEngine(checkpoint, device="cpu")
        long_cycle.load()
        special = set(tokenizer.all_special_ids)
        vocabulary = [t for t in range(len(tokenizer)) if t not in special]
        make_looping(long_cycle, vocabulary)
        print(
            f"\nnon-looping output ({len(vocabulary)}-token cycle), {n} tokens, best of 3 rounds:"
        )
        settings_by_name = {
            "no guard": {"repetition_guard": None},
            "default guard (checks, never fires)": {},
            "no_repeat_ngram_size=20": {"repetition_guard": None, "no_repeat_ngram_size": 20},
        }
        engines = {
            name: GOTEngine.from_components(
                long_cycle._model, long_cycle._processor, max_new_tokens=n, **settings
            )
            for name, settings in settings_by_name.items()
        }
        best: dict[str, tuple[str, int, float, int]] = {}
        for _ in range(3):  # round-robin, so machine noise hits every setting alike
            for name, engine in engines.items():
                run = _run(engine, image)
                if name not in best or run[2] < best[name][2]:
                    best[name] = run
        for name, (reason, count, seconds, _) in best.items():
            per_token = seconds / count * 1e3
            print(f"{name:<36}{reason:<12}{count:>8}{seconds:>10.2f}  {per_token:.2f} ms/token")


if __name__ == "__main__":
    main()
