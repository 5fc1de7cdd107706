"""Golden cases: realistic GOT formatted outputs and the Markdown we make of them.

Each ``tests/data/got_markdown/<case>.got`` is one raw GOT output (see SOURCES.md there for
what each models and where the style comes from); ``<case>.md`` is the reviewed Markdown.
After a deliberate change, regenerate with ``GOT_REGENERATE_GOLDEN=1 pytest`` and review
the diff; the suite fails while the flag is on so it cannot stay on by mistake.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from got_model.markdown import BlockKind, Table, convert

from .commonmark import parse

DATA = Path(__file__).parents[1] / "data" / "got_markdown"
CASES = sorted(DATA.glob("*.got"))
REGENERATE = os.environ.get("GOT_REGENERATE_GOLDEN") == "1"


def test_regeneration_flag_is_off() -> None:
    assert not REGENERATE, "GOT_REGENERATE_GOLDEN=1 rewrites the expected files; unset it"


def test_the_corpus_is_there() -> None:
    assert len(CASES) >= 25


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_golden_markdown(case: Path) -> None:
    markdown = convert(case.read_text(encoding="utf-8")).markdown
    expected = case.with_suffix(".md")
    if REGENERATE:
        expected.write_text(markdown, encoding="utf-8")
    assert markdown == expected.read_text(encoding="utf-8")


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_markdown_parses_as_the_blocks_say(case: Path) -> None:
    """A CommonMark + GFM parser finds the headings, tables, math and code we emitted."""
    output = convert(case.read_text(encoding="utf-8"))
    tokens = parse(output.markdown)
    types = [t.type for t in tokens]
    kinds = [b.kind for b in output.blocks]
    headings = [int(t.tag[1]) for t in tokens if t.type == "heading_open"]
    assert headings == [b.level for b in output.blocks if b.kind is BlockKind.HEADING]  # type: ignore[union-attr]
    tables = [b for b in output.blocks if isinstance(b, Table)]
    assert types.count("table_open") == sum(not t.has_spans for t in tables)
    html = [t for t in tokens if t.type == "html_block"]
    assert len(html) == sum(t.has_spans for t in tables)
    assert all(t.content.startswith("<table>") for t in html)
    assert types.count("math_block") == kinds.count(BlockKind.FORMULA)
    assert types.count("fence") == kinds.count(BlockKind.CODE)
    labelled = [b for b in output.blocks if b.kind is BlockKind.FOOTNOTE and b.label]  # type: ignore[union-attr]
    assert types.count("footnote_open") == len(labelled)
    assert types.count("list_item_open") == kinds.count(BlockKind.LIST_ITEM)
