"""GOT's formatted markup becomes Markdown that parses as the structure GOT meant."""

from __future__ import annotations

import unicodedata

import pytest

from got_model.markdown import (
    Alignment,
    BlockKind,
    Code,
    Footnote,
    Formula,
    Heading,
    ListItem,
    Paragraph,
    Table,
    Text,
    convert,
    to_markdown,
)

from .commonmark import block_types, parse, visible_text


def blocks(text: str):  # type: ignore[no-untyped-def]
    return convert(text).blocks


@pytest.mark.parametrize(
    ("command", "level"),
    [
        ("title", 1),
        ("section", 2),
        ("section*", 2),
        ("subsection*", 3),
        ("subsubsection", 4),
        ("paragraph", 5),
    ],
)
def test_sectioning_commands_become_headings_by_level(command: str, level: int) -> None:
    markdown = to_markdown(f"\\{command}{{2.1 Setup}}\nBody text.")
    tokens = parse(markdown)
    assert tokens[0].type == "heading_open"
    assert tokens[0].tag == f"h{level}"
    assert tokens[1].content == "2.1 Setup"
    assert blocks(f"\\{command}{{2.1 Setup}}")[0] == Heading(level, blocks("2.1 Setup")[0].content)


def test_title_spanning_lines_is_one_heading() -> None:
    (heading,) = blocks("\\title{\nGeneral OCR Theory:\nTowards OCR-2.0\n}")
    assert isinstance(heading, Heading)
    assert heading.markdown == "# General OCR Theory: Towards OCR-2.0"


@pytest.mark.parametrize(
    "text",
    [
        "\\title{\nR",  # cut off one letter into the title
        "\\title{\nR\n\\section*{Intro}\n}",  # a brace closed only after a new section
    ],
)
def test_title_cut_off_after_its_brace_keeps_its_heading(text: str) -> None:
    assert blocks(text)[0] == Heading(1, (Text("R"),))


def test_title_brace_followed_by_a_new_block_is_empty() -> None:
    assert blocks("\\title{\n\\section*{Intro}") == (Heading(2, (Text("Intro"),)),)


def test_footnotetext_with_a_note_per_line_keeps_the_notes_apart() -> None:
    text = (
        "Body.\n\\footnotetext{\n\\({ }^{1}\\) The first note.\n\\({ }^{2}\\) The second note.\n}"
    )
    notes = [block for block in blocks(text) if isinstance(block, Footnote)]
    assert [note.text for note in notes] == [
        "${ }^{1}$ The first note.",
        "${ }^{2}$ The second note.",
    ]
    markdown = to_markdown(text)
    assert block_types(markdown) == ["paragraph_open"] * 3  # not one run-together paragraph
    assert visible_text(markdown).split("\n\n")[1:] == [note.text for note in notes]


def test_each_line_is_a_paragraph_and_inline_math_uses_dollars() -> None:
    markdown = to_markdown("Let \\(x_{1}\\) be given.\nThen \\( y \\) follows.")
    assert markdown == "Let $x_{1}$ be given.\n\nThen $y$ follows.\n"
    assert block_types(markdown) == ["paragraph_open", "paragraph_open"]


def test_display_math_is_a_formula_block_even_inside_a_line() -> None:
    result = blocks("Update with \\[ \\theta_{t+1}=\\theta_{t} \\] at each step.")
    assert [type(b) for b in result] == [Paragraph, Formula, Paragraph]
    assert isinstance(result[1], Formula)
    assert result[1].latex == "\\theta_{t+1}=\\theta_{t}"
    markdown = convert("Update with \\[ x \\] at each step.").markdown
    assert block_types(markdown) == ["paragraph_open", "math_block", "paragraph_open"]


def test_math_environment_keeps_its_latex() -> None:
    text = "\\begin{equation*}\na=b \\tag{3}\n\\end{equation*}"
    (formula,) = blocks(text)
    assert formula == Formula(text)
    assert block_types(formula.markdown) == ["math_block"]


def test_simple_tabular_becomes_an_aligned_pipe_table() -> None:
    text = (
        "\\begin{tabular}{|l|c|r|}\n\\hline Name & Score & \\(\\Delta\\) \\\\\n"
        "\\hline A|B & 1 & \\(|x|\\) \\\\\n\\hline\n\\end{tabular}"
    )
    (table,) = blocks(text)
    assert isinstance(table, Table)
    assert table.alignments == (Alignment.LEFT, Alignment.CENTER, Alignment.RIGHT)
    assert not table.has_spans
    assert table.markdown == table.pipe_table
    tokens = parse(table.markdown)
    assert [t.type for t in tokens].count("th_open") == 3
    assert [t.type for t in tokens].count("td_open") == 3  # the pipes in "A|B" and |x| held
    assert "A|B" in visible_text(table.markdown)
    assert "\\vert" in table.markdown  # a pipe in math would split a GFM cell


def test_spanning_cells_make_an_html_table_and_placeholders_are_dropped() -> None:
    text = (
        "\\begin{tabular}{|c|c|c|}\n"
        "\\hline \\multirow{2}{*}{Model} & \\multicolumn{2}{|c|}{Score} \\\\\n"
        "\\cline { 2 - 3 } & EN & ZH \\\\\n"
        "\\hline Ours & 0.1 & 0.2 \\\\\n\\hline\n\\end{tabular}"
    )
    (table,) = blocks(text)
    assert isinstance(table, Table)
    assert [[(c.text, c.rowspan, c.colspan) for c in row] for row in table.rows] == [
        [("Model", 2, 1), ("Score", 1, 2)],
        [("EN", 1, 1), ("ZH", 1, 1)],
        [("Ours", 1, 1), ("0.1", 1, 1), ("0.2", 1, 1)],
    ]
    assert table.markdown == table.html
    assert '<th rowspan="2">Model</th><th colspan="2">Score</th>' in table.html
    assert block_types(table.markdown) == ["html_block"]
    assert table.pipe_table.splitlines()[0] == "| Model | Score |  |"


def test_table_cut_off_keeps_every_row_written() -> None:
    text = (
        "\\begin{tabular}{|l|r|}\n\\hline Year & Count \\\\\n"
        "\\hline 2020 & 12 \\\\\n\\hline 2021 & 1"
    )
    (table,) = blocks(text)
    assert isinstance(table, Table)
    assert not table.complete
    assert [[c.text for c in row] for row in table.rows] == [
        ["Year", "Count"],
        ["2020", "12"],
        ["2021", "1"],
    ]


def test_lists_nest_and_number() -> None:
    text = (
        "\\begin{enumerate}\n\\setcounter{enumi}{3}\n\\item First\n\\begin{itemize}\n"
        "\\item inner\n\\end{itemize}\n\\item[(b)] Labelled\n\\item Second\n\\end{enumerate}"
    )
    result = blocks(text)
    assert result == (
        ListItem(blocks("First")[0].content, depth=0, number=4),
        ListItem(blocks("inner")[0].content, depth=1),
        ListItem(blocks("Labelled")[0].content, depth=0, label="(b)"),
        ListItem(blocks("Second")[0].content, depth=0, number=5),
    )
    markdown = convert(text).markdown
    assert markdown == "4. First\n    - inner\n- (b) Labelled\n5. Second\n"
    tokens = parse(markdown)
    assert [t.type for t in tokens if t.type.endswith("list_open")] == [
        "ordered_list_open",
        "bullet_list_open",
        "bullet_list_open",
        "ordered_list_open",
    ]


def test_bullet_lines_become_list_items_but_task_boxes_stay_text() -> None:
    result = blocks("- Keep vents clear\n• Store dry\n- [ ] todo")
    assert [b.kind for b in result] == [BlockKind.LIST_ITEM] * 3
    markdown = convert("- [ ] todo").markdown
    assert "[ ] todo" in visible_text(markdown)
    assert not any(t.type == "html_inline" for t in parse(markdown))


def test_emphasis_links_and_footnotes() -> None:
    text = (
        "\\textbf{Bold} and \\textit{it} with \\texttt{code}, \\href{https://x.org}{site}"
        " and a note\\footnote{The note.}."
    )
    markdown = to_markdown(text)
    assert markdown == (
        "**Bold** and *it* with `code`, [site](<https://x.org>) and a note[^1].\n\n"
        "[^1]: The note.\n"
    )
    types = [t.type for t in parse(markdown)]
    assert "footnote_block_open" in types
    footnote = convert(text).blocks[-1]
    assert isinstance(footnote, Footnote)
    assert footnote.label == "1"


def test_tikz_kern_smiles_and_unknown_environments_become_fenced_code() -> None:
    tikz = "\\begin{tikzpicture}\n\\draw (0,0) -- (1,1);\n\\end{tikzpicture}"
    assert blocks(tikz) == (Code(tikz, "tikz"),)
    kern = "**kern\t**kern\n*clefF4\t*clefG2\n4F\t4a\n*-\t*-"
    assert blocks(kern) == (Code(kern, "kern"),)
    assert blocks("C[C@H](N)C(=O)O") == (Code("C[C@H](N)C(=O)O", "smiles"),)
    assert blocks("<smiles>c1ccccc1</smiles>") == (Code("c1ccccc1", "smiles"),)
    unknown = "\\begin{mystery}{1}\nkept ```as``` is\n\\end{mystery}"
    (code,) = blocks(unknown)
    assert code == Code(unknown, "latex")
    assert block_types(code.markdown) == ["fence"]
    assert parse(code.markdown)[0].content.rstrip("\n") == unknown


def test_plain_words_are_not_mistaken_for_molecules() -> None:
    for text in ("Hello", "CCO is ethanol", "2024", "COCO"):
        assert all(b.kind is not BlockKind.CODE for b in blocks(text))


def test_text_escapes_and_accents() -> None:
    text = "50\\% of \\$5 \\& more: Caf\\'e, Stra\\ss e, \\{x\\_y\\}, \\textbackslash{} end"
    (paragraph,) = blocks(text)
    assert paragraph.text == "50% of $5 & more: Café, Straße, {x_y}, \\ end"
    assert visible_text(paragraph.markdown) == paragraph.text


def test_unknown_commands_are_kept_as_written() -> None:
    (paragraph,) = blocks("See \\weird[opt]{x}{y} and \\today.")
    assert paragraph.text == "See \\weird[opt]{x}{y} and \\today."


def test_abstract_gets_a_heading_and_its_text() -> None:
    result = blocks("\\begin{abstract}\nWe study X.\n\\end{abstract}")
    assert [b.markdown for b in result] == ["## Abstract", "We study X."]


def test_stray_closing_delimiters_are_plain_text() -> None:
    result = blocks("(C\\) 18 and \\end{itemize} done")
    assert [b.text for b in result] == ["(C) 18 and", "done"]


def test_every_block_kind_renders_text() -> None:
    text = "\\section*{H}\nP\n\\begin{itemize}\n\\item I\n\\end{itemize}\n\\[x\\]\nN\\footnote{F}"
    kinds = [(b.kind, b.text) for b in blocks(text)]
    assert kinds == [
        (BlockKind.HEADING, "H"),
        (BlockKind.PARAGRAPH, "P"),
        (BlockKind.LIST_ITEM, "I"),
        (BlockKind.FORMULA, "x"),
        (BlockKind.PARAGRAPH, "N[1]"),
        (BlockKind.FOOTNOTE, "F"),
    ]


def test_nested_item_after_a_table_is_not_an_indented_code_block() -> None:
    text = (
        "\\begin{itemize}\n\\item \\begin{tabular}{ll} a & b \\\\ \\end{tabular}\n"
        "\\begin{itemize}\n\\item inner\n\\end{itemize}\n\\end{itemize}"
    )
    output = convert(text)
    assert [getattr(b, "depth", None) for b in output.blocks] == [0, None, 1]
    assert "code_block" not in block_types(output.markdown)
    assert "inner" in visible_text(output.markdown)


@pytest.mark.parametrize(
    "text",
    [
        "\\textbf{注意：}请勿拆卸。",  # CJK punctuation inside, a letter outside
        "a\\textbf{(a)}b",
        "\\textbf{50\\%}off",
        "the \\textbf{\\(n\\)}th",
        "\\textbf{a}\\textbf{b}",
        "x \\textit{y} z",
    ],
)
def test_emphasis_always_renders_as_emphasis(text: str) -> None:
    markdown = to_markdown(text)
    children = next(t for t in parse(markdown) if t.type == "inline").children or []
    rendered = "".join(c.content for c in children if c.type == "text")
    assert "*" not in rendered  # no marker left showing as a literal asterisk
    styled = [c for c in children if c.type in ("strong_open", "em_open", "html_inline")]
    assert len(styled) >= text.count("\\text")


def test_a_header_row_span_keeps_the_spanned_row_in_the_header() -> None:
    text = (
        "\\begin{tabular}{|c|c|}\n\\hline \\multirow{2}{*}{A} & B \\\\\n"
        "\\cline{2-2} & C \\\\\n\\hline x & y \\\\\n\\end{tabular}"
    )
    (table,) = blocks(text)
    assert isinstance(table, Table)
    assert "<th>C</th></tr></thead><tbody><tr><td>x</td>" in table.html


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\\begin{itemize}\\item[\\textbf{Step 1:}] Do this\\end{itemize}", "- Step 1: Do this"),
        ("\\texttt{\\textbf{main}()}", "`main()`"),
        ("a \\\\ [1] Smith", "a\n[1] Smith"),
        ("\\footnote{note}: text", "[^1]\\: text\n\n[^1]: note"),
        ("Use 2^[n] bits", "Use 2\\^[n] bits"),
        (
            "\\begin{itemize}\\item \\href{http://x.org}{Site}\\end{itemize}",
            "- [Site](<http://x.org>)",
        ),
        ("\\[E=mc^{2}\\]", "$$\nE=mc^{2}\n$$"),
        ("[Draft]", "[Draft]"),
        ("\\item[(c)]", "- (c)"),
    ],
)
def test_edge_cases_keep_their_text(text: str, expected: str) -> None:
    assert to_markdown(text) == expected + "\n"


def test_span_inside_span_and_empty_placeholders() -> None:
    text = (
        "\\begin{tabular}{ccc}\n\\multicolumn{2}{|c|}{\\multirow{2}{*}{AB}} & C \\\\\n"
        "\\multicolumn{2}{c}{} & D \\\\\n\\end{tabular}"
    )
    (table,) = blocks(text)
    assert isinstance(table, Table)
    assert [[(c.text, c.rowspan, c.colspan) for c in row] for row in table.rows] == [
        [("AB", 2, 2), ("C", 1, 1)],
        [("D", 1, 1)],
    ]


def test_footnote_marked_inside_an_html_table_is_shown_as_text() -> None:
    text = "\\begin{tabular}{cc}\\multicolumn{2}{c}{H\\footnote{Source}}\\\\ a&b\\end{tabular}"
    markdown = to_markdown(text)
    assert markdown.endswith("<sup>1</sup> Source\n")
    assert "Source" in visible_text(markdown)


def test_one_unpaired_delimiter_does_not_swallow_the_page() -> None:
    stray_close = "Option \\(x\nNext line\n\\section*{R}\nAnswer (C\\)"
    assert [b.kind for b in blocks(stray_close)] == [
        BlockKind.PARAGRAPH,
        BlockKind.PARAGRAPH,
        BlockKind.HEADING,
        BlockKind.PARAGRAPH,
    ]
    unclosed_display = "\\[ x \\)\nNext\n\\section*{R}"
    assert [b.kind for b in blocks(unclosed_display)] == [BlockKind.FORMULA, BlockKind.HEADING]
    stray_group = "Values {a\n\\section*{Results}\nend}"
    assert [b.kind for b in blocks(stray_group)][1] is BlockKind.HEADING


def test_every_text_macro_pylatexenc_knows_keeps_its_argument_and_stays_quiet(
    capfd: pytest.CaptureFixture[str],
) -> None:
    from pylatexenc.latex2text import get_default_latex_context_db

    db = get_default_latex_context_db()
    names = {spec.macroname for cat in db.categories() for spec in db.iter_macro_specs([cat])}
    spacing = {"hspace", "vspace"}  # lengths, dropped on purpose
    for name in sorted(n for n in names if n.isalpha() and n not in spacing):
        for text in (f"x \\{name}{{wq}} y", f"x \\{name}{{red}}{{wq}} y", f"x \\{name} wq y"):
            markdown = to_markdown(text)
            # Accents and math alphabets decorate the letters (\\d{wq} is "ẉq̣", \\mathbb
            # makes "𝕨𝕢"); the letters themselves stay.
            decomposed = unicodedata.normalize("NFKD", markdown)
            letters = "".join(c for c in decomposed if not unicodedata.combining(c))
            assert "wq" in letters, (text, markdown)
    assert "WARNING" not in capfd.readouterr().err
