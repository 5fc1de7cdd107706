"""Unstructured: ``partition_got`` turns a PDF or an image into Unstructured elements.

The elements are built straight from the typed blocks of GOT's Markdown converter: no text goes
through Unstructured's classifiers (which download a spaCy model at run time). Headings become
``Title`` with ``category_depth``, tables ``Table`` with ``metadata.text_as_html``, and every
element points to its heading through ``metadata.parent_id``, so ``chunk_by_title`` and
Unstructured's serializers work as they do on Unstructured's own output.

``register_got_partitioner()`` makes ``unstructured.partition.auto.partition()`` send PDFs and
images to GOT: an explicit call, never a side effect of importing this module.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import IO, Any

from got_model.cache import CacheArgument, open_cache
from got_model.engine import OCREngine
from got_model.markdown import (
    Block,
    Code,
    Emphasis,
    Footnote,
    Formula,
    Heading,
    Inline,
    Link,
    ListItem,
    Paragraph,
    Strong,
    Table,
    inline,
)
from got_model.tasks import OCRTask

from .content import resolve_task
from .engines import engine_batch_size, engine_or_default
from .extras import import_extra
from .options import parse_option
from .pipeline import OnError, PagePipeline
from .sources.documents import SourceDocument
from .sources.pages import DEFAULT_MAX_PIXELS, DocumentInfo, DocumentKind
from .sources.selection import PagesArgument, PageSelection
from .sources.text_layer import Strategy

import_extra("unstructured", "got_loaders.unstructured")

from unstructured.documents import elements as ue  # noqa: E402
from unstructured.file_utils.model import FileType, register_partitioner  # noqa: E402
from unstructured.partition.common.metadata import (  # noqa: E402
    HIERARCHY_RULE_SET,
    apply_metadata,
    get_last_modified_date,
    set_element_hierarchy,
)

__all__ = ["GOTRegistration", "partition_got", "register_got_partitioner"]

# Unstructured's rules say which categories sit under a Title; GOT also writes formulas, code
# and footnotes under headings.
_HIERARCHY = {
    **HIERARCHY_RULE_SET,
    "Title": [*HIERARCHY_RULE_SET["Title"], "Formula", "CodeSnippet", "Footer"],
}


@apply_metadata()
def partition_got(
    filename: str | os.PathLike[str] | None = None,
    file: IO[bytes] | bytes | None = None,
    *,
    engine: OCREngine | None = None,
    pages: PagesArgument = None,
    password: str | None = None,
    task: OCRTask | str = "formatted",
    include_page_breaks: bool = False,
    starting_page_number: int = 1,
    batch_size: int | None = None,
    on_error: OnError | str = OnError.RAISE,
    cache: CacheArgument = None,
    max_pages: int | None = None,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    strategy: Strategy | str = Strategy.OCR,
    metadata_filename: str | None = None,
    metadata_last_modified: str | None = None,
    languages: list[str] | None = None,
    detect_language_per_element: bool = False,
    language_fallback: Callable[[str], list[str] | None] | None = None,
    unique_element_ids: bool = False,
) -> list[ue.Element]:
    """Partition a PDF or an image (PNG, JPEG, TIFF, WebP, BMP, GIF) with GOT-OCR 2.0.

    Args:
        filename: the file's path; or give ``file``.
        file: the file's bytes or a binary file object.
        engine: the OCR engine; default the shared ``GOTEngine()``, loaded on the first page.
        pages: the 1-based pages to read: ``3``, ``"1-3,7,10-"``, ``[1, "4-6"]``; default all.
        password: for encrypted PDFs.
        task: ``"formatted"`` (headings, tables, math; the default), ``"plain"`` or an
            ``OCRTask``.
        include_page_breaks: add a ``PageBreak`` element after each page.
        starting_page_number: the number of the first page, for ``metadata.page_number``.
        batch_size: pages per engine batch; default the engine's.
        on_error: ``"raise"``, or ``"skip"`` / ``"warn"`` to log a bad page and go on.
        cache: ``True`` for the default result cache, a path, or a ``ResultCache``: pages
            already read skip the model (default: no cache).
        max_pages: a file with more pages to read than this is refused; default no limit.
        max_pixels: an image file, or an image a PDF page draws, larger than this many
            pixels is refused (decompression bombs); default Pillow's limit, about 89.5 million.
        strategy: where a PDF page's text comes from: ``"ocr"`` (always GOT; the default),
            ``"text"`` (the text layer only; GOT never loads) or ``"auto"`` (per page: the
            text layer where it is good, GOT where it is needed). Unstructured's own names
            work too: ``"fast"`` is ``"text"``, ``"hi_res"`` and ``"ocr_only"`` are ``"ocr"``.
            Each element's ``metadata.routing`` says how its page was read (``"ocr"`` or
            ``"text"``) and ``metadata.route_reason`` why.
        metadata_filename: the file name to record (useful with ``file``).
        metadata_last_modified: the date to record instead of the file's modification time.
        languages: as in Unstructured: ``None`` detects the language (offline, with
            langdetect); ``[""]`` turns detection off.
        detect_language_per_element: detect per element instead of per document.
        language_fallback: languages for text too short to detect reliably, as in Unstructured.
        unique_element_ids: random UUIDs instead of Unstructured's deterministic hash ids.

    Returns:
        Title, NarrativeText, ListItem, Table, Formula, CodeSnippet and Footer (footnotes)
        elements in reading order, with a PageBreak after each page when asked.
    """
    if (filename is None) == (file is None):
        raise ValueError("partition_got takes exactly one of filename= and file=.")
    source = SourceDocument.from_input(
        filename if filename is not None else file,  # type: ignore[arg-type]
        name=metadata_filename if filename is None else None,
    )
    engine = engine_or_default(engine)
    opened = open_cache(cache)
    pipeline = PagePipeline(
        engine,
        resolve_task(task),
        batch_size=engine_batch_size(engine, batch_size),
        pages=PageSelection.parse(pages),
        password=password,
        on_error=on_error,
        cache=opened,
        max_pages=max_pages,
        max_pixels=max_pixels,
        strategy=_strategy(strategy),
    )
    last_modified = metadata_last_modified
    if last_modified is None and filename is not None:
        last_modified = get_last_modified_date(str(filename))

    elements: list[ue.Element] = []
    try:
        for item in pipeline.run([source]):
            page_number = item.page.index + starting_page_number
            filetype = _mime_type(item.page.document)
            for element in _page_elements(item.converted.blocks):
                element.metadata.page_number = page_number
                element.metadata.routing = item.route.route.value
                element.metadata.route_reason = item.route.reason.value
                element.metadata.filetype = filetype
                element.metadata.last_modified = last_modified
                elements.append(element)
            if include_page_breaks:
                # No page number, as in Unstructured's PDF partitioner: chunkers take a chunk's
                # page from its first element, and the break belongs to no page.
                metadata = ue.ElementMetadata(filetype=filetype, last_modified=last_modified)
                elements.append(ue.PageBreak(text="", metadata=metadata))
    finally:
        if opened is not None and opened is not cache:  # ours, not the caller's
            opened.close()
    # Headings govern across page breaks: link each element to its heading, page breaks aside.
    set_element_hierarchy([e for e in elements if not isinstance(e, ue.PageBreak)], _HIERARCHY)
    return elements


_UNSTRUCTURED_STRATEGIES = {"fast": Strategy.TEXT, "hi_res": Strategy.OCR, "ocr_only": Strategy.OCR}
"""Unstructured's ``strategy`` names, as ours (its ``"auto"`` is ours)."""


def _strategy(value: Strategy | str) -> Strategy:
    named = _UNSTRUCTURED_STRATEGIES.get(value) if isinstance(value, str) else None
    return named or parse_option(Strategy, value, "strategy")


def _page_elements(blocks: Iterable[Block]) -> Iterator[ue.Element]:
    for block in blocks:
        element = _element(block)
        if element is not None:
            yield element


def _element(block: Block) -> ue.Element | None:
    if isinstance(block, Table):
        if not block.rows:
            return None
        return ue.Table(text=block.text, metadata=ue.ElementMetadata(text_as_html=block.html))
    if isinstance(block, Formula):
        return ue.Formula(text=block.latex) if block.latex.strip() else None
    if isinstance(block, Code):
        return ue.CodeSnippet(text=block.code) if block.code.strip() else None
    text = block.text
    if isinstance(block, Footnote) and block.label:
        text = f"[{block.label}] {text}"
    if not text.strip():
        return None
    metadata = _inline_metadata(block.content)
    if isinstance(block, Heading):
        metadata.category_depth = block.level - 1
        return ue.Title(text=text, metadata=metadata)
    if isinstance(block, ListItem):
        metadata.category_depth = block.depth
        return ue.ListItem(text=text, metadata=metadata)
    if isinstance(block, Footnote):
        return ue.Footer(text=text, metadata=metadata)  # Unstructured's type for footnotes
    assert isinstance(block, Paragraph)
    return ue.NarrativeText(text=text, metadata=metadata)


def _inline_metadata(content: Iterable[Inline]) -> ue.ElementMetadata:
    """Emphasis and links in a block, as Unstructured records them."""
    emphasized: list[tuple[str, str]] = []
    links: list[tuple[str, str]] = []

    def walk(nodes: Iterable[Inline]) -> None:
        for node in nodes:
            if isinstance(node, Strong | Emphasis):
                text = inline.single_line(inline.to_text(node.children))
                if text:
                    emphasized.append((text, "b" if isinstance(node, Strong) else "i"))
                walk(node.children)
            elif isinstance(node, Link):
                links.append((inline.single_line(inline.to_text(node.children)), node.url))
                walk(node.children)

    walk(content)
    metadata = ue.ElementMetadata()
    if emphasized:
        metadata.emphasized_text_contents = [text for text, _ in emphasized]
        metadata.emphasized_text_tags = [tag for _, tag in emphasized]
    if links:
        metadata.link_texts = [text or url for text, url in links]
        metadata.link_urls = [url for _, url in links]
    return metadata


def _mime_type(document: DocumentInfo) -> str:
    if document.kind is DocumentKind.PDF:
        return "application/pdf"
    from PIL import Image

    return Image.MIME.get(str(document.metadata.get("format", "")).upper(), "image/unknown")


# --- routing unstructured.partition.auto.partition() to GOT, on request --------------------

DEFAULT_FILE_TYPES = ("pdf", "png", "jpg", "tiff", "bmp", "webp")
"""What ``register_got_partitioner`` routes by default: PDFs and the images Pillow reads."""

# auto.partition() passes these to a PDF or image partitioner; the rest of what it passes
# (strategy, infer_table_structure, hi_res_model_name...) is about Unstructured's own models.
_FORWARDED = frozenset(
    {
        "include_page_breaks",
        "starting_page_number",
        "metadata_filename",
        "metadata_last_modified",
        "languages",
        "detect_language_per_element",
        "language_fallback",
        "unique_element_ids",
        "password",
    }
)

_registration: GOTRegistration | None = None


class GOTRegistration:
    """GOT's place in ``auto.partition()``; ``close()`` (or leaving the ``with`` block) restores
    Unstructured's own partitioners."""

    def __init__(self, file_types: tuple[FileType, ...], options: dict[str, Any]) -> None:
        self.file_types = file_types
        self.options = options
        self._saved = [
            (t, t._partitioner_full_module_path, t._importable_package_dependencies)
            for t in file_types
        ]

    def close(self) -> None:
        """Give the file types back to Unstructured's partitioners."""
        global _registration
        if _registration is not self:
            return
        for file_type, module_path, dependencies in self._saved:
            file_type._partitioner_full_module_path = module_path
            file_type._importable_package_dependencies = dependencies
            _forget_loaded_partitioner(file_type)
        _registration = None

    def __enter__(self) -> GOTRegistration:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def register_got_partitioner(
    *,
    engine: OCREngine | None = None,
    file_types: Iterable[FileType | str] = DEFAULT_FILE_TYPES,
    pages: PagesArgument = None,
    task: OCRTask | str = "formatted",
    batch_size: int | None = None,
    on_error: OnError | str = OnError.RAISE,
    cache: CacheArgument = None,
    max_pages: int | None = None,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    strategy: Strategy | str = Strategy.OCR,
) -> GOTRegistration:
    """Make ``unstructured.partition.auto.partition()`` read these file types with GOT.

    Uses Unstructured's ``register_partitioner``; the arguments are ``partition_got``'s
    defaults for routed files. ``partition()``'s own PDF options (``strategy``,
    ``hi_res_model_name``...) do not apply to GOT and are ignored (it always passes a
    ``strategy``: GOT's is this function's); ``include_page_breaks``,
    ``starting_page_number``, ``metadata_filename``, ``metadata_last_modified``, the language
    options, ``password`` and ``unique_element_ids`` pass through. Registering again replaces
    the previous registration.

    Returns:
        A handle: ``close()`` it, or use it as a context manager, to restore Unstructured's
        partitioners.
    """
    global _registration
    types = tuple(_file_type(t) for t in file_types)
    options = {
        "engine": engine_or_default(engine),
        "pages": PageSelection.parse(pages),
        "task": resolve_task(task),
        "batch_size": batch_size,
        "on_error": on_error,
        "cache": open_cache(cache),
        "max_pages": max_pages,
        "max_pixels": max_pixels,
        "strategy": _strategy(strategy),
    }
    if _registration is not None:
        _registration.close()
    registration = GOTRegistration(types, options)
    for file_type in types:
        register_partitioner(file_type)(partition_routed_to_got)
        # Unstructured checks a partitioner's dependencies by file type (pdfminer for PDFs,
        # unstructured_inference for images); GOT needs none of them.
        file_type._importable_package_dependencies = ()
        _forget_loaded_partitioner(file_type)
    _registration = registration
    return registration


def _file_type(value: FileType | str) -> FileType:
    """A ``FileType``, or its name or extension: ``"pdf"``, ``"jpeg"``, ``".tiff"``."""
    if isinstance(value, FileType):
        return value
    name = value.lower().lstrip(".")
    found = FileType.__members__.get(name.upper()) or FileType.from_extension(f".{name}")
    if found is None:
        raise ValueError(f"Unstructured has no file type {value!r}.")
    return found


def partition_routed_to_got(
    filename: str | None = None, *, file: IO[bytes] | None = None, **kwargs: Any
) -> list[ue.Element]:
    """What ``auto.partition()`` calls for a registered file type (see
    ``register_got_partitioner``)."""
    if _registration is None:
        raise RuntimeError("GOT is not registered: call register_got_partitioner() first.")
    forwarded = {key: value for key, value in kwargs.items() if key in _FORWARDED}
    return partition_got(filename, file, **{**_registration.options, **forwarded})


def _forget_loaded_partitioner(file_type: FileType) -> None:
    """auto.partition() caches the partitioner it loaded for each type; drop that entry."""
    from unstructured.partition import auto

    loaded = getattr(getattr(auto, "_PartitionerLoader", None), "_partitioners", None)
    if isinstance(loaded, dict):
        loaded.pop(file_type, None)
