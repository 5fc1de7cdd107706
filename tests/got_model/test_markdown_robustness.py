"""Whatever GOT writes, conversion returns Markdown and keeps every word.

The strategies build text from GOT's own markup pieces in random order and number: unclosed
braces and environments, tables cut mid-row, stray closers. The parser under test is
``parse_formatted``, without ``convert_formatted``'s last-resort fallback, so a crash here
is a real bug rather than something the fallback hides.
"""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from got_model.markdown import MarkdownOutput, convert_plain
from got_model.markdown.formatted import parse_formatted

from .commonmark import parse

MARKUP = [
    "\\title{",
    "\\author{",
    "\\section*{",
    "\\subsection{",
    "}",
    "{",
    "\\(",
    "\\)",
    "\\[",
    "\\]",
    "\\begin{tabular}{|l|c|}",
    "\\end{tabular}",
    "&",
    "\\\\",
    "\\hline",
    "\\cline{2-3}",
    "\\multicolumn{2}{|c|}{",
    "\\multirow{2}{*}{",
    "\\begin{itemize}",
    "\\begin{enumerate}",
    "\\item",
    "\\item[(a)]",
    "\\end{itemize}",
    "\\end{enumerate}",
    "\\textbf{",
    "\\textit{",
    "\\footnote{",
    "\\footnotetext{",
    "\\begin{abstract}",
    "\\end{abstract}",
    "\\begin{center}",
    "\\end{center}",
    "\\begin{tikzpicture}",
    "\\end{tikzpicture}",
    "\\begin{equation}",
    "\\end{equation}",
    "\\href{",
    "\\url{",
    "\\'",
    "\\%",
    "\\",
    "~",
    "$",
    "#",
    "*",
    "|",
    "- ",
    "\\begin{",
    "\\end{",
    "\\begin{mystery}",
    "\\end{mystery}",
    "\\quad",
    "\\left(",
    "\\right.",
    "\n",
    "\n",
    "\n\n",
    " ",
    " ",
]
WORDS = [f"word{n}" for n in range(40)]

pieces = st.lists(st.sampled_from(MARKUP) | st.sampled_from(WORDS), max_size=60)
any_text = st.text(max_size=300)


def check_markdown(output: MarkdownOutput) -> str:
    markdown = output.markdown
    assert isinstance(markdown, str)
    parse(markdown)  # a CommonMark parser accepts it
    for block in output.blocks:
        assert isinstance(block.text, str)
        assert isinstance(block.markdown, str)
    return markdown


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pieces)
def test_markup_soup_converts_and_keeps_every_word(parts: list[str]) -> None:
    text = " ".join(parts) if parts else ""
    markdown = check_markdown(parse_formatted(text))
    # "\\end{ word1 }" names an environment: markup, not text.
    names = set(re.findall(r"\\(?:begin|end)\{ (word\d+) \}", text))
    for word in set(re.findall(r"word\d+", text)) - names:
        assert word in markdown


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_text)
def test_any_text_converts_in_both_modes(text: str) -> None:
    check_markdown(parse_formatted(text))
    check_markdown(convert_plain(text))


def test_deeply_unbalanced_input_stays_linear() -> None:
    # Thousands of unclosed openers: every pair is found in one pass, nothing rescans.
    text = "\\section*{" * 2000 + "\\textbf{" * 2000 + "\\(" * 2000 + "\\begin{itemize}" * 500
    output = parse_formatted(text)
    assert output.markdown
