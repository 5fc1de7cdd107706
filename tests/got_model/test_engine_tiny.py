"""The real transformers generate path, on the tiny random checkpoint."""

from __future__ import annotations

import pickle
import threading
from pathlib import Path

import pytest
from PIL import Image

from got_model import (
    FORMATTED,
    FinishReason,
    GOTEngine,
    GOTError,
    InvalidTaskError,
    OCRRequest,
    OCRTask,
    OutputFormat,
)
from tests.conftest import noise_image

MIXED_TASKS = [
    OCRTask(),
    FORMATTED,
    OCRTask(box=(5, 5, 40, 30)),
    OCRTask(color="green"),
    OCRTask(crop_to_patches=True, max_patches=4),
    OCRTask(output=OutputFormat.FORMATTED, crop_to_patches=True, max_patches=6),
    OCRTask(),
]
MIXED_SIZES = [(80, 60), (61, 97), (120, 45), (64, 64), (300, 70), (90, 400), (33, 21)]


def test_checkpoint_has_the_files_of_a_real_one(tiny_checkpoint: str) -> None:
    names = {p.name for p in Path(tiny_checkpoint).iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "processor_config.json"} <= names


def test_construction_loads_nothing(tiny_checkpoint: str) -> None:
    engine = GOTEngine(tiny_checkpoint, device="cpu")
    assert not engine.is_loaded
    assert "not loaded" in repr(engine)


def test_every_task_runs(tiny_engine: GOTEngine) -> None:
    for task, size in zip(MIXED_TASKS, MIXED_SIZES, strict=True):
        result = tiny_engine.recognize(noise_image(1, size), task)
        assert result.task == task
        assert result.finish_reason in set(FinishReason)
        assert 0 < result.generated_tokens <= 24
        assert result.seconds > 0
    assert tiny_engine.is_loaded


def test_output_depends_on_the_image(tiny_engine: GOTEngine) -> None:
    texts = {tiny_engine.recognize(noise_image(seed)).text for seed in range(4)}
    assert len(texts) == 4


def test_prompt_changes_with_the_task(tiny_engine: GOTEngine) -> None:
    image = noise_image(3)
    plain, formatted, red = tiny_engine.recognize_images(
        [image] * 3, [OCRTask(), FORMATTED, OCRTask(color="red")]
    )
    assert len({plain.text, formatted.text, red.text}) == 3


def test_batched_equals_one_at_a_time_and_keeps_order(tiny_checkpoint: str) -> None:
    images = [noise_image(seed, size) for seed, size in enumerate(MIXED_SIZES)]
    # batch_size 3 splits 7 requests 3 + 3 + 1: rows of every prompt length share a batch.
    batched = GOTEngine(tiny_checkpoint, device="cpu", max_new_tokens=24, batch_size=3)
    single = GOTEngine(tiny_checkpoint, device="cpu", max_new_tokens=24, batch_size=1)
    together = batched.recognize_images(images, MIXED_TASKS)
    alone = [single.recognize(image, task) for image, task in zip(images, MIXED_TASKS, strict=True)]
    assert [r.text for r in together] == [r.text for r in alone]
    assert [r.finish_reason for r in together] == [r.finish_reason for r in alone]
    assert [r.generated_tokens for r in together] == [r.generated_tokens for r in alone]
    assert [r.task for r in together] == MIXED_TASKS
    reversed_results = batched.recognize_images(images[::-1], MIXED_TASKS[::-1])
    assert [r.text for r in reversed_results] == [r.text for r in together][::-1]


def test_multi_page_is_one_output_that_depends_on_every_page(tiny_engine: GOTEngine) -> None:
    pages = [noise_image(10), noise_image(11), noise_image(12)]
    result = tiny_engine.recognize_pages(pages)
    assert result.generated_tokens > 0
    assert result.text != tiny_engine.recognize_pages([pages[0], pages[1], noise_image(13)]).text
    mixed = tiny_engine.recognize_batch([OCRRequest(tuple(pages)), OCRRequest((pages[0],))])
    assert mixed[0].text == result.text
    assert mixed[1].text == tiny_engine.recognize(pages[0]).text


def test_stop_and_length_are_reported(tiny_checkpoint: str) -> None:
    engine = GOTEngine(tiny_checkpoint, device="cpu", max_new_tokens=64, repetition_guard=None)
    results = engine.recognize_images([noise_image(seed) for seed in range(12)])
    reasons = {r.finish_reason for r in results}
    assert reasons == {FinishReason.STOP, FinishReason.LENGTH}
    for result in results:
        if result.finish_reason is FinishReason.LENGTH:
            assert result.generated_tokens == 64
        else:
            assert result.generated_tokens < 64


def test_images_of_any_mode_are_accepted(tiny_engine: GOTEngine) -> None:
    rgb = noise_image(5)
    rgba = rgb.convert("RGBA")
    for image in (
        rgba,
        rgb.convert("L"),
        rgb.convert("CMYK"),
        rgb.convert("P"),
        Image.new("I;16", (40, 30), 999),
    ):
        assert tiny_engine.recognize(image).generated_tokens > 0
    # An opaque RGBA image reads exactly like its RGB version.
    assert tiny_engine.recognize(rgba).text == tiny_engine.recognize(rgb).text


def test_bad_box_fails_before_any_model_work(tmp_path: Path) -> None:
    engine = GOTEngine(str(tmp_path / "no-such-model"), device="cpu")
    with pytest.raises(InvalidTaskError, match="does not fit"):
        engine.recognize(Image.new("RGB", (50, 50)), OCRTask(box=(0, 0, 60, 10)))
    assert not engine.is_loaded


def test_concurrent_first_calls_load_once(
    tiny_checkpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import got_model.transformers_backend as engine_module

    calls = []
    real = engine_module.load_model_and_processor

    def counting(settings):  # type: ignore[no-untyped-def]
        calls.append(settings)
        return real(settings)

    monkeypatch.setattr(engine_module, "load_model_and_processor", counting)
    engine = GOTEngine(tiny_checkpoint, device="cpu", max_new_tokens=4)
    barrier = threading.Barrier(4)
    texts: list[str] = []

    def worker() -> None:
        barrier.wait()
        texts.append(engine.recognize(noise_image(0)).text)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert len(texts) == 4
    assert len(set(texts)) == 1


def test_from_components_uses_the_given_objects(tiny_engine: GOTEngine) -> None:
    tiny_engine.load()
    wrapped = GOTEngine.from_components(
        tiny_engine._model, tiny_engine._processor, model_id="my/got", max_new_tokens=24
    )
    assert wrapped.is_loaded
    assert wrapped.model_id == "my/got"
    image = noise_image(8)
    assert wrapped.recognize(image).text == tiny_engine.recognize(image).text
    wrapped.unload()
    with pytest.raises(GOTError, match="from_components"):
        wrapped.recognize(image)


def test_unload_then_reload(tiny_checkpoint: str) -> None:
    engine = GOTEngine(tiny_checkpoint, device="cpu", max_new_tokens=8)
    first = engine.recognize(noise_image(2)).text
    engine.unload()
    assert not engine.is_loaded
    assert engine.recognize(noise_image(2)).text == first


def test_empty_batch_returns_nothing_and_loads_nothing(tiny_checkpoint: str) -> None:
    engine = GOTEngine(tiny_checkpoint, device="cpu")
    assert engine.recognize_batch([]) == []
    assert not engine.is_loaded


def test_images_and_tasks_must_pair_up(tiny_engine: GOTEngine) -> None:
    with pytest.raises(InvalidTaskError, match="2 images but 1 tasks"):
        tiny_engine.recognize_images([noise_image(0), noise_image(1)], [OCRTask()])


def test_a_pickled_engine_carries_its_settings_not_its_model(tiny_engine: GOTEngine) -> None:
    image = noise_image(9)
    expected = tiny_engine.recognize(image).text  # loaded before pickling
    payload = pickle.dumps(tiny_engine)
    assert len(payload) < 10_000  # settings only: the weights stay behind
    copy = pickle.loads(payload)
    assert copy is not tiny_engine
    assert type(copy) is GOTEngine
    assert copy.load_settings == tiny_engine.load_settings
    assert copy.generation_settings == tiny_engine.generation_settings
    assert copy.recognize(image).text == expected  # loads its own from the same checkpoint
    assert tiny_engine.is_loaded  # pickling took nothing from the original
    # Every copy with these settings unpickled in this process is the same engine, so a
    # worker that receives the engine with each task loads the model once.
    assert pickle.loads(payload) is copy
    assert pickle.loads(pickle.dumps(copy)) is copy
    other = GOTEngine(tiny_engine.model_id, device="cpu", max_new_tokens=8)
    assert pickle.loads(pickle.dumps(other)) is not copy


def test_a_pickled_engine_from_components_keeps_them(tiny_engine: GOTEngine) -> None:
    tiny_engine.load()
    wrapped = GOTEngine.from_components(
        tiny_engine._model, tiny_engine._processor, model_id="my/got", max_new_tokens=24
    )
    copy = pickle.loads(pickle.dumps(wrapped))
    assert copy.is_loaded
    image = noise_image(10)
    assert copy.recognize(image).text == wrapped.recognize(image).text
