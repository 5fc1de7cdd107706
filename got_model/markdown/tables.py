"""GOT's ``tabular`` -> a ``Table`` block with spans and column alignment."""

from __future__ import annotations

import re
from dataclasses import replace

from .blocks import Alignment, Table, TableCell
from .inline import Text
from .latex_inline import InlineParser, strip_blank_ends
from .source import Environment, Source

# Row separators, cell separators and the things a separator can hide inside.
_TABLE_TOKEN = re.compile(r"\\\\(?:\[[^\]\n]*\])?|\\[()\[]|\\begin\b|\\.|[&{]", re.DOTALL)
_RULES = re.compile(
    r"\\(?:hline|toprule|midrule|bottomrule|hdashline|firsthline|lasthline|endhead|endfirsthead"
    r"|endfoot|endlastfoot)(?![A-Za-z])"
    r"|\\(?:cline|cmidrule|hhline|cdashline)(?:\([^)]*\))?\s*\{[^{}]*\}"
)
_SPAN = re.compile(r"\s*\\(multicolumn|multirow)\s*")
_MARKUP = re.compile(r"[\\{}~]")
_NUMBER = re.compile(r"-?\d+")
_ALIGN = {"l": Alignment.LEFT, "c": Alignment.CENTER, "r": Alignment.RIGHT}


def parse_tabular(env: Environment, parser: InlineParser, body_end: int) -> Table:
    """Read the ``tabular`` ``env`` whose body ends at ``body_end``."""
    text = parser.text
    source = parser.source
    body = env.body_start
    # Skip [t] placement and a tabularx/tabular* width, then read the column spec.
    spec = ""
    width_first = env.name.rstrip("*") in ("tabularx", "tabulary") or env.name == "tabular*"
    for argument in source.arguments(body, body_end, 2 if width_first else 1):
        if not argument.closed:
            break
        spec = text[argument.start : argument.stop]
        body = argument.after
    rows = _split_rows(parser, body, body_end)
    return Table(
        rows=_build_rows(parser, rows),
        alignments=_alignments(spec),
        complete=env.closed,
    )


def _split_rows(parser: InlineParser, start: int, end: int) -> list[list[tuple[int, int]]]:
    """Cell spans (start, stop) for each row, splitting only at top-level ``&`` and ``\\\\``."""
    text, source = parser.text, parser.source
    rows: list[list[tuple[int, int]]] = []
    cells: list[tuple[int, int]] = []
    cell_start = pos = start
    while pos < end:
        match = _TABLE_TOKEN.search(text, pos, end)
        if match is None:
            break
        token = match.group()
        pos = match.end()
        if token == "&":
            cells.append((cell_start, match.start()))
            cell_start = pos
        elif token.startswith("\\\\"):
            cells.append((cell_start, match.start()))
            rows.append(cells)
            cells = []
            cell_start = pos
        elif token == "{":
            close = source.group_end(match.start(), end)
            pos = end if close is None else close + 1
        elif token in ("\\(", "\\["):
            close = source.math_end(match.start(), end)
            pos = end if close is None else close + 2
        elif token == "\\begin":
            env = source.environments.get(match.start())
            if env is not None:
                pos = min(env.end, end) if env.closed else end
    cells.append((cell_start, end))
    rows.append(cells)
    return rows


def _build_rows(
    parser: InlineParser, spans: list[list[tuple[int, int]]]
) -> tuple[tuple[TableCell, ...], ...]:
    text = parser.text
    covered_until: dict[int, int] = {}  # column -> last row a \multirow above covers
    rows: list[tuple[TableCell, ...]] = []
    # Spans reach no further than the table does (GOT can write \multirow{256}).
    widest = max(len(raw_row) for raw_row in spans)
    for index, raw_row in enumerate(spans):
        raw_cells = [_RULES.sub("", text[a:b]) for a, b in raw_row]
        r = len(rows)
        if all(not cell.strip() for cell in raw_cells) and not any(
            row_end >= r for row_end in covered_until.values()
        ):
            continue  # the line after the last \\, a row of rules, or a looped "& & \\"
        row: list[TableCell] = []
        c = 0
        for raw in raw_cells:
            cell = _cell(parser, raw)
            if cell.rowspan > len(spans) - index or cell.colspan > widest:
                rowspan = min(cell.rowspan, len(spans) - index)
                cell = replace(cell, rowspan=rowspan, colspan=min(cell.colspan, widest))
            if covered_until.get(c, -1) >= r and not cell.content:
                c += cell.colspan  # LaTeX's empty placeholder under a \multirow
                continue
            while covered_until.get(c, -1) >= r:
                c += 1
            row.append(cell)
            if cell.rowspan > 1:
                for dc in range(cell.colspan):
                    covered_until[c + dc] = max(covered_until.get(c + dc, -1), r + cell.rowspan - 1)
            c += cell.colspan
        rows.append(tuple(row))
    return tuple(rows)


def _cell(parser: InlineParser, raw: str) -> TableCell:
    if not _MARKUP.search(raw):  # most cells are plain text or numbers
        plain = raw.strip()
        return TableCell((Text(plain),) if plain else ())
    source = Source.scan(raw.strip())
    text = source.text
    colspan = rowspan = 1
    start, stop = 0, len(text)
    after_span: int | None = None
    for _ in range(2):  # \multicolumn{2}{c}{\multirow{2}{*}{x}} nests both
        match = _SPAN.match(text, start, stop)
        if match is None:
            break
        groups = source.arguments(match.end(), stop, 3)
        if len(groups) < 3:
            break
        number = _NUMBER.search(text, groups[0][0], groups[0][1])
        count = max(1, int(number.group())) if number else 1
        if match.group(1) == "multicolumn":
            colspan = min(count, 64)
        else:
            rowspan = min(count, 256)
        if after_span is None:
            after_span = groups[2][2]
        start, stop = groups[2][0], groups[2][1]
    sub = InlineParser(source)
    sub.footnotes = parser.footnotes
    spans = [(start, stop)]
    if after_span is not None and after_span < len(text):
        spans.append((after_span, len(text)))  # text GOT wrote after the span's argument
    nodes = strip_blank_ends(sub.parse_many(spans))
    return TableCell(tuple(nodes), colspan=colspan, rowspan=rowspan)


def _alignments(spec: str) -> tuple[Alignment | None, ...]:
    source = Source.scan(spec)
    aligns: list[Alignment | None] = []
    pos = 0
    while pos < len(spec):
        char = spec[pos]
        pos += 1
        if char in _ALIGN:
            aligns.append(_ALIGN[char])
        elif char in "pmbX@!><":
            if char in "pmbX":
                aligns.append(Alignment.LEFT)
            if spec.startswith("{", pos):  # p{3cm}, @{}: a width or a separator
                pos = source.arguments(pos, len(spec), 1)[0].after
        elif char == "*":  # *{3}{c} repeats a spec
            arguments = source.arguments(pos, len(spec), 2)
            if len(arguments) == 2:
                count, repeated = arguments
                number = _NUMBER.search(spec, count.start, count.stop)
                times = min(int(number.group()), 64) if number else 1
                aligns.extend(_alignments(spec[repeated.start : repeated.stop]) * max(times, 0))
                pos = repeated.after
    return tuple(aligns)
