"""Every way in takes a VLLMEngine as it takes a GOTEngine: LangChain, LlamaIndex,
Unstructured, ``got-ocr convert --backend vllm`` and the result cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from got_loaders import cli
from got_loaders.langchain import GOTPDFLoader
from got_loaders.llamaindex import GOTReader
from got_loaders.unstructured import partition_got
from got_model import GOTEngine
from got_model.vllm_backend import VLLMEngine
from tests.conftest import noise_image
from tests.got_loaders.test_langchain_tiny import noise_pdf
from tests.vllm.conftest import MAX_NEW_TOKENS, VLLM_TESTS

pytestmark = VLLM_TESTS


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("inputs")
    (folder / "three.pdf").write_bytes(noise_pdf(3))
    noise_image(7, size=(200, 100)).save(folder / "photo.png")
    return folder


def contents(documents: list) -> list[tuple[str, dict]]:  # type: ignore[type-arg]
    return [(d.page_content, d.metadata) for d in documents]


def test_langchain_loader_reads_as_with_the_transformers_backend(
    vllm_engine: VLLMEngine, reference: GOTEngine, inputs: Path
) -> None:
    pdf = inputs / "three.pdf"
    got = GOTPDFLoader(pdf, engine=vllm_engine).load()
    expected = GOTPDFLoader(pdf, engine=reference).load()
    assert [d.page_content for d in got] == [d.page_content for d in expected]
    assert [d.metadata["page"] for d in got] == [0, 1, 2]
    assert got[0].metadata["ocr_model"] == vllm_engine.model_id


def test_llamaindex_reader_reads_as_with_the_transformers_backend(
    vllm_engine: VLLMEngine, reference: GOTEngine, inputs: Path
) -> None:
    got = GOTReader(engine=vllm_engine).load_data(inputs / "three.pdf")
    expected = GOTReader(engine=reference).load_data(inputs / "three.pdf")
    assert [d.text for d in got] == [d.text for d in expected]
    assert len(got) == 3


def test_partition_got_reads_as_with_the_transformers_backend(
    vllm_engine: VLLMEngine, reference: GOTEngine, inputs: Path
) -> None:
    got = partition_got(str(inputs / "photo.png"), engine=vllm_engine)
    expected = partition_got(str(inputs / "photo.png"), engine=reference)
    assert [e.text for e in got] == [e.text for e in expected]
    assert got


def test_got_ocr_convert_with_vllm_and_the_cache(
    vllm_engine: VLLMEngine,
    reference: GOTEngine,
    inputs: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cache = tmp_path / "cache.sqlite"
    argv = [str(inputs), "--backend", "vllm", "--model", vllm_engine.model_id]
    argv += ["--dtype", "float32", "--max-new-tokens", str(MAX_NEW_TOKENS)]
    argv += ["--gpu-memory-utilization", "0.1", "--enforce-eager", "--cache", str(cache)]
    before = vllm_engine.stats.pages
    assert cli.main(["convert", *argv, "-o", str(tmp_path / "first")]) == cli.EXIT_OK
    assert vllm_engine.stats.pages == before + 4  # the session's engine: same settings
    assert "4 pages" in capsys.readouterr().err
    assert cli.main(["convert", *argv, "-o", str(tmp_path / "again")]) == cli.EXIT_OK
    assert vllm_engine.stats.pages == before + 4  # every page from the cache
    assert "4 from the cache" in capsys.readouterr().err
    for name in ("three.md", "photo.md"):
        assert (tmp_path / "again" / name).read_text() == (tmp_path / "first" / name).read_text()
    plain = tmp_path / "transformers"
    assert cli.main(["convert", str(inputs), "--model", vllm_engine.model_id, "--device", "cpu",
                     "--dtype", "float32", "--max-new-tokens", str(MAX_NEW_TOKENS),
                     "--no-cache", "-o", str(plain)]) == cli.EXIT_OK  # fmt: skip
    for name in ("three.md", "photo.md"):
        assert (plain / name).read_text() == (tmp_path / "first" / name).read_text()
