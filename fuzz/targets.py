"""What the fuzzer drives: each target is a Hypothesis strategy and a check.

A check returns normally when the code under test behaved as documented (a result of the
right shape, or one of the project's own errors, rooted in ``GOTError``) and raises anything
else: the project's function raised something it should not, or ``UnexpectedOutput`` when
the result breaks its contract. ``fuzz/run.py`` drives the targets for a bounded time.
"""

from __future__ import annotations

import contextlib
import io
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from functools import cache
from typing import Any, Generic, Protocol, TypeVar

from hypothesis import strategies as st

T = TypeVar("T")

MAX_INPUT_BYTES = 4 * 1024 * 1024
"""A mutation that would make a page input larger than this is skipped (memory stays bounded)."""
MAX_PAGES_RENDERED = 8
"""Pages rendered per input: enough to reach every page of the seeds, bounded for long files."""
PASSWORD = "fuzz"
"""The user password of the encrypted seed PDFs."""
MULTI_CROP_PATCHES = 2
"""Multi-crop inputs render up to two 1024x1024 tiles: the tiling path, at half the cost of more."""


class UnexpectedOutput(Exception):
    """The code under test returned, but its result breaks the documented contract."""


@dataclass(frozen=True)
class Reproducer:
    """One input, as a file and as the Python that replays it.

    Attributes:
        data: the input's bytes, saved under the artifacts directory.
        suffix: the file's extension (".txt", ".pdf", ".bin").
        code: Python that replays the input from ``DATA``, the saved file's bytes.
        summary: the input in one line, for the report.
    """

    data: bytes
    suffix: str
    code: str
    summary: str


@dataclass(frozen=True)
class Target(Generic[T]):
    """One fuzz target.

    Attributes:
        name: what ``--target`` calls it.
        description: one line for ``--list``.
        inputs: builds the strategy (called once, when the target first runs).
        check: runs one input; raises on anything the contract does not allow, else returns
            what happened in a word or two ("rendered", "PasswordError"), tallied in the report.
        reproducer: the input as a file and a snippet, for the artifacts directory.
        native: the code under test spends its time in C (MuPDF, Pillow's decoders), where a
            Python-level timeout cannot interrupt it: the runner also arms a hard watchdog.
        warm_up: inputs run once, untimed, before fuzzing: the first use of each decoder
            imports its plugin, which would otherwise pass for a slow input.
    """

    name: str
    description: str
    inputs: Callable[[], st.SearchStrategy[T]]
    check: Callable[[T], str]
    reproducer: Callable[[T], Reproducer]
    native: bool = False
    warm_up: Callable[[], list[T]] | None = None


# --- Markdown converter ----------------------------------------------------------------

# Pieces of GOT's formatted output, put together in any order and number: openers,
# closers and separators.
# fmt: off
MARKUP = [
    "\\title{", "\\author{", "\\date{", "\\chapter{", "\\section*{", "\\subsection{",
    "\\subsubsection*{", "\\paragraph{", "\\caption{", "}", "{", "\\(", "\\)", "\\[", "\\]", "$",
    "$$", "\\begin{tabular}{|l|c|}", "\\begin{tabular}{", "\\begin{tabular}{p{3cm}|r@{.}l}",
    "\\begin{tabularx}{\\textwidth}{X}", "\\end{tabular}", "&", "\\\\", "\\\\[2pt]", "\\hline",
    "\\cline{2-3}", "\\multicolumn{2}{|c|}{", "\\multicolumn{", "\\multirow{2}{*}{",
    "\\begin{itemize}", "\\begin{enumerate}", "\\begin{description}", "\\setcounter{enumi}{4}",
    "\\item", "\\item[(a)]", "\\item[", "\\end{itemize}", "\\end{enumerate}", "\\textbf{",
    "\\textit{", "\\emph{", "\\underline{", "\\texttt{", "\\textcolor{red}{", "\\bf ", "\\it ",
    "\\footnote{", "\\footnotetext{", "\\footnotemark", "\\begin{abstract}", "\\end{abstract}",
    "\\begin{center}", "\\end{center}", "\\begin{minipage}{0.5\\textwidth}", "\\end{minipage}",
    "\\begin{table}", "\\end{table}", "\\begin{tikzpicture}", "\\end{tikzpicture}",
    "\\begin{verbatim}", "\\end{verbatim}", "\\begin{equation}", "\\end{equation}",
    "\\begin{align*}", "\\end{align*}", "\\begin{array}{cc}", "\\end{array}", "\\frac{", "^{",
    "_{", "\\sqrt[3]{", "\\mathbf{", "\\href{", "\\url{", "\\includegraphics[width=2cm]{", "\\'",
    '\\"', "\\^", "\\`e", "\\c{c}", "\\v{s}", "\\'{\\i}", "\\ss", "\\%", "\\&", "\\_", "\\#",
    "\\$", "\\{", "\\}", "\\", "~", "#", "*", "|", "- ", "1. ", "> ", "`", "<", ">",
    "\\textbullet ", "\\begin{", "\\end{", "\\begin{mystery}", "\\end{mystery}", "\\mystery",
    "\\mystery{", "\\quad", "\\vspace{3mm}", "\\left(", "\\right.", "\\today", "\n", "\n", "\n\n",
    "\r\n", "\r", "\t", " ", " ",
]
# fmt: on
WORDS = [f"word{n}" for n in range(20)] + ["é", "中文", "𝔘", "ﬁ", "\u200b", "\u202e", "\ufeff"]
CONTROL = [chr(c) for c in (*range(0, 32), 127, 0x85, 0x2028, 0x2029)]
# Outputs that are not text at all: GOT writes the whole page in another notation.
WHOLE_OUTPUT_PREFIXES = ["", "", "", "**kern ", "<smiles>", "{", '{"title": ', "**ekern"]


def _repeat(piece: str, times: int) -> str:
    return piece * times


def _join(parts: list[str], separator: str, prefix: str) -> str:
    return prefix + separator.join(parts)


def markup_text() -> st.SearchStrategy[str]:
    """GOT-like markup: vocabulary pieces, arbitrary unicode, control characters, long runs."""
    piece = st.one_of(
        st.sampled_from(MARKUP),
        st.sampled_from(WORDS),
        st.text(max_size=12),
        st.sampled_from(CONTROL),
        st.builds(_repeat, st.sampled_from(MARKUP + WORDS), st.integers(2, 40)),
    )
    separator = st.sampled_from(["", " ", "\n"])
    prefix = st.sampled_from(WHOLE_OUTPUT_PREFIXES)
    soup = st.builds(_join, st.lists(piece, max_size=40), separator, prefix)
    # A long output: GOT writes up to 4096 tokens, and a page stuck in a loop repeats one.
    long_run = st.builds(_repeat, st.sampled_from(MARKUP + WORDS), st.integers(100, 3000))
    long_soup = st.builds(_join, st.lists(long_run | piece, max_size=6), separator, prefix)
    return st.one_of(soup, soup, soup, long_soup, st.text())


def _check_markdown_output(output: object) -> None:
    from got_model.markdown import MarkdownOutput

    if not isinstance(output, MarkdownOutput):
        raise UnexpectedOutput(f"expected a MarkdownOutput, got {type(output).__name__}")
    markdown = output.markdown
    if not isinstance(markdown, str):
        raise UnexpectedOutput(f".markdown is a {type(markdown).__name__}, not a str")
    if markdown and not markdown.endswith("\n"):
        raise UnexpectedOutput(".markdown does not end with a newline")
    if not isinstance(output.text, str):
        raise UnexpectedOutput(f".text is a {type(output.text).__name__}, not a str")
    for block in output.blocks:
        if not isinstance(block.markdown, str) or not isinstance(block.text, str):
            raise UnexpectedOutput(f"{type(block).__name__} renders to a non-str")


def check_convert(text: str) -> str:
    """``convert`` and ``to_markdown`` in both output formats: documented never to raise."""
    from got_model.markdown import convert, to_markdown
    from got_model.tasks import OutputFormat

    for output in OutputFormat:
        converted = convert(text, output)
        _check_markdown_output(converted)
        if to_markdown(text, output) != converted.markdown:
            raise UnexpectedOutput(f"to_markdown({output.value}) differs from convert().markdown")
    return "converted"


def check_parse_formatted(text: str) -> str:
    """The formatted parser without ``convert_formatted``'s fallback: a raise is a bug."""
    from got_model.markdown.formatted import parse_formatted

    _check_markdown_output(parse_formatted(text))
    return "converted"


def _text_reproducer(call: str) -> Callable[[str], Reproducer]:
    def reproducer(text: str) -> Reproducer:
        return Reproducer(
            data=text.encode("utf-8", "surrogatepass"),
            suffix=".txt",
            code=f'text = DATA.decode("utf-8", "surrogatepass")\n{call}\n',
            summary=_short(repr(text)),
        )

    return reproducer


# --- Page sources ------------------------------------------------------------------------


class Mutation(Protocol):
    """One edit of a seed file; positions wrap around the current length."""

    def apply(self, data: bytes, corpus: Mapping[str, bytes]) -> bytes: ...


@dataclass(frozen=True)
class BitFlip:
    at: int
    bit: int

    def apply(self, data: bytes, corpus: Mapping[str, bytes]) -> bytes:
        if not data:
            return data
        i = self.at % len(data)
        return data[:i] + bytes([data[i] ^ (1 << self.bit)]) + data[i + 1 :]


@dataclass(frozen=True)
class SetByte:
    at: int
    value: int

    def apply(self, data: bytes, corpus: Mapping[str, bytes]) -> bytes:
        if not data:
            return data
        i = self.at % len(data)
        return data[:i] + bytes([self.value]) + data[i + 1 :]


@dataclass(frozen=True)
class Insert:
    at: int
    chunk: bytes

    def apply(self, data: bytes, corpus: Mapping[str, bytes]) -> bytes:
        i = self.at % (len(data) + 1)
        return data[:i] + self.chunk + data[i:]


@dataclass(frozen=True)
class Delete:
    at: int
    size: int

    def apply(self, data: bytes, corpus: Mapping[str, bytes]) -> bytes:
        i = self.at % (len(data) + 1)
        return data[:i] + data[i + self.size :]


@dataclass(frozen=True)
class Truncate:
    at: int

    def apply(self, data: bytes, corpus: Mapping[str, bytes]) -> bytes:
        return data[: self.at % (len(data) + 1)]


@dataclass(frozen=True)
class Duplicate:
    """Copy ``size`` bytes from ``at`` and insert them at ``to`` (repeated chunks, loops)."""

    at: int
    size: int
    to: int

    def apply(self, data: bytes, corpus: Mapping[str, bytes]) -> bytes:
        i = self.at % (len(data) + 1)
        chunk = data[i : i + self.size]
        j = self.to % (len(data) + 1)
        return data[:j] + chunk + data[j:]


@dataclass(frozen=True)
class Splice:
    """The head of this input joined to the tail of another seed."""

    at: int
    other: str
    other_at: int

    def apply(self, data: bytes, corpus: Mapping[str, bytes]) -> bytes:
        other = corpus[self.other]
        return data[: self.at % (len(data) + 1)] + other[self.other_at % (len(other) + 1) :]


_NUMBER = re.compile(rb"-?\d+(?:\.\d*)?")


@dataclass(frozen=True)
class ReplaceNumber:
    """Replace the next ASCII number at or after ``at``: lengths, sizes, offsets in a PDF."""

    at: int
    number: bytes

    def apply(self, data: bytes, corpus: Mapping[str, bytes]) -> bytes:
        match = _NUMBER.search(data, self.at % (len(data) + 1)) or _NUMBER.search(data)
        if match is None:
            return data
        return data[: match.start()] + self.number + data[match.end() :]


@dataclass(frozen=True)
class WriteInt:
    """Overwrite a binary integer field: widths, heights, offsets and counts in image headers."""

    at: int
    value: int
    width: int
    big_endian: bool

    def apply(self, data: bytes, corpus: Mapping[str, bytes]) -> bytes:
        if len(data) < self.width:
            return data
        i = self.at % (len(data) - self.width + 1)
        value = self.value % (1 << (8 * self.width))
        field = value.to_bytes(self.width, "big" if self.big_endian else "little")
        return data[:i] + field + data[i + self.width :]


@dataclass(frozen=True)
class PageInput:
    """A seed file, the edits made to it, and how it is opened."""

    seed: str
    mutations: tuple[Mutation, ...]
    multi_crop: bool
    password: str | None
    strategy: str = "ocr"
    """The pages' strategy: "ocr" renders them, "text" and "auto" read their text layer."""

    def data(self) -> bytes:
        corpus = seed_corpus()
        data = corpus[self.seed]
        for mutation in self.mutations:
            mutated = mutation.apply(data, corpus)
            if len(mutated) <= MAX_INPUT_BYTES:
                data = mutated
        return data

    def task_code(self) -> str:
        if self.multi_crop:
            return f"OCRTask(crop_to_patches=True, max_patches={MULTI_CROP_PATCHES})"
        return "PLAIN"


def _picture(size: tuple[int, int]) -> Any:
    from PIL import Image

    width, height = size
    pixels = bytes(
        (x * 37 + y * 11 + channel * 90) % 256
        for y in range(height)
        for x in range(width)
        for channel in range(3)
    )
    return Image.frombytes("RGB", size, pixels)


def _pdf_seeds() -> dict[str, bytes]:
    import pymupdf

    png = _image_bytes(_picture((8, 8)), "PNG")
    seeds: dict[str, bytes] = {}

    def page_with_content(pdf: Any, width: float = 200, height: float = 120) -> Any:
        page = pdf.new_page(width=width, height=height)
        page.insert_text((10, 30), "Fuzz page", fontsize=12)
        page.draw_rect(pymupdf.Rect(10, 40, 90, 80), color=(1, 0, 0), fill=(0, 0, 1))
        page.draw_line((0, 0), (width, height))
        return page

    pdf = pymupdf.open()
    page_with_content(pdf)
    pdf.set_metadata({"title": "Fuzz", "creationDate": "D:20240102030405+01'00'"})
    seeds["pdf-text"] = pdf.tobytes()

    page_with_content(pdf).insert_image(pymupdf.Rect(100, 10, 150, 60), stream=png)
    pdf.set_page_labels([{"startpage": 0, "prefix": "A-", "style": "r", "firstpagenum": 3}])
    seeds["pdf-two-pages-image-labels"] = pdf.tobytes()
    seeds["pdf-compressed-objstms"] = pdf.tobytes(deflate=True, garbage=3, use_objstms=1)
    seeds["pdf-encrypted-aes"] = pdf.tobytes(
        encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw=PASSWORD, owner_pw=PASSWORD + "-owner"
    )
    seeds["pdf-encrypted-rc4"] = pdf.tobytes(
        encryption=pymupdf.PDF_ENCRYPT_RC4_128, user_pw=PASSWORD, owner_pw=PASSWORD + "-owner"
    )
    pdf.close()

    pdf = pymupdf.open()
    page_with_content(pdf, 300, 40).set_rotation(90)
    seeds["pdf-rotated-wide"] = pdf.tobytes()
    pdf.close()
    return seeds


def _image_bytes(image: Any, image_format: str, **options: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **options)
    return buffer.getvalue()


def _image_seeds() -> dict[str, bytes]:
    import numpy
    from PIL import Image, features

    rgb = _picture((16, 12))
    gray = rgb.convert("L")
    palette = rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    deep = Image.fromarray(numpy.asarray(gray, dtype=numpy.uint16) * 257)  # mode I;16
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° on display
    seeds = {
        "png-rgb": _image_bytes(rgb, "PNG"),
        "png-palette-transparency": _image_bytes(palette, "PNG", transparency=0),
        "png-rgba": _image_bytes(rgb.convert("RGBA"), "PNG"),
        "png-la": _image_bytes(gray.convert("LA"), "PNG"),
        "png-16bit": _image_bytes(deep, "PNG"),
        "png-1bit": _image_bytes(gray.convert("1"), "PNG"),
        "jpeg-exif-rotated": _image_bytes(rgb, "JPEG", exif=exif.tobytes()),
        "jpeg-cmyk": _image_bytes(rgb.convert("CMYK"), "JPEG"),
        "gif-animated": _image_bytes(
            palette, "GIF", save_all=True, append_images=[palette.rotate(90)], duration=50
        ),
        "tiff-two-pages": _image_bytes(rgb, "TIFF", save_all=True, append_images=[gray]),
        "tiff-lzw-float": _image_bytes(gray.convert("F"), "TIFF", compression="tiff_lzw"),
        "bmp-rgb": _image_bytes(rgb, "BMP"),
        "bmp-palette": _image_bytes(palette, "BMP"),
        "ppm-rgb": _image_bytes(rgb, "PPM"),
        "tga-rgba": _image_bytes(rgb.convert("RGBA"), "TGA"),
        "ico": _image_bytes(rgb.resize((16, 16)), "ICO", sizes=[(16, 16)]),
        # Long thin strips: the short side is already as small as GOT's size would make it.
        "png-wide-strip": _image_bytes(gray.resize((1500, 1)), "PNG"),
        "jpeg-tall-strip": _image_bytes(rgb.resize((2, 2600)), "JPEG"),
    }
    if features.check("webp"):
        seeds["webp-rgba"] = _image_bytes(rgb.convert("RGBA"), "WEBP")
    return seeds


@cache
def seed_corpus() -> dict[str, bytes]:
    """Small valid PDFs and images, built in code (nothing is read from disk)."""
    return {**_pdf_seeds(), **_image_seeds()}


_INTERESTING_INTS = [0, 1, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000]
_INTERESTING_INTS += [0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, -1]
_INTERESTING_NUMBERS = [b"0", b"-1", b"1", b"65535", b"2147483648", b"99999999999999999999"]
_INTERESTING_NUMBERS += [b"1e38", b"3.5e38", b"-0.0", b"0.000001", b"-2147483649", b"."]
_TOKENS = [b"<<", b">>", b" obj", b"endobj", b"stream\n", b"endstream", b"/Length 0", b" 0 R"]
_TOKENS += [b"/Rotate 45", b"/MediaBox [0 0 0 0]", b"%PDF-1.7\n", b"xref", b"trailer", b"\n"]
_TOKENS += [b"\x00" * 64, b"\xff" * 8, b"IDAT", b"IEND", b"\xff\xd8", b"\xff\xd9", b"II*\x00"]


def _mutations(length: int, seeds: list[str]) -> st.SearchStrategy[Mutation]:
    at = st.integers(0, max(length - 1, 0))
    size = st.integers(1, 4096)
    return st.one_of(
        st.builds(BitFlip, at, st.integers(0, 7)),
        st.builds(SetByte, at, st.integers(0, 255)),
        st.builds(Insert, at, st.binary(min_size=1, max_size=16) | st.sampled_from(_TOKENS)),
        st.builds(Delete, at, size),
        st.builds(Truncate, at),
        st.builds(Duplicate, at, size, at),
        st.builds(Splice, at, st.sampled_from(seeds), st.integers(0, 1 << 16)),
        st.builds(
            ReplaceNumber,
            at,
            st.sampled_from(_INTERESTING_NUMBERS)
            | st.integers(-(10**6), 10**9).map(lambda n: str(n).encode()),
        ),
        st.builds(
            WriteInt,
            at,
            st.sampled_from(_INTERESTING_INTS) | st.integers(0, (1 << 32) - 1),
            st.sampled_from([1, 2, 4]),
            st.booleans(),
        ),
    )


def page_inputs() -> st.SearchStrategy[PageInput]:
    """A seed, up to eight edits of it, a task (whole page or multi-crop) and a password."""
    corpus = seed_corpus()
    names = sorted(corpus)

    def edited(name: str) -> st.SearchStrategy[PageInput]:
        return st.builds(
            PageInput,
            st.just(name),
            st.lists(_mutations(len(corpus[name]), names), max_size=8).map(tuple),
            st.booleans(),
            st.sampled_from([PASSWORD, None]),
            st.sampled_from(["ocr", "auto", "text"]),
        )

    return st.sampled_from(names).flatmap(edited)


def seed_inputs() -> list[PageInput]:
    """Every seed as it is, read with every other task (to load each decoder once)."""
    return [
        PageInput(name, (), multi_crop=bool(i % 2), password=None, strategy=strategy)
        for i, name in enumerate(seed_corpus())
        for strategy in ("ocr", "auto")
    ]


def check_pages(page_input: PageInput) -> str:
    """bytes -> SourceDocument -> open_document -> every page rendered (or read from its text
    layer), or a GOTError."""
    from got_loaders.sources import open_document
    from got_loaders.sources.documents import SourceDocument
    from got_loaders.sources.text_layer import Route, Strategy
    from got_model.errors import GOTError
    from got_model.tasks import PLAIN, OCRTask

    task = (
        OCRTask(crop_to_patches=True, max_patches=MULTI_CROP_PATCHES)
        if page_input.multi_crop
        else PLAIN
    )
    try:
        source = open_document(
            SourceDocument.from_input(page_input.data()),
            task,
            password=page_input.password,
            strategy=Strategy(page_input.strategy),
        )
    except GOTError as exc:
        return f"open: {type(exc).__name__}"
    failed: set[str] = set()
    with source:
        for key, value in source.info.metadata.items():
            if not isinstance(key, str) or not isinstance(value, (str, int, float, bool)):
                raise UnexpectedOutput(f"metadata {key!r}: {value!r} is not a flat scalar")
        for index in source.indices(None)[:MAX_PAGES_RENDERED]:
            try:
                page = source.render(index)
            except GOTError as exc:
                failed.add(type(exc).__name__)
                continue
            if page.route.route is Route.TEXT:
                _check_text_layer(page)
            else:
                _check_page_image(page.image, task)
            if not isinstance(page.label, str):
                raise UnexpectedOutput(f"page {index + 1} has the label {page.label!r}")
    return f"render: {', '.join(sorted(failed))}" if failed else "rendered"


def _check_text_layer(page: Any) -> None:
    from got_loaders.sources.text_layer import TextLayer

    layer = page.text_layer
    if page.image is not None or not isinstance(layer, TextLayer):
        raise UnexpectedOutput(f"page {page.number} on the text route has no text layer")
    markdown, text = layer.converted.markdown, layer.converted.text
    if (
        not isinstance(markdown, str)
        or not isinstance(text, str)
        or not isinstance(layer.text, str)
    ):
        raise UnexpectedOutput(f"page {page.number}'s text layer is not text")


def _check_page_image(image: Any, task: Any) -> None:
    from PIL import Image

    from got_loaders.sources.pages import GOT_PATCH_SIZE

    if not isinstance(image, Image.Image):
        raise UnexpectedOutput(f"a page is a {type(image).__name__}, not a PIL image")
    width, height = image.size
    if image.mode != "RGB" or width < 1 or height < 1:
        raise UnexpectedOutput(f"a page is {image.mode} {width}x{height}, not RGB of a real size")
    patches = task.max_patches if task.crop_to_patches else 1
    # One pixel of slack: MuPDF rounds the pixmap to whole pixels on its own.
    side, area = patches * GOT_PATCH_SIZE + 1, patches * (GOT_PATCH_SIZE + 1) ** 2
    if width > side or height > side or width * height > area:
        raise UnexpectedOutput(f"a {width}x{height} page is larger than GOT reads")


def page_reproducer(page_input: PageInput) -> Reproducer:
    data = page_input.data()
    edits = ", ".join(map(repr, page_input.mutations))
    return Reproducer(
        data=data,
        suffix=".pdf" if b"%PDF-" in data[:1024] else ".bin",
        code=(
            "from got_loaders.sources.documents import SourceDocument\n"
            "from got_loaders.sources import open_document\n"
            "from got_loaders.sources.text_layer import Strategy\n"
            "from got_model.tasks import PLAIN, OCRTask\n\n"
            f"task = {page_input.task_code()}\n"
            "document = SourceDocument.from_input(DATA)\n"
            f"strategy = Strategy({page_input.strategy!r})\n"
            f"with open_document(\n"
            f"    document, task, password={page_input.password!r}, strategy=strategy\n"
            ") as source:\n"
            "    for index in source.indices(None):\n"
            "        source.render(index)\n"
        ),
        summary=(
            f"seed {page_input.seed!r} + [{_short(edits, 400)}] ({len(data)} bytes), "
            f"task {page_input.task_code()}, password {page_input.password!r}, "
            f"strategy {page_input.strategy!r}"
        ),
    )


# --- Page selection and tasks -------------------------------------------------------------

_PAGE_CHARS = "0123456789-, \t\n٣०"  # ASCII and two non-ASCII decimal digits
_NUMERIC = st.integers() | st.floats() | st.sampled_from([10**400, -(10**400), 2**1024, 2**63])
_ANY_NUMBER = _NUMERIC | st.text(max_size=4) | st.booleans() | st.none()


def selection_inputs() -> st.SearchStrategy[tuple[Any, int]]:
    """A ``pages=`` argument of any shape, and the page count of a document to apply it to."""
    ranges = st.text(alphabet=_PAGE_CHARS, max_size=24)
    # Python refuses int() of more than 4300 digits: the lengths around that limit, and others.
    length = st.sampled_from([20, 4300, 4301, 6000]) | st.integers(1, 6000)
    long_run = st.builds(_repeat, st.sampled_from(["9", "1-", ",", "1,"]), length)
    item = st.one_of(st.integers(), ranges, st.text(max_size=8), _ANY_NUMBER, long_run)
    pages = st.one_of(
        st.none(),
        item,
        st.builds(range, st.integers(-3, 10**12), st.integers(-3, 10**12), st.integers(1, 3)),
        st.lists(item | st.lists(st.integers(), max_size=2), max_size=5),
        st.lists(st.integers(-2, 50), max_size=5).map(tuple),
    )
    return st.tuples(pages, st.integers(0, 40))


def check_selection(value: tuple[Any, int]) -> str:
    """``PageSelection.parse``: a selection, None for None, or InvalidPagesError."""
    from got_loaders.sources.selection import PageSelection
    from got_model.errors import GOTError

    pages, total_pages = value
    try:
        selection = PageSelection.parse(pages)
    except GOTError as exc:
        return type(exc).__name__
    if selection is None:
        if pages is not None:
            raise UnexpectedOutput(f"parse({pages!r}) returned None")
        return "all pages"
    if not isinstance(selection, PageSelection):
        raise UnexpectedOutput(f"parse() returned a {type(selection).__name__}")
    if PageSelection.parse(str(selection)) != selection:
        raise UnexpectedOutput(f"str() of {selection!r} does not parse back to it")
    try:
        indices = selection.indices(total_pages, "fuzz")
    except GOTError as exc:
        return type(exc).__name__
    if not indices or indices != sorted(set(indices)) or indices[0] < 0:
        raise UnexpectedOutput(f"indices {indices} of a {total_pages}-page document")
    if indices[-1] >= total_pages:
        raise UnexpectedOutput(f"indices {indices} of a {total_pages}-page document")
    return "selected"


@dataclass(frozen=True)
class TaskInput:
    """Arguments for ``OCRTask``, and the page and image sizes to apply the task to."""

    output: Any
    box: Any
    color: Any
    crop_to_patches: Any
    max_patches: Any
    page_size: tuple[float, float]
    image_size: tuple[int, int]


TaskArguments = tuple[Any, Any, Any, Any, Any]
"""``OCRTask``'s arguments: output, box, color, crop_to_patches, max_patches."""


def _box(x: float, y: float, width: float, height: float) -> tuple[float, float, float, float]:
    return (x, y, x + width, y + height)


def _plausible(output: Any, region: tuple[Any, Any], crop: bool, patches: int) -> TaskArguments:
    box, color = region
    return (output, box, color, crop and box is None and color is None, patches)


def _with_one_wild(arguments: TaskArguments, index: int, value: Any) -> TaskArguments:
    changed = list(arguments)
    changed[index] = value
    output, box, color, crop, patches = changed
    return (output, box, color, crop, patches)


def _task_input(
    arguments: TaskArguments, page: tuple[float, float], image: tuple[int, int]
) -> TaskInput:
    return TaskInput(*arguments, page_size=page, image_size=image)


def task_inputs() -> st.SearchStrategy[TaskInput]:
    """Plausible tasks (a valid box, a color or multi-crop), some with one argument of any type
    (one at a time: ``OCRTask`` checks its arguments in order, the first bad one decides)."""
    from got_model.tasks import OutputFormat, RegionColor

    output = st.sampled_from([*OutputFormat, "plain", "formatted"])
    coordinate = st.floats(min_value=0, max_value=1e5) | st.integers(0, 10**5)
    region = st.one_of(
        st.tuples(st.builds(_box, coordinate, coordinate, coordinate, coordinate), st.none()),
        st.tuples(st.none(), st.sampled_from([*RegionColor, "red"])),
    )
    plausible = st.builds(
        _plausible,
        output,
        region | st.just((None, None)),
        st.booleans(),
        st.integers(1, 64),
    )
    anything = st.text(max_size=10) | st.integers() | st.none() | _ANY_NUMBER
    wild_values = [
        anything,
        st.one_of(
            st.tuples(_NUMERIC, _NUMERIC, _NUMERIC, _NUMERIC),
            st.tuples(_ANY_NUMBER, _ANY_NUMBER, _ANY_NUMBER, _ANY_NUMBER),
            st.lists(_ANY_NUMBER, max_size=6),
            anything,
        ),
        st.sampled_from(["RED", "purple"]) | anything,
        anything,
        # OCRTask bounds max_patches (a huge one once took seconds and gigabytes to tile).
        st.integers(-2, 0) | st.integers(65, 10**6) | st.text(max_size=3) | st.floats() | st.none(),
    ]
    wild = st.one_of(
        *(
            st.builds(_with_one_wild, plausible, st.just(index), values)
            for index, values in enumerate(wild_values)
        )
    )
    # Page sizes as MuPDF reports them: positive single-precision floats.
    side = st.floats(min_value=0, max_value=3.4028234663852886e38, exclude_min=True, width=32)
    return st.builds(
        _task_input,
        plausible | wild,
        st.tuples(side, side),
        st.tuples(st.integers(1, 5000), st.integers(1, 5000)),
    )


def check_task(value: TaskInput) -> str:
    """``OCRTask(...)``: a task or InvalidTaskError; then a task's sizes and box checks."""
    from got_loaders.sources.pages import GOT_PATCH_SIZE, render_size
    from got_model.errors import GOTError
    from got_model.tasks import OCRTask

    try:
        task = OCRTask(
            output=value.output,
            box=value.box,
            color=value.color,
            crop_to_patches=value.crop_to_patches,
            max_patches=value.max_patches,
        )
    except GOTError as exc:
        return type(exc).__name__
    if not isinstance(task.describe(), str):
        raise UnexpectedOutput("describe() is not a str")
    if task.box is not None and not all(isinstance(v, float) for v in task.box):
        raise UnexpectedOutput(f"box {task.box!r} is not four floats")
    with contextlib.suppress(GOTError):
        task.check_box_fits(*value.image_size)
    width, height = render_size(*value.page_size, task)
    limit = GOT_PATCH_SIZE * (task.max_patches if task.crop_to_patches else 1)
    if not (1 <= width <= limit and 1 <= height <= limit):
        raise UnexpectedOutput(f"render_size{value.page_size} is {width}x{height}")
    return "task"


def _literal(value: object) -> str:
    """Python source for ``value``: enum members by name, nan and inf spelled out."""
    if isinstance(value, Enum):
        return f"{type(value).__name__}.{value.name}"
    if isinstance(value, float) and not math.isfinite(value):
        return f"float({str(value)!r})"
    if isinstance(value, tuple):
        items = ", ".join(map(_literal, value))
        return f"({items},)" if len(value) == 1 else f"({items})"
    if isinstance(value, list):
        return "[" + ", ".join(map(_literal, value)) + "]"
    return repr(value)


def _selection_reproducer(value: tuple[Any, int]) -> Reproducer:
    literal = _literal(value)
    return Reproducer(
        data=literal.encode(),
        suffix=".txt",
        code=(
            "from got_loaders.sources.selection import PageSelection\n\n"
            "pages, total = eval(DATA.decode())\n"
            "selection = PageSelection.parse(pages)\n"
            "if selection is not None:\n"
            "    PageSelection.parse(str(selection))\n"
            "    selection.indices(total, 'fuzz')\n"
        ),
        summary=f"(pages, total_pages) = {_short(literal, 400)}",
    )


def _task_reproducer(value: TaskInput) -> Reproducer:
    literal = ", ".join(
        f"{name}={_literal(getattr(value, name))}"
        for name in ("output", "box", "color", "crop_to_patches", "max_patches")
    )
    return Reproducer(
        data=literal.encode(),
        suffix=".txt",
        code=(
            "from got_loaders.sources.pages import render_size\n"
            "from got_model.tasks import OCRTask, OutputFormat, RegionColor\n\n"
            "task = eval('OCRTask(' + DATA.decode() + ')')\n"
            f"task.check_box_fits(*{value.image_size!r})\n"
            f"render_size(*{_literal(value.page_size)}, task)\n"
        ),
        summary=(
            f"OCRTask({_short(literal, 400)}), page {value.page_size}, image {value.image_size}"
        ),
    )


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} chars)"


def all_targets() -> list[Target[Any]]:
    """Every target, in the order ``fuzz/run.py`` runs them."""
    return [
        Target(
            "markdown",
            "got_model.markdown.convert / to_markdown, both output formats (never raise)",
            markup_text,
            check_convert,
            _text_reproducer(
                "from got_model.markdown import convert, to_markdown\n"
                "from got_model.tasks import OutputFormat\n"
                "for output in OutputFormat:\n"
                "    convert(text, output).markdown\n"
                "    to_markdown(text, output)"
            ),
        ),
        Target(
            "parse-formatted",
            "got_model.markdown.formatted.parse_formatted, without the plain-text fallback",
            markup_text,
            check_parse_formatted,
            _text_reproducer(
                "from got_model.markdown.formatted import parse_formatted\n"
                "parse_formatted(text).markdown"
            ),
        ),
        Target(
            "pages",
            "bytes -> open_document -> render every page (RGB pages or a GOTError)",
            page_inputs,
            check_pages,
            page_reproducer,
            native=True,
            warm_up=seed_inputs,
        ),
        Target(
            "page-selection",
            "PageSelection.parse and .indices on arguments of any shape",
            selection_inputs,
            check_selection,
            _selection_reproducer,
        ),
        Target(
            "ocr-task",
            "OCRTask(...) from arbitrary values, then check_box_fits and render_size",
            task_inputs,
            check_task,
            _task_reproducer,
        ),
    ]
