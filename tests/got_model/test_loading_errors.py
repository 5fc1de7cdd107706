"""Missing weights fail fast, offline, with a message that says what to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from got_model import DEFAULT_MODEL_ID, GOTEngine, ModelNotAvailableError
from tests.conftest import noise_image


def test_hub_model_absent_offline_names_model_and_revision(tmp_path: Path) -> None:
    engine = GOTEngine(
        DEFAULT_MODEL_ID,
        revision="v1.0",
        local_files_only=True,
        cache_dir=str(tmp_path / "empty-cache"),
        device="cpu",
    )
    with pytest.raises(ModelNotAvailableError) as info:
        engine.recognize(noise_image(0))
    message = str(info.value)
    assert DEFAULT_MODEL_ID in message
    assert "'v1.0'" in message
    assert "offline" in message
    assert "GOTEngine(model=" in message  # how to point at a local copy
    assert isinstance(info.value, OSError)
    assert not engine.is_loaded


def test_hf_hub_offline_is_honoured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    engine = GOTEngine(DEFAULT_MODEL_ID, cache_dir=str(tmp_path / "empty"), device="cpu")
    assert engine.load_settings.offline()
    with pytest.raises(ModelNotAvailableError, match="HF_HUB_OFFLINE"):
        engine.load()


def test_missing_local_directory(tmp_path: Path) -> None:
    missing = tmp_path / "weights" / "got"
    engine = GOTEngine(str(missing), device="cpu")
    with pytest.raises(ModelNotAvailableError, match="no such directory"):
        engine.load()


def test_directory_without_weights(tmp_path: Path) -> None:
    empty = tmp_path / "empty-model"
    empty.mkdir()
    with pytest.raises(ModelNotAvailableError, match=str(empty)):
        GOTEngine(str(empty), device="cpu", local_files_only=True).load()


def test_settings_are_validated_at_construction() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        GOTEngine(batch_size=0)
    with pytest.raises(ValueError, match="max_new_tokens"):
        GOTEngine(max_new_tokens=0)
    with pytest.raises(ValueError, match="no_repeat_ngram_size"):
        GOTEngine(no_repeat_ngram_size=0)


def test_a_model_that_cannot_load_raises_model_load_error_naming_the_cause() -> None:
    from PIL import Image

    from got_model import ModelLoadError

    engine = GOTEngine("some/model", dtype="int8", local_files_only=True)
    with pytest.raises(ModelLoadError, match="int8") as info:
        engine.recognize(Image.new("RGB", (32, 32), "white"))
    assert "some/model" in str(info.value)
    assert not engine.is_loaded
