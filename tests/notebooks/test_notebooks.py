"""The notebooks: committed without outputs, run headless on the samples with the tiny
checkpoint standing in for GOT, and retrieval finds the page that answers the question."""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import nbformat
import pymupdf
import pytest
from PIL import Image, ImageChops, ImageStat

from got_loaders import Strategy
from got_loaders.sources import open_document
from got_loaders.sources.documents import SourceDocument
from got_model import OCRTask

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
SAMPLES = NOTEBOOKS / "samples"
NAMES = ["langchain_rag", "llamaindex_ingestion", "unstructured_rag"]

# The default question is about the results on page 3 of the born-digital paper, which
# strategy="auto" reads from the text layer: real text even when GOT is the tiny checkpoint.
EXPECTED_HIT = ("paper.pdf", 3)
# Every page is read, by the route the samples were made for; a page that failed (the
# notebooks skip failures with a warning) would be missing here.
EXPECTED_ROUTES = [
    ("paper.pdf", 1, "text"),
    ("paper.pdf", 2, "ocr"),
    ("paper.pdf", 3, "text"),
    ("scan.pdf", 1, "ocr"),
]
_WORD = re.compile(r"[A-Za-z]{3,}")


def _read(name: str) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)


def _tagged(notebook: nbformat.NotebookNode, tag: str) -> nbformat.NotebookNode:
    cells = [cell for cell in notebook.cells if tag in cell.metadata.get("tags", [])]
    assert len(cells) == 1, f"one cell tagged {tag!r}"
    return cells[0]


@pytest.mark.parametrize("name", NAMES)
def test_notebooks_are_committed_without_outputs(name: str) -> None:
    notebook = _read(name)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code
    assert all(cell.outputs == [] and cell.execution_count is None for cell in code)
    parameters = _tagged(notebook, "parameters").source
    for name_ in ("MODEL", "DEVICE", "MAX_NEW_TOKENS", "STRATEGY", "EMBEDDING_MODEL", "QUERY"):
        assert f"\n{name_} = " in f"\n{parameters}"
    assert 'STRATEGY = "auto"' in parameters
    _tagged(notebook, "retrieved-pages")
    _tagged(notebook, "routes")


@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_and_retrieval_cites_the_page_that_answers(
    name: str, tiny_checkpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import papermill

    # The kernel inherits this environment: nothing may reach the network.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "false")
    output = tmp_path / f"{name}.ipynb"
    papermill.execute_notebook(
        str(NOTEBOOKS / f"{name}.ipynb"),
        str(output),
        parameters={"MODEL": tiny_checkpoint, "DEVICE": "cpu", "MAX_NEW_TOKENS": 32},
        cwd=str(NOTEBOOKS),
        kernel_name="python3",
        progress_bar=False,
        execution_timeout=600,
    )
    executed = nbformat.read(output, as_version=4)
    assert _value(executed, "routes") == EXPECTED_ROUTES
    hits = _value(executed, "retrieved-pages")
    assert len(hits) == 3
    assert hits[0][:2] == EXPECTED_HIT
    # Each hit cites the page its text comes from: the words it starts with (the last one
    # may be cut) are words of that page's text layer.
    for file_name, page_number, start in hits:
        with pymupdf.open(SAMPLES / file_name) as pdf:
            page_words = set(_WORD.findall(pdf[page_number - 1].get_text()))
        assert set(_WORD.findall(start)[:-1]) <= page_words, (file_name, page_number, start)
    printed = "".join(
        output.get("text", "") for cell in executed.cells for output in cell.get("outputs", [])
    )
    assert "Traceback" not in printed


def _value(notebook: nbformat.NotebookNode, tag: str) -> Any:
    """The value the cell tagged ``tag`` displayed, as a Python literal."""
    (result,) = _tagged(notebook, tag).outputs
    return ast.literal_eval(result["data"]["text/plain"])


def _make_samples() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_samples", NOTEBOOKS / "make_samples.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _routes(path: Path) -> list[tuple[str, str]]:
    """How ``strategy="auto"`` routes each page of ``path``, judged without any engine."""
    source = open_document(SourceDocument.from_input(path), OCRTask(), strategy=Strategy.AUTO)
    try:
        pages = [source.render(index) for index in source.indices(None)]
    finally:
        source.close()
    return [(page.route.route.value, page.route.reason.value) for page in pages]


def test_the_committed_samples_are_what_the_script_writes(tmp_path: Path) -> None:
    written = {path.name: path for path in _make_samples().write_samples(tmp_path)}
    assert sorted(written) == ["paper.pdf", "scan.pdf"]
    for name, fresh in written.items():
        committed = SAMPLES / name
        assert committed.stat().st_size < 200_000, "samples stay small"
        with pymupdf.open(committed) as old, pymupdf.open(fresh) as new:
            assert old.page_count == new.page_count
            for old_page, new_page in zip(old, new, strict=True):
                assert old_page.get_text() == new_page.get_text()
                # The scan's JPEG bytes depend on the Pillow build; its picture must not.
                before, after = (
                    Image.frombytes("L", (p.width, p.height), p.samples)
                    for p in (
                        page.get_pixmap(dpi=50, colorspace=pymupdf.csGRAY)
                        for page in (old_page, new_page)
                    )
                )
                assert max(ImageStat.Stat(ImageChops.difference(before, after)).mean) < 3


def test_the_samples_exercise_both_routes_under_auto() -> None:
    assert _routes(SAMPLES / "paper.pdf") == [
        ("text", "text_layer"),
        ("ocr", "math"),
        ("text", "text_layer"),
    ]
    assert _routes(SAMPLES / "scan.pdf") == [("ocr", "no_text")]
