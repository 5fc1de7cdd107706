"""LlamaIndex: ``GOTReader``, a serializable reader that reads PDFs and images with GOT-OCR 2.0.

It plugs into ``SimpleDirectoryReader(file_extractor=...)`` and feeds an ``IngestionPipeline``:
one Document per page (or per file), with metadata named as LlamaIndex's own PDF readers name it,
noisy keys hidden from embeddings and LLM prompts, and ids stable across runs so a docstore skips
pages it has already ingested.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Literal

from got_model.cache import ResultCache, open_cache
from got_model.engine import GOT_MAX_NEW_TOKENS, OCREngine
from got_model.loading import DEFAULT_MODEL_ID
from got_model.tasks import DEFAULT_MAX_PATCHES, OCRTask, OutputFormat

from .content import (
    PageContent,
    document_metadata,
    ocr_metadata,
    page_text,
    route_metadata,
)
from .engines import engine_batch_size, engine_or_default, shared_engine, shared_vllm_engine
from .extras import import_extra
from .pipeline import (
    DEFAULT_BATCH_SIZE,
    OnError,
    PagePipeline,
    PageResult,
    SkippedPages,
    by_document,
)
from .sources.documents import DocumentInput, SourceDocument
from .sources.pages import DEFAULT_MAX_PIXELS, DocumentInfo, MetadataValue
from .sources.selection import PageSelection
from .sources.text_layer import Strategy

import_extra("llama_index.core", "got_loaders.llamaindex")

from llama_index.core.bridge.pydantic import (  # noqa: E402
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    field_validator,
)
from llama_index.core.readers.base import BasePydanticReader  # noqa: E402
from llama_index.core.schema import Document  # noqa: E402

__all__ = ["GOTReader"]

VISIBLE_METADATA_KEYS = frozenset({"file_path", "file_name", "page_label"})
"""The keys this reader adds that embeddings and LLM prompts see; the rest stay hidden there.

Short and bounded on purpose: a splitter raises when the visible metadata outgrows its chunk
size, and a PDF's own title can be any length."""

PageNumbers = int | str | list[int | str]


class GOTReader(BasePydanticReader):
    """Read PDFs and images with GOT-OCR 2.0: one Markdown Document per page (or per file).

    The configuration is plain data: it serializes (``to_dict`` / ``to_json``) and pickles,
    so ``SimpleDirectoryReader(..., num_workers=4)`` can ship the reader to worker processes.
    The engine is built on first use (each worker builds its own) and never serialized.
    Readers configured alike share one engine per process.

    Example:
        >>> reader = GOTReader()
        >>> docs = SimpleDirectoryReader(   # doctest: +SKIP
        ...     "papers/", file_extractor={".pdf": reader, ".png": reader}
        ... ).load_data()
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    model: str = Field(
        default=DEFAULT_MODEL_ID, description="The GOT checkpoint: a Hub id or a local directory."
    )
    revision: str | None = Field(default=None, description="A Hub revision (branch, tag, commit).")
    backend: Literal["transformers", "vllm"] = Field(
        default="transformers",
        description='"transformers" (GOTEngine, any device) or "vllm" (VLLMEngine: continuous '
        "batching on vLLM, for GPUs; pip install 'got-loaders[vllm]'; device is then unused).",
    )
    device: str = Field(default="auto", description='"auto", "cuda", "cuda:1", "mps" or "cpu".')
    dtype: str = Field(default="auto", description='"auto", "bfloat16", "float16", "float32".')
    batch_size: int | None = Field(
        default=None,
        ge=1,
        description=f"Pages per engine batch, across files; default the engine's "
        f"({DEFAULT_BATCH_SIZE} for one built from these settings).",
    )
    max_new_tokens: int = Field(
        default=GOT_MAX_NEW_TOKENS, ge=1, description="The most tokens GOT may write for a page."
    )
    task: Literal["formatted", "plain"] = Field(
        default="formatted",
        description='"formatted": headings, tables and math as Markdown; "plain": text only.',
    )
    multi_crop: bool = Field(
        default=False, description="Read each page as tiles at higher resolution (dense pages)."
    )
    max_patches: int = Field(
        default=DEFAULT_MAX_PATCHES, ge=1, description="The most tiles multi-crop may use."
    )
    content: PageContent = Field(
        default=PageContent.MARKDOWN,
        description='"markdown", "text" (no Markdown syntax) or "raw" (GOT\'s output).',
    )
    return_full_document: bool = Field(
        default=False, description="One Document per file instead of one per page."
    )
    pages_delimiter: str = Field(
        default="\n\n", description="Joins pages when return_full_document is set."
    )
    pages: PageNumbers | None = Field(
        default=None, description='The 1-based pages to read in each file, e.g. "1-3,7,10-".'
    )
    password: SecretStr | None = Field(
        default=None,
        exclude=True,
        description="For encrypted PDFs; left out of to_dict() / to_json(), kept by pickle.",
    )
    strategy: Strategy = Field(
        default=Strategy.OCR,
        description='Where PDF pages\' text comes from: "ocr" (always GOT), "text" (the text '
        'layer only, GOT never loads) or "auto" (per page: the text layer where it is good, '
        "GOT where it is needed); metadata route and route_reason say which and why.",
    )
    on_error: OnError = Field(
        default=OnError.RAISE,
        description='"raise", or "skip" / "warn" to log a bad file or page and go on.',
    )

    cache: bool | str | None = Field(
        default=None,
        description="True for the default result cache (a SQLite file in the user cache "
        "directory), a path (or a ResultCache, kept as its path) for another file; pages "
        "already read skip the model.",
    )

    max_pages: int | None = Field(
        default=None,
        ge=1,
        description="A file with more pages to read than this is refused; None: no limit.",
    )
    max_pixels: int | None = Field(
        default=DEFAULT_MAX_PIXELS,
        ge=1,
        description="An image file, or an image a PDF page draws, larger than this many "
        "pixels is refused (decompression bombs); None: Pillow's own limit only.",
    )

    _engine: OCREngine | None = PrivateAttr(default=None)

    def __init__(self, *, engine: OCREngine | None = None, **data: Any) -> None:
        """``engine`` overrides the one the settings describe (any ``OCREngine``)."""
        super().__init__(**data)
        self._engine = None if engine is None else engine_or_default(engine)

    @field_validator("pages", mode="before")
    @classmethod
    def _check_pages(cls, value: Any) -> Any:
        if isinstance(value, range):
            value = list(value)
        PageSelection.parse(value)  # InvalidPagesError is a ValueError: pydantic reports it
        return value

    @field_validator("cache", mode="before")
    @classmethod
    def _cache_path(cls, value: Any) -> Any:
        if isinstance(value, ResultCache):  # kept as its path: the settings stay plain data
            return str(value.path)
        return os.fspath(value) if isinstance(value, os.PathLike) else value

    @classmethod
    def class_name(cls) -> str:
        return "GOTReader"

    @property
    def engine(self) -> OCREngine:
        """The engine given at construction, else the shared one for these settings."""
        if self._engine is not None:
            return self._engine
        if self.backend == "vllm":
            return shared_vllm_engine(
                self.model,
                revision=self.revision,
                dtype=self.dtype,
                batch_size=self.batch_size,
                max_new_tokens=self.max_new_tokens,
            )
        return shared_engine(
            self.model,
            revision=self.revision,
            device=self.device,
            dtype=self.dtype,
            batch_size=self.batch_size or DEFAULT_BATCH_SIZE,
            max_new_tokens=self.max_new_tokens,
        )

    @property
    def ocr_task(self) -> OCRTask:
        """The task run on every page."""
        return OCRTask(
            output=OutputFormat(self.task),
            crop_to_patches=self.multi_crop,
            max_patches=self.max_patches,
        )

    def lazy_load_data(  # type: ignore[override]
        self,
        file: DocumentInput | Sequence[DocumentInput],
        extra_info: Mapping[str, Any] | None = None,
        fs: Any = None,
    ) -> Iterator[Document]:
        """Yield the Documents of ``file`` (a path, bytes, a binary file object, or a list).

        Args:
            file: what to read; several files are batched together.
            extra_info: metadata copied into every Document (``SimpleDirectoryReader`` passes
                the file's); its keys win over the reader's.
            fs: an fsspec filesystem to read paths from (``SimpleDirectoryReader(fs=...)``).
        """
        documents = [_source(item, fs) for item in _as_list(file)]
        engine, task = self.engine, self.ocr_task
        cache = open_cache(self.cache)
        pipeline = PagePipeline(
            engine,
            task,
            batch_size=engine_batch_size(engine, self.batch_size),
            pages=PageSelection.parse(self.pages),
            password=self.password.get_secret_value() if self.password else None,
            on_error=self.on_error,
            cache=cache,
            max_pages=self.max_pages,
            max_pixels=self.max_pixels,
            strategy=self.strategy,
        )
        try:
            if not self.return_full_document:
                for item in pipeline.run(documents):
                    yield self._page_document(item, engine.model_id, task, extra_info)
            else:
                skipped = SkippedPages(pipeline.on_error)
                for group in by_document(pipeline.run(documents, on_skip=skipped)):
                    document = group[0].page.document
                    yield self._file_document(
                        group, engine.model_id, task, extra_info, skipped.take(document)
                    )
        finally:
            if cache is not None:
                cache.close()

    def _page_document(
        self,
        item: PageResult,
        model_id: str,
        task: OCRTask,
        extra_info: Mapping[str, Any] | None,
    ) -> Document:
        page = item.page
        metadata = _file_metadata(page.document)
        metadata.update(page_label=page.label, page_number=page.number)
        metadata.update(ocr_metadata(model_id, task, [item.result]))
        metadata.update(route_metadata([item]))
        return _document(
            f"{_key(page.document)}#page={page.number}",
            page_text(item, self.content),
            metadata,
            extra_info,
        )

    def _file_document(
        self,
        items: list[PageResult],
        model_id: str,
        task: OCRTask,
        extra_info: Mapping[str, Any] | None,
        skipped_pages: str,
    ) -> Document:
        document = items[0].page.document
        metadata = _file_metadata(document)
        metadata.update(ocr_metadata(model_id, task, [item.result for item in items]))
        metadata["ocr_pages"] = len(items)
        metadata.update(route_metadata(items))
        if skipped_pages:
            metadata["skipped_pages"] = skipped_pages
        text = self.pages_delimiter.join(page_text(item, self.content) for item in items)
        return _document(_key(document), text, metadata, extra_info)

    def __getstate__(self) -> dict[Any, Any]:
        # The settings and an engine given at construction (a GOTEngine pickles as its
        # settings); LlamaIndex's own __getstate__ would drop that engine with a warning.
        settings = {name: self.__dict__[name] for name in self.model_fields_set}
        return {"settings": settings, "engine": self._engine}

    def __setstate__(self, state: dict[Any, Any]) -> None:
        self.__init__(engine=state["engine"], **state["settings"])  # type: ignore[misc]


def _as_list(file: DocumentInput | Sequence[DocumentInput]) -> list[DocumentInput]:
    if isinstance(file, (list, tuple)):
        return list(file)
    return [file]  # type: ignore[list-item]


def _source(item: DocumentInput, fs: Any) -> SourceDocument:
    """A path is read through ``fs`` when one is given (a remote filesystem, say)."""
    if fs is not None and isinstance(item, (str, os.PathLike)):
        with fs.open(str(item), "rb") as file:
            return SourceDocument.from_input(file.read(), name=str(item))
    return SourceDocument.from_input(item)


def _key(document: DocumentInfo) -> str:
    """What a document's ids start with: its path as given, or its ``bytes:<sha>`` name."""
    return document.file_path or document.source


def _file_metadata(document: DocumentInfo) -> dict[str, MetadataValue]:
    """LlamaIndex's file keys first, then total_pages and the file's own non-empty metadata."""
    metadata: dict[str, MetadataValue] = {
        "file_path": _key(document),
        "file_name": os.path.basename(_key(document)),
    }
    shared = document_metadata(document)
    del shared["source"], shared["file_path"]  # LangChain's names for the path
    metadata.update((key, value) for key, value in shared.items() if value != "")
    return metadata


def _document(
    doc_id: str,
    text: str,
    metadata: dict[str, MetadataValue],
    extra_info: Mapping[str, Any] | None,
) -> Document:
    hidden = [key for key in metadata if key not in VISIBLE_METADATA_KEYS]
    if extra_info:
        hidden = [key for key in hidden if key not in extra_info]
        metadata.update(extra_info)
    return Document(
        id_=doc_id,
        text=text,
        metadata=metadata,
        excluded_embed_metadata_keys=hidden,
        excluded_llm_metadata_keys=list(hidden),
    )
