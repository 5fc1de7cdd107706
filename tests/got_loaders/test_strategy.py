"""strategy="ocr" | "text" | "auto": which pages reach GOT, which are read from their text layer,
and what each says about its route, in the pipeline, every adapter and got-ocr."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pymupdf
import pytest

from got_loaders import cli
from got_loaders.cli import engine as command_engine
from got_loaders.errors import PageRenderError, UnsupportedFormatError
from got_loaders.pipeline import PagePipeline, PageResult
from got_loaders.sources.text_layer import (
    LayerStats,
    Route,
    RouteReason,
    Strategy,
    judge,
)
from got_loaders.sources.text_math import MathEvidence
from got_model import FORMATTED, ResultCache
from got_model.markdown import Heading, ListItem, Paragraph, Table
from tests.got_loaders.samples import FakeEngine, make_image
from tests.got_loaders.text_pdfs import (
    PARAGRAPH,
    born_digital,
    coloured,
    make_text_pdf,
    math_page,
    ocr_layer,
    scanned,
    scanned_with_stamp,
    shifted,
    shifted_text,
    table_page,
    unicode_page,
)


def read(
    data: bytes | list[Any], strategy: str, engine: FakeEngine | None = None, **options: Any
) -> list[PageResult]:
    pipeline = PagePipeline(engine or FakeEngine(), FORMATTED, strategy=strategy, **options)
    return list(pipeline.run(data if isinstance(data, list) else [data]))


def routes(results: list[PageResult]) -> list[tuple[str, str]]:
    return [(r.route.route.value, r.route.reason.value) for r in results]


@pytest.mark.parametrize(
    ("kind", "route", "reason"),
    [
        (born_digital, Route.TEXT, RouteReason.TEXT_LAYER),
        (scanned, Route.OCR, RouteReason.NO_TEXT),
        (scanned_with_stamp, Route.OCR, RouteReason.IMAGES),
        (ocr_layer(PARAGRAPH + " " + PARAGRAPH), Route.TEXT, RouteReason.OCR_LAYER),
        (ocr_layer(shifted(PARAGRAPH + " " + PARAGRAPH)), Route.OCR, RouteReason.GARBLED),
        (shifted_text, Route.OCR, RouteReason.GARBLED),
        (math_page, Route.OCR, RouteReason.MATH),
        (table_page, Route.OCR, RouteReason.TABLE),
        (coloured, Route.OCR, RouteReason.NO_TEXT),
    ],
    ids=lambda value: getattr(value, "__name__", str(value)),
)
def test_auto_routes_each_kind_of_page(
    kind: Callable[..., None], route: Route, reason: RouteReason
) -> None:
    engine = FakeEngine()
    [result] = read(make_text_pdf([kind]), "auto", engine)
    assert (result.route.route, result.route.reason) == (route, reason)
    assert (result.result is None) == (route is Route.TEXT)
    assert (result.page.image is None) == (route is Route.TEXT)  # a text page is not rendered
    assert sum(map(len, engine.batches)) == (route is Route.OCR)


@pytest.mark.parametrize("angle", [90, 180, 270])
def test_rotated_pages_route_as_upright_ones(angle: int) -> None:
    def rotated(kind: Callable[..., None]) -> Callable[[Any, int], None]:
        def draw(page: Any, number: int = 1) -> None:
            kind(page, number)
            page.set_rotation(angle)

        return draw

    kinds = [scanned_with_stamp, born_digital, ocr_layer(PARAGRAPH + " " + PARAGRAPH)]
    results = read(make_text_pdf([rotated(kind) for kind in kinds]), "auto")
    assert routes(results) == [("ocr", "images"), ("text", "text_layer"), ("text", "ocr_layer")]


def test_a_layer_whose_fonts_lost_their_character_maps_is_garbled() -> None:
    data = make_text_pdf([unicode_page(PARAGRAPH)], broken_fonts=True)
    [text_result] = read(data, "text")
    assert PARAGRAPH[:20] not in text_result.converted.markdown  # what strategy="text" gets
    [result] = read(data, "auto")
    assert routes([result]) == [("ocr", "garbled")]
    [intact] = read(make_text_pdf([unicode_page(PARAGRAPH)]), "auto")
    assert routes([intact]) == [("text", "text_layer")]
    assert PARAGRAPH[:40] in intact.converted.markdown


def test_a_mixed_pdf_sends_only_the_pages_that_need_it_to_the_engine() -> None:
    # Pages 2 and 4 have no text: the fake engine reads their colour back as (0, 1) and (0, 3).
    kinds = [born_digital, coloured, born_digital, coloured, born_digital]
    engine = FakeEngine()
    results = read(make_text_pdf(kinds), "auto", engine, batch_size=4)
    assert [r.page.number for r in results] == [1, 2, 3, 4, 5]
    assert [p for batch in engine.batches for p in batch] == [(0, 1), (0, 3)]
    assert routes(results) == [
        ("text", "text_layer"),
        ("ocr", "no_text"),
        ("text", "text_layer"),
        ("ocr", "no_text"),
        ("text", "text_layer"),
    ]
    assert results[1].converted.markdown == results[1].result.markdown  # type: ignore[union-attr]
    assert "Text of page 2." in results[1].converted.markdown
    assert results[2].converted.markdown.startswith("# Annual Report 3\n")


def test_the_text_route_gives_headings_paragraphs_lists_and_joined_hyphens() -> None:
    [result] = read(make_text_pdf([born_digital]), "text")
    blocks = result.converted.blocks
    assert [type(b) for b in blocks] == [Heading, Heading, Paragraph, Paragraph, *[ListItem] * 4]
    assert [(b.level, b.text) for b in blocks[:2]] == [  # type: ignore[union-attr]
        (1, "Annual Report 1"),
        (2, "Introduction"),
    ]
    assert blocks[2].text == PARAGRAPH
    assert "a hyphenated word" in blocks[3].text
    items = [b for b in blocks if isinstance(b, ListItem)]
    assert [(i.number, i.text) for i in items] == [
        (None, "first point of the list"),
        (None, "second point of the list"),
        (1, "step one is numbered"),
        (2, "step two follows it"),
    ]
    assert result.converted.markdown.startswith("# Annual Report 1\n\n## Introduction\n\n")
    assert "- first point of the list\n" in result.converted.markdown
    assert result.raw.splitlines()[:2] == ["Annual Report 1", "Introduction"]  # as extracted


def test_the_text_route_reads_a_ruled_table_into_cells_once() -> None:
    [result] = read(make_text_pdf([table_page]), "text")
    kinds = [type(b) for b in result.converted.blocks]
    assert kinds == [Heading, Paragraph, Table, Paragraph]  # the table where it stands
    table = result.converted.blocks[2]
    assert isinstance(table, Table)
    assert [[cell.text for cell in row] for row in table.rows] == [
        ["Model", "Pages/s", "Errors"],
        ["GOT", "12.5", "3"],
        ["Text", "450", "0"],
        ["Auto", "88", "1"],
    ]
    markdown = result.converted.markdown
    assert "| GOT | 12.5 | 3 |" in markdown
    assert markdown.count("450") == 1  # the cells are not read again as a paragraph


def test_a_rotated_page_s_table_is_read_once_as_a_table() -> None:
    def rotated(page: Any, number: int = 1) -> None:
        table_page(page, number)
        page.set_rotation(90)

    [result] = read(make_text_pdf([rotated]), "text")
    [table] = [b for b in result.converted.blocks if isinstance(b, Table)]
    cells = sorted(cell.text for row in table.rows for cell in row)
    expected = ["Model", "Pages/s", "Errors", "GOT", "12.5", "3", "Text", "450", "0", "Auto"]
    assert cells == sorted([*expected, "88", "1"])
    assert result.converted.markdown.count("450") == 1
    [auto] = read(make_text_pdf([rotated]), "auto")
    assert routes([auto]) == [("ocr", "table")]


def lines_page(lines: list[tuple[str, float]]) -> Callable[[Any, int], None]:
    """One text block: each line in Helvetica at its size, 14 pt apart."""

    def draw(page: Any, number: int = 1) -> None:
        writer = pymupdf.TextWriter(page.rect)
        y = 100.0
        for text, size in lines:
            writer.append((72, y), text, font=pymupdf.Font("helv"), fontsize=size)
            y += 14
        writer.write_text(page)

    return draw


def test_a_wrapped_sentence_is_not_a_list_and_a_drop_cap_is_not_a_heading() -> None:
    wrapped = lines_page(
        [
            ("Der Vertrag wurde von beiden Parteien unterzeichnet am", 11),
            ("12. M\u00e4rz 2024 in Berlin und tritt sofort in Kraft.", 11),
        ]
    )
    [result] = read(make_text_pdf([wrapped]), "auto")
    assert routes([result]) == [("text", "text_layer")]
    assert [type(b) for b in result.converted.blocks] == [Paragraph]
    assert "unterzeichnet am 12. M\u00e4rz 2024" in result.converted.blocks[0].text
    capped = lines_page([("T", 30), ("his paragraph opens with a large letter, and", 11)])
    capped_more = lines_page([("T", 30), *[("then goes on in its body size for a while", 11)] * 3])
    for kind in (capped, capped_more):
        [result] = read(make_text_pdf([kind]), "text")
        assert not any(isinstance(b, Heading) for b in result.converted.blocks), kind


def test_printed_page_numbers_in_the_margins_are_left_out_of_the_blocks() -> None:
    def numbered(angle: int) -> Callable[[Any, int], None]:
        def draw(page: Any, number: int = 1) -> None:
            born_digital(page, number)
            page.insert_text((280, 40), f"Page {number} of 9", fontsize=9)  # header band
            page.insert_text((300, 770), f"- {number + 40} -", fontsize=9)  # footer band
            page.insert_text((300, 400), "42", fontsize=11)  # a number in the body
            page.insert_text((300, 745), "xiv", fontsize=9)
            page.set_rotation(angle)

        return draw

    upright, turned = read(make_text_pdf([numbered(0), numbered(90)]), "text")
    texts = [block.text for block in upright.converted.blocks]  # type: ignore[union-attr]
    assert not any("of 9" in text or "41" in text or text == "xiv" for text in texts), texts
    assert "42" in texts
    assert texts[:2] == ["Annual Report 1", "Introduction"]
    for furniture in ("Page 1 of 9", "- 41 -", "xiv"):
        assert furniture in upright.raw.splitlines()  # the raw layer keeps what the PDF holds
    # Turned a quarter, the same lines run down the page's sides: they are not in its margins.
    turned_texts = [block.text for block in turned.converted.blocks]  # type: ignore[union-attr]
    assert "Page 2 of 9" in turned_texts
    assert any(text.endswith("42 -") for text in turned_texts)  # read as a list item, "42 -"


def test_leaders_and_capitals_are_not_garbled_and_cjk_lines_join_without_spaces() -> None:
    contents = "\n".join(f"Chapter {n} {'.' * 40} {n * 7}" for n in range(1, 25))
    parts = "\n".join(f"PN-{n:04d} XTRM BRKT SCRW HX {n}" for n in range(30))
    chinese = unicode_page("\u6587\u6863\u5904\u7406" * 40)  # wraps mid-text
    results = read(make_text_pdf([unicode_page(contents), unicode_page(parts), chinese]), "auto")
    assert routes(results) == [("text", "text_layer")] * 3
    assert " " not in results[2].converted.text


def test_strategy_text_never_calls_the_engine_and_leaves_scans_empty() -> None:
    engine = FakeEngine()
    results = read(make_text_pdf([born_digital, scanned, math_page]), "text", engine)
    assert engine.batches == []
    assert routes(results) == [("text", "strategy")] * 3
    assert results[1].converted.markdown == ""
    assert "\u222b f(x) dx" in results[2].converted.markdown  # the symbols, as the layer has them


def test_strategy_ocr_is_the_default_and_reads_no_text_layer() -> None:
    engine = FakeEngine()
    pipeline = PagePipeline(engine, FORMATTED)
    assert pipeline.strategy is Strategy.OCR
    results = list(pipeline.run([make_text_pdf([born_digital, coloured])]))
    assert routes(results) == [("ocr", "strategy")] * 2
    assert all(r.page.text_layer is None and r.result is not None for r in results)
    assert sum(map(len, engine.batches)) == 2


def test_an_unknown_strategy_names_the_accepted_ones() -> None:
    with pytest.raises(ValueError, match="strategy must be one of 'ocr', 'text', 'auto'"):
        PagePipeline(FakeEngine(), FORMATTED, strategy="fast")


def test_images_go_to_the_engine_in_auto_and_are_refused_by_text() -> None:
    image = make_image("PNG")
    [result] = read(image, "auto")
    assert routes([result]) == [("ocr", "image_file")]
    with pytest.raises(UnsupportedFormatError, match="an image has none") as caught:
        read(image, "text")
    assert caught.value.source.startswith("bytes:")
    # With on_error="skip" the PDF after the image is still read.
    results = read([image, make_text_pdf([born_digital])], "text", on_error="skip")
    assert routes(results) == [("text", "strategy")]


def test_a_text_layer_that_cannot_be_read_goes_to_the_engine_in_auto(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from got_loaders.sources import text_document, text_layer

    def broken(pdf_page: Any) -> list[Any]:
        raise RuntimeError("MuPDF choked on the text")

    monkeypatch.setattr(text_layer, "page_spans", broken)
    monkeypatch.setattr(text_document, "page_spans", broken)
    data = make_text_pdf([born_digital, born_digital])
    assert routes(read(data, "auto")) == [("ocr", "text_error")] * 2
    # With strategy="text" it is the page's error, named, and the other pages go on.
    with pytest.raises(PageRenderError, match="Cannot read the page") as caught:
        read(data, "text")
    assert caught.value.page == 1
    skipped: list[Any] = []
    pipeline = PagePipeline(FakeEngine(), FORMATTED, strategy="text", on_error="skip")
    assert list(pipeline.run([data], on_skip=skipped.append)) == []
    assert [error.page for error in skipped] == [1, 2]


def test_text_pages_stay_out_of_the_result_cache(tmp_path: Path) -> None:
    data = make_text_pdf([born_digital, coloured])
    with ResultCache(tmp_path / "cache.sqlite") as cache:
        first = read(data, "auto", cache=cache)
        assert cache.info().entries == 1  # the page read by the engine
        again = read(data, "auto", cache=cache)
    assert [r.cached for r in first] == [False, False]
    assert [r.cached for r in again] == [False, True]
    assert again[0].route.route is Route.TEXT


@pytest.mark.parametrize(
    ("stats", "reason"),
    [
        (LayerStats(), RouteReason.NO_TEXT),
        (LayerStats(chars=100, letters=90, image_share=0.9, over_images=99), RouteReason.IMAGES),
        (LayerStats(chars=500, letters=450, image_share=0.9, over_images=500), None),
        (LayerStats(chars=100, letters=95, bad=5), RouteReason.GARBLED),
        (LayerStats(chars=100, letters=95, bad=4), None),
        (LayerStats(chars=100, letters=49), RouteReason.GARBLED),
        (LayerStats(chars=100, letters=40, leaders=30), None),  # a table of contents' dots
        (LayerStats(chars=100, letters=90, words=20, vowelless=6), RouteReason.GARBLED),
        (LayerStats(chars=100, letters=90, words=20, vowelless=5), None),
        (LayerStats(chars=100, letters=90, words=19, vowelless=19), None),  # too few to judge
        (
            LayerStats(chars=100, letters=90, math=MathEvidence(formulas=1, structured=1)),
            RouteReason.MATH,
        ),
        (LayerStats(chars=100, letters=90, math=MathEvidence(formulas=2)), None),  # x <= y
        (LayerStats(chars=100, letters=90, math=MathEvidence(garbled_math=1)), RouteReason.MATH),
        (LayerStats(chars=100, letters=90, invisible=50), RouteReason.OCR_LAYER),
    ],
)
def test_the_judgement_thresholds(stats: LayerStats, reason: RouteReason | None) -> None:
    assert judge(stats) is (reason or RouteReason.TEXT_LAYER)


# --- the adapters and got-ocr ------------------------------------------------------------------

MIXED = [born_digital, coloured, born_digital]


@pytest.fixture
def mixed_pdf(tmp_path: Path) -> Path:
    path = tmp_path / "mixed.pdf"
    path.write_bytes(make_text_pdf(MIXED))
    return path


def test_langchain_loader_and_parser_say_each_page_s_route(mixed_pdf: Path) -> None:
    from langchain_community.document_loaders.generic import GenericLoader

    from got_loaders.langchain import GOTParser, GOTPDFLoader

    engine = FakeEngine()
    docs = GOTPDFLoader(mixed_pdf, engine=engine, strategy="auto").load()
    assert [(d.metadata["route"], d.metadata["route_reason"]) for d in docs] == [
        ("text", "text_layer"),
        ("ocr", "no_text"),
        ("text", "text_layer"),
    ]
    # Only the page the model read has ocr_* keys: no model, task or finish reason elsewhere.
    assert [d.metadata.get("ocr_generated_tokens") for d in docs] == [None, 8, None]
    assert docs[0].page_content.startswith("# Annual Report 1\n")
    assert sum(map(len, engine.batches)) == 1
    [single] = GOTPDFLoader(mixed_pdf, engine=engine, strategy="auto", mode="single").load()
    assert (single.metadata["route"], single.metadata["text_layer_pages"]) == ("mixed", 2)
    assert single.page_content.count("# Annual Report") == 2
    loader = GenericLoader.from_filesystem(
        mixed_pdf.parent, glob="*.pdf", parser=GOTParser(engine=engine, strategy="text")
    )
    assert [d.metadata["route"] for d in loader.load()] == ["text"] * 3


def test_llamaindex_reader_takes_the_strategy_as_a_setting(mixed_pdf: Path) -> None:
    from got_loaders.llamaindex import GOTReader

    reader = GOTReader(engine=FakeEngine(), strategy="auto")
    assert reader.strategy is Strategy.AUTO
    assert GOTReader.from_dict(reader.to_dict()).strategy is Strategy.AUTO
    docs = reader.load_data(mixed_pdf)
    assert [d.metadata["route"] for d in docs] == ["text", "ocr", "text"]
    assert docs[1].metadata["route_reason"] == "no_text"
    assert "route" in docs[0].excluded_embed_metadata_keys  # not embedded with the text
    with pytest.raises(ValueError, match="strategy"):
        GOTReader(strategy="sometimes")


def test_partition_got_takes_our_strategies_and_unstructured_s_names(mixed_pdf: Path) -> None:
    from got_loaders.unstructured import partition_got

    engine = FakeEngine()
    elements = partition_got(str(mixed_pdf), engine=engine, strategy="fast")  # = "text"
    assert engine.batches == []
    assert {e.metadata.routing for e in elements} == {"text"}
    assert (elements[0].category, elements[0].text) == ("Title", "Annual Report 1")
    elements = partition_got(str(mixed_pdf), engine=engine, strategy="auto")
    by_page = {e.metadata.page_number: e.metadata for e in elements}
    assert (by_page[2].routing, by_page[2].route_reason) == ("ocr", "no_text")
    assert (by_page[3].routing, by_page[3].route_reason) == ("text", "text_layer")
    assert elements[0].to_dict()["metadata"]["route_reason"] == "text_layer"


@pytest.fixture
def cli_engine(monkeypatch: pytest.MonkeyPatch) -> FakeEngine:
    fake = FakeEngine()
    monkeypatch.setattr(command_engine, "shared_engine", lambda model, **settings: fake)
    return fake


def test_got_ocr_strategy(
    mixed_pdf: Path, tmp_path: Path, cli_engine: FakeEngine, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    argv = ["convert", str(mixed_pdf), "-o", str(out), "-f", "jsonl", "--no-cache"]
    assert cli.main([*argv, "--strategy", "auto"]) == 0
    records = [json.loads(line) for line in (out / "mixed.jsonl").read_text().splitlines()]
    assert [r["metadata"]["route"] for r in records] == ["text", "ocr", "text"]
    assert records[0]["text"].startswith("# Annual Report 1")
    assert "2 from the text layer" in capsys.readouterr().err
    assert sum(map(len, cli_engine.batches)) == 1
    with pytest.raises(SystemExit):
        cli.main([*argv, "--strategy", "sometimes"])
    assert "invalid choice: 'sometimes'" in capsys.readouterr().err


def test_strategy_text_needs_no_weights(
    mixed_pdf: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from got_loaders.langchain import GOTPDFLoader
    from got_model import GOTEngine

    missing = str(tmp_path / "no-such-model")
    engine = GOTEngine(missing, device="cpu")
    docs = GOTPDFLoader(mixed_pdf, engine=engine, strategy="text").load()
    assert [d.metadata["route"] for d in docs] == ["text"] * 3
    assert not engine.is_loaded
    argv = ["convert", str(mixed_pdf), "--strategy", "text", "--model", missing, "--no-cache"]
    assert cli.main(argv) == 0
    assert capsys.readouterr().out.startswith("# Annual Report 1\n")
