"""VLLMEngine on vLLM's CPU build: every GOT task gives the transformers backend's output."""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import pytest
from PIL import Image

from got_model import (
    FORMATTED,
    PLAIN,
    FinishReason,
    GOTEngine,
    ImageInputError,
    OCRRequest,
    OCRResult,
    OCRTask,
    RepetitionGuard,
)
from got_model.testing import make_looping
from got_model.vllm_backend import VLLMEngine
from tests.conftest import noise_image
from tests.vllm.conftest import CPU_OPTIONS, VLLM_TESTS

pytestmark = VLLM_TESTS

WIDE = (250, 60)
TALL = (70, 180)


def every_task() -> list[OCRRequest]:
    """Each task GOT has, on pages of several shapes, in one mixed batch."""
    return [
        OCRRequest((noise_image(0),), PLAIN),
        OCRRequest((noise_image(1, TALL),), FORMATTED),
        OCRRequest((noise_image(2),), OCRTask(box=(10, 5, 60, 50))),
        OCRRequest((noise_image(3, WIDE),), OCRTask(output="formatted", box=(100, 0, 240, 60))),
        OCRRequest((noise_image(4),), OCRTask(color="red")),
        OCRRequest((noise_image(5),), OCRTask(output="formatted", color="green")),
        OCRRequest((noise_image(6, WIDE),), OCRTask(crop_to_patches=True, max_patches=6)),
        OCRRequest((noise_image(7, TALL),), OCRTask(output="formatted", crop_to_patches=True)),
        OCRRequest((noise_image(8, WIDE),), OCRTask(crop_to_patches=True, max_patches=2)),
        OCRRequest(tuple(noise_image(seed) for seed in (9, 10, 11)), PLAIN),
        OCRRequest((noise_image(12), noise_image(13, TALL)), FORMATTED),
    ]


def same(got: OCRResult | Exception, expected: OCRResult | Exception) -> tuple[object, ...]:
    assert isinstance(got, OCRResult), got
    assert isinstance(expected, OCRResult), expected
    return (got.text, got.finish_reason, got.generated_tokens, got.task)


def test_every_task_in_one_mixed_batch_equals_the_transformers_backend(
    vllm_engine: VLLMEngine, reference: GOTEngine
) -> None:
    requests = every_task()
    expected = reference.recognize_each(requests)
    got = vllm_engine.recognize_each(requests)
    assert len(got) == len(requests)
    for number, (ours, theirs) in enumerate(zip(got, expected, strict=True)):
        assert isinstance(ours, OCRResult), (number, ours)
        assert isinstance(theirs, OCRResult), (number, theirs)
        assert (ours.text, ours.finish_reason, ours.generated_tokens, ours.task) == (
            theirs.text,
            theirs.finish_reason,
            theirs.generated_tokens,
            theirs.task,
        ), f"request {number}: {requests[number].task.describe()}"
    # The pages differ, so equal results in order mean nothing was swapped.
    assert len({result.text for result in got if isinstance(result, OCRResult)}) > 5


def test_prepared_requests_give_the_same_results(
    vllm_engine: VLLMEngine, reference: GOTEngine
) -> None:
    requests = every_task()[:8]
    vllm_engine.load()
    prepared = [vllm_engine.prepare(request) for request in requests]
    assert all(p is not r for p, r in zip(prepared, requests, strict=True))
    got = vllm_engine.recognize_batch(prepared)
    assert [r.text for r in got] == [r.text for r in reference.recognize_batch(requests)]


def test_submissions_overlap_and_each_gets_its_own_results(
    vllm_engine: VLLMEngine, reference: GOTEngine
) -> None:
    requests = every_task()
    first = vllm_engine.submit_each(requests[:6])
    second = vllm_engine.submit_each(requests[6:])
    expected = [r.text for r in reference.recognize_batch(requests)]
    texts = [r.text for r in first.result() + second.result()]  # type: ignore[union-attr]
    assert texts == expected


def test_an_undecodable_image_costs_only_itself(vllm_engine: VLLMEngine) -> None:
    data = io.BytesIO()
    noise_image(20, (120, 90)).save(data, format="PNG")
    broken = Image.open(io.BytesIO(data.getvalue()[:200]))  # decodes lazily, then fails
    good = [OCRRequest((noise_image(seed),), PLAIN) for seed in (21, 22)]
    results = vllm_engine.recognize_each([good[0], OCRRequest((broken,), PLAIN), good[1]])
    assert isinstance(results[1], ImageInputError)
    assert "Request 1" in str(results[1])
    alone = vllm_engine.recognize_batch(good)
    assert [r.text for r in results[::2]] == [r.text for r in alone]  # type: ignore[union-attr]


def test_a_request_vllm_refuses_costs_only_itself_and_poisons_nothing(
    vllm_engine: VLLMEngine,
) -> None:
    # More pages than vLLM takes in one prompt: its processor refuses this request alone.
    too_many = OCRRequest(tuple(noise_image(seed, (16, 16)) for seed in range(70)), PLAIN)
    good = OCRRequest((noise_image(30),), PLAIN)
    first = vllm_engine.recognize_each([too_many, good])
    assert isinstance(first[0], Exception)
    assert isinstance(first[1], OCRResult)
    again = vllm_engine.recognize_each([good])  # the engine is not left in a broken state
    assert again[0].text == first[1].text  # type: ignore[union-attr]


def test_stats_count_pages_tokens_and_preprocessing(vllm_engine: VLLMEngine) -> None:
    before, seconds = vllm_engine.stats, vllm_engine.preprocess_seconds
    results = vllm_engine.recognize_batch([OCRRequest((noise_image(40),), PLAIN)] * 3)
    spent = vllm_engine.stats - before
    assert spent.pages == 3
    assert spent.generated_tokens == sum(r.generated_tokens for r in results)
    assert spent.decode_steps == spent.generated_tokens  # no padding with continuous batching
    assert spent.seconds > 0
    assert vllm_engine.preprocess_seconds > seconds


def test_a_copy_unpickled_here_is_the_same_engine(vllm_engine: VLLMEngine) -> None:
    assert pickle.loads(pickle.dumps(vllm_engine)) is vllm_engine


@pytest.fixture(scope="module")
def looping_checkpoint(vllm_checkpoint: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The kit rewired to write one short cycle forever: GOT's "AR repeater" on demand."""
    engine = GOTEngine(vllm_checkpoint, device="cpu", dtype="float32")
    make_looping(engine, [40, 41, 42, 43, 44])
    path = tmp_path_factory.mktemp("looping") / "got-looping"
    engine._model.save_pretrained(path)
    engine._processor.save_pretrained(path)
    return str(path)


def test_a_looping_output_stops_early_with_repetition(looping_checkpoint: str) -> None:
    settings = {"max_new_tokens": 1500, "repetition_guard": RepetitionGuard()}
    vllm = VLLMEngine(looping_checkpoint, dtype="float32", **settings, **CPU_OPTIONS)  # type: ignore[arg-type]
    reference = GOTEngine(looping_checkpoint, device="cpu", dtype="float32", **settings)  # type: ignore[arg-type]
    page = OCRRequest((noise_image(50),), PLAIN)
    try:
        [got] = vllm.recognize_batch([page])
    finally:
        vllm.unload()
    [expected] = reference.recognize_batch([page])
    assert got.finish_reason is FinishReason.REPETITION
    assert got.generated_tokens < 260  # stopped soon after the 192-token span, not at 1,500
    assert got.repeated_tokens_cut > 0
    assert got.text == expected.text  # the loop's tail is cut the same way
    assert expected.finish_reason is FinishReason.REPETITION


def test_a_missing_model_is_model_not_available(tmp_path: Path) -> None:
    from got_model import ModelNotAvailableError

    engine = VLLMEngine(str(tmp_path / "no-such-model"), **CPU_OPTIONS)  # type: ignore[arg-type]
    with pytest.raises(ModelNotAvailableError, match="no-such-model"):
        engine.recognize(noise_image(0))
    offline = VLLMEngine("nobody/no-such-got", local_files_only=True, **CPU_OPTIONS)  # type: ignore[arg-type]
    with pytest.raises(ModelNotAvailableError, match="offline"):
        offline.recognize(noise_image(0))
