"""Fixtures for the loader tests: sample files on disk and a fake engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.got_loaders.samples import FakeEngine, make_image, make_pdf


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine()


@pytest.fixture
def pdf_path(tmp_path: Path) -> Path:
    """A 3-page PDF (document 0) with metadata."""
    path = tmp_path / "report.pdf"
    path.write_bytes(
        make_pdf(
            0,
            3,
            metadata={
                "title": "Quarterly report",
                "author": "A. Author",
                "producer": "sample-maker",
                "creationDate": "D:20240102030405+01'00'",
            },
        )
    )
    return path


@pytest.fixture
def mixed_dir(tmp_path: Path) -> Path:
    """A folder with two PDFs and two images, documents 0 to 3, plus a text file."""
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.pdf").write_bytes(make_pdf(0, 2))
    (folder / "b.png").write_bytes(make_image("PNG", 1))
    (folder / "c.pdf").write_bytes(make_pdf(2, 3))
    (folder / "d.jpg").write_bytes(make_image("JPEG", 3))
    (folder / "notes.txt").write_text("not a document")
    return folder
