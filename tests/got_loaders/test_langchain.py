"""LangChain adapters against a fake engine: Documents, metadata contract, parsers, async."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from langchain_core.document_loaders import BaseBlobParser, BaseLoader
from langchain_core.documents import Document

from got_loaders.engines import default_engine
from got_loaders.errors import PageSelectionError, PasswordError
from got_loaders.langchain import GOTImageLoader, GOTParser, GOTPDFLoader
from got_model import DEFAULT_MODEL_ID, GOTEngine, OCRTask
from tests.got_loaders.samples import FakeEngine, make_image, make_pdf

LANGCHAIN_PDF_KEYS = {
    "source",
    "file_path",
    "page",
    "total_pages",
    "creationdate",
    "creator",
    "producer",
}
OCR_KEYS = {"ocr_model", "ocr_task", "ocr_finish_reason", "ocr_generated_tokens"}


def titles(documents: list[Document]) -> list[str]:
    return [doc.page_content.splitlines()[0] for doc in documents]


def test_path_alone_builds_a_loader_that_loads_nothing_yet(pdf_path: Path) -> None:
    loader = GOTPDFLoader(pdf_path)
    assert isinstance(loader, BaseLoader)
    assert isinstance(loader.reader.engine, GOTEngine)
    assert loader.reader.engine is default_engine()  # shared: one model for every loader
    assert loader.reader.engine.model_id == DEFAULT_MODEL_ID
    assert not loader.reader.engine.is_loaded
    assert loader.file_path == str(pdf_path)


def test_one_document_per_page_with_the_pdf_metadata_contract(
    pdf_path: Path, engine: FakeEngine
) -> None:
    documents = GOTPDFLoader(pdf_path, engine=engine).load()
    assert titles(documents) == [
        "## Document 0 page 0",
        "## Document 0 page 1",
        "## Document 0 page 2",
    ]
    first = documents[0].metadata
    assert LANGCHAIN_PDF_KEYS | OCR_KEYS | {"page_number", "page_label"} <= set(first)
    assert first["source"] == first["file_path"] == str(pdf_path)
    assert [doc.metadata["page"] for doc in documents] == [0, 1, 2]
    assert [doc.metadata["page_number"] for doc in documents] == [1, 2, 3]
    assert first["total_pages"] == 3
    assert first["title"] == "Quarterly report"
    assert first["author"] == "A. Author"
    assert first["producer"] == "sample-maker"
    assert first["creationdate"] == "2024-01-02T03:04:05+01:00"
    assert first["ocr_model"] == "fake/got"
    assert first["ocr_task"] == "formatted"
    assert first["ocr_finish_reason"] == "stop"
    assert [doc.metadata["ocr_generated_tokens"] for doc in documents] == [7, 8, 9]
    for document in documents:
        assert all(key == key.lower() for key in document.metadata)
        assert all(isinstance(v, (str, int, float, bool)) for v in document.metadata.values())
    # each Document owns its dict
    documents[0].metadata["title"] = "changed"
    assert documents[1].metadata["title"] == "Quarterly report"


def test_single_mode_joins_pages_with_the_delimiter(pdf_path: Path, engine: FakeEngine) -> None:
    (document,) = GOTPDFLoader(pdf_path, engine=engine, mode="single").load()
    pages = document.page_content.split("\n\f")
    assert [page.splitlines()[0] for page in pages] == [
        "## Document 0 page 0",
        "## Document 0 page 1",
        "## Document 0 page 2",
    ]
    assert "page" not in document.metadata
    assert document.metadata["total_pages"] == 3
    assert document.metadata["ocr_pages"] == 3
    assert document.metadata["ocr_generated_tokens"] == 7 + 8 + 9
    (custom,) = GOTPDFLoader(
        pdf_path, engine=engine, mode="single", pages_delimiter="\n\n---\n\n", pages="1,3"
    ).load()
    assert custom.page_content.count("\n\n---\n\n") == 1
    assert custom.metadata["ocr_pages"] == 2


def test_a_list_of_inputs_of_every_kind(pdf_path: Path, engine: FakeEngine, tmp_path: Path) -> None:
    image = tmp_path / "scan.png"
    image.write_bytes(make_image("PNG", 3))
    with pdf_path.open("rb") as file_object:
        loader = GOTPDFLoader(
            [pdf_path, make_pdf(1, 2), file_object, image], engine=engine, batch_size=4
        )
    documents = loader.load()
    assert titles(documents) == [
        "## Document 0 page 0", "## Document 0 page 1", "## Document 0 page 2",
        "## Document 1 page 0", "## Document 1 page 1",
        "## Document 0 page 0", "## Document 0 page 1", "## Document 0 page 2",
        "## Document 3 page 0",
    ]  # fmt: skip
    assert [len(batch) for batch in engine.batches] == [4, 4, 1]
    sources = [doc.metadata["source"] for doc in documents]
    assert sources[0] == sources[5] == str(pdf_path)
    assert sources[3].startswith("bytes:")
    assert sources[8] == str(image)
    # the file object was read once, so the loader can run again
    assert titles(loader.load()) == titles(documents)


def test_single_mode_over_several_files_gives_one_document_each(engine: FakeEngine) -> None:
    documents = GOTPDFLoader(
        [make_pdf(0, 2), make_pdf(1, 3), make_pdf(2, 1)], engine=engine, mode="single", batch_size=4
    ).load()
    assert [doc.metadata["ocr_pages"] for doc in documents] == [2, 3, 1]
    assert [doc.page_content.count("## Document") for doc in documents] == [2, 3, 1]
    assert [doc.page_content.split()[2] for doc in documents] == ["0", "1", "2"]


def test_page_selection_and_password(engine: FakeEngine) -> None:
    locked = make_pdf(0, 5, password="pw")
    with pytest.raises(PasswordError):
        GOTPDFLoader(locked, engine=engine).load()
    documents = GOTPDFLoader(locked, engine=engine, password="pw", pages="2,4-").load()
    assert [doc.metadata["page_number"] for doc in documents] == [2, 4, 5]
    assert titles(documents)[0] == "## Document 0 page 1"


def test_content_forms(pdf_path: Path, engine: FakeEngine) -> None:
    def first(content: str) -> str:
        return (
            GOTPDFLoader(pdf_path, engine=engine, pages=1, content=content).load()[0].page_content
        )

    assert first("markdown").startswith("## Document 0 page 0")
    assert first("text").startswith("Document 0 page 0\n")
    assert first("raw").startswith("\\section*{Document 0 page 0}")


def test_task_is_passed_to_the_engine_and_recorded(pdf_path: Path, engine: FakeEngine) -> None:
    documents = GOTPDFLoader(pdf_path, engine=engine, pages=1, task="plain").load()
    assert documents[0].metadata["ocr_task"] == "plain"
    # Plain output is text, escaped where Markdown would read it otherwise ("\s" is no escape).
    assert documents[0].page_content.startswith("\\section*{Document 0")
    crop = GOTPDFLoader(pdf_path, engine=engine, pages=1, task=OCRTask(crop_to_patches=True))
    assert crop.load()[0].metadata["ocr_task"] == "plain+crop:12"
    assert max(engine.sizes[-1]) > 1024  # multi-crop renders larger


def test_bad_arguments_fail_at_construction(pdf_path: Path, engine: FakeEngine) -> None:
    with pytest.raises(ValueError, match="mode must be one of 'page', 'single'"):
        GOTPDFLoader(pdf_path, engine=engine, mode="pages")
    with pytest.raises(ValueError, match="content must be one of"):
        GOTPDFLoader(pdf_path, engine=engine, content="html")
    with pytest.raises(ValueError, match="task must be"):
        GOTPDFLoader(pdf_path, engine=engine, task="ocr")
    with pytest.raises(ValueError, match="Page range"):
        GOTPDFLoader(pdf_path, engine=engine, pages="3-1")
    with pytest.raises(TypeError, match="OCREngine"):
        GOTPDFLoader(pdf_path, engine="stepfun-ai/GOT-OCR-2.0-hf")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="empty list"):
        GOTPDFLoader([], engine=engine)


def test_skip_keeps_the_other_files(engine: FakeEngine, tmp_path: Path) -> None:
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"%PDF-1.4 truncated")
    documents = GOTPDFLoader(
        [make_pdf(0, 1), bad, make_pdf(2, 1)], engine=engine, on_error="skip"
    ).load()
    assert titles(documents) == ["## Document 0 page 0", "## Document 2 page 0"]


def test_image_loader_reads_tiff_frames_as_pages(engine: FakeEngine, tmp_path: Path) -> None:
    path = tmp_path / "fax.tiff"
    path.write_bytes(make_image("TIFF", 2, frames=3))
    documents = GOTImageLoader(path, engine=engine, pages="2-").load()
    assert titles(documents) == ["## Document 2 page 1", "## Document 2 page 2"]
    metadata = documents[0].metadata
    assert metadata["page"] == 1
    assert metadata["total_pages"] == 3
    assert metadata["format"] == "TIFF"
    assert metadata["image_width"] == 400


def test_generic_loader_with_got_parser(mixed_dir: Path, engine: FakeEngine) -> None:
    from langchain_community.document_loaders.generic import GenericLoader

    parser = GOTParser(engine=engine)
    assert isinstance(parser, BaseBlobParser)
    loader = GenericLoader.from_filesystem(
        mixed_dir, glob="*", suffixes=[".pdf", ".png", ".jpg"], parser=parser
    )
    documents = sorted(loader.load(), key=lambda d: (d.metadata["source"], d.metadata["page"]))
    assert [Path(d.metadata["source"]).name for d in documents] == [
        "a.pdf", "a.pdf", "b.png", "c.pdf", "c.pdf", "c.pdf", "d.jpg",
    ]  # fmt: skip
    assert titles(documents) == [
        "## Document 0 page 0", "## Document 0 page 1", "## Document 1 page 0",
        "## Document 2 page 0", "## Document 2 page 1", "## Document 2 page 2",
        "## Document 3 page 0",
    ]  # fmt: skip
    assert documents[0].metadata["file_path"] == str(mixed_dir / "a.pdf")


def test_parser_keeps_blob_metadata_and_reads_in_memory_blobs(engine: FakeEngine) -> None:
    from langchain_core.document_loaders.blob_loaders import Blob

    blob = Blob.from_data(make_pdf(1, 2), path="inbox/mail.pdf", metadata={"sender": "ops"})
    documents = list(GOTParser(engine=engine, mode="single").lazy_parse(blob))
    assert len(documents) == 1
    assert documents[0].metadata["sender"] == "ops"
    assert documents[0].metadata["source"] == "inbox/mail.pdf"
    assert documents[0].page_content.count("## Document 1") == 2


def test_pymupdf_loader_reads_embedded_images_with_got(engine: FakeEngine, tmp_path: Path) -> None:
    import pymupdf
    from langchain_community.document_loaders import PyMuPDFLoader

    from got_loaders.langchain import GOTImageBlobParser

    pdf = pymupdf.open()
    page = pdf.new_page()
    page.insert_text((72, 72), "Text layer of the page.")
    page.insert_image(pymupdf.Rect(72, 100, 472, 400), stream=make_image("PNG", 5, size=(400, 300)))
    page.insert_image(pymupdf.Rect(72, 420, 80, 428), stream=make_image("PNG", 6, size=(8, 8)))
    path = tmp_path / "figure.pdf"
    pdf.save(path)
    loader = PyMuPDFLoader(
        str(path), extract_images=True, images_parser=GOTImageBlobParser(engine=engine)
    )
    (document,) = loader.load()
    assert "Text layer of the page." in document.page_content
    assert "## Document 5 page 0" in document.page_content
    assert "Document 6" not in document.page_content  # an 8 px icon is not worth a model call
    assert engine.batches == [[(5, 0)]]


def test_image_blob_parser_raises_or_skips_unreadable_images() -> None:
    from PIL import Image

    from got_loaders.langchain import GOTImageBlobParser
    from got_loaders.pipeline import DocumentSkippedWarning

    image = Image.new("RGB", (64, 64), (5 * 16 + 8, 8, 200))
    failing = FakeEngine(fail_on=[(5, 0)])
    with pytest.raises(RuntimeError, match="choked"):
        GOTImageBlobParser(engine=failing)._analyze_image(image)
    assert GOTImageBlobParser(engine=failing, on_error="skip")._analyze_image(image) == ""
    with pytest.warns(DocumentSkippedWarning, match="choked"):
        assert GOTImageBlobParser(engine=failing, on_error="warn")._analyze_image(image) == ""
    assert GOTImageBlobParser(engine=FakeEngine())._analyze_image(image).startswith("## Document 5")


def test_image_blob_parser_applies_exif_orientation(engine: FakeEngine) -> None:
    from langchain_core.document_loaders.blob_loaders import Blob

    from got_loaders.langchain import GOTImageBlobParser

    blob = Blob.from_data(make_image("JPEG", 2, orientation=6), mime_type="image/jpeg")
    (document,) = GOTImageBlobParser(engine=engine).lazy_parse(blob)
    assert document.page_content.startswith("## Document 2 page 0")
    assert engine.sizes == [(300, 400)]


def test_one_page_selection_over_files_of_different_lengths(engine: FakeEngine) -> None:
    inputs = [make_pdf(0, 5), make_image("PNG", 1), make_pdf(2, 2)]
    documents = GOTPDFLoader(inputs, engine=engine, pages="2-3", on_error="skip").load()
    assert titles(documents) == [
        "## Document 0 page 1",
        "## Document 0 page 2",
        "## Document 2 page 1",
    ]
    documents = GOTPDFLoader(inputs, engine=engine, pages="1-2").load()
    assert [doc.metadata["page_number"] for doc in documents] == [1, 2, 1, 1, 2]
    with pytest.raises(PageSelectionError, match="selects no page"):
        GOTPDFLoader(inputs, engine=engine, pages="2-3").load()


def test_alazy_load_does_not_block_the_event_loop(pdf_path: Path) -> None:
    engine = FakeEngine(delay=0.5)
    loader = GOTPDFLoader(pdf_path, engine=engine, batch_size=1)

    async def main() -> tuple[list[Document], int]:
        ticks = 0
        done = asyncio.Event()

        async def heartbeat() -> None:
            nonlocal ticks
            while not done.is_set():
                ticks += 1
                await asyncio.sleep(0.01)

        beat = asyncio.create_task(heartbeat())
        documents = [doc async for doc in loader.alazy_load()]
        done.set()
        await beat
        return documents, ticks

    documents, ticks = asyncio.run(main())
    assert titles(documents) == [
        "## Document 0 page 0",
        "## Document 0 page 1",
        "## Document 0 page 2",
    ]
    # 1.5 s of engine time: a free loop ticks ~150 times, a blocked one once per page
    assert ticks >= 10


def test_breaking_out_of_lazy_load_early_is_clean(engine: FakeEngine) -> None:
    import threading

    def render_threads() -> set[threading.Thread]:
        return {t for t in threading.enumerate() if t.name == "got-loaders-render"}

    before = render_threads()
    iterator = GOTPDFLoader(make_pdf(0, 12), engine=engine, batch_size=2).lazy_load()
    first = next(iterator)
    assert first.metadata["page"] == 0
    assert render_threads() - before  # rendering ahead while we hold the first page
    iterator.close()  # type: ignore[attr-defined]
    assert render_threads() <= before
