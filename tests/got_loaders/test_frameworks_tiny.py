"""The real generate path behind GOTReader and partition_got, on the tiny GOT checkpoint."""

from __future__ import annotations

import pickle
from pathlib import Path

from llama_index.core import SimpleDirectoryReader

from got_loaders.llamaindex import GOTReader
from got_loaders.sources import open_document
from got_loaders.sources.documents import SourceDocument
from got_loaders.unstructured import partition_got
from got_model import FORMATTED, GOTEngine, OCRResult
from tests.conftest import noise_image
from tests.got_loaders.test_langchain_tiny import noise_pdf


def read_alone(engine: GOTEngine, source: Path, index: int) -> OCRResult:
    """What the engine reads on one page of ``source``, read on its own."""
    with open_document(SourceDocument.from_input(source), FORMATTED) as opened:
        page = opened.render(index)
    return engine.recognize(page.image, FORMATTED)


def test_reader_loads_the_checkpoint_from_its_settings(
    tiny_checkpoint: str, tiny_engine: GOTEngine, tmp_path: Path
) -> None:
    (tmp_path / "three.pdf").write_bytes(noise_pdf(3))
    noise_image(7, size=(200, 100)).save(tmp_path / "photo.png")
    # Built from plain settings, as after a round trip through JSON or a worker process.
    reader = GOTReader.from_json(
        GOTReader(model=tiny_checkpoint, device="cpu", max_new_tokens=24, batch_size=4).to_json()
    )
    reader = pickle.loads(pickle.dumps(reader))
    documents = SimpleDirectoryReader(
        str(tmp_path), file_extractor={".pdf": reader, ".png": reader}
    ).load_data()
    pages = [(Path(d.metadata["file_path"]).name, d.metadata["page_number"]) for d in documents]
    assert pages == [("photo.png", 1), ("three.pdf", 1), ("three.pdf", 2), ("three.pdf", 3)]
    assert reader.engine.is_loaded
    assert all(d.metadata["ocr_model"] == tiny_checkpoint for d in documents)
    assert len({d.text for d in documents}) > 1  # pages differ, so a mix-up would show
    for document in documents:
        alone = read_alone(
            tiny_engine, Path(document.metadata["file_path"]), document.metadata["page_number"] - 1
        )
        assert document.text == alone.markdown


def test_partition_got_on_the_checkpoint(tiny_engine: GOTEngine, tmp_path: Path) -> None:
    path = tmp_path / "two.pdf"
    path.write_bytes(noise_pdf(2))
    elements = partition_got(str(path), engine=tiny_engine, include_page_breaks=True)
    assert [type(e).__name__ for e in elements].count("PageBreak") == 2
    for number in (1, 2):
        texts = [e.text for e in elements if e.metadata.page_number == number]
        assert "\n\n".join(texts) == read_alone(tiny_engine, path, number - 1).converted.text
    assert {e.metadata.filename for e in elements} == {"two.pdf"}


def test_got_ocr_command_on_the_checkpoint(
    tiny_checkpoint: str, tiny_engine: GOTEngine, tmp_path: Path
) -> None:
    """The console script loads the checkpoint by the real path; a rerun comes from the cache
    and gives the same bytes."""
    import subprocess
    import sys

    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "three.pdf").write_bytes(noise_pdf(3))
    noise_image(7, size=(200, 100)).save(inputs / "photo.png")
    command = [sys.executable, "-m", "got_loaders.cli", "convert", str(inputs), "--device", "cpu"]
    command += ["--model", tiny_checkpoint, "--max-new-tokens", "24", "--batch-size", "4"]
    command += ["--cache", str(tmp_path / "cache.sqlite3"), "--page-markers"]
    outputs = []
    for run in ("first", "second"):
        done = subprocess.run(
            [*command, "-o", str(tmp_path / run)], capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, done.stderr
        outputs.append(done.stderr)
    assert "4 from the cache" not in outputs[0]
    assert "4 from the cache" in outputs[1]
    text = (tmp_path / "first" / "three.md").read_text()
    assert (tmp_path / "second" / "three.md").read_text() == text
    pages = [read_alone(tiny_engine, inputs / "three.pdf", index).markdown for index in range(3)]
    expected = "\n\n".join(
        f"<!-- page {number} -->\n\n{page}" if page else f"<!-- page {number} -->"
        for number, page in enumerate(pages, 1)
    )
    assert text == expected + "\n"
