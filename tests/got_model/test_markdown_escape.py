"""Plain text shown through Markdown reads exactly as written."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from got_model import OutputFormat, to_markdown
from got_model.markdown import convert_plain, escape_markdown

from .commonmark import block_types, visible_text

# Markdown's syntax characters, weighted up so generated text is full of them.
SYNTAX = "#*_|`[]()<>!&$~\\-+=.:;'\"^{}/@0123456789 "
TEXT = st.text(alphabet=st.sampled_from([*SYNTAX, *"abcXYZé中 \t", "\n"]), max_size=80)


def expected_visible(text: str) -> str:
    """What a reader should see: paragraphs at blank lines, lines without outer blanks."""
    paragraphs = []
    for part in re.split(r"\n[ \t]*\n\s*", text):
        lines = [line.strip(" \t") for line in part.strip().split("\n")]
        if any(lines):
            paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs)


# The machine's speed varies a lot; generation speed is not what these tests are about.
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXT)
def test_plain_text_renders_exactly_as_written(text: str) -> None:
    markdown = convert_plain(text).markdown
    assert visible_text(markdown) == expected_visible(text)
    assert set(block_types(markdown)) <= {"paragraph_open"}


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("# not a heading", r"\# not a heading"),
        ("* not a list", r"\* not a list"),
        ("1. not a list", r"1\. not a list"),
        ("a | b", r"a \| b"),
        ("snake_case_name", "snake_case_name"),
        ("__init__", r"\_\_init\_\_"),
        ("[link](url)", r"[link\](url)"),
        ("5 * 3 = 15", r"5 \* 3 = 15"),
        ("costs $5", r"costs \$5"),
        ("<div>", r"\<div>"),
    ],
)
def test_escapes_only_what_would_become_syntax(text: str, escaped: str) -> None:
    assert escape_markdown(text) == escaped


def test_plain_output_keeps_line_breaks_and_splits_paragraphs() -> None:
    text = "First line\nsecond line\n\n\nNext paragraph  \n"
    assert to_markdown(text, OutputFormat.PLAIN) == "First line\nsecond line\n\nNext paragraph\n"
    assert convert_plain(text).text == "First line\nsecond line\n\nNext paragraph"


def test_plain_mode_does_not_read_latex() -> None:
    # Plain output is text, even when it looks like GOT's formatted markup.
    markdown = to_markdown(r"\section*{Intro} \(x\)", OutputFormat.PLAIN)
    assert visible_text(markdown) == r"\section*{Intro} \(x\)"
