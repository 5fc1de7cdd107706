"""The repetition guard against a model that really loops, through the real generate path."""

from __future__ import annotations

import pytest

from got_model import FinishReason, GOTEngine, RepetitionGuard
from got_model.testing import make_looping
from tests.conftest import noise_image


@pytest.fixture(scope="module")
def looping_model(tiny_checkpoint: str):  # type: ignore[no-untyped-def]
    engine = GOTEngine(tiny_checkpoint, device="cpu")
    engine.load()
    tokenizer = engine._processor.tokenizer
    cycle = [tokenizer.convert_tokens_to_ids(ch) for ch in ("a", "b", "c")]
    make_looping(engine, cycle)
    return engine._model, engine._processor


def _engine(components, **settings) -> GOTEngine:  # type: ignore[no-untyped-def]
    return GOTEngine.from_components(*components, **settings)


def test_the_constructed_model_loops_until_the_token_limit(looping_model) -> None:  # type: ignore[no-untyped-def]
    result = _engine(looping_model, max_new_tokens=120, repetition_guard=None).recognize(
        noise_image(0)
    )
    assert result.finish_reason is FinishReason.LENGTH
    assert result.generated_tokens == 120
    assert result.text == "abc" * 40


def test_guard_stops_the_loop_early_cuts_the_tail_and_reports_it(looping_model) -> None:  # type: ignore[no-untyped-def]
    guard = RepetitionGuard(min_span=30, min_repeats=4, max_period=16, check_every=4)
    result = _engine(looping_model, max_new_tokens=400, repetition_guard=guard).recognize(
        noise_image(0)
    )
    assert result.finish_reason is FinishReason.REPETITION
    assert result.text == "abc"
    assert 30 <= result.generated_tokens <= 30 + guard.check_every
    assert result.repeated_tokens_cut == result.generated_tokens - 3


def test_default_guard_stops_within_its_span(looping_model) -> None:  # type: ignore[no-untyped-def]
    guard = RepetitionGuard()
    engine = _engine(looping_model, max_new_tokens=1000, batch_size=2)
    results = engine.recognize_images([noise_image(0), noise_image(1)])
    for result in results:
        assert result.finish_reason is FinishReason.REPETITION
        assert result.generated_tokens <= guard.min_span + guard.check_every
        assert result.text == "abc"


def test_a_loop_between_checks_is_still_caught_at_the_limit(looping_model) -> None:  # type: ignore[no-untyped-def]
    guard = RepetitionGuard(min_span=30, min_repeats=4, max_period=16, check_every=1000)
    result = _engine(looping_model, max_new_tokens=60, repetition_guard=guard).recognize(
        noise_image(0)
    )
    assert result.finish_reason is FinishReason.REPETITION
    assert result.generated_tokens == 60
    assert result.text == "abc"
