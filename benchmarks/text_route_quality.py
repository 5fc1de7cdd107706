"""What the text route writes from real born-digital PDFs, beside pymupdf4llm, in one run.

The corpus is a dozen LaTeX and Texinfo manuals from Debian's packages (``text_corpus.py``
fetches them once into a cache), or ``--corpus DIR``, any folder of PDFs. Each selected page
is read through the loaders' own page source, ``open_document(...).render(i)``: once with
``strategy="text"`` (timed; its Markdown is scored) and once with ``strategy="auto"`` (where
the pages go). pymupdf4llm's ``to_markdown(pages=..., page_chunks=True)`` reads the same pages
in a child process, because importing it switches on PyMuPDF's layout analysis for the whole
process; its load and a first page are not timed. What the PDF holds comes from PyMuPDF
itself; each output is read as a CommonMark parser (markdown-it-py, with GFM tables) reads it,
so markup is no text, and scored against the PDF page by page:

- pages/s, each tool's own wall time on the same pages (pymupdf4llm's layout model may use
  several cores; the text route uses one);
- words lost: the words of ``page.get_text("text")`` missing from the output's text (multisets
  of lower-case letter-and-digit runs; a word hyphenated at a line end counts as found whole
  or in its two parts); the page numbers found below, and edge lines that recur on 2 pages
  or more, are left out of the reference, since dropping them is right;
- mid-sentence breaks: a paragraph or list item ending in a lower-case letter or a comma,
  followed by a paragraph starting in lower case; "hyphens" counts those ending in a
  hyphenated word part instead;
- page numbers kept: pages whose printed number (a line that is only the page's label or
  1-based number, at the top or bottom edge) is still a line of the output's first or last
  three, alone or beside words of the page's other edge lines (a running header); running
  headers kept: pages whose edge lines that recur, digits aside, on 3 or more of the pages
  read are still one of those lines, or start or end one;
- headings: outline entries (``get_toc``) on the pages read whose title is a Markdown heading
  on its page (section numbers aside), and of those the share whose level matches the
  outline's, up to one shift of level per document (a title as ``#`` above ``##`` sections of
  outline level 1 agrees);
- code blocks: runs of 2 or more monospaced lines (span flag 8), each just below the last, and
  how many come out with at least 80% of their lines as lines of one code block (spaces
  aside);
- ``auto``: the pages sent to GOT, by ``RouteReason``; of those sent for ``math``, how many
  have a formula at all, roughly: a line with a big operator or delimiter (CMEX), or with a
  letter in a math italic font beside an operator or relation, or raised or lowered.

The targets (issue 26): no page sent to GOT for bullets, leaders or logos alone; no more
mid-sentence breaks than pymupdf4llm; page numbers and running headers dropped on 95% of the
pages that have them; at least 10x pymupdf4llm's pages/s and at most 0.2% of words lost.

    python benchmarks/text_route_quality.py [--pages-per-doc N] [--docs R-intro,amsldoc]
        [--corpus DIR] [--cache DIR] [--json FILE] [--no-peer]
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import re
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from text_corpus import DEFAULT_CACHE, CorpusError, CorpusPdf, fetch_corpus, folder_corpus

EDGE_SHARE = 0.15
"""Page numbers and running headers are looked for in this share of the page height at its
top and bottom (a LaTeX page number on US Letter sits at about 0.88 of the height)."""
REPEATS = 3
"""An edge line is a running header or footer when it recurs, digits aside, on this many of
the pages read."""
EDGE_LINES = 3
"""Page numbers and running headers kept in an output are looked for in its first and last
lines, this many of each."""
CODE_KEPT = 0.8
MONOSPACED = 8  # PyMuPDF's span flag

_WORD = re.compile(r"[^\W_]+")
_HYPHEN_BREAK = re.compile(r"([^\W\d_]+)-[ \t]*\n[ \t]*([^\W\d_]+)")
_TAG = re.compile(r"<[^>]*>")
_SPACES = re.compile(r"\s+")
_DIGITS = re.compile(r"\d+")
_DASHES = "-\u2013\u2014 \t"
_NUMBERING = re.compile(r"^(?:\d+|[ivxlc]+|[a-z]|chapter|appendix|section|part)$")
_MATH_ITALIC = re.compile(
    r"^(CMMI|CMBXMI|LMMATHITALIC|EURM|EUFM|MSBM|MT2MIT|MTMI|RTXMI|TXMI|PXMI|ZXXMI|"
    r"STIXMATH|XITSMATH|CAMBRIAMATH|LATINMODERNMATH)",
    re.IGNORECASE,
)
_BIG_OPERATORS = re.compile(r"^(CMEX|LMEX|MTEX|MT2EXA|TXEX|PXEX|ESINT)", re.IGNORECASE)
_OPERATORS = frozenset("=<>+\u2212\u00d7\u00f7\u00b1\u2264\u2265\u2260\u2248\u2261\u223c\u221d")
_OPERATORS |= frozenset("\u2208\u2209\u2282\u2283\u2286\u2287\u222a\u2229\u2211\u220f\u222b\u221a")
_OPERATORS |= frozenset("\u2202\u2207\u221e\u2192\u21d2\u21d4\u21a6/^")


# --- What the PDF holds ----------------------------------------------------------------------


@dataclass
class PdfPage:
    """One page as PyMuPDF reads it: the reference the outputs are scored against."""

    index: int
    words: Counter[str]
    hyphen_breaks: list[tuple[str, str]]
    number: str | None
    """The printed page number (its label, or the 1-based page number), if a line shows it."""
    headers: list[str] = field(default_factory=list)
    """Running header and footer lines on this page (edge lines on ``REPEATS`` pages)."""
    furniture: list[str] = field(default_factory=list)
    """Edge lines that recur on 2 pages or more: left out of the words, like the number."""
    code_blocks: list[list[str]] = field(default_factory=list)
    formula: bool = False
    edge_lines: list[tuple[str, str]] = field(default_factory=list)
    """("top" or "bottom", text) of the lines at the page's outer edges, its number aside."""


@dataclass
class PdfReference:
    """The pages read of one PDF, and its outline entries on them (level, title, index)."""

    pages: dict[int, PdfPage]
    outline: list[tuple[int, str, int]]


def read_reference(path: Path, indices: list[int]) -> PdfReference:
    """What PyMuPDF finds on ``indices`` of ``path``: words, furniture, code, formulas."""
    import pymupdf

    pages: dict[int, PdfPage] = {}
    with pymupdf.open(path) as document:
        wanted = set(indices)
        outline = [
            (level, title, page - 1)
            for level, title, page, *_ in document.get_toc(simple=True)
            if page - 1 in wanted
        ]
        for index in indices:
            page = document[index]
            text = page.get_text("text")
            lines = _lines(page.get_text("dict"))
            labels = {page.get_label().strip().lower(), str(index + 1)} - {""}
            edges = _edge_lines(lines, page.rect.height)
            number = next((_number_text(t) for _, t in edges if _number_text(t) in labels), None)
            pages[index] = PdfPage(
                index=index,
                words=Counter(_words(text)),
                hyphen_breaks=[
                    (a.casefold(), b.casefold()) for a, b in _HYPHEN_BREAK.findall(_nfkc(text))
                ],
                number=number,
                code_blocks=_code_blocks(lines),
                formula=_has_formula(lines),
                edge_lines=[(edge, t) for edge, t in edges if _number_text(t) not in labels],
            )
    _find_running_headers(pages)
    for page in pages.values():  # dropping furniture is right: leave it out of the reference
        for line in page.furniture + ([page.number] if page.number else []):
            page.words.subtract(_words(line))
        page.words = +page.words
    return PdfReference(pages, outline)


@dataclass
class _Line:
    text: str
    bbox: tuple[float, float, float, float]
    spans: list[dict[str, Any]]

    @property
    def monospaced(self) -> bool:
        shown = [span for span in self.spans if span["text"].strip()]
        return bool(shown) and all(span["flags"] & MONOSPACED for span in shown)


def _lines(page_dict: dict[str, Any]) -> list[_Line]:
    return [
        _Line("".join(span["text"] for span in line["spans"]), tuple(line["bbox"]), line["spans"])
        for block in page_dict["blocks"]
        for line in block.get("lines", ())
        if "".join(span["text"] for span in line["spans"]).strip()
    ]


def _edge_lines(lines: list[_Line], height: float) -> list[tuple[str, str]]:
    """Lines in the outer band of the page with no line wholly beyond them."""
    found = []
    for line in lines:
        _, y0, _, y1 = line.bbox
        if y1 <= height * EDGE_SHARE and not any(o.bbox[3] <= y0 for o in lines):
            found.append(("top", line.text.strip()))
        elif y0 >= height * (1 - EDGE_SHARE) and not any(o.bbox[1] >= y1 for o in lines):
            found.append(("bottom", line.text.strip()))
    return found


def _find_running_headers(pages: dict[int, PdfPage]) -> None:
    """Mark the edge lines that recur, digits aside, on 2 and on ``REPEATS`` pages or more."""
    seen: Counter[tuple[str, str]] = Counter()
    for page in pages.values():
        seen.update({(edge, _key(text)) for edge, text in page.edge_lines})
    for page in pages.values():
        for edge, text in page.edge_lines:
            if sum(c.isalpha() for c in text) >= 3 and seen[edge, _key(text)] >= 2:
                page.furniture.append(text)
                if seen[edge, _key(text)] >= REPEATS:
                    page.headers.append(text)


def _code_blocks(lines: list[_Line]) -> list[list[str]]:
    """Runs of 2 or more monospaced lines, each just below the one before."""
    blocks: list[list[str]] = []
    run: list[_Line] = []
    for line in [*lines, None]:
        if line is not None and line.monospaced:
            previous = run[-1].bbox if run else None
            height = previous[3] - previous[1] if previous else 0.0
            if previous is None or (
                line.bbox[1] > previous[1] + 1 and line.bbox[1] - previous[3] < height
            ):
                run.append(line)
                continue
        if len(run) >= 2:
            blocks.append([item.text for item in run])
        run = [line] if line is not None and line.monospaced else []
    return blocks


def _has_formula(lines: list[_Line]) -> bool:
    """Roughly, whether a line of the page is a formula (see the module's docstring)."""
    for line in lines:
        italic = operator = False
        for span in line.spans:
            font = re.sub(r"^[A-Z]{6}\+", "", span["font"])
            if _BIG_OPERATORS.match(font) and span["text"].strip():
                return True
            if _MATH_ITALIC.match(font) and any(c.isalnum() for c in span["text"]):
                if span["flags"] & 1:  # superscript: raised or lowered
                    return True
                italic = True
            if any(c in _OPERATORS for c in span["text"]):
                operator = True
            if any("\U0001d400" <= c <= "\U0001d7ff" for c in span["text"]):
                italic = True
        if italic and operator:
            return True
    return False


# --- What an output keeps --------------------------------------------------------------------


@dataclass
class Scores:
    """Counts for one tool over some pages; they add up over pages and documents."""

    pages: int = 0
    seconds: float = 0.0
    words: int = 0
    words_lost: int = 0
    breaks: int = 0
    hyphens: int = 0
    numbered_pages: int = 0
    numbers_kept: int = 0
    header_pages: int = 0
    headers_kept: int = 0
    outline_entries: int = 0
    headings_found: int = 0
    levels_agree: int = 0
    code_blocks: int = 0
    code_kept: int = 0

    def __iadd__(self, other: Scores) -> Scores:
        for item in fields(self):
            setattr(self, item.name, getattr(self, item.name) + getattr(other, item.name))
        return self


def score(reference: PdfReference, markdown: dict[int, str], seconds: float) -> Scores:
    """How much of ``reference`` the per-page ``markdown`` keeps, and what it breaks."""
    scores = Scores(pages=len(reference.pages), seconds=seconds)
    headings: dict[int, list[tuple[int, str]]] = {}
    for index, page in reference.pages.items():
        shown = render(markdown.get(index, ""))
        headings[index] = shown.headings
        scores.words += page.words.total()
        scores.words_lost += _lost_words(page, Counter(_words(shown.text)))
        breaks, hyphens = _breaks(shown.blocks)
        scores.breaks += breaks
        scores.hyphens += hyphens
        lines = [plain for plain in map(_plain, shown.text.splitlines()) if plain]
        # Furniture left in comes first or last; a section numbered "—2—" may lie between.
        edges = lines[:EDGE_LINES] + lines[-EDGE_LINES:]
        headers = [_plain(header) for header in page.headers]
        if page.number is not None:
            scores.numbered_pages += 1
            beside = {word for _, line in page.edge_lines for word in _words(line)}
            scores.numbers_kept += _number_kept(page.number, edges, beside)
        if headers:
            scores.header_pages += 1
            scores.headers_kept += any(
                line == header or line.startswith(header + " ") or line.endswith(" " + header)
                for header in headers
                for line in edges
            )
        for block in page.code_blocks:
            scores.code_blocks += 1
            scores.code_kept += _code_kept(block, shown.code)
    shifts: Counter[int] = Counter()
    for level, title, index in reference.outline:
        scores.outline_entries += 1
        matched = [lvl for lvl, heading in headings.get(index, ()) if _same_title(title, heading)]
        if matched:
            scores.headings_found += 1
            shifts[matched[0] - level] += 1
    scores.levels_agree = shifts.most_common(1)[0][1] if shifts else 0
    return scores


@dataclass
class Shown:
    """Markdown as a reader sees it, parsed by a CommonMark parser (tables too)."""

    text: str
    """The text, markup taken out: a line per line break, blocks one after another."""
    blocks: list[tuple[str, str]]
    """(kind, text): "paragraph", "list" (a paragraph in a list item), "heading", "code",
    "table" (a cell) or "html"."""
    headings: list[tuple[int, str]]
    code: list[list[str]]
    """The lines of each code block, fenced or indented."""


def render(markdown: str) -> Shown:
    """``markdown``'s blocks and text, as CommonMark (with GFM tables) reads them."""
    blocks: list[tuple[str, str]] = []
    headings: list[tuple[int, str]] = []
    code: list[list[str]] = []
    lists = 0
    marker = ""  # an ordered item's number is text a reader sees ("2. Start R")
    tokens = _commonmark().parse(markdown)
    for position, token in enumerate(tokens):
        if token.type == "list_item_open":
            marker = f"{token.info}{token.markup} " if token.info else ""
        elif token.type in ("bullet_list_open", "ordered_list_open"):
            lists += 1
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            lists -= 1
        elif token.type == "inline":
            opener = tokens[position - 1]
            text = "".join(_inline_text(child) for child in token.children or ())
            if opener.type == "heading_open":
                headings.append((int(opener.tag[1:]), text))
                blocks.append(("heading", text))
            elif opener.type == "paragraph_open":
                blocks.append(("list" if lists else "paragraph", marker + text))
                marker = ""
            else:
                blocks.append(("table", text))
        elif token.type in ("fence", "code_block"):
            code.append(token.content.splitlines())
            blocks.append(("code", token.content))
        elif token.type == "html_block":
            blocks.append(("html", _TAG.sub("", token.content)))
    text = "\n".join(text for _, text in blocks)
    return Shown(text, blocks, headings, code)


@functools.cache
def _commonmark() -> Any:
    from markdown_it import MarkdownIt  # markdown-it-py: the project's dev dependency

    return MarkdownIt("commonmark").enable("table")


def _inline_text(token: Any) -> str:
    if token.type in ("text", "code_inline"):
        return str(token.content)
    return "\n" if token.type in ("softbreak", "hardbreak") else ""


def _breaks(blocks: list[tuple[str, str]]) -> tuple[int, int]:
    """(mid-sentence breaks, hyphenated words) between consecutive blocks."""
    breaks = hyphens = 0
    for (kind, last), (next_kind, first) in itertools.pairwise(blocks):
        if kind not in ("paragraph", "list") or next_kind != "paragraph":
            continue
        start = first.lstrip()
        if not start or not start[0].islower():
            continue
        end = last.rstrip()
        if re.search(r"[^\W\d_]-$", end):
            hyphens += 1
        elif end and (end[-1].islower() or end[-1] == ","):
            breaks += 1
    return breaks, hyphens


def _lost_words(page: PdfPage, found: Counter[str]) -> int:
    missing = page.words - found
    extra = found - page.words
    for first, second in page.hyphen_breaks:  # "compo-\nnent" found as "component"
        if missing[first] and missing[second] and extra[first + second]:
            missing[first] -= 1
            missing[second] -= 1
            extra[first + second] -= 1
    return (+missing).total()


def _number_kept(number: str, lines: list[str], beside: set[str]) -> bool:
    """Whether ``number`` is a line of its own, or added to a line of the page's other edge
    lines (a running header, merged with it)."""
    for line in lines:
        if _number_text(line) == number:
            return True
        words = line.split(" ")
        for end, rest in ((words[0], words[1:]), (words[-1], words[:-1])):
            if _number_text(end) == number and rest and set(_words(" ".join(rest))) <= beside:
                return True
    return False


def _code_kept(block: list[str], code: list[list[str]]) -> bool:
    wanted = [_squeeze(line) for line in block]
    for shown in code:
        lines = {_squeeze(line) for line in shown}
        if sum(line in lines for line in wanted) >= CODE_KEPT * len(wanted):
            return True
    return False


def _same_title(title: str, heading: str) -> bool:
    """Whether a heading shows an outline title, section numbers and "Chapter" aside."""
    a, b = _words(title), _words(heading)
    if not a or not b:
        return False
    short, long = sorted((a, b), key=len)
    extra = long[: len(long) - len(short)]
    return long[len(extra) :] == short and all(_NUMBERING.match(word) for word in extra)


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def _words(text: str) -> list[str]:
    return _WORD.findall(_nfkc(text).casefold())


def _plain(line: str) -> str:
    """A line with its spacing and case taken out, for comparing lines."""
    return _SPACES.sub(" ", _nfkc(line)).strip().casefold()


def _squeeze(line: str) -> str:
    return _SPACES.sub("", _nfkc(line))


def _key(text: str) -> str:
    return _DIGITS.sub("#", _plain(text))


def _number_text(text: str) -> str:
    text = _plain(text)
    return (text[5:] if text.startswith("page ") else text).strip(_DASHES)


# --- Running ---------------------------------------------------------------------------------


@dataclass
class Document:
    """One PDF of the corpus and what each tool made of its pages."""

    pdf: CorpusPdf
    indices: list[int]
    reference: PdfReference | None = None
    ours: dict[int, str] = field(default_factory=dict)
    ours_seconds: float = 0.0
    peer: dict[int, str] | None = None
    peer_seconds: float = 0.0
    routes: Counter[str] = field(default_factory=Counter)
    math_with_formula: int = 0
    errors: list[str] = field(default_factory=list)


def select_pages(pdf: CorpusPdf, per_doc: int | None) -> list[int]:
    """The 0-based pages of ``pdf`` to read: its range, cut to ``per_doc`` pages."""
    import pymupdf

    from got_loaders import PageSelection

    with pymupdf.open(pdf.path) as document:
        total = document.page_count
    selection = PageSelection.parse(pdf.pages)
    indices = selection.indices(total, pdf.name) if selection else list(range(total))
    return indices[:per_doc] if per_doc else indices


def read_ours(document: Document, strategy_name: str) -> None:
    """Read the pages through the loaders' page source; "text" is timed, "auto" routed."""
    from got_loaders import PageRenderError, Route, Strategy
    from got_loaders.sources import open_document
    from got_loaders.sources.documents import SourceDocument
    from got_model import FORMATTED

    strategy = Strategy(strategy_name)
    started = time.perf_counter()
    with open_document(
        SourceDocument.from_input(document.pdf.path), FORMATTED, strategy=strategy
    ) as source:
        for index in document.indices:
            try:
                page = source.render(index)
            except PageRenderError as error:
                document.errors.append(f"{strategy_name}: {error}")
                continue
            if strategy is Strategy.TEXT:
                layer = page.text_layer
                document.ours[index] = layer.converted.markdown if layer is not None else ""
            elif page.route.route is Route.OCR:
                document.routes[page.route.reason.value] += 1
                reference = document.reference
                if page.route.reason.value == "math" and reference is not None:
                    document.math_with_formula += reference.pages[index].formula
    if strategy is Strategy.TEXT:
        document.ours_seconds = time.perf_counter() - started


def warm_up(pdf: CorpusPdf, index: int) -> None:
    """Import and open once, untimed, so the first document does not pay for it."""
    from got_loaders import Strategy
    from got_loaders.sources import open_document
    from got_loaders.sources.documents import SourceDocument
    from got_model import FORMATTED

    with open_document(
        SourceDocument.from_input(pdf.path), FORMATTED, strategy=Strategy.TEXT
    ) as source:
        source.render(index)


def read_peer(documents: list[Document]) -> str:
    """pymupdf4llm over the same pages, in a child process; its version, or why not."""
    with tempfile.TemporaryDirectory() as folder:
        jobs, results = Path(folder) / "jobs.json", Path(folder) / "results.json"
        jobs.write_text(
            json.dumps([{"path": str(d.pdf.path), "pages": d.indices} for d in documents])
        )
        done = subprocess.run(
            [sys.executable, __file__, "--peer-worker", str(jobs), str(results)],
            stdout=subprocess.DEVNULL,  # pymupdf4llm prints its parser's messages
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
        if done.returncode != 0 or not results.exists():
            tail = done.stderr.strip().splitlines()[-1:] or ["no result"]
            return f"failed ({tail[0]})"
        answer = json.loads(results.read_text())
    if "missing" in answer:
        return "not installed"
    for document, result in zip(documents, answer["documents"], strict=True):
        if "error" in result:
            document.errors.append(f"pymupdf4llm: {result['error']}")
            continue
        document.peer = {int(index): text for index, text in result["pages"].items()}
        document.peer_seconds = result["seconds"]
    return f"pymupdf4llm {answer['version']}"


def peer_worker(jobs_file: Path, results_file: Path) -> None:
    """The child process: pymupdf4llm.to_markdown over each job's pages, timed."""
    try:
        import pymupdf4llm
    except ImportError:
        results_file.write_text(json.dumps({"missing": True}))
        return
    jobs = json.loads(jobs_file.read_text())
    if jobs and jobs[0]["pages"]:  # loads the layout model: not timed
        pymupdf4llm.to_markdown(jobs[0]["path"], pages=jobs[0]["pages"][:1], page_chunks=True)
    documents: list[dict[str, Any]] = []
    for job in jobs:
        started = time.perf_counter()
        try:
            chunks = pymupdf4llm.to_markdown(
                job["path"], pages=job["pages"], page_chunks=True, show_progress=False
            )
        except Exception as error:
            documents.append({"error": f"{type(error).__name__}: {error}"})
            continue
        seconds = time.perf_counter() - started
        pages = {chunk["metadata"]["page_number"] - 1: chunk["text"] for chunk in chunks}
        documents.append({"seconds": seconds, "pages": pages})
    version = getattr(pymupdf4llm, "__version__", "?")
    results_file.write_text(json.dumps({"version": version, "documents": documents}))


# --- Printing --------------------------------------------------------------------------------


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"


def _pair(ours: Scores, peer: Scores | None, name: str, whole: str | None = None) -> str:
    mine = getattr(ours, name)
    theirs = getattr(peer, name) if peer is not None else "-"
    return f"{mine}/{theirs}" + (f" of {getattr(ours, whole)}" if whole else "")


def print_tables(rows: list[tuple[str, Scores, Scores | None, Document | None]]) -> None:
    print("\nspeed and words (ours = strategy='text'; peer = pymupdf4llm, same pages)")
    print(
        f"{'document':<12}{'pages':>6}{'ours p/s':>10}{'peer p/s':>10}{'ratio':>8}"
        f"{'words':>8}{'lost ours':>11}{'lost peer':>11}"
    )
    for name, ours, peer, _ in rows:
        rate = ours.pages / ours.seconds if ours.seconds else 0.0
        peer_rate = peer.pages / peer.seconds if peer and peer.seconds else 0.0
        ratio = f"{rate / peer_rate:.1f}x" if peer_rate else "-"
        peer_lost = f"{100 * peer.words_lost / peer.words:.2f}%" if peer and peer.words else "-"
        own_lost = f"{100 * ours.words_lost / ours.words:.2f}%" if ours.words else "-"
        peer_text = f"{peer_rate:.1f}" if peer_rate else "-"
        print(
            f"{name:<12}{ours.pages:>6}{rate:>10.1f}{peer_text:>10}{ratio:>8}"
            f"{ours.words:>8}{own_lost:>11}{peer_lost:>11}"
        )
    print('\nstructure, ours/peer ("of N": what the PDF has)')
    print(
        f"{'document':<12}{'breaks':>9}{'hyphens':>9}{'page numbers kept':>20}"
        f"{'headers kept':>16}{'headings found':>18}{'levels agree':>14}{'code kept':>14}"
    )
    for name, ours, peer, _ in rows:
        if peer is not None:
            agree = f"{_share(ours.levels_agree, ours.headings_found)}"
            agree += f"/{_share(peer.levels_agree, peer.headings_found)}"
        else:
            agree = _share(ours.levels_agree, ours.headings_found) + "/-"
        print(
            f"{name:<12}{_pair(ours, peer, 'breaks'):>9}{_pair(ours, peer, 'hyphens'):>9}"
            f"{_pair(ours, peer, 'numbers_kept', 'numbered_pages'):>20}"
            f"{_pair(ours, peer, 'headers_kept', 'header_pages'):>16}"
            f"{_pair(ours, peer, 'headings_found', 'outline_entries'):>18}{agree:>14}"
            f"{_pair(ours, peer, 'code_kept', 'code_blocks'):>14}"
        )
    print("\nstrategy='auto': pages sent to GOT, by reason")
    print(f"{'document':<12}{'pages':>6}{'to GOT':>8}{'math':>6}{'with formula':>14}  reasons")
    documents = [document for _, _, _, document in rows if document is not None]
    totals = [(d.pdf.name, len(d.indices), d.routes, d.math_with_formula) for d in documents]
    every: Counter[str] = sum((d.routes for d in documents), Counter())
    pages = sum(len(d.indices) for d in documents)
    totals.append(("total", pages, every, sum(d.math_with_formula for d in documents)))
    for name, pages, routes, with_formula in totals:
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(routes.items())) or "-"
        print(
            f"{name:<12}{pages:>6}{routes.total():>8}{routes.get('math', 0):>6}"
            f"{with_formula:>14}  {reasons}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages-per-doc", type=int, help="read at most N pages of each PDF")
    parser.add_argument("--docs", help="comma-separated corpus names (default: all)")
    parser.add_argument("--corpus", type=Path, help="a folder of PDFs instead of the corpus")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="the corpus's cache")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--no-peer", action="store_true", help="leave pymupdf4llm out (most of the run time)"
    )
    parser.add_argument("--peer-worker", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peer_worker:
        peer_worker(*args.peer_worker)
        return

    try:
        if args.corpus is not None:
            pdfs = folder_corpus(args.corpus)
            if args.docs:
                pdfs = [pdf for pdf in pdfs if pdf.name in set(args.docs.split(","))]
        else:
            names = set(args.docs.split(",")) if args.docs else None
            pdfs = fetch_corpus(args.cache, names)
    except CorpusError as error:
        sys.exit(f"text_route_quality: {error}")
    documents = [Document(pdf, select_pages(pdf, args.pages_per_doc)) for pdf in pdfs]
    documents = [document for document in documents if document.indices]
    if not documents:
        sys.exit("text_route_quality: no page to read.")
    print(f"{len(documents)} PDFs, {sum(len(d.indices) for d in documents)} pages")

    started = time.perf_counter()
    warm_up(documents[0].pdf, documents[0].indices[0])
    for document in documents:  # timed first, on a quiet process
        read_ours(document, "text")
    phases = [time.perf_counter()]
    peer = "left out (--no-peer)" if args.no_peer else read_peer(documents)
    phases.append(time.perf_counter())
    for document in documents:
        document.reference = read_reference(document.pdf.path, document.indices)
        read_ours(document, "auto")
    phases.append(time.perf_counter())

    rows: list[tuple[str, Scores, Scores | None, Document | None]] = []
    total_ours, total_peer = Scores(), Scores()
    for document in documents:
        assert document.reference is not None
        ours = score(document.reference, document.ours, document.ours_seconds)
        theirs = None
        if document.peer is not None:
            theirs = score(document.reference, document.peer, document.peer_seconds)
            total_peer += theirs
        total_ours += ours
        rows.append((document.pdf.name, ours, theirs, document))
    every_peer = all(document.peer is not None for document in documents)
    rows.append(("total", total_ours, total_peer if every_peer else None, None))
    print(f"peer: {peer}")
    print_tables(rows)
    for document in documents:
        for message in document.errors[:3]:
            print(f"{document.pdf.name}: {message}")
    print(
        f"\nwall time: text route {phases[0] - started:.0f} s, pymupdf4llm with its start "
        f"{phases[1] - phases[0]:.0f} s, the PDFs' own text and strategy='auto' "
        f"{phases[2] - phases[1]:.0f} s"
    )
    if args.json:
        args.json.write_text(json.dumps(_figures(rows, peer), indent=1) + "\n")


def _figures(
    rows: Iterable[tuple[str, Scores, Scores | None, Document | None]], peer: str
) -> dict[str, Any]:
    out: dict[str, Any] = {"peer": peer, "documents": {}}
    for name, ours, theirs, document in rows:
        entry: dict[str, Any] = {"ours": asdict(ours), "peer": theirs and asdict(theirs)}
        if document is not None:
            entry["auto_ocr_reasons"] = dict(document.routes)
            entry["auto_math_with_formula"] = document.math_with_formula
            entry["pages_read"] = [index + 1 for index in document.indices]
        out["documents"][name] = entry
    return out


if __name__ == "__main__":
    main()
