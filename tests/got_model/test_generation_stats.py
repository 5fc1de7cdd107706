"""GOTEngine.stats counts what the batches cost, padding included."""

from __future__ import annotations

import math
import pickle

from got_model import PLAIN, GenerationStats, GOTEngine
from tests.conftest import noise_image


def test_stats_count_pages_tokens_and_the_steps_each_batch_paid(tiny_checkpoint: str) -> None:
    engine = GOTEngine(tiny_checkpoint, device="cpu", batch_size=3, max_new_tokens=20)
    assert engine.stats == GenerationStats()
    assert engine.stats.useful_fraction == 1.0
    batches = [[noise_image(seed) for seed in range(3)], [noise_image(seed) for seed in (3, 4)]]
    steps = 0
    results = []
    for images in batches:
        before = engine.stats
        batch = engine.recognize_images(images, PLAIN)
        delta = engine.stats - before
        assert delta.batches == 1
        assert delta.pages == len(images)
        assert delta.decode_steps == len(images) * max(r.generated_tokens for r in batch)
        assert delta.seconds > 0
        steps += delta.decode_steps
        results += batch
    stats = engine.stats
    assert (stats.batches, stats.pages) == (2, 5)
    assert stats.generated_tokens == sum(r.generated_tokens for r in results)
    assert stats.decode_steps == steps
    assert 0 < stats.useful_fraction <= 1
    assert math.isclose(stats.pages_per_second, 5 / stats.seconds)
    if len({r.generated_tokens for r in results[:3]}) > 1:
        assert stats.useful_fraction < 1  # rows of unequal length paid for padding


def test_stats_add_up_and_are_not_pickled(tiny_checkpoint: str) -> None:
    one = GenerationStats(1, 2, 30, 40, 0.5)
    assert one + one - one == one
    engine = GOTEngine(tiny_checkpoint, device="cpu", max_new_tokens=8)
    engine.recognize(noise_image(0))
    assert engine.stats.pages == 1
    copy = pickle.loads(pickle.dumps(GOTEngine.from_components(engine._model, engine._processor)))
    assert copy.stats == GenerationStats()
