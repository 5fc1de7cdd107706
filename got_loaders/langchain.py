"""LangChain: document loaders and blob parsers that read pages with GOT-OCR 2.0.

- ``GOTPDFLoader`` / ``GOTImageLoader``: ``BaseLoader``s for PDFs and image files.
- ``GOTParser``: a ``BaseBlobParser`` for ``GenericLoader.from_filesystem(..., parser=...)``.
- ``GOTImageBlobParser``: a ``BaseImageBlobParser``, so LangChain's own PDF loaders can OCR the
  images embedded in a PDF with GOT (``PyMuPDFLoader(..., images_parser=...)``).

Metadata follows LangChain's PDF loaders: ``source``, ``file_path``, ``page`` (0-based),
``total_pages``, the PDF's own keys lower-cased, plus ``page_number`` (1-based), ``page_label``,
``route``/``route_reason`` and, for pages GOT read, ``ocr_*`` keys. Every value is a flat
scalar and every Document gets its own dict.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from got_model.cache import CacheArgument, open_cache
from got_model.engine import OCREngine
from got_model.tasks import OCRTask

from .content import (
    DEFAULT_PAGES_DELIMITER,
    PageContent,
    document_metadata,
    ocr_metadata,
    page_metadata,
    page_text,
    resolve_task,
    route_metadata,
)
from .engines import engine_batch_size, engine_or_default
from .extras import import_extra
from .options import parse_option
from .pipeline import OnError, PagePipeline, PageResult, SkippedPages, by_document
from .sources.documents import DocumentInput, SourceDocument
from .sources.pages import DEFAULT_MAX_PIXELS
from .sources.selection import PagesArgument, PageSelection
from .sources.text_layer import Strategy

import_extra("langchain_core", "got_loaders.langchain")

from langchain_core.document_loaders import BaseBlobParser, BaseLoader  # noqa: E402
from langchain_core.document_loaders.blob_loaders import Blob  # noqa: E402
from langchain_core.documents import Document  # noqa: E402

if TYPE_CHECKING:
    from .langchain_images import GOTImageBlobParser as GOTImageBlobParser

__all__ = [
    "GOTImageBlobParser",
    "GOTImageLoader",
    "GOTPDFLoader",
    "GOTParser",
    "LoadMode",
    "OnError",
    "PageContent",
    "Strategy",
]


class LoadMode(str, Enum):
    """How pages become Documents."""

    PAGE = "page"
    """One Document per page."""
    SINGLE = "single"
    """One Document per file, pages joined by ``pages_delimiter``."""


class _PageReader:
    """The settings every LangChain adapter shares, and the pages -> Documents step."""

    def __init__(
        self,
        *,
        engine: OCREngine | None,
        mode: LoadMode | str,
        pages_delimiter: str,
        pages: PagesArgument,
        password: str | None,
        task: OCRTask | str,
        content: PageContent | str,
        batch_size: int | None,
        on_error: OnError | str,
        cache: CacheArgument,
        max_pages: int | None,
        max_pixels: int | None,
        strategy: Strategy | str = Strategy.OCR,
    ) -> None:
        self.engine = engine_or_default(engine)
        self.mode = parse_option(LoadMode, mode, "mode")
        self.pages_delimiter = pages_delimiter
        self.content = parse_option(PageContent, content, "content")
        self.task = resolve_task(task)
        # The pipeline validates and keeps the rest; each read() starts its own render thread.
        self.pipeline = PagePipeline(
            self.engine,
            self.task,
            batch_size=engine_batch_size(self.engine, batch_size),
            pages=PageSelection.parse(pages),
            password=password,
            on_error=on_error,
            cache=open_cache(cache),
            max_pages=max_pages,
            max_pixels=max_pixels,
            strategy=strategy,
        )

    def read(
        self, documents: Iterable[DocumentInput], extra: Mapping[str, Any] | None = None
    ) -> Iterator[Document]:
        if self.mode is LoadMode.PAGE:
            for item in self.pipeline.run(documents):
                yield self._page_document(item, extra)
        else:
            skipped = SkippedPages(self.pipeline.on_error)
            for group in by_document(self.pipeline.run(documents, on_skip=skipped)):
                yield self._file_document(group, extra, skipped)

    def _page_document(self, item: PageResult, extra: Mapping[str, Any] | None) -> Document:
        metadata = {**(extra or {}), **page_metadata(item, self.engine.model_id, self.task)}
        return Document(page_content=page_text(item, self.content), metadata=metadata)

    def _file_document(
        self, items: list[PageResult], extra: Mapping[str, Any] | None, skipped: SkippedPages
    ) -> Document:
        document = items[0].page.document
        metadata = {
            **(extra or {}),
            **document_metadata(document),
            **ocr_metadata(self.engine.model_id, self.task, [item.result for item in items]),
            "ocr_pages": len(items),
            **route_metadata(items),
        }
        if pages := skipped.take(document):
            metadata["skipped_pages"] = pages
        text = self.pages_delimiter.join(page_text(item, self.content) for item in items)
        return Document(page_content=text, metadata=metadata)


def _inputs(file_path: DocumentInput | Sequence[DocumentInput]) -> list[SourceDocument]:
    items: list[DocumentInput] = (
        list(file_path) if isinstance(file_path, (list, tuple)) else [file_path]  # type: ignore[list-item]
    )
    if not items:
        raise ValueError("No file to load: file_path is an empty list.")
    # File objects are read here, once, so the loader can be run again.
    return [SourceDocument.from_input(item) for item in items]


class GOTPDFLoader(BaseLoader):
    """Load PDFs (and images) page by page with GOT-OCR 2.0, as Markdown.

    Args:
        file_path: a path, bytes, a binary file object, or a list of them. Images are read
            too, so a mixed list works.
        engine: the OCR engine; default: one ``GOTEngine()`` shared by all loaders, loaded on
            the first page.
        mode: ``"page"`` for one Document per page, ``"single"`` for one per file.
        pages_delimiter: joins pages in ``"single"`` mode (LangChain's default ``"\\n\\f"``).
        pages: the 1-based pages to read from each file: ``3``, ``"1-3,7,10-"``,
            ``[1, "4-6"]`` or ``range(1, 11)``; default all.
        password: for encrypted PDFs.
        task: ``"formatted"`` (Markdown with headings, tables and math; the default),
            ``"plain"``, or any ``OCRTask`` (e.g. multi-crop for dense pages).
        content: ``"markdown"``, ``"text"`` (no Markdown syntax) or ``"raw"`` (GOT's output).
        batch_size: pages per engine batch, across pages and files; default the engine's.
        on_error: ``"raise"``, or ``"skip"`` / ``"warn"`` to log a bad file or page and go on.
        cache: ``True`` to keep results in the default result cache (a SQLite file in the
            user cache directory), a path for another file, or a ``ResultCache``: pages
            already read (same pixels, task and model) skip the model. Default: no cache.
        max_pages: a file with more pages to read than this is refused (an error, or
            skipped with ``on_error``); default no limit.
        max_pixels: an image file, or an image a PDF page draws, larger than this many
            pixels is refused (decompression bombs); default Pillow's limit, about 89.5 million.
        strategy: where a PDF page's text comes from: ``"ocr"`` (always GOT; the default),
            ``"text"`` (the PDF's text layer only; GOT never loads) or ``"auto"`` (per page:
            the text layer where it is present, readable and covers the page with no math or
            ruled table, GOT elsewhere). ``route`` and ``route_reason`` in each page's
            metadata say which way it went and why.

    Example:
        >>> docs = GOTPDFLoader("paper.pdf").load()   # doctest: +SKIP
        >>> docs[0].metadata["page_number"], docs[0].page_content[:40]   # doctest: +SKIP
    """

    def __init__(
        self,
        file_path: DocumentInput | Sequence[DocumentInput],
        *,
        engine: OCREngine | None = None,
        mode: LoadMode | str = LoadMode.PAGE,
        pages_delimiter: str = DEFAULT_PAGES_DELIMITER,
        pages: PagesArgument = None,
        password: str | None = None,
        task: OCRTask | str = "formatted",
        content: PageContent | str = PageContent.MARKDOWN,
        batch_size: int | None = None,
        on_error: OnError | str = OnError.RAISE,
        cache: CacheArgument = None,
        max_pages: int | None = None,
        max_pixels: int | None = DEFAULT_MAX_PIXELS,
        strategy: Strategy | str = Strategy.OCR,
    ) -> None:
        self.documents = _inputs(file_path)
        self.reader = _PageReader(
            engine=engine,
            mode=mode,
            pages_delimiter=pages_delimiter,
            pages=pages,
            password=password,
            task=task,
            content=content,
            batch_size=batch_size,
            on_error=on_error,
            cache=cache,
            max_pages=max_pages,
            max_pixels=max_pixels,
            strategy=strategy,
        )

    @property
    def file_path(self) -> str | list[str]:
        """The name of each input (its path, or a label for in-memory data)."""
        names = [document.name for document in self.documents]
        return names[0] if len(names) == 1 else names

    def lazy_load(self) -> Iterator[Document]:
        """Yield Documents as their pages are read, in file and page order."""
        yield from self.reader.read(self.documents)


class GOTImageLoader(GOTPDFLoader):
    """Load image files with GOT-OCR 2.0: PNG, JPEG, WebP, BMP, GIF, TIFF (a page per frame).

    Takes the arguments of ``GOTPDFLoader`` but ``password``; ``pages`` selects TIFF frames.
    EXIF orientation is applied; large images are shrunk to the size GOT reads.
    """

    def __init__(
        self,
        file_path: DocumentInput | Sequence[DocumentInput],
        *,
        engine: OCREngine | None = None,
        mode: LoadMode | str = LoadMode.PAGE,
        pages_delimiter: str = DEFAULT_PAGES_DELIMITER,
        pages: PagesArgument = None,
        task: OCRTask | str = "formatted",
        content: PageContent | str = PageContent.MARKDOWN,
        batch_size: int | None = None,
        on_error: OnError | str = OnError.RAISE,
        cache: CacheArgument = None,
        max_pages: int | None = None,
        max_pixels: int | None = DEFAULT_MAX_PIXELS,
    ) -> None:
        super().__init__(
            file_path,
            engine=engine,
            mode=mode,
            pages_delimiter=pages_delimiter,
            pages=pages,
            task=task,
            content=content,
            batch_size=batch_size,
            on_error=on_error,
            cache=cache,
            max_pages=max_pages,
            max_pixels=max_pixels,
        )


class GOTParser(BaseBlobParser):
    """A blob parser: ``GenericLoader.from_filesystem(path, parser=GOTParser())``.

    Reads PDFs and images (recognised by content); takes ``GOTPDFLoader``'s keyword arguments,
    ``strategy`` included.
    The blob's own metadata is kept, under the page metadata.
    """

    def __init__(
        self,
        *,
        engine: OCREngine | None = None,
        mode: LoadMode | str = LoadMode.PAGE,
        pages_delimiter: str = DEFAULT_PAGES_DELIMITER,
        pages: PagesArgument = None,
        password: str | None = None,
        task: OCRTask | str = "formatted",
        content: PageContent | str = PageContent.MARKDOWN,
        batch_size: int | None = None,
        on_error: OnError | str = OnError.RAISE,
        cache: CacheArgument = None,
        max_pages: int | None = None,
        max_pixels: int | None = DEFAULT_MAX_PIXELS,
        strategy: Strategy | str = Strategy.OCR,
    ) -> None:
        self.reader = _PageReader(
            engine=engine,
            mode=mode,
            pages_delimiter=pages_delimiter,
            pages=pages,
            password=password,
            task=task,
            content=content,
            batch_size=batch_size,
            on_error=on_error,
            cache=cache,
            max_pages=max_pages,
            max_pixels=max_pixels,
            strategy=strategy,
        )

    def lazy_parse(self, blob: Blob) -> Iterator[Document]:
        """Yield the Documents of one blob."""
        yield from self.reader.read([_blob_document(blob)], blob.metadata)


def _blob_document(blob: Blob) -> SourceDocument:
    if blob.data is None and blob.path is not None:
        return SourceDocument(name=str(blob.source or blob.path), path=Path(blob.path))
    data = blob.as_bytes()
    return SourceDocument.from_input(data, name=str(blob.source) if blob.source else None)


def __getattr__(name: str) -> Any:
    # GOTImageBlobParser subclasses langchain-community's BaseImageBlobParser; importing that
    # package takes seconds, so only code that asks for the parser pays for it.
    if name == "GOTImageBlobParser":
        from .langchain_images import GOTImageBlobParser

        return GOTImageBlobParser
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
