"""Running out of device memory: batches split down to one page, the rest goes on.

The tiny checkpoint's model is wrapped so that ``generate`` raises ``torch.OutOfMemoryError``
the way CUDA does when a batch is too large: above a number of rows, or whenever a "huge"
page (a black one) is in the batch, even alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from PIL import Image

from got_loaders.pipeline import PagePipeline, RecognitionError
from got_model import (
    EngineOutOfMemoryError,
    GOTEngine,
    OCRRequest,
    OCRResult,
    OCRTask,
)
from got_model.transformers_backend import _BATCH_RECOVERY, _BatchLimit, _Split, is_out_of_memory
from tests.conftest import noise_image

PLAIN = OCRTask()


class MemoryLimit:
    """Wraps a model's ``generate``: too many rows, or a black page, run out of memory."""

    def __init__(self, generate: object, most_rows: int) -> None:
        self.generate = generate
        self.most_rows = most_rows
        self.calls: list[int] = []

    def __call__(self, **inputs: torch.Tensor) -> torch.Tensor:
        rows = int(inputs["input_ids"].shape[0])
        self.calls.append(rows)
        if rows > self.most_rows:
            raise torch.OutOfMemoryError(f"CUDA out of memory. Tried to allocate {rows} GiB")
        # GOT's processor normalises pixels: a black page is far below every other page.
        darkest = inputs["pixel_values"].flatten(1).mean(dim=1).min()
        if darkest < -1.5:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 80 GiB")
        return self.generate(**inputs)  # type: ignore[operator]


@pytest.fixture
def engine(tiny_checkpoint: str) -> Iterator[GOTEngine]:
    # Its stand-in for generate reads the batch from input_ids and pixel_values.
    engine = GOTEngine(
        tiny_checkpoint, device="cpu", max_new_tokens=6, batch_size=8, encoder_batch_size=None
    )
    engine.load()
    yield engine
    engine.unload()


def limit_memory(engine: GOTEngine, most_rows: int, monkeypatch: pytest.MonkeyPatch) -> MemoryLimit:
    model = engine._model
    limit = MemoryLimit(model.generate, most_rows)
    monkeypatch.setattr(model, "generate", limit)
    return limit


def requests(count: int, black: int | None = None) -> list[OCRRequest]:
    images = [noise_image(seed) for seed in range(count)]
    if black is not None:
        images[black] = Image.new("RGB", (80, 60), "black")
    return [OCRRequest((image,), PLAIN) for image in images]


def texts(results: list[OCRResult | Exception]) -> list[str]:
    return [result.text for result in results if isinstance(result, OCRResult)]


def test_a_batch_too_large_is_split_until_it_fits_with_the_same_results(
    engine: GOTEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch = requests(8)
    expected = [result.text for result in engine.recognize_batch(batch)]
    limit = limit_memory(engine, 2, monkeypatch)

    assert [result.text for result in engine.recognize_batch(batch)] == expected
    assert limit.calls == [8, 4, 2, 2, 4, 2, 2]

    # Later batches start at the size that fitted: no more wasted attempts.
    limit.calls.clear()
    assert texts(engine.recognize_each(batch)) == expected
    assert limit.calls == [2, 2, 2, 2]


def test_a_page_that_does_not_fit_alone_fails_alone(
    engine: GOTEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch = requests(6, black=3)
    expected = [result.text for result in engine.recognize_batch(batch[:3] + batch[4:])]
    limit_memory(engine, 8, monkeypatch)

    results = engine.recognize_each(batch)

    error = results[3]
    assert isinstance(error, EngineOutOfMemoryError)
    assert isinstance(error, MemoryError)
    assert "even for this page alone (CUDA out of memory" in str(error)
    assert "Lower max_new_tokens" in str(error)
    assert isinstance(error.__cause__, torch.OutOfMemoryError)
    assert texts(results) == expected
    assert engine._memory.size() == 8  # the page explains it: the batch size stays
    with pytest.raises(EngineOutOfMemoryError):
        engine.recognize_batch(batch)


def test_other_errors_stop_recognize_batch_at_once(
    engine: GOTEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []

    def broken(**inputs: torch.Tensor) -> torch.Tensor:
        calls.append(int(inputs["input_ids"].shape[0]))
        raise RuntimeError("device-side assert triggered")

    monkeypatch.setattr(engine._model, "generate", broken)
    with pytest.raises(RuntimeError, match="device-side assert"):
        engine.recognize_batch(requests(4))
    assert calls == [4]  # not split: only running out of memory is worth a smaller batch

    calls.clear()
    results = engine.recognize_each(requests(4))
    assert all(isinstance(result, RuntimeError) for result in results)
    assert sorted(calls) == [1, 1, 1, 1, 2, 2, 4]


def test_the_pipeline_reports_the_page_that_does_not_fit_and_reads_the_rest(
    engine: GOTEngine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    images = [noise_image(seed, (200, 150)) for seed in range(5)]
    images[2] = Image.new("RGB", (200, 150), "black")
    files = [tmp_path / f"scan{index}.png" for index in range(5)]
    for image, file in zip(images, files, strict=True):
        image.save(file)
    limit_memory(engine, 2, monkeypatch)

    skipped: list[RecognitionError] = []
    pipeline = PagePipeline(
        engine,
        PLAIN,
        batch_size=5,
        on_error="skip",
        on_skip=skipped.append,  # type: ignore[arg-type]
    )
    read = [item.page.document.position for item in pipeline.run(files)]

    assert read == [0, 1, 3, 4]
    assert len(skipped) == 1
    assert skipped[0].source == str(files[2])
    assert skipped[0].page == 1
    assert "Out of memory" in str(skipped[0])
    assert isinstance(skipped[0].__cause__, EngineOutOfMemoryError)

    raising = PagePipeline(engine, PLAIN, batch_size=5)
    seen = []
    results = raising.run(files)
    seen.extend(next(results).page.document.position for _ in range(2))
    with pytest.raises(RecognitionError, match="Out of memory"):
        next(results)
    assert seen == [0, 1]


def test_the_batch_size_grows_back_after_a_run_of_batches_that_fit() -> None:
    limit = _BatchLimit(16)
    limit.record(16, _Split(ran_out=True, largest_fitted=4))
    assert limit.size() == 4
    for _ in range(_BATCH_RECOVERY - 1):
        limit.record(4, _Split())
    assert limit.size() == 4
    limit.record(4, _Split())
    assert limit.size() == 8
    limit.record(3, _Split())  # a short last batch says nothing about the size
    for _ in range(_BATCH_RECOVERY):
        limit.record(8, _Split())
    assert limit.size() == 16


def test_a_page_too_large_even_alone_does_not_lower_the_batch_size() -> None:
    limit = _BatchLimit(8)
    limit.record(8, _Split(ran_out=True, lone_failures=1, largest_fitted=4))
    assert limit.size() == 8
    limit.record(8, _Split(ran_out=True, largest_fitted=0))  # nothing fitted: one at a time
    assert limit.size() == 1


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (torch.OutOfMemoryError("CUDA out of memory."), True),
        (RuntimeError("MPS backend out of memory (MPS allocated: 9 GB)"), True),
        (RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried 9 GB"), True),
        (MemoryError(), True),
        (RuntimeError("CUDA error: device-side assert triggered"), False),
        (ValueError("out of range"), False),
    ],
)
def test_out_of_memory_errors_are_recognised(error: BaseException, expected: bool) -> None:
    assert is_out_of_memory(error) is expected
