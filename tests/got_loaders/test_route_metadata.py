"""What the ``ocr_*`` metadata says when some pages never reach the model.

A page read from its text layer has no model, task or finish reason: in the loaders and in
``got-ocr``'s JSONL it has no ``ocr_*`` keys (``route`` and ``route_reason`` say how it was read);
a Document of several pages reports on the pages the model read only. Ray's rows keep a fixed
schema: there the same columns are empty (and 0 tokens) on rows no model read.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from got_loaders import cli
from got_loaders.cli import engine as command_engine
from got_loaders.content import ocr_metadata
from got_model import FORMATTED, FinishReason, OCRRequest, OCRResult
from tests.got_loaders.samples import FakeEngine, read_colour
from tests.got_loaders.text_pdfs import born_digital, coloured, make_text_pdf

OCR_KEYS = {"ocr_model", "ocr_task", "ocr_finish_reason", "ocr_generated_tokens"}
ROUTES = ["text", "ocr", "text", "ocr"]
"""The pages of ``mixed_pdf`` under ``strategy="auto"``; the fake engine reads pages 1 and 3
(0-based), answering ``7 + page`` tokens."""


class CutEngine(FakeEngine):
    """A fake engine whose output for the pages in ``cut`` stops at ``max_new_tokens``."""

    def __init__(self, cut: Sequence[tuple[int, int]] = ()) -> None:
        super().__init__()
        self.cut = set(cut)

    def recognize_batch(self, requests: Sequence[OCRRequest]) -> list[OCRResult]:
        results = super().recognize_batch(requests)
        return [
            dataclasses.replace(result, finish_reason=FinishReason.LENGTH)
            if read_colour(request.images[0]) in self.cut
            else result
            for request, result in zip(requests, results, strict=True)
        ]


@pytest.fixture
def mixed_pdf(tmp_path: Path) -> Path:
    path = tmp_path / "mixed.pdf"
    path.write_bytes(make_text_pdf([born_digital, coloured, born_digital, coloured]))
    return path


def assert_flat(metadata: dict[str, Any]) -> None:
    assert all(isinstance(value, (str, int, float, bool)) for value in metadata.values())


def result(reason: FinishReason, tokens: int) -> OCRResult:
    return OCRResult("x", reason, tokens, 0.0, FORMATTED)


def test_ocr_keys_describe_only_the_results_the_model_gave() -> None:
    assert ocr_metadata("m", FORMATTED, []) == {}
    assert ocr_metadata("m", FORMATTED, [None, None]) == {}
    mixed = [None, result(FinishReason.STOP, 5), None, result(FinishReason.LENGTH, 9)]
    assert ocr_metadata("m", FORMATTED, mixed) == {
        "ocr_model": "m",
        "ocr_task": "formatted",
        "ocr_finish_reason": "length",
        "ocr_generated_tokens": 14,
    }


def test_langchain_text_pages_carry_no_ocr_keys(mixed_pdf: Path) -> None:
    from got_loaders.langchain import GOTPDFLoader

    docs = GOTPDFLoader(mixed_pdf, engine=CutEngine(cut=[(0, 3)]), strategy="auto").load()
    assert [d.metadata["route"] for d in docs] == ROUTES
    for doc in docs:
        assert_flat(doc.metadata)
        keys = OCR_KEYS & set(doc.metadata)
        assert keys == (OCR_KEYS if doc.metadata["route"] == "ocr" else set())
    assert docs[0].metadata["route_reason"] == "text_layer"
    assert [docs[i].metadata["ocr_finish_reason"] for i in (1, 3)] == ["stop", "length"]
    assert [docs[i].metadata["ocr_generated_tokens"] for i in (1, 3)] == [8, 10]


def test_langchain_single_mode_reports_the_pages_the_model_read(mixed_pdf: Path) -> None:
    from got_loaders.langchain import GOTPDFLoader

    engine = CutEngine(cut=[(0, 3)])
    [mixed] = GOTPDFLoader(mixed_pdf, engine=engine, strategy="auto", mode="single").load()
    assert_flat(mixed.metadata)
    assert (mixed.metadata["route"], mixed.metadata["text_layer_pages"]) == ("mixed", 2)
    assert mixed.metadata["ocr_model"] == "fake/got"
    assert mixed.metadata["ocr_finish_reason"] == "length"  # the worst of the OCR pages
    assert mixed.metadata["ocr_generated_tokens"] == 8 + 10
    [text] = GOTPDFLoader(mixed_pdf, engine=engine, strategy="text", mode="single").load()
    assert text.metadata["route"] == "text"
    assert not OCR_KEYS & set(text.metadata)


def test_llamaindex_text_pages_carry_no_ocr_keys(mixed_pdf: Path) -> None:
    from got_loaders.llamaindex import GOTReader

    reader = GOTReader(engine=CutEngine(cut=[(0, 1)]), strategy="auto")
    docs = reader.load_data(mixed_pdf)
    assert [d.metadata["route"] for d in docs] == ROUTES
    for doc in docs:
        assert_flat(doc.metadata)
        keys = OCR_KEYS & set(doc.metadata)
        assert keys == (OCR_KEYS if doc.metadata["route"] == "ocr" else set())
    assert docs[1].metadata["ocr_finish_reason"] == "length"
    reader = GOTReader(engine=CutEngine(cut=[(0, 1)]), strategy="auto", return_full_document=True)
    [whole] = reader.load_data(mixed_pdf)
    assert (whole.metadata["ocr_finish_reason"], whole.metadata["ocr_generated_tokens"]) == (
        "length",
        8 + 10,
    )
    reader = GOTReader(engine=FakeEngine(), strategy="text", return_full_document=True)
    [text] = reader.load_data(mixed_pdf)
    assert not OCR_KEYS & set(text.metadata)


def test_got_ocr_jsonl_text_pages_carry_no_ocr_keys(
    mixed_pdf: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(command_engine, "shared_engine", lambda model, **settings: FakeEngine())
    out = tmp_path / "out"
    argv = ["convert", str(mixed_pdf), "-o", str(out), "-f", "jsonl", "--no-cache"]
    assert cli.main([*argv, "--strategy", "auto"]) == 0
    lines = (out / "mixed.jsonl").read_text().splitlines()
    metadata = [json.loads(line)["metadata"] for line in lines]
    assert [m["route"] for m in metadata] == ROUTES
    assert [OCR_KEYS & set(m) for m in metadata] == [set(), OCR_KEYS, set(), OCR_KEYS]
    assert [m.get("ocr_finish_reason") for m in metadata] == [None, "stop", None, "stop"]


def test_ray_rows_keep_every_column_empty_where_no_model_read(mixed_pdf: Path) -> None:
    """The two stages of ``read_documents``, run in this process without Ray."""
    pandas = pytest.importorskip("pandas")
    from got_loaders.content import PageContent
    from got_loaders.ray import PAGE_COLUMNS, _PageReader, _Renderer
    from got_loaders.sources.text_layer import Strategy

    render = _Renderer(
        task=FORMATTED,
        content=PageContent.MARKDOWN,
        strategy=Strategy.AUTO,
        pages=None,
        password=None,
        max_pages=None,
        max_pixels=None,
        model_id="fake/got",
    )
    rendered = [*render({"path": str(mixed_pdf)}), *render({"path": str(mixed_pdf) + ".gone"})]
    reader = _PageReader(
        engine=CutEngine(cut=[(0, 3)]),
        task=FORMATTED,
        content=PageContent.MARKDOWN,
        batch_size=4,
        cache=None,
    )
    rows = reader(pandas.DataFrame(rendered)).to_dict("records")
    assert [set(row) for row in rows] == [set(PAGE_COLUMNS)] * 5  # read_documents orders them
    ocr = [tuple(row[key] for key in PAGE_COLUMNS if key.startswith("ocr_")) for row in rows]
    assert [row["route"] for row in rows] == [*ROUTES, ""]
    assert ocr == [
        ("", "", "", 0),
        ("fake/got", "formatted", "stop", 8),
        ("", "", "", 0),
        ("fake/got", "formatted", "length", 10),
        ("", "", "", 0),  # the missing file: an error row
    ]
    assert "No such file" in rows[4]["error"]
