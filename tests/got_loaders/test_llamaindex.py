"""GOTReader against a fake engine: SimpleDirectoryReader, IngestionPipeline, serialization."""

from __future__ import annotations

import asyncio
import pickle
from collections.abc import Sequence
from pathlib import Path

import pytest
from llama_index.core import SimpleDirectoryReader
from llama_index.core.embeddings import MockEmbedding
from llama_index.core.ingestion import IngestionPipeline
from llama_index.core.node_parser import MarkdownNodeParser, SentenceSplitter
from llama_index.core.readers.base import BasePydanticReader
from llama_index.core.schema import Document, MetadataMode
from llama_index.core.storage.docstore import SimpleDocumentStore
from llama_index.core.vector_stores import SimpleVectorStore
from pydantic import ValidationError

from got_loaders.engines import shared_engine
from got_loaders.errors import PasswordError
from got_loaders.llamaindex import GOTReader
from got_model import DEFAULT_MODEL_ID, GOTEngine, OCRRequest, OCRResult
from tests.got_loaders.samples import FakeEngine, make_image, make_pdf

EXTRACTORS = (".pdf", ".png", ".jpg")
HIDDEN = {"ocr_model", "ocr_task", "ocr_finish_reason", "ocr_generated_tokens", "total_pages"}


def titles(documents: list[Document]) -> list[str]:
    return [doc.text.splitlines()[0] for doc in documents]


def directory_reader(folder: Path, reader: GOTReader, **kwargs: object) -> SimpleDirectoryReader:
    extractors = dict.fromkeys(EXTRACTORS, reader)
    return SimpleDirectoryReader(str(folder), file_extractor=extractors, **kwargs)  # type: ignore[arg-type]


def test_a_reader_builds_no_engine_until_it_reads() -> None:
    reader = GOTReader()
    assert isinstance(reader, BasePydanticReader)
    assert isinstance(reader.engine, GOTEngine)
    assert reader.engine.model_id == DEFAULT_MODEL_ID
    assert not reader.engine.is_loaded
    # Readers configured alike share an engine: one model for a whole file_extractor map.
    assert GOTReader().engine is reader.engine
    other = GOTReader(device="cpu", batch_size=2)
    assert other.engine is not reader.engine
    assert other.engine is shared_engine(device="cpu", batch_size=2)
    assert other.engine.generation_settings.batch_size == 2


def test_simple_directory_reader_reads_pdfs_and_images_page_by_page(mixed_dir: Path) -> None:
    engine = FakeEngine()
    documents = directory_reader(mixed_dir, GOTReader(engine=engine, batch_size=3)).load_data()
    ocr = [d for d in documents if "ocr_model" in d.metadata]
    assert titles(ocr) == [
        "## Document 0 page 0",
        "## Document 0 page 1",
        "## Document 1 page 0",
        "## Document 2 page 0",
        "## Document 2 page 1",
        "## Document 2 page 2",
        "## Document 3 page 0",
    ]
    names = [(d.metadata["file_name"], d.metadata["page_label"]) for d in ocr]
    assert names == [
        ("a.pdf", "1"),
        ("a.pdf", "2"),
        ("b.png", "1"),
        ("c.pdf", "1"),
        ("c.pdf", "2"),
        ("c.pdf", "3"),
        ("d.jpg", "1"),
    ]
    first = ocr[0].metadata
    assert first["file_path"] == str(mixed_dir / "a.pdf")
    assert first["page_number"] == 1
    assert first["total_pages"] == 2
    assert first["file_type"] == "application/pdf"  # SimpleDirectoryReader's extra_info
    assert first["file_size"] == (mixed_dir / "a.pdf").stat().st_size
    assert first["ocr_model"] == "fake/got"
    assert ocr[2].metadata["total_pages"] == 1
    assert all(isinstance(d.metadata["page_label"], str) for d in ocr)
    assert len({id(d.metadata) for d in documents}) == len(documents)  # a dict each
    # The text file goes to SimpleDirectoryReader's own reader, untouched.
    (text,) = [d for d in documents if d.metadata["file_name"] == "notes.txt"]
    assert text.text == "not a document"


def test_ids_are_stable_per_file_and_page(mixed_dir: Path) -> None:
    reader = GOTReader(engine=FakeEngine())
    first = directory_reader(mixed_dir, reader).load_data()
    again = directory_reader(mixed_dir, reader).load_data()
    ids = [d.id_ for d in first if "ocr_model" in d.metadata]
    assert ids[:2] == [f"{mixed_dir / 'a.pdf'}#page=1", f"{mixed_dir / 'a.pdf'}#page=2"]
    assert len(set(ids)) == len(ids)
    again_ocr = [d for d in again if "ocr_model" in d.metadata]
    assert [d.id_ for d in again_ocr] == ids
    assert [d.hash for d in again_ocr] == [d.hash for d in first if "ocr_model" in d.metadata]


def test_noisy_keys_are_hidden_from_embeddings_and_llm_prompts(pdf_path: Path) -> None:
    document = GOTReader(engine=FakeEngine()).load_data(pdf_path)[0]
    assert set(document.metadata) >= HIDDEN
    for mode in (MetadataMode.EMBED, MetadataMode.LLM):
        shown = document.get_metadata_str(mode)
        assert "page_label: 1" in shown
        assert f"file_path: {pdf_path}" in shown
        assert not any(f"{key}:" in shown for key in HIDDEN)
        assert "creationdate" not in shown
        assert "Quarterly report" not in shown  # a PDF's title can be any length
    assert "ocr_model: fake/got" in document.get_metadata_str(MetadataMode.ALL)


def test_extra_info_is_copied_into_every_document_and_wins(pdf_path: Path) -> None:
    extra = {"collection": "reports", "file_path": "s3://bucket/report.pdf", "page_number": -1}
    documents = GOTReader(engine=FakeEngine()).load_data(pdf_path, extra_info=extra)
    assert [d.metadata["collection"] for d in documents] == ["reports"] * 3
    assert {d.metadata["file_path"] for d in documents} == {"s3://bucket/report.pdf"}
    assert {d.metadata["page_number"] for d in documents} == {-1}
    # The caller's keys are left as the caller set them: not hidden.
    assert "page_number" not in documents[0].excluded_embed_metadata_keys
    assert "collection: reports" in documents[0].get_content(MetadataMode.EMBED)
    documents[0].metadata["collection"] = "changed"
    assert documents[1].metadata["collection"] == "reports"
    assert extra["collection"] == "reports"


def test_pdf_metadata_without_a_value_is_left_out(tmp_path: Path) -> None:
    path = tmp_path / "bare.pdf"
    path.write_bytes(make_pdf(0, 1))
    (document,) = GOTReader(engine=FakeEngine()).load_data(path)
    assert "" not in document.metadata.values()
    assert "title" not in document.metadata


def test_whole_file_documents(tmp_path: Path) -> None:
    path = tmp_path / "three.pdf"
    path.write_bytes(make_pdf(4, 3))
    reader = GOTReader(engine=FakeEngine(), return_full_document=True, pages_delimiter="\n---\n")
    (document,) = reader.load_data(path)
    assert document.id_ == str(path)
    assert document.text.count("\n---\n") == 2
    assert document.text.startswith("## Document 4 page 0")
    assert document.metadata["ocr_pages"] == 3
    assert document.metadata["ocr_generated_tokens"] == 7 + 8 + 9
    assert "page_label" not in document.metadata


def test_several_files_in_one_call_are_batched_together(tmp_path: Path) -> None:
    paths = [tmp_path / "a.pdf", tmp_path / "b.png"]
    paths[0].write_bytes(make_pdf(0, 2))
    paths[1].write_bytes(make_image("PNG", 1))
    engine = FakeEngine()
    documents = GOTReader(engine=engine, batch_size=3).load_data(paths)
    assert titles(documents) == [
        "## Document 0 page 0",
        "## Document 0 page 1",
        "## Document 1 page 0",
    ]
    assert engine.batches == [[(0, 0), (0, 1), (1, 0)]]


class RecordingGOTEngine(GOTEngine):
    """A GOTEngine whose batches are answered by the fake engine, without a model."""

    def recognize_batch(self, requests: Sequence[OCRRequest]) -> list[OCRResult]:
        self.sizes = [*getattr(self, "sizes", []), len(requests)]
        return FakeEngine().recognize_batch(requests)


def test_the_batch_size_defaults_to_the_engines(tmp_path: Path) -> None:
    paths = [tmp_path / "a.pdf", tmp_path / "b.pdf"]
    for doc, path in enumerate(paths):
        path.write_bytes(make_pdf(doc, 10))
    engine = RecordingGOTEngine("no/model", batch_size=16)
    assert len(GOTReader(engine=engine).load_data(paths)) == 20
    assert engine.sizes == [16, 4]
    engine.sizes = []
    GOTReader(engine=engine, batch_size=5).load_data(paths)
    assert engine.sizes == [5, 5, 5, 5]
    assert GOTReader().engine.generation_settings.batch_size == 8


def test_bytes_and_file_objects(pdf_path: Path) -> None:
    data = pdf_path.read_bytes()
    from_bytes = GOTReader(engine=FakeEngine()).load_data(data)
    assert from_bytes[0].metadata["file_path"].startswith("bytes:")
    assert from_bytes[0].id_ == f"{from_bytes[0].metadata['file_path']}#page=1"
    with pdf_path.open("rb") as file:
        from_file = GOTReader(engine=FakeEngine()).load_data(file)
    assert [d.text for d in from_file] == [d.text for d in from_bytes]


def test_pages_and_password(tmp_path: Path) -> None:
    path = tmp_path / "locked.pdf"
    path.write_bytes(make_pdf(0, 5, password="s3cret"))
    with pytest.raises(PasswordError, match=r"locked\.pdf"):
        GOTReader(engine=FakeEngine()).load_data(path)
    reader = GOTReader(engine=FakeEngine(), password="s3cret", pages="2,4-")
    documents = reader.load_data(path)
    assert [d.metadata["page_number"] for d in documents] == [2, 4, 5]
    assert "s3cret" not in reader.to_json()
    assert "s3cret" not in repr(reader)


def test_a_broken_file_is_skipped_and_the_others_load(tmp_path: Path) -> None:
    good = tmp_path / "good.pdf"
    good.write_bytes(make_pdf(0, 2))
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7\nthis is not a pdf")
    reader = GOTReader(engine=FakeEngine(), on_error="skip")
    documents = reader.load_data([broken, good])
    assert titles(documents) == ["## Document 0 page 0", "## Document 0 page 1"]


def test_async_load_matches_load(pdf_path: Path) -> None:
    reader = GOTReader(engine=FakeEngine())
    loaded = asyncio.run(reader.aload_data(pdf_path, extra_info={"k": "v"}))
    assert [d.text for d in loaded] == [d.text for d in reader.load_data(pdf_path)]
    assert loaded[0].metadata["k"] == "v"


def test_an_fsspec_filesystem_is_read_through(tmp_path: Path) -> None:
    fsspec = pytest.importorskip("fsspec")
    memory = fsspec.filesystem("memory")
    memory.pipe("/inbox/scan.png", make_image("PNG", 2))
    memory.pipe("/inbox/paper.pdf", make_pdf(3, 2))
    reader = GOTReader(engine=FakeEngine())
    documents = SimpleDirectoryReader(
        input_files=["/inbox/paper.pdf", "/inbox/scan.png"],
        file_extractor=dict.fromkeys(EXTRACTORS, reader),  # type: ignore[arg-type]
        fs=memory,
    ).load_data()
    assert titles(documents) == [
        "## Document 3 page 0",
        "## Document 3 page 1",
        "## Document 2 page 0",
    ]
    assert documents[0].metadata["file_path"] == "/inbox/paper.pdf"


def test_configuration_is_checked() -> None:
    with pytest.raises(ValidationError, match="pages"):
        GOTReader(pages="3-1")
    with pytest.raises(ValidationError, match="batch_size"):
        GOTReader(batch_size=0)
    with pytest.raises(ValidationError, match="nonsense"):
        GOTReader(nonsense=True)
    with pytest.raises(ValidationError, match="task"):
        GOTReader(task="handwriting")
    with pytest.raises(TypeError, match="OCREngine"):
        GOTReader(engine="stepfun-ai/GOT-OCR-2.0-hf")  # type: ignore[arg-type]
    reader = GOTReader()
    with pytest.raises(ValidationError):
        reader.on_error = "sometimes"  # type: ignore[assignment]


def test_settings_round_trip_through_json_and_pickle() -> None:
    reader = GOTReader(
        model="org/got-finetune",
        device="cpu",
        task="plain",
        multi_crop=True,
        max_patches=4,
        pages=range(2, 5),
        on_error="warn",
        content="text",
        password="pw",
    )
    data = reader.to_dict()
    assert data["class_name"] == "GOTReader"
    assert data["pages"] == [2, 3, 4]
    assert "password" not in data
    again = GOTReader.from_json(reader.to_json())
    assert again.to_dict() == data
    assert again.ocr_task == reader.ocr_task
    assert again.ocr_task.crop_to_patches
    assert again.ocr_task.max_patches == 4
    copy = pickle.loads(pickle.dumps(reader))
    assert copy.to_dict() == data
    assert copy.model_fields_set == reader.model_fields_set
    assert copy.password is not None
    assert copy.password.get_secret_value() == "pw"
    assert copy._engine is None  # built in the process that reads
    assert copy.engine is shared_engine("org/got-finetune", device="cpu")


def test_the_vllm_backend_is_a_setting_that_survives_json_and_pickle() -> None:
    from got_model import VLLMEngine

    reader = GOTReader(model="org/got-finetune", backend="vllm", dtype="float16", batch_size=32)
    again = pickle.loads(pickle.dumps(GOTReader.from_json(reader.to_json())))
    engine = again.engine
    assert isinstance(engine, VLLMEngine)
    assert engine is reader.engine  # one per process for these settings
    assert not engine.is_loaded  # nothing starts before the first page
    assert (engine.model_id, engine.load_settings.dtype) == ("org/got-finetune", "float16")
    assert (engine.settings.batch_size, engine.settings.max_new_tokens) == (32, 4096)
    assert GOTReader(model="org/got-finetune").engine is not engine
    with pytest.raises(ValueError, match="backend"):
        GOTReader(backend="tensorrt")


def test_a_long_pdf_title_does_not_break_a_splitter(tmp_path: Path) -> None:
    path = tmp_path / "titled.pdf"
    path.write_bytes(make_pdf(0, 1, metadata={"title": "A very long title " * 40}))
    documents = GOTReader(engine=FakeEngine()).load_data(path)
    nodes = SentenceSplitter(chunk_size=128, chunk_overlap=0).get_nodes_from_documents(documents)
    assert nodes
    assert nodes[0].metadata["title"].startswith("A very long title")


def test_a_given_engine_travels_with_the_pickle() -> None:
    engine = FakeEngine(texts={(0, 0): "moved"})
    copy = pickle.loads(pickle.dumps(GOTReader(engine=engine, batch_size=2)))
    assert isinstance(copy.engine, FakeEngine)
    assert copy.engine.texts == {(0, 0): "moved"}
    assert copy.batch_size == 2


def test_simple_directory_reader_with_worker_processes(mixed_dir: Path) -> None:
    # The reader and its engine are pickled into spawned processes; an engine lost on the
    # way would make the workers load the real model, fail, and skip the files.
    reader = GOTReader(engine=FakeEngine(), batch_size=2)
    only_ours = {"required_exts": list(EXTRACTORS)}
    serial = directory_reader(mixed_dir, reader, **only_ours).load_data()
    parallel = directory_reader(mixed_dir, reader, **only_ours).load_data(num_workers=2)
    assert len(parallel) == 7
    assert sorted((d.id_, d.text) for d in parallel) == sorted((d.id_, d.text) for d in serial)


def ingestion(splitter: object) -> IngestionPipeline:
    return IngestionPipeline(
        transformations=[splitter, MockEmbedding(embed_dim=8)],  # type: ignore[list-item]
        docstore=SimpleDocumentStore(),
        vector_store=SimpleVectorStore(),
    )


def test_ingestion_pipeline_skips_pages_already_ingested(mixed_dir: Path) -> None:
    reader = GOTReader(engine=FakeEngine())

    def load() -> list[Document]:
        return directory_reader(mixed_dir, reader, required_exts=list(EXTRACTORS)).load_data()

    pipeline = ingestion(MarkdownNodeParser())
    nodes = pipeline.run(documents=load())
    assert len(nodes) == 7  # one heading section per page
    assert all(n.text.startswith("## Document") for n in nodes)
    assert {n.ref_doc_id for n in nodes} >= {f"{mixed_dir / 'c.pdf'}#page=3"}
    assert all(n.embedding is not None for n in nodes)
    # A second run over the same files adds nothing.
    assert pipeline.run(documents=load()) == []
    # A changed file re-ingests only its own pages.
    (mixed_dir / "c.pdf").write_bytes(make_pdf(5, 3))
    changed = pipeline.run(documents=load())
    assert {n.metadata["file_name"] for n in changed} == {"c.pdf"}
    assert {n.metadata["page_label"] for n in changed} == {"1", "2", "3"}
    assert any("Document 5" in n.text for n in changed)


def test_sentence_splitter_chunks_keep_the_page(pdf_path: Path) -> None:
    long_page = "\\section*{Results}\n" + " ".join(f"Sentence number {i} here." for i in range(300))
    engine = FakeEngine(texts={(0, 1): long_page})
    documents = GOTReader(engine=engine).load_data(pdf_path)
    nodes = ingestion(SentenceSplitter(chunk_size=128, chunk_overlap=0)).run(documents=documents)
    on_page_two = [n for n in nodes if n.metadata["page_label"] == "2"]
    assert len(on_page_two) > 3  # the long page was split, each chunk still knows its page
    assert {n.ref_doc_id for n in on_page_two} == {f"{pdf_path}#page=2"}


def test_cache_takes_a_path_object_and_serializes_as_text(tmp_path: Path) -> None:
    reader = GOTReader(cache=tmp_path / "c.sqlite3")
    assert reader.cache == str(tmp_path / "c.sqlite3")
    assert GOTReader.from_json(reader.to_json()).cache == reader.cache
    from got_loaders import ResultCache

    assert GOTReader(cache=ResultCache(tmp_path / "d.sqlite3")).cache == str(tmp_path / "d.sqlite3")


def test_worker_processes_read_through_one_got_server(tmp_path: Path, tiny_checkpoint: str) -> None:
    from PIL import Image

    from got_model import ServerEngine
    from tests.got_model.fake_server import FakeServer

    fake = FakeServer(tiny_checkpoint).start()
    try:
        for shade in range(10, 70, 10):
            Image.new("RGB", (80, 60), (shade, 5, 5)).save(tmp_path / f"scan{shade}.png")
        engine = ServerEngine(fake.url, retries=0)
        reader = GOTReader(engine=engine, content="text")
        extractors = {".png": reader}
        documents = SimpleDirectoryReader(str(tmp_path), file_extractor=extractors).load_data(
            num_workers=2
        )
        assert sorted(d.text.strip() for d in documents) == [
            f"page {shade} 5 5" for shade in range(10, 70, 10)
        ]
        assert len(fake.bodies) == 6  # each page once, from the workers
    finally:
        engine.unload()
        fake.stop()
