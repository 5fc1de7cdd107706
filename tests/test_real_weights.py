"""The real stepfun-ai/GOT-OCR-2.0-hf on a rendered page. Needs the weights on this machine:

    python -m pytest -m weights

finds them in the Hugging Face cache, or in the directory named by GOT_OCR_WEIGHTS.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image

from got_model import DEFAULT_MODEL_ID, FORMATTED, PLAIN, FinishReason, GOTEngine

pytestmark = pytest.mark.weights


def _local_weights() -> str | None:
    directory = os.environ.get("GOT_OCR_WEIGHTS")
    if directory:
        return directory if os.path.isdir(directory) else None
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(DEFAULT_MODEL_ID, "model.safetensors")
    return DEFAULT_MODEL_ID if isinstance(found, str) else None


@pytest.fixture(scope="module")
def real_engine() -> GOTEngine:
    weights = _local_weights()
    if weights is None:
        pytest.skip(f"{DEFAULT_MODEL_ID} weights are not on this machine")
    return GOTEngine(weights, local_files_only=True, max_new_tokens=512)


def _rendered_page() -> Image.Image:
    import pymupdf

    document = pymupdf.open()
    page = document.new_page(width=595, height=842)
    page.insert_text((72, 120), "General OCR Theory", fontsize=32)
    page.insert_text((72, 180), "Towards OCR-2.0 via a Unified End-to-end Model", fontsize=16)
    pixmap = page.get_pixmap(matrix=pymupdf.Matrix(1024 / 842, 1024 / 842))
    return Image.frombytes("RGB", (pixmap.width, pixmap.height), pixmap.samples)


def test_real_model_reads_a_rendered_page(real_engine: GOTEngine) -> None:
    page = _rendered_page()
    plain, formatted = real_engine.recognize_images([page, page], [PLAIN, FORMATTED])
    for result in (plain, formatted):
        assert result.finish_reason is FinishReason.STOP
        assert "General OCR Theory" in result.text
        assert "Unified End-to-end Model" in result.text


def test_pdf_loader_with_nothing_but_the_path(
    real_engine: GOTEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``GOTPDFLoader(path).load()``, the first line users type, on the real model."""
    from got_loaders.langchain import GOTPDFLoader

    pdf_path = tmp_path / "got.pdf"
    _pdf_with_title(pdf_path)
    if real_engine.model_id == DEFAULT_MODEL_ID:  # weights in the Hugging Face cache
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
        loader = GOTPDFLoader(pdf_path)
    else:  # GOT_OCR_WEIGHTS names a directory the default engine cannot know about
        loader = GOTPDFLoader(pdf_path, engine=real_engine)
    (document,) = loader.load()
    assert "General OCR Theory" in document.page_content
    assert document.metadata["page"] == 0
    assert document.metadata["source"] == str(pdf_path)
    assert document.metadata["ocr_finish_reason"] == "stop"


def _pdf_with_title(path: Path) -> None:
    import pymupdf

    document = pymupdf.open()
    page = document.new_page(width=595, height=842)
    page.insert_text((72, 120), "General OCR Theory", fontsize=32)
    document.save(path)


def test_reader_and_partitioner_on_the_real_model(real_engine: GOTEngine, tmp_path: Path) -> None:
    from got_loaders.llamaindex import GOTReader
    from got_loaders.unstructured import partition_got

    pdf_path = tmp_path / "got.pdf"
    _pdf_with_title(pdf_path)
    (document,) = GOTReader(engine=real_engine).load_data(pdf_path)
    assert "General OCR Theory" in document.text
    assert document.metadata["page_label"] == "1"
    elements = partition_got(str(pdf_path), engine=real_engine)
    assert any("General OCR Theory" in element.text for element in elements)
    assert {element.metadata.page_number for element in elements} == {1}


def test_got_ocr_command_on_the_real_model(real_engine: GOTEngine, tmp_path: Path) -> None:
    """``got-ocr convert`` with the real weights, twice: the second run from the cache."""
    import subprocess
    import sys

    pdf_path = tmp_path / "got.pdf"
    _pdf_with_title(pdf_path)
    command = [sys.executable, "-m", "got_loaders.cli", "convert", str(pdf_path)]
    command += ["--model", real_engine.model_id, "--max-new-tokens", "512"]
    command += ["--cache", str(tmp_path / "cache.sqlite3")]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    first, second = (
        subprocess.run(command, capture_output=True, text=True, env=env, timeout=900)
        for _ in range(2)
    )
    assert first.returncode == 0, first.stderr
    assert "General OCR Theory" in first.stdout
    assert second.stdout == first.stdout
    assert "1 from the cache" in second.stderr
