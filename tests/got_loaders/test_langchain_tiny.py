"""The real generate path: GOTPDFLoader on the tiny GOT checkpoint, loaded like the real one."""

from __future__ import annotations

import io
from pathlib import Path

from got_loaders.langchain import GOTImageLoader, GOTPDFLoader
from got_loaders.sources import open_document
from got_loaders.sources.documents import SourceDocument
from got_model import FORMATTED, GOTEngine
from tests.conftest import noise_image
from tests.got_loaders.samples import make_image


def noise_pdf(pages: int) -> bytes:
    """Pages of random pixels: the tiny model writes something different for each."""
    import pymupdf

    pdf = pymupdf.open()
    for seed in range(pages):
        page = pdf.new_page(width=300, height=400)
        picture = io.BytesIO()
        noise_image(seed, size=(60, 80)).save(picture, format="PNG")
        page.insert_image(page.rect, stream=picture.getvalue())
    return bytes(pdf.tobytes())


def test_pdf_loader_on_the_tiny_checkpoint(tiny_engine: GOTEngine, tmp_path: Path) -> None:
    path = tmp_path / "three.pdf"
    path.write_bytes(noise_pdf(3))
    image = tmp_path / "photo.jpg"
    noise_image(7, size=(200, 100)).resize((2000, 1000)).save(image, format="JPEG")
    documents = GOTPDFLoader([path, image], engine=tiny_engine).load()  # batch_size 4: 3 + 1
    assert [(d.metadata["source"], d.metadata["page"]) for d in documents] == [
        (str(path), 0),
        (str(path), 1),
        (str(path), 2),
        (str(image), 0),
    ]
    assert all(d.metadata["ocr_model"] == tiny_engine.model_id for d in documents)
    assert all(d.metadata["ocr_generated_tokens"] > 0 for d in documents)
    assert len({d.page_content for d in documents}) > 1  # pages differ, so a mix-up would show
    # Each Document holds what the engine reads on that very page, read on its own.
    for document, source in zip(documents, [path, path, path, image], strict=True):
        with open_document(SourceDocument.from_input(source), FORMATTED) as opened:
            page = opened.render(document.metadata["page"])
        alone = tiny_engine.recognize(page.image, FORMATTED)
        assert document.page_content == alone.markdown
        assert document.metadata["ocr_finish_reason"] == alone.finish_reason.value


def test_image_loader_single_mode_on_the_tiny_checkpoint(
    tiny_engine: GOTEngine, tmp_path: Path
) -> None:
    path = tmp_path / "fax.tif"
    path.write_bytes(make_image("TIFF", 1, frames=2))
    (document,) = GOTImageLoader(path, engine=tiny_engine, mode="single", task="plain").load()
    assert document.metadata["ocr_pages"] == 2
    assert document.metadata["ocr_task"] == "plain"
    assert document.page_content.count("\n\f") == 1
