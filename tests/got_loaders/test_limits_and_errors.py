"""Limits (pages per file, pixels per image) and the error policy, in every adapter and got-ocr."""

from __future__ import annotations

import io
import logging
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from got_loaders import cli
from got_loaders.cli import engine as command_engine
from got_loaders.errors import DocumentError, LimitExceededError
from got_loaders.langchain import GOTImageLoader, GOTPDFLoader
from got_loaders.llamaindex import GOTReader
from got_loaders.pipeline import DocumentSkippedWarning, PagePipeline
from got_loaders.sources.pages import DEFAULT_MAX_PIXELS
from got_loaders.unstructured import partition_got
from got_model import FORMATTED, GOTError, ModelLoadError
from tests.got_loaders.samples import FakeEngine, make_image, make_pdf, read_colour


@pytest.fixture
def files(tmp_path: Path) -> list[Path]:
    """A 2-page PDF, a 5-page PDF, a 2-page PDF (documents 0, 1, 2)."""
    paths = []
    for document, pages in enumerate((2, 5, 2)):
        path = tmp_path / f"doc{document}.pdf"
        path.write_bytes(make_pdf(document, pages))
        paths.append(path)
    return paths


def read_pages(documents: list) -> list[tuple[int, int]]:
    return [(d.metadata["source"], d.metadata["page_number"]) for d in documents]


def test_a_file_over_max_pages_is_refused_whole_naming_the_file_and_the_way_out(
    files: list[Path], engine: FakeEngine
) -> None:
    loader = GOTPDFLoader(files, engine=engine, max_pages=4)
    with pytest.raises(LimitExceededError) as raised:
        loader.load()
    error = raised.value
    assert isinstance(error, GOTError)
    assert error.source == str(files[1])
    assert error.page is None
    assert "5 pages to read, more than max_pages=4" in str(error)
    assert "pages=" in str(error)


def test_max_pages_counts_the_selected_pages(files: list[Path], engine: FakeEngine) -> None:
    documents = GOTPDFLoader(files, engine=engine, max_pages=2, pages="1-2").load()
    assert len(documents) == 6


def test_skip_goes_on_after_a_file_over_the_limit(
    files: list[Path], engine: FakeEngine, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="got_loaders"):
        documents = GOTPDFLoader(files, engine=engine, max_pages=4, on_error="skip").load()
    assert [Path(str(source)).name for source, _ in read_pages(documents)] == [
        "doc0.pdf",
        "doc0.pdf",
        "doc2.pdf",
        "doc2.pdf",
    ]
    assert f"Skipped {files[1]}: 5 pages to read" in caplog.text


@pytest.mark.parametrize("bad", [0, -3, True])
def test_limits_must_be_positive(bad: int, engine: FakeEngine) -> None:
    with pytest.raises(ValueError, match="max_pages must be None or at least 1"):
        PagePipeline(engine, FORMATTED, max_pages=bad)
    with pytest.raises(ValueError, match="max_pixels must be None or at least 1"):
        PagePipeline(engine, FORMATTED, max_pixels=bad)


def test_an_image_over_max_pixels_is_refused_before_it_is_decoded(
    tmp_path: Path, engine: FakeEngine
) -> None:
    big = tmp_path / "big.png"
    big.write_bytes(make_image("PNG", 0, size=(1200, 1000)))
    with pytest.raises(LimitExceededError) as raised:
        GOTImageLoader(big, engine=engine, max_pixels=1_000_000).load()
    message = str(raised.value)
    assert message.startswith(f"{big}: An image of 1200 x 1000 pixels (1,200,000)")
    assert "max_pixels=1,000,000" in message
    assert engine.batches == []
    # Under the limit, or with the limit off, it reads.
    assert len(GOTImageLoader(big, engine=engine, max_pixels=1_200_000).load()) == 1
    assert len(GOTImageLoader(big, engine=engine, max_pixels=None).load()) == 1


def test_a_tiff_frame_over_the_limit_is_skipped_alone(tmp_path: Path, engine: FakeEngine) -> None:
    frames = [
        Image.new("RGB", size, colour)
        for size, colour in (
            ((300, 200), (8, 8, 200)),
            ((1500, 1500), (8, 24, 200)),
            ((300, 200), (8, 40, 200)),
        )
    ]
    path = tmp_path / "scan.tiff"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    skipped: list[DocumentError] = []
    pipeline = PagePipeline(
        engine, FORMATTED, on_error="skip", max_pixels=1_000_000, on_skip=skipped.append
    )
    read = [read_colour(item.page.image) for item in pipeline.run([path])]
    assert read == [(0, 0), (0, 2)]
    assert len(skipped) == 1
    assert isinstance(skipped[0], LimitExceededError)
    assert (skipped[0].source, skipped[0].page) == (str(path), 2)


def png_header(width: int, height: int) -> bytes:
    """A PNG that declares ``width`` x ``height`` 1-bit pixels and holds none of them."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b""))
        + chunk(b"IEND", b"")
    )


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")  # Pillow's own
def test_a_decompression_bomb_is_a_limit_error(tmp_path: Path, engine: FakeEngine) -> None:
    # 400 million pixels, over twice Pillow's limit: Pillow itself refuses it at open.
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_header(20_000, 20_000))
    for limit in (None, DEFAULT_MAX_PIXELS):
        with pytest.raises(LimitExceededError, match=r"bomb\.png: Refusing .*400000000 pixels"):
            GOTImageLoader(bomb, engine=engine, max_pixels=limit).load()
    # Between Pillow's limit and twice it, Pillow only warns: the limit refuses it.
    near = tmp_path / "near.png"
    near.write_bytes(png_header(10_000, 10_000))
    with pytest.raises(LimitExceededError, match=r"near\.png: An image of 10000 x 10000"):
        GOTImageLoader(near, engine=engine).load()
    assert engine.batches == []


def test_single_mode_documents_list_their_skipped_pages(
    files: list[Path], caplog: pytest.LogCaptureFixture
) -> None:
    failing = FakeEngine(fail_on=[(1, 1), (1, 3)])
    with caplog.at_level(logging.WARNING, logger="got_loaders"):
        documents = GOTPDFLoader(files, engine=failing, mode="single", on_error="skip").load()
    assert [d.metadata.get("skipped_pages") for d in documents] == [None, "2,4", None]
    assert [d.metadata["ocr_pages"] for d in documents] == [2, 3, 2]
    assert f"Skipped {files[1]}, page 2: OCR failed" in caplog.text


def test_llamaindex_whole_file_documents_list_their_skipped_pages(files: list[Path]) -> None:
    failing = FakeEngine(fail_on=[(1, 0)])
    reader = GOTReader(engine=failing, return_full_document=True, on_error="warn")
    with pytest.warns(DocumentSkippedWarning, match="page 1: OCR failed"):
        documents = reader.load_data(files)
    assert [d.metadata.get("skipped_pages") for d in documents] == [None, "1", None]
    # Bookkeeping, not content: hidden from embeddings and prompts like the other OCR keys.
    assert "skipped_pages" in documents[1].excluded_embed_metadata_keys
    assert "skipped_pages" in documents[1].excluded_llm_metadata_keys


def test_llamaindex_reader_takes_the_limits(files: list[Path], engine: FakeEngine) -> None:
    reader = GOTReader(engine=engine, max_pages=4, on_error="skip")
    assert len(reader.load_data(files)) == 4
    with pytest.raises(ValueError, match="max_pages"):
        GOTReader(max_pages=0)
    assert GOTReader().max_pixels == DEFAULT_MAX_PIXELS


def test_partition_got_takes_the_limits(files: list[Path], engine: FakeEngine) -> None:
    with pytest.raises(LimitExceededError):
        partition_got(str(files[1]), engine=engine, max_pages=4, languages=[""])
    elements = partition_got(
        str(files[1]), engine=engine, max_pages=4, on_error="skip", languages=[""]
    )
    assert elements == []
    assert partition_got(str(files[1]), engine=engine, max_pages=5, languages=[""])


# -- got-ocr --------------------------------------------------------------------------------


@pytest.fixture
def cli_engine(monkeypatch: pytest.MonkeyPatch) -> FakeEngine:
    failing = FakeEngine(fail_on=[(1, 1)])
    monkeypatch.setattr(command_engine, "shared_engine", lambda *args, **kwargs: failing)
    return failing


def convert(*argv: str | Path) -> int:
    return cli.main(["convert", *map(str, argv), "--no-cache", "--no-progress"])


def test_cli_warn_reports_each_failure_as_it_happens(
    files: list[Path], tmp_path: Path, cli_engine: FakeEngine, capsys: pytest.CaptureFixture[str]
) -> None:
    assert convert(*files, "-o", tmp_path / "out") == cli.EXIT_FAILED
    err = capsys.readouterr().err
    assert f"got-ocr: error: {files[1]}, page 2: OCR failed" in err
    assert "skipped 1:" not in err
    assert "1 error (see above)" in err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "doc0.md",
        "doc1.md",
        "doc2.md",
    ]


def test_cli_skip_lists_the_failures_at_the_end(
    files: list[Path], tmp_path: Path, cli_engine: FakeEngine, capsys: pytest.CaptureFixture[str]
) -> None:
    assert convert(*files, "-o", tmp_path / "out", "--on-error", "skip") == cli.EXIT_FAILED
    lines = capsys.readouterr().err.splitlines()
    assert lines[-3:] == [
        "got-ocr: skipped 1:",
        f"got-ocr: error: {files[1]}, page 2: OCR failed: RuntimeError: the model choked on "
        "[(1, 1)]",
        lines[-1],
    ]
    assert lines[-1].startswith("got-ocr: 3 documents, 8 pages")
    assert len(list((tmp_path / "out").iterdir())) == 3


def test_cli_raise_stops_at_the_first_failure_keeping_finished_documents(
    files: list[Path], tmp_path: Path, cli_engine: FakeEngine, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert convert(*files, "-o", out, "--on-error", "raise", "--batch-size", "1") == 1
    assert sorted(p.name for p in out.iterdir()) == ["doc0.md"]
    assert f"got-ocr: error: {files[1]}, page 2: OCR failed" in capsys.readouterr().err
    assert (1, 2) not in [page for batch in cli_engine.batches for page in batch]


def test_cli_raise_stops_before_any_work_on_a_missing_input(
    files: list[Path], tmp_path: Path, cli_engine: FakeEngine, capsys: pytest.CaptureFixture[str]
) -> None:
    assert convert(files[0], tmp_path / "missing.pdf", "--on-error", "raise") == 1
    assert cli_engine.batches == []
    assert "missing.pdf: no such file or directory" in capsys.readouterr().err


def test_cli_limits(
    files: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    engine = FakeEngine()
    monkeypatch.setattr(command_engine, "shared_engine", lambda *args, **kwargs: engine)
    big = tmp_path / "big.png"
    big.write_bytes(make_image("PNG", 3, size=(1200, 1000)))
    out = tmp_path / "out"
    status = convert(*files, big, "-o", out, "--max-pages", "4", "--max-pixels", "1000000")
    assert status == cli.EXIT_FAILED
    err = capsys.readouterr().err
    assert f"{files[1]}: 5 pages to read, more than max_pages=4" in err
    assert f"{big}: An image of 1200 x 1000 pixels" in err
    assert "2 errors" in err
    assert sorted(p.name for p in out.iterdir()) == ["doc0.md", "doc2.md"]


@pytest.mark.parametrize("option", ["--max-pages", "--max-pixels"])
def test_cli_limits_must_be_positive(
    files: list[Path], option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as raised:
        convert(files[0], option, "0")
    assert raised.value.code == cli.EXIT_USAGE
    assert f"{option} must be at least 1" in capsys.readouterr().err


def test_a_repaired_pdf_is_read_logged_and_marked(
    tmp_path: Path, engine: FakeEngine, caplog: pytest.LogCaptureFixture
) -> None:
    data = make_pdf(0, 2)
    offset = data.rindex(b"startxref") + len(b"startxref\n")
    path = tmp_path / "damaged.pdf"
    path.write_bytes(data[:offset] + b"999999999" + data[data.index(b"\n", offset) :])
    with caplog.at_level(logging.WARNING, logger="got_loaders"):
        documents = GOTPDFLoader(path, engine=engine).load()
    assert [read for read in read_pages(documents)] == [(str(path), 1), (str(path), 2)]
    assert all(document.metadata["repaired"] is True for document in documents)
    assert f"{path}: the PDF is damaged; MuPDF repaired it" in caplog.text
    intact = GOTPDFLoader(make_pdf(0, 1), engine=engine).load()
    assert "repaired" not in intact[0].metadata


def test_a_pdf_without_pages_is_an_error_not_an_empty_result(
    tmp_path: Path, engine: FakeEngine
) -> None:
    path = tmp_path / "empty.pdf"  # a catalog and an empty page tree (PyMuPDF saves no such file)
    path.write_bytes(
        b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
        b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
        b"trailer << /Root 1 0 R >>\n%%EOF\n"
    )
    with pytest.raises(DocumentError, match=r"empty\.pdf: The document has no pages"):
        GOTPDFLoader(path, engine=engine).load()


def test_skipped_pages_go_to_the_right_one_of_two_files_with_one_name() -> None:
    first, second = io.BytesIO(make_pdf(0, 1)), io.BytesIO(make_pdf(1, 2))
    first.name = second.name = "scan.pdf"  # two uploads of the same name
    failing = FakeEngine(fail_on=[(1, 0)])
    documents = GOTPDFLoader([first, second], engine=failing, mode="single", on_error="skip").load()
    assert [d.metadata.get("skipped_pages") for d in documents] == [None, "1"]


def test_cli_skip_lists_the_failures_even_when_the_model_then_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    junk = tmp_path / "a_junk.png"
    junk.write_bytes(b"not an image")
    good = tmp_path / "b_good.png"
    good.write_bytes(make_image("PNG", 1))
    broken = FakeEngine()

    def fail(requests: object) -> object:
        raise ModelLoadError("no weights here")

    monkeypatch.setattr(broken, "recognize_batch", fail)
    monkeypatch.setattr(command_engine, "shared_engine", lambda *args, **kwargs: broken)
    assert convert(junk, good, "--on-error", "skip") == cli.EXIT_FAILED
    err = capsys.readouterr().err
    assert "got-ocr: skipped 1:" in err
    assert f"got-ocr: error: {junk}: Neither a PDF" in err
    assert "got-ocr: error: no weights here" in err
