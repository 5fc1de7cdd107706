"""Plain text shown through Markdown reads exactly as written, with few backslashes."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from markdown_it.token import Token

from got_model import OutputFormat, to_markdown
from got_model.markdown import (
    Emphasis,
    Footnote,
    FootnoteRef,
    Heading,
    Inline,
    InlineCode,
    LineBreak,
    Link,
    ListItem,
    MarkdownOutput,
    Math,
    Paragraph,
    Strong,
    Table,
    TableCell,
    Text,
    convert_plain,
    escape_markdown,
)
from got_model.markdown.inline import single_line, to_text

from .commonmark import block_types, parse, visible_text

# Markdown's syntax characters, weighted up so generated text is full of them.
SYNTAX = "#*_|`[]()<>!&$~\\-+=.:;'\"^{}/@0123456789 "
TEXT = st.text(alphabet=st.sampled_from([*SYNTAX, *"abcXYZé中 \t", "\n"]), max_size=80)
# Text inside one line: pieces between math, emphasis and links.
PIECE = st.lists(st.sampled_from([*SYNTAX, *"abXé中 \t", "amp;", "#1;", "a@b"]), max_size=12).map(
    "".join
)
# The settings every generated test here uses: generation speed is not what they are about.
GENERATED = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def expected_visible(text: str) -> str:
    """What a reader should see: paragraphs at blank lines, lines without outer blanks."""
    paragraphs = []
    for part in re.split(r"\n[ \t]*\n\s*", text):
        lines = [line.strip(" \t") for line in part.strip().split("\n")]
        if any(lines):
            paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs)


@GENERATED
@given(TEXT)
def test_plain_text_renders_exactly_as_written(text: str) -> None:
    markdown = convert_plain(text).markdown
    assert visible_text(markdown) == expected_visible(text)
    assert set(block_types(markdown)) <= {"paragraph_open"}


# -- text between our own markup ---------------------------------------------------------

_OUR_TAGS = {"<strong>": "strong", "<em>": "em"}


def _inline_node() -> st.SearchStrategy[Inline]:
    texts = st.lists(PIECE.map(Text), min_size=1, max_size=3)
    return st.one_of(
        PIECE.map(Text),
        PIECE.map(Text),
        st.sampled_from(["x", "a+b", "x_{1}"]).map(Math),
        texts.map(lambda children: Strong(tuple(children))),
        texts.map(lambda children: Emphasis(tuple(children))),
        st.text(alphabet="ab*_` ", max_size=6).map(InlineCode),
        st.builds(Link, st.sampled_from(["https://e.org/a_b", "x y"]), texts.map(tuple)),
        st.sampled_from(["1", "2"]).map(FootnoteRef),
        st.just(LineBreak()),
    )


def _seen(tokens: list[Token]) -> tuple[str, list[str]]:
    """The text a reader sees in one inline token, and the markup it holds, in order."""
    text: list[str] = []
    markup: list[str] = []
    for token in tokens:
        if token.type == "text":
            text.append(token.content)
        elif token.type == "softbreak":
            text.append("\n")
        elif token.type == "code_inline":
            text.append(token.content)
            markup.append("code")
        elif token.type == "math_inline":
            text.append(f"${token.content}$")
            markup.append("math")
        elif token.type == "html_inline" and token.content not in ("</strong>", "</em>"):
            markup.append(_OUR_TAGS.get(token.content, token.content))
        elif token.type in ("strong_open", "em_open", "link_open", "footnote_ref", "image"):
            markup.append(token.type.removesuffix("_open"))
    return "".join(text), markup


def _shows_nothing(node: Inline) -> bool:
    if isinstance(node, Strong | Emphasis):
        return all(_shows_nothing(child) for child in node.children)
    return node == Text("") or (isinstance(node, InlineCode) and not single_line(node.code))


def _expected(nodes: list[Inline], *, one_line: bool) -> tuple[str, list[str]]:
    text: list[str] = []
    markup: list[str] = []
    joined: list[Inline] = []
    for node in nodes:  # code spans side by side read as one
        if _shows_nothing(node):
            continue
        if isinstance(node, InlineCode) and joined and isinstance(joined[-1], InlineCode):
            joined[-1] = InlineCode(joined[-1].code + node.code)
        else:
            joined.append(node)
    for node in joined:
        if isinstance(node, Text):
            text.append(node.text)
        elif isinstance(node, Math):
            text.append(f"${node.latex}$")
            markup.append("math")
        elif isinstance(node, InlineCode):
            if single_line(node.code):
                text.append(single_line(node.code))
                markup.append("code")
        elif isinstance(node, Strong | Emphasis):
            inner = to_text(node.children)
            text.append(inner)
            if inner.strip():
                markup.append("strong" if isinstance(node, Strong) else "em")
        elif isinstance(node, Link):
            text.append(f"\0{to_text(node.children) or node.url}\0")  # kept whole
            markup.append("link")
        elif isinstance(node, FootnoteRef):
            text.append("\0")  # no text, but the paragraph's outer blanks end there
            markup.append("footnote_ref")
        elif isinstance(node, LineBreak):
            text.append("\n")
    # Markdown drops blanks at the ends of lines and of the block.
    shown = "".join(text)
    if one_line:  # headings and list items: line breaks become spaces
        shown = re.sub(r"\s*\n\s*", " ", shown)
    shown = re.sub(r"[ \t]*\n[ \t]*", "\n", shown).strip(" \t\n")
    return shown.replace("\0", ""), markup


@GENERATED
@given(st.lists(_inline_node(), max_size=8), st.sampled_from(["paragraph", "heading", "item"]))
def test_text_between_our_markup_renders_exactly(nodes: list[Inline], kind: str) -> None:
    """Math, emphasis, code, links and footnote marks stay what they are, and the text
    around and inside them reads as written: no stray emphasis, link, image, tag or code."""
    block: Paragraph | Heading | ListItem = Paragraph(tuple(nodes))
    if kind == "heading":
        block = Heading(2, tuple(nodes))
    elif kind == "item":
        block = ListItem(tuple(nodes))
    else:
        assume("\n\n" not in block.markdown)  # two line breaks in a row end a paragraph
    notes = sorted({node.label for node in nodes if isinstance(node, FootnoteRef)})
    output = MarkdownOutput((block, *(Footnote((Text("note"),), label) for label in notes)))
    tokens = parse(output.markdown)
    text, markup = _expected(nodes, one_line=kind != "paragraph")
    if not text and not markup:
        return
    assert tokens[0].type == {"paragraph": "paragraph_open", "heading": "heading_open"}.get(
        kind, "bullet_list_open"
    )
    content = next(token for token in tokens if token.type == "inline")
    # mdit-py-plugins' dollarmath counts the backslashes before a "$" at the paragraph's
    # start from the paragraph's end (a negative index), so "$x$\\\\" is not math there.
    assume(not (content.content.startswith("$") and content.content.endswith("\\")))
    assert _seen(content.children or []) == (text, markup)


@GENERATED
@given(st.lists(st.lists(PIECE, min_size=2, max_size=2), min_size=2, max_size=3))
def test_table_cells_render_exactly(rows: list[list[str]]) -> None:
    table = Table(tuple(tuple(TableCell((Text(cell),)) for cell in row) for row in rows))
    tokens = parse(table.markdown)
    cells = [_seen(t.children or [])[0] for t in tokens if t.type == "inline"]
    assert cells == [cell.strip(" \t") for row in rows for cell in row]


# -- what is escaped, and what is not ----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("# not a heading", r"\# not a heading"),
        ("* not a list", r"\* not a list"),
        ("1. not a list", r"1\. not a list"),
        ("> not a quote", r"\> not a quote"),
        ("a*b*c", r"a\*b*c"),  # escaping the opener is enough: the closer has no partner
        ("__init__", r"\_\_init__"),
        ("*tmp* or ~~old~~", r"\*tmp* or \~\~old~~"),
        ("[link](url)", r"[link\](url)"),
        ("costs $5", r"costs \$5"),
        ("<div>", r"\<div>"),
        ("mail <1@x.org>", r"mail \<1@x.org>"),
        ("&amp; & &#123;", r"\&amp; & \&#123;"),
        ("\\*not emphasis\\*", r"\\\*not emphasis\\*"),
        ("| --- | --- |", r"\| --- | --- |"),  # a table's delimiter row
        ("a\n--|--", "a\n\\--|--"),
        ("a\n *** ", "a\n\\*\\*\\*"),  # a thematic break
        ("a\n ~~~ x", "a\n\\~\\~\\~ x"),  # a code fence
        ("ends in \\", "ends in \\\\"),
        # Left alone: nothing here could be read as syntax.
        ("a | b", "a | b"),
        ("snake_case_name", "snake_case_name"),
        ("5 * 3 = 15 and y ~ x + z", "5 * 3 = 15 and y ~ x + z"),
        ("x[i] <- y[[j]] ; a < b > c", "x[i] <- y[[j]] ; a < b > c"),
        (r"\section{Intro}, C:\R\bin, \n in strings", r"\section{Intro}, C:\R\bin, \n in strings"),
        ("a_1 * b_2, 3.5 - 2 + 1", "a_1 * b_2, 3.5 - 2 + 1"),
        ("2*x repeated, see ~/.Rprofile", "2*x repeated, see ~/.Rprofile"),
        ("the %*% operator", "the %*% operator"),
        ("2*x and %*%", r"2\*x and %*%"),  # an opener, then a run that can close
        ("_R_CHECK_ONLY_=true", r"\_R_CHECK_ONLY_=true"),
    ],
)
def test_escapes_only_what_would_become_syntax(text: str, escaped: str) -> None:
    assert escape_markdown(text) == escaped
    assert visible_text(escaped) == expected_visible(text)


@pytest.mark.parametrize(
    ("nodes", "forbidden"),
    [
        ((Text("Look!"), Link("u", (Text("here"),))), "image"),
        ((Text("<"), Math("x"), Text("@a.org>")), "link_open"),  # an e-mail autolink
        ((Text("a <"), Strong(()), Text("b>")), "html_inline"),
        ((Link("u", (Text("a [b"),)),), "text"),  # the bracket would cut the link short
        ((FootnoteRef("1"), Text("(x)")), "link_open"),  # "[^1](x)" is a link
    ],
)
def test_a_piece_ends_escape_what_the_next_node_could_complete(
    nodes: tuple[Inline, ...], forbidden: str
) -> None:
    tokens = parse(Paragraph(nodes).markdown)[1].children or []
    if forbidden == "text":  # the link holds all of its text
        assert [t.type for t in tokens][:1] == ["link_open"]
    else:
        assert forbidden not in [t.type for t in tokens]


def test_plain_output_keeps_line_breaks_and_splits_paragraphs() -> None:
    text = "First line\nsecond line\n\n\nNext paragraph  \n"
    assert to_markdown(text, OutputFormat.PLAIN) == "First line\nsecond line\n\nNext paragraph\n"
    assert convert_plain(text).text == "First line\nsecond line\n\nNext paragraph"


def test_plain_mode_does_not_read_latex() -> None:
    # Plain output is text, even when it looks like GOT's formatted markup.
    markdown = to_markdown(r"\section*{Intro} \(x\)", OutputFormat.PLAIN)
    assert visible_text(markdown) == r"\section*{Intro} \(x\)"
    assert "\\section" in markdown  # a backslash before a letter needs no escape
