"""partition_got against a fake engine: element types, metadata, hierarchy, chunking, routing."""

from __future__ import annotations

import io
import socket
import uuid
from pathlib import Path

import pytest
from unstructured.chunking.title import chunk_by_title
from unstructured.documents.elements import (
    CodeSnippet,
    Element,
    Footer,
    Formula,
    ListItem,
    NarrativeText,
    PageBreak,
    Table,
    Title,
)
from unstructured.file_utils.model import FileType
from unstructured.partition.auto import partition
from unstructured.staging.base import convert_to_dict, elements_from_json, elements_to_json

from got_loaders.errors import DocumentNotFoundError
from got_loaders.pipeline import RecognitionError
from got_loaders.unstructured import partition_got, register_got_partitioner
from tests.got_loaders.samples import FakeEngine, make_image, make_pdf

PAGE_ONE = r"""\title{A Study of Things}
Intro with \textbf{bold} and \textit{slanted} words, see \href{https://example.org}{the site}.
\section*{Methods}
\begin{itemize}
\item first step
\begin{itemize}
\item a detail
\end{itemize}
\item second step
\end{itemize}
\[ E = mc^2 \]
\begin{tabular}{|l|r|}
\hline Name & Value \\
\hline alpha & 1 \\
\hline
\end{tabular}
"""
PAGE_TWO = r"""More about the methods\footnote{A note at the foot.}.
\subsection*{Details}
\begin{tikzpicture}
\draw (0,0) -- (1,1);
\end{tikzpicture}
Closing words.
"""
TIKZ = "\\begin{tikzpicture}\n\\draw (0,0) -- (1,1);\n\\end{tikzpicture}"
TYPES = [
    (Title, "A Study of Things"),
    (NarrativeText, "Intro with bold and slanted words, see the site."),
    (Title, "Methods"),
    (ListItem, "first step"),
    (ListItem, "a detail"),
    (ListItem, "second step"),
    (Formula, "E = mc^2"),
    (Table, "Name | Value\nalpha | 1"),
    (NarrativeText, "More about the methods[1]."),
    (Title, "Details"),
    (CodeSnippet, TIKZ),
    (NarrativeText, "Closing words."),
    (Footer, "[1] A note at the foot."),
]


@pytest.fixture
def paper(tmp_path: Path) -> Path:
    path = tmp_path / "paper.pdf"
    path.write_bytes(make_pdf(0, 2))
    return path


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine(texts={(0, 0): PAGE_ONE, (0, 1): PAGE_TWO})


def by_text(elements: list[Element]) -> dict[str, Element]:
    return {element.text: element for element in elements}


def test_blocks_become_typed_elements(paper: Path, engine: FakeEngine) -> None:
    elements = partition_got(str(paper), engine=engine)
    assert [(type(e), e.text.strip()) for e in elements] == TYPES
    found = by_text(elements)
    assert [
        found[t].metadata.category_depth for t in ("A Study of Things", "Methods", "Details")
    ] == [0, 1, 2]
    assert [found[t].metadata.category_depth for t in ("first step", "a detail")] == [0, 1]
    table = found["Name | Value\nalpha | 1"]
    assert table.metadata.text_as_html == (
        "<table><thead><tr><th>Name</th><th>Value</th></tr></thead>"
        "<tbody><tr><td>alpha</td><td>1</td></tr></tbody></table>"
    )
    intro = found["Intro with bold and slanted words, see the site."]
    assert intro.metadata.emphasized_text_contents == ["bold", "slanted"]
    assert intro.metadata.emphasized_text_tags == ["b", "i"]
    assert intro.metadata.link_texts == ["the site"]
    assert intro.metadata.link_urls == ["https://example.org"]


def test_element_metadata(paper: Path, engine: FakeEngine) -> None:
    elements = partition_got(paper, engine=engine)
    assert {e.metadata.filename for e in elements} == {"paper.pdf"}
    assert {e.metadata.file_directory for e in elements} == {str(paper.parent)}
    assert {e.metadata.filetype for e in elements} == {"application/pdf"}
    assert [e.metadata.page_number for e in elements] == [1] * 8 + [2] * 5
    modified = {e.metadata.last_modified for e in elements}
    assert len(modified) == 1
    assert modified.pop().startswith(
        str(__import__("datetime").date.fromtimestamp(paper.stat().st_mtime))
    )
    assert {tuple(e.metadata.languages or ()) for e in elements} == {("eng",)}
    assert len({id(e.metadata) for e in elements}) == len(elements)


def test_images_name_their_own_type(tmp_path: Path) -> None:
    for name, fmt, mime in [
        ("scan.png", "PNG", "image/png"),
        ("photo.jpg", "JPEG", "image/jpeg"),
        ("fax.tiff", "TIFF", "image/tiff"),
    ]:
        path = tmp_path / name
        path.write_bytes(make_image(fmt, 1, frames=2 if fmt == "TIFF" else 1))
        elements = partition_got(str(path), engine=FakeEngine())
        assert {e.metadata.filetype for e in elements} == {mime}
        pages = 2 if fmt == "TIFF" else 1
        assert sorted({e.metadata.page_number for e in elements}) == list(range(1, pages + 1))


def test_every_element_points_to_its_heading(paper: Path, engine: FakeEngine) -> None:
    for breaks in (False, True):
        elements = partition_got(str(paper), engine=engine, include_page_breaks=breaks)
        found = by_text(elements)
        title, methods, details = (found[t].id for t in ("A Study of Things", "Methods", "Details"))
        parents = {e.text: e.metadata.parent_id for e in elements if not isinstance(e, PageBreak)}
        assert parents == {
            "A Study of Things": None,
            "Intro with bold and slanted words, see the site.": title,
            "Methods": title,
            "first step": methods,
            "a detail": found["first step"].id,
            "second step": methods,
            "E = mc^2": methods,
            "Name | Value\nalpha | 1": methods,
            "More about the methods[1].": methods,  # page 2, still under page 1's heading
            "Details": methods,
            TIKZ: details,
            "Closing words.": details,
            "[1] A note at the foot.": details,
        }
        assert all(e.metadata.parent_id is None for e in elements if isinstance(e, PageBreak))


def test_ids_are_deterministic_hashes_unless_asked_otherwise(
    paper: Path, engine: FakeEngine
) -> None:
    first = partition_got(str(paper), engine=engine)
    again = partition_got(str(paper), engine=engine)
    assert [e.id for e in first] == [e.id for e in again]
    assert len({e.id for e in first}) == len(first)
    assert all(len(e.id) == 32 for e in first)
    fresh = partition_got(str(paper), engine=engine, unique_element_ids=True)
    assert all(uuid.UUID(e.id) for e in fresh)
    assert not {e.id for e in fresh} & {e.id for e in first}
    # parent ids follow whichever ids the elements got
    assert {e.metadata.parent_id for e in fresh} - {None} <= {e.id for e in fresh}


def test_page_breaks_pages_and_numbering(tmp_path: Path) -> None:
    path = tmp_path / "five.pdf"
    path.write_bytes(make_pdf(1, 5))
    elements = partition_got(
        str(path),
        engine=FakeEngine(),
        pages="2,4-",
        include_page_breaks=True,
        starting_page_number=10,
    )
    kinds = [type(e).__name__ for e in elements]
    assert kinds == ["Title", "NarrativeText", "PageBreak"] * 3
    assert [e.metadata.page_number for e in elements if isinstance(e, Title)] == [11, 13, 14]
    assert [e.text for e in elements if isinstance(e, Title)] == [
        "Document 1 page 1",
        "Document 1 page 3",
        "Document 1 page 4",
    ]


def test_file_objects_and_bytes(paper: Path, engine: FakeEngine) -> None:
    from_path = partition_got(str(paper), engine=engine)
    with paper.open("rb") as file:
        from_file = partition_got(file=file, engine=engine, metadata_filename="renamed.pdf")
    assert [e.text for e in from_file] == [e.text for e in from_path]
    assert {e.metadata.filename for e in from_file} == {"renamed.pdf"}
    assert {e.metadata.last_modified for e in from_file} == {None}
    stamped = partition_got(
        file=io.BytesIO(paper.read_bytes()),
        engine=engine,
        metadata_last_modified="2020-01-02T03:04:05",
    )
    assert {e.metadata.last_modified for e in stamped} == {"2020-01-02T03:04:05"}
    assert {e.metadata.filename for e in stamped} == {None}
    raw = partition_got(file=paper.read_bytes(), engine=engine)
    assert [e.text for e in raw] == [e.text for e in from_path]


def test_exactly_one_source() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        partition_got(engine=FakeEngine())
    with pytest.raises(ValueError, match="exactly one"):
        partition_got("a.pdf", file=io.BytesIO(b"x"), engine=FakeEngine())
    with pytest.raises(DocumentNotFoundError, match=r"missing\.pdf"):
        partition_got("missing.pdf", engine=FakeEngine())


def test_errors_raise_or_skip(paper: Path) -> None:
    failing = FakeEngine(fail_on=[(0, 1)])
    with pytest.raises(RecognitionError, match=r"paper\.pdf, page 2"):
        partition_got(str(paper), engine=failing)
    kept = partition_got(str(paper), engine=failing, on_error="skip")
    assert {e.metadata.page_number for e in kept} == {1}
    broken = paper.with_name("broken.pdf")
    broken.write_bytes(b"%PDF-1.7\nnot really")
    assert partition_got(str(broken), engine=FakeEngine(), on_error="skip") == []


def test_plain_output_is_narrative_text(paper: Path) -> None:
    engine = FakeEngine(texts={(0, 0): "First paragraph\nstill first.\n\nSecond # paragraph."})
    elements = partition_got(str(paper), engine=engine, task="plain", pages=1)
    assert [(type(e), e.text) for e in elements] == [
        (NarrativeText, "First paragraph\nstill first."),
        (NarrativeText, "Second # paragraph."),
    ]


def test_a_blank_page_gives_no_element_but_its_break(paper: Path) -> None:
    engine = FakeEngine(texts={(0, 0): "", (0, 1): "\\section*{Two}"})
    elements = partition_got(str(paper), engine=engine, include_page_breaks=True)
    assert [type(e) for e in elements] == [PageBreak, Title, PageBreak]


def test_nothing_reaches_the_network(
    paper: Path, engine: FakeEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("partition_got tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    elements = partition_got(str(paper), engine=engine, detect_language_per_element=True)
    assert len(elements) == len(TYPES)


def test_chunk_by_title_on_our_elements(paper: Path, engine: FakeEngine) -> None:
    elements = partition_got(str(paper), engine=engine, include_page_breaks=True)
    chunks = chunk_by_title(elements, max_characters=500, combine_text_under_n_chars=0)
    tables = [c for c in chunks if isinstance(c, Table)]
    assert len(tables) == 1
    assert tables[0].metadata.text_as_html is not None
    texts = [c.text for c in chunks]
    assert texts[0].startswith("A Study of Things\n\nIntro with bold")
    assert any(t.startswith("Details") for t in texts)  # a new section starts a new chunk
    assert [c.metadata.page_number for c in chunks][-1] == 2
    per_page = chunk_by_title(elements, multipage_sections=False)
    assert {c.metadata.page_number for c in per_page} == {1, 2}
    assert all("More about" not in c.text or c.metadata.page_number == 2 for c in per_page)


def test_serializers_round_trip(paper: Path, engine: FakeEngine) -> None:
    elements = partition_got(str(paper), engine=engine)
    dicts = convert_to_dict(elements)
    assert [d["type"] for d in dicts] == [cls.__name__ for cls, _ in TYPES]
    assert dicts[7]["metadata"]["text_as_html"].startswith("<table>")
    restored = elements_from_json(text=elements_to_json(elements))
    assert [(type(e), e.text, e.id) for e in restored] == [
        (type(e), e.text, e.id) for e in elements
    ]
    assert [e.metadata.to_dict() for e in restored] == [e.metadata.to_dict() for e in elements]


def test_auto_partition_routes_to_got_only_when_registered(
    tmp_path: Path, paper: Path, engine: FakeEngine
) -> None:
    original = (
        FileType.PDF._partitioner_full_module_path,
        FileType.PDF._importable_package_dependencies,
    )
    assert original[0] is None  # importing got_loaders.unstructured registered nothing
    scan = tmp_path / "scan.png"
    scan.write_bytes(make_image("PNG", 3))
    with register_got_partitioner(engine=engine) as registration:
        assert FileType.PNG in registration.file_types
        routed = partition(str(paper), include_page_breaks=True, strategy="hi_res")
        direct = partition_got(str(paper), engine=engine, include_page_breaks=True)
        assert [(type(e), e.text, e.id) for e in routed] == [
            (type(e), e.text, e.id) for e in direct
        ]
        image = partition(filename=str(scan))
        assert [e.text for e in image] == ["Document 3 page 0", "Text of page 1."]
        assert {e.metadata.filetype for e in image} == {"image/png"}
    assert (
        FileType.PDF._partitioner_full_module_path,
        FileType.PDF._importable_package_dependencies,
    ) == original


def test_routed_file_objects_keep_their_name(paper: Path, engine: FakeEngine) -> None:
    other = paper.with_name("other.pdf")
    other.write_bytes(paper.read_bytes())
    with register_got_partitioner(engine=engine, file_types=["pdf"]):
        with paper.open("rb") as file:
            first = partition(file=file, metadata_filename="first.pdf")
        with other.open("rb") as file:
            second = partition(file=file, metadata_filename="second.pdf")
    assert {e.metadata.filename for e in first} == {"first.pdf"}
    assert {e.metadata.filename for e in second} == {"second.pdf"}
    # Unstructured's hash ids include the file name: the same text in two files differs.
    assert not {e.id for e in first} & {e.id for e in second}


def test_file_types_by_name_or_extension() -> None:
    with register_got_partitioner(engine=FakeEngine(), file_types=["jpeg", ".tiff", "PDF"]) as r:
        assert r.file_types == (FileType.JPG, FileType.TIFF, FileType.PDF)


def test_a_labelled_item_without_text(paper: Path) -> None:
    engine = FakeEngine(texts={(0, 0): "\\begin{enumerate}\n\\item[(b)]\n\\end{enumerate}"})
    (item,) = partition_got(str(paper), engine=engine, pages=1)
    assert (type(item), item.text) == (ListItem, "(b)")


def test_registering_again_replaces_the_first(paper: Path) -> None:
    first = register_got_partitioner(engine=FakeEngine(texts={(0, 0): "first"}), file_types=["pdf"])
    second = register_got_partitioner(
        engine=FakeEngine(texts={(0, 0): "second"}), file_types=[".pdf"]
    )
    try:
        assert partition(str(paper))[0].text == "second"
        first.close()  # already replaced: closing it changes nothing
        assert partition(str(paper))[0].text == "second"
    finally:
        second.close()
    assert FileType.PDF._partitioner_full_module_path is None
    with pytest.raises(ValueError, match="no file type 'pdfx'"):
        register_got_partitioner(engine=FakeEngine(), file_types=["pdfx"])


def test_partition_got_keeps_unstructureds_signature_conventions() -> None:
    import inspect

    parameters = inspect.signature(partition_got).parameters
    assert list(parameters)[:2] == ["filename", "file"]
    assert not any(p.kind is p.VAR_KEYWORD for p in parameters.values())
