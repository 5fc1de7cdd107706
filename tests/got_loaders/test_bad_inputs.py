"""The bad-input corpus (``corpus.py``) against an explicit table of what each entry gives.

Every entry yields pages or a typed error: a ``GOTError`` of got-loaders' own, naming the file
(and the page, when one page failed) and what the user can do. ``EXPECTED`` says which, entry
by entry, so adding an entry to the corpus forces a decision here. Then the whole corpus goes
through the page pipeline, each adapter and ``got-ocr convert`` with ``on_error="skip"``: a
failing file or page never loses the rest. ``FakeEngine`` stands in for the model throughout.

A hang fails the module's timeout instead of blocking the suite; no test measures time.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

from got_loaders import cli
from got_loaders.cli import engine as command_engine
from got_loaders.errors import (
    DocumentError,
    LimitExceededError,
    PageRenderError,
    PasswordError,
    UnsupportedFormatError,
)
from got_loaders.langchain import GOTPDFLoader
from got_loaders.llamaindex import GOTReader
from got_loaders.pipeline import PagePipeline, PageResult
from got_loaders.unstructured import partition_got
from got_model import FORMATTED, GOTError
from tests.got_loaders.corpus import CORPUS, BadInput
from tests.got_loaders.samples import FakeEngine, make_pdf, read_colour

pytestmark = [
    pytest.mark.timeout(120),
    # Pillow's own warnings still escape the library (see Expected.leaks, checked one entry at
    # a time); in the runs over the whole corpus they are known noise.
    pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning"),
    pytest.mark.filterwarnings("ignore:Corrupt EXIF data:UserWarning"),
]

Size = tuple[int, int]
LETTER: Size = (792, 1024)  # a US-letter page at GOT's 1024 pixels
PICTURE: Size = (400, 300)  # the corpus's small test images, read at their own size
FRAME: Size = (200, 150)  # the corpus's multi-frame images

REPAIRED_LOG = "MuPDF repaired it"
DAMAGED_PDF = "Download or export it again"  # MuPDF cannot open it at all
NOT_A_DOCUMENT = "Neither a PDF nor an image"
BAD_PDF_PAGE = "leave this page out with pages="


@dataclass(frozen=True)
class Failure:
    """One error an input gives: its class, its 1-based page (None: the whole file) and a
    fragment of its message that tells the user what is wrong or what to do."""

    error: type[DocumentError]
    page: int | None
    hint: str


@dataclass(frozen=True)
class Expected:
    """What reading one input gives.

    Attributes:
        sizes: the rendered size of each page read, in order.
        failures: the errors, in order; pages with no error are the ones read.
        repaired: MuPDF repaired the PDF: a warning is logged, the pages say ``repaired``.
        leaks: a fragment of a dependency's Python warning that still escapes (known issue).
    """

    sizes: tuple[Size, ...] = ()
    failures: tuple[Failure, ...] = ()
    repaired: bool = False
    leaks: str | None = None

    @property
    def page_numbers(self) -> list[int]:
        """The 1-based numbers of the pages read."""
        failed = {failure.page for failure in self.failures}
        total = len(self.sizes) + len(failed - {None})
        return [number for number in range(1, total + 1) if number not in failed]


def read(*sizes: Size, repaired: bool = False, leaks: str | None = None) -> Expected:
    """Every page is read, at these sizes."""
    return Expected(sizes=sizes, repaired=repaired, leaks=leaks)


def refused(error: type[DocumentError], hint: str, page: int | None = None) -> Expected:
    """Nothing is read: one error, for the whole file or its only page."""
    return Expected(failures=(Failure(error, page, hint),))


EXPECTED: dict[str, Expected] = {
    "empty": refused(UnsupportedFormatError, "The file is empty."),
    "whitespace": refused(UnsupportedFormatError, "nothing but white space"),
    # Repaired PDFs: every page comes out, some of them blank or incomplete.
    "pdf_truncated_half": read(LETTER, LETTER, LETTER, repaired=True),
    "pdf_header_line_only": refused(DocumentError, DAMAGED_PDF),
    "pdf_header_only": refused(DocumentError, DAMAGED_PDF),
    "pdf_random_after_header": refused(DocumentError, DAMAGED_PDF),
    "pdf_broken_xref": read(LETTER, LETTER, repaired=True),
    "pdf_xref_stream_truncated": read(LETTER, LETTER, LETTER, repaired=True),
    "pdf_garbage_content": read(LETTER, LETTER),  # both pages blank, not flagged
    "pdf_header_after_500_junk": read(LETTER),
    "pdf_header_after_2k_junk": refused(UnsupportedFormatError, NOT_A_DOCUMENT),
    "pdf_as_png": read(LETTER),
    "png_as_pdf": read(PICTURE),
    "html_as_pdf": refused(UnsupportedFormatError, NOT_A_DOCUMENT),
    "pdf_encrypted_aes256": refused(PasswordError, "got-ocr --password"),
    "pdf_encrypted_owner_only": read(LETTER, LETTER),
    "pdf_zero_pages": refused(DocumentError, "The document has no pages"),
    "pdf_count_lies": refused(DocumentError, "Export it again"),
    "pdf_count_lies_small": Expected(
        sizes=(LETTER,),
        failures=(
            Failure(PageRenderError, 2, BAD_PDF_PAGE),
            Failure(PageRenderError, 3, BAD_PDF_PAGE),
        ),
    ),
    "pdf_tree_cycle": Expected(sizes=(LETTER,), failures=(Failure(PageRenderError, 2, "cycle"),)),
    "pdf_deep_tree": read(LETTER),
    "pdf_missing_page_object": read(LETTER, LETTER, LETTER),  # page 2 blank, not flagged
    "pdf_huge_page": read((1024, 1024)),
    "pdf_extreme_aspect": read((1024, 1)),
    "pdf_vanishing_side": read((1, 1024)),
    "pdf_empty_mediabox": read(LETTER),
    "pdf_odd_page_boxes": read(LETTER, (1024, 792), LETTER, LETTER),  # page 3 blank
    "pdf_image_bomb_1bit": refused(LimitExceededError, "raise max_pixels", page=1),
    "pdf_image_bomb_rgb": refused(LimitExceededError, "raise max_pixels", page=1),
    "pdf_content_bomb": read(LETTER),  # seconds to render: no time limit per page
    "pdf_many_ops": read(LETTER),  # likewise
    "png_bomb_declared": refused(LimitExceededError, "got-ocr --max-pixels"),
    "png_above_pixel_limit": Expected(
        failures=(Failure(LimitExceededError, None, "raise max_pixels"),),
        leaks="could be decompression bomb",  # Pillow's DecompressionBombWarning
    ),
    "png_large_rgba": read((1024, 1024)),
    "jpeg_bomb_declared": refused(LimitExceededError, "got-ocr --max-pixels"),
    "jpeg_cmyk": read(PICTURE),
    "png_i16": read(PICTURE),
    "png_palette_trns": read(PICTURE),
    "png_rgba": read(PICTURE),
    "png_la": read(PICTURE),
    "png_1bit": read(PICTURE),
    "tiff_float": read(PICTURE),
    "tiff_int32": read(PICTURE),
    "png_extreme_aspect": read((1, 1024)),
    "tiff_multi_frame": read(FRAME, FRAME, FRAME),
    "gif_animated": read(FRAME),
    "webp_animated": read(FRAME),
    "apng": read(FRAME),
    "tiff_ifd_loop": read((64, 64)),
    "png_truncated": refused(PageRenderError, "the file is damaged or cut short", page=1),
    "jpeg_truncated": refused(PageRenderError, "the file is damaged or cut short", page=1),
    "jpeg_exif_orientation_9": read(PICTURE),
    "jpeg_exif_garbage": read(PICTURE, leaks="Corrupt EXIF data"),
    "gif_zero_size": refused(UnsupportedFormatError, NOT_A_DOCUMENT),
    "eps": refused(UnsupportedFormatError, NOT_A_DOCUMENT),
    "png_with_pdf_marker": read(PICTURE),
    "text_with_pdf_marker": refused(DocumentError, DAMAGED_PDF),
    "text": refused(UnsupportedFormatError, NOT_A_DOCUMENT),
    "zip": refused(UnsupportedFormatError, NOT_A_DOCUMENT),
    "html": refused(UnsupportedFormatError, NOT_A_DOCUMENT),
    "svg": refused(UnsupportedFormatError, NOT_A_DOCUMENT),
    "json": refused(UnsupportedFormatError, NOT_A_DOCUMENT),
    "xps": refused(UnsupportedFormatError, NOT_A_DOCUMENT),
    "epub": refused(UnsupportedFormatError, NOT_A_DOCUMENT),
    "pdf_js_launch_actions": read(LETTER),
    "pdf_xfa_only": read(LETTER),  # the "Please wait..." placeholder page, not flagged
}
"""What each corpus entry gives when read without a password, as an unattended run would."""

WITH_PASSWORD: dict[str, Expected] = {"pdf_encrypted_aes256": read(LETTER, LETTER)}
"""What the entries with a ``password`` give when it is passed."""

SLOW = frozenset({"png_large_rgba", "pdf_content_bomb", "pdf_many_ops"})
"""Entries taking seconds each (a 92 MB decode; content streams MuPDF needs seconds for):
checked one by one, left out of the runs over the whole corpus."""

GOOD: dict[str, tuple[int, Expected]] = {
    "good_middle.pdf": (5, read(LETTER, LETTER)),  # sorts among the corpus's files
    "zz_good_last.pdf": (6, read(LETTER, LETTER)),
}
"""Valid documents (name: (document number of samples.make_pdf, what it gives)) added to
the corpus directory: a run over it must still read them."""


def test_every_corpus_entry_has_exactly_one_expectation() -> None:
    ids = [entry.id for entry in CORPUS]
    assert len(ids) == len(set(ids))
    assert set(EXPECTED) == set(ids)
    assert set(WITH_PASSWORD) == {entry.id for entry in CORPUS if entry.password}
    assert set(ids) >= SLOW


# -- one entry at a time ----------------------------------------------------------------------


def run_pipeline(
    path: Path, engine: FakeEngine, *, password: str | None = None
) -> tuple[list[tuple[int, Size]], list[DocumentError], list[bool]]:
    """(page number, size) of each page read, the errors skipped, and whether each page
    says its PDF was repaired."""
    skipped: list[DocumentError] = []
    pipeline = PagePipeline(engine, FORMATTED, password=password, on_error="skip")
    results = list(pipeline.run([path], on_skip=skipped.append))
    pages = [(item.page.number, item.page.image.size) for item in results]
    repaired = [item.page.document.metadata.get("repaired") is True for item in results]
    return pages, skipped, repaired


def check_error(error: BaseException, failure: Failure, path: Path) -> None:
    """``error`` is the expected one of ours, names the file and the page, and gives the hint."""
    assert type(error) is failure.error, repr(error)
    assert isinstance(error, GOTError)
    assert isinstance(error, DocumentError)
    assert error.source == str(path)
    assert error.page == failure.page
    message = str(error)
    where = str(path) if failure.page is None else f"{path}, page {failure.page}"
    assert message.startswith(f"{where}: "), message
    assert failure.hint in error.reason, message
    assert not error.reason.startswith("Unexpected"), message  # a dependency's surprise
    assert "Traceback" not in message


def read_into(pages: list[tuple[int, Size]], results: Iterable[PageResult]) -> None:
    """Append (page number, size) of each result, until the results end or raise."""
    for item in results:
        pages.append((item.page.number, item.page.image.size))


def check_entry(
    path: Path,
    expected: Expected,
    engine: FakeEngine,
    caplog: pytest.LogCaptureFixture,
    *,
    password: str | None = None,
) -> None:
    """Read ``path`` with ``on_error="skip"``, then with ``"raise"``, and compare both with
    ``expected``: the pages, each error and the log."""
    caplog.clear()
    caplog.set_level(logging.WARNING, logger="got_loaders")
    pages, skipped, repaired = run_pipeline(path, engine, password=password)
    assert pages == list(zip(expected.page_numbers, expected.sizes, strict=True))
    assert len(skipped) == len(expected.failures), skipped
    for error, failure in zip(skipped, expected.failures, strict=True):
        check_error(error, failure, path)
    assert repaired == [expected.repaired] * len(pages)
    logged = [r.getMessage() for r in caplog.records if r.name.startswith("got_loaders")]
    assert len(logged) == expected.repaired, logged  # a repair is logged, nothing else is
    assert all(m.startswith(f"{path}: ") and REPAIRED_LOG in m for m in logged), logged
    if not expected.failures:
        return
    # With on_error="raise" the first error is raised itself, after the pages before it.
    first = expected.failures[0]
    before = [p for p in pages if first.page is not None and p[0] < first.page]
    raising = PagePipeline(engine, FORMATTED, password=password)
    results: list[tuple[int, Size]] = []
    with pytest.raises(first.error) as raised:
        read_into(results, raising.run([path]))
    assert results == before
    check_error(raised.value, first, path)


@pytest.mark.parametrize("entry", CORPUS, ids=lambda entry: entry.id)
def test_each_entry_gives_its_pages_or_its_typed_error(
    entry: BadInput,
    tmp_path: Path,
    engine: FakeEngine,
    caplog: pytest.LogCaptureFixture,
    recwarn: pytest.WarningsRecorder,
) -> None:
    expected = EXPECTED[entry.id]
    path = entry.write(tmp_path)
    check_entry(path, expected, engine, caplog)
    for warning in recwarn:  # only the known leaks, nothing else escapes
        assert expected.leaks is not None, warning
        assert expected.leaks in str(warning.message), warning


@pytest.mark.parametrize("entry", [e for e in CORPUS if e.password], ids=lambda entry: entry.id)
def test_encrypted_entries_open_with_their_password_only(
    entry: BadInput, tmp_path: Path, engine: FakeEngine, caplog: pytest.LogCaptureFixture
) -> None:
    path = entry.write(tmp_path)
    check_entry(path, WITH_PASSWORD[entry.id], engine, caplog, password=entry.password)
    wrong = refused(PasswordError, "The password does not open this PDF")
    check_entry(path, wrong, engine, caplog, password="wrong")


# -- the whole corpus at once -----------------------------------------------------------------


@dataclass(frozen=True)
class CorpusRun:
    """The corpus directory (the slow entries left out, ``GOOD`` added) and what it gives."""

    directory: Path
    paths: list[Path]
    """Every file, sorted by name: the order of a directory run."""
    expected: dict[Path, Expected]

    def pages(self) -> list[tuple[str, int]]:
        """(file, page number) of every page to be read, in order."""
        return [(str(p), n) for p in self.paths for n in self.expected[p].page_numbers]

    def failures(self) -> list[tuple[str, int | None, type[DocumentError]]]:
        """(file, page, class) of every error, in order."""
        return [(str(p), f.page, f.error) for p in self.paths for f in self.expected[p].failures]

    def with_pages(self) -> list[Path]:
        """The files that give at least one page."""
        return [path for path in self.paths if self.expected[path].sizes]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> CorpusRun:
    directory = tmp_path_factory.mktemp("corpus")
    expected = {}
    for entry in CORPUS:
        if entry.id not in SLOW:
            expected[entry.write(directory)] = EXPECTED[entry.id]
    for name, (document, outcome) in GOOD.items():
        path = directory / name
        path.write_bytes(make_pdf(document, 2))
        expected[path] = outcome
    paths = sorted(expected)
    assert paths[0].name not in GOOD  # errors come before, between and after the good files
    assert paths[-1].name == "zz_good_last.pdf"
    return CorpusRun(directory, paths, expected)


def test_the_pipeline_reads_every_good_page_of_the_corpus_in_order(corpus: CorpusRun) -> None:
    engine = FakeEngine()
    skipped: list[DocumentError] = []
    pipeline = PagePipeline(engine, FORMATTED, batch_size=3, on_error="skip")  # across files
    results = list(pipeline.run(corpus.paths, on_skip=skipped.append))
    assert [(r.page.document.source, r.page.number) for r in results] == corpus.pages()
    assert len(results) == sum(len(corpus.expected[path].sizes) for path in corpus.paths)
    for name, (document, _) in GOOD.items():  # the good files' own pictures reached the engine
        good = [r for r in results if r.page.document.source == str(corpus.directory / name)]
        assert [read_colour(r.page.image) for r in good] == [(document, 0), (document, 1)]
    assert [(e.source, e.page, type(e)) for e in skipped] == corpus.failures()
    assert all(isinstance(e, GOTError) and str(e).startswith(e.source) for e in skipped)


def skipped_in_log(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage().removeprefix("Skipped ")
        for record in caplog.records
        if record.name == "got_loaders" and record.getMessage().startswith("Skipped ")
    ]


def check_skip_log(corpus: CorpusRun, logged: list[str]) -> None:
    """One ``Skipped`` line per expected error, in order, naming its file and page."""
    assert len(logged) == len(corpus.failures()), logged
    for message, (source, page, _) in zip(logged, corpus.failures(), strict=True):
        where = source if page is None else f"{source}, page {page}"
        assert message.startswith(f"{where}: "), message


def test_langchain_loads_every_good_page_and_logs_the_rest(
    corpus: CorpusRun, engine: FakeEngine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="got_loaders")
    loader = GOTPDFLoader(list(map(str, corpus.paths)), engine=engine, on_error="skip")
    documents = loader.load()
    pages = [(d.metadata["source"], d.metadata["page_number"]) for d in documents]
    assert pages == corpus.pages()
    check_skip_log(corpus, skipped_in_log(caplog))


def test_llamaindex_reads_every_good_file_whole_and_logs_the_rest(
    corpus: CorpusRun, engine: FakeEngine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="got_loaders")
    reader = GOTReader(engine=engine, on_error="skip", return_full_document=True)
    documents = reader.load_data(list(map(str, corpus.paths)))
    assert [d.metadata["file_path"] for d in documents] == list(map(str, corpus.with_pages()))
    for document in documents:
        expected = corpus.expected[Path(document.metadata["file_path"])]
        assert document.metadata["ocr_pages"] == len(expected.sizes)
        skipped = ",".join(str(f.page) for f in expected.failures if f.page is not None)
        assert document.metadata.get("skipped_pages", "") == skipped
    check_skip_log(corpus, skipped_in_log(caplog))


def test_unstructured_partitions_every_good_file_and_logs_the_rest(
    corpus: CorpusRun, engine: FakeEngine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="got_loaders")
    for path in corpus.paths:
        elements = partition_got(str(path), engine=engine, on_error="skip", languages=[""])
        numbers = sorted({element.metadata.page_number or 0 for element in elements})
        assert numbers == corpus.expected[path].page_numbers, path
        assert all(element.metadata.filename == path.name for element in elements)
    check_skip_log(corpus, skipped_in_log(caplog))


def test_got_ocr_converts_the_good_files_and_names_each_failure(
    corpus: CorpusRun,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake = FakeEngine()
    monkeypatch.setattr(command_engine, "shared_engine", lambda model, **settings: fake)
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    out = tmp_path / "out"
    argv = ["convert", str(corpus.directory), "-o", str(out), "--no-cache", "--no-progress"]
    status = cli.main([*argv, "--glob", "*"])
    lines = capsys.readouterr().err.splitlines()
    assert status == cli.EXIT_FAILED
    written = sorted(path.name for path in out.iterdir())
    assert written == sorted(f"{path.stem}.md" for path in corpus.with_pages())
    assert all((out / name).read_text().strip() for name in written)
    prefix = "got-ocr: error: "
    errors = [line.removeprefix(prefix) for line in lines if line.startswith(prefix)]
    assert len(errors) == len(corpus.failures()), errors
    for line, (source, page, _) in zip(errors, corpus.failures(), strict=True):
        where = source if page is None else f"{source}, page {page}"
        assert line.startswith(f"{where}: "), line
    documents, pages = len(corpus.with_pages()), len(corpus.pages())
    assert lines[-1].startswith(f"got-ocr: {documents} documents, {pages} pages in "), lines
    assert lines[-1].endswith(f"; {len(corpus.failures())} errors (see above)"), lines
