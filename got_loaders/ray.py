"""Batch OCR on Ray Data: documents -> pages rendered by CPU tasks -> GOT in a pool of actors.

    import ray
    from got_loaders.ray import read_documents

    pages = read_documents(["a.pdf", "scans/b.png"], actors=4, strategy="auto")
    pages.write_parquet("out/")   # or write_json(...): one row per page

The render stage (PyMuPDF, Pillow, the text layer) runs as ordinary Ray tasks, one document
at a time, on any node's CPUs; pages read from their text layer are finished there. Pages that
need GOT travel as PNG bytes to a pool of actors, each holding one engine (on its GPU when the
cluster has them) and reading its pages in batches, with the result cache if one is given.
A file or page that fails becomes a row with its ``error`` set; it never stops the run.
"""

from __future__ import annotations

import io
import json
import logging
import math
import os
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from got_model.cache import CacheArgument, open_cache
from got_model.engine import GOTEngine, OCREngine

from .content import (
    PageContent,
    page_metadata,
    page_text,
    resolve_task,
    result_text,
)
from .errors import DocumentError
from .extras import import_extra
from .options import parse_option
from .pipeline import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_SORT_BATCHES,
    OnError,
    PagePipeline,
    PageResult,
    render_document,
)
from .sources.documents import SourceDocument
from .sources.pages import DEFAULT_MAX_PIXELS, Page, let_pillow_open
from .sources.selection import PagesArgument, PageSelection
from .sources.text_layer import Strategy

if TYPE_CHECKING:
    from ray.data import Dataset

    from got_model.tasks import OCRTask

__all__ = ["PAGE_COLUMNS", "read_documents", "start_local_ray", "write_pages"]

logger = logging.getLogger("got_loaders")

PAGE_COLUMNS = (
    "source",
    "file_path",
    "page",
    "page_number",
    "page_label",
    "total_pages",
    "text",
    "route",
    "route_reason",
    "ocr_model",
    "ocr_task",
    "ocr_finish_reason",
    "ocr_generated_tokens",
    "cached",
    "error",
    "document_metadata",
)
"""The columns of every row ``read_documents`` gives, in this order.

Every row has them all, so a row the model never read (a page read from its text layer, a file
or page that failed before reaching the model) has an empty ``ocr_model`` and ``ocr_task``;
``ocr_finish_reason`` is empty and ``ocr_generated_tokens`` 0 unless the model finished the page.
"""


def read_documents(
    documents: Dataset | Iterable[str | os.PathLike[str]],
    *,
    engine: OCREngine | None = None,
    task: OCRTask | str = "formatted",
    content: PageContent | str = PageContent.MARKDOWN,
    strategy: Strategy | str = Strategy.OCR,
    pages: PagesArgument | PageSelection = None,
    password: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    actors: int = 1,
    num_gpus: float | None = None,
    num_cpus: float = 1,
    cache: CacheArgument = None,
    max_pages: int | None = None,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
) -> Dataset:
    """Read documents with GOT-OCR 2.0 on Ray Data: one row per page (see ``PAGE_COLUMNS``).

    Nothing runs until the dataset is consumed (``write_parquet``, ``write_json``,
    ``take_all``...). Rows come in no particular order; ``source`` and ``page_number`` say
    where each is from.

    Args:
        documents: paths (every node must see them), or a Dataset with a ``path`` column and,
            optionally, a ``bytes`` column (``ray.data.read_binary_files(...,
            include_paths=True)``, which reads from S3 and other filesystems too).
        engine: the engine each actor reads with; it is pickled to the actors, and a
            ``GOTEngine`` pickles as its settings, so each actor loads its own model on first
            use. Default ``GOTEngine()`` (GOT-OCR 2.0 from the Hub, on the actor's GPU). A
            ``ServerEngine`` makes the actors clients of a GOT server (``got-ocr serve``):
            they load no model and hold no GPU.
        task: ``"formatted"`` (Markdown with headings, tables, math), ``"plain"``, or an
            ``OCRTask``.
        content: the ``text`` column: ``"markdown"``, ``"text"`` or ``"raw"``.
        strategy: ``"ocr"``, ``"text"`` or ``"auto"``, as for the loaders.
        pages: the 1-based pages to read in each document; default all.
        password: for encrypted PDFs.
        batch_size: pages per ``generate`` call in each actor.
        actors: how many engines read at once (one per GPU, typically).
        num_gpus: GPUs each actor holds; default 1 when the cluster has GPUs (0 with a
            ``ServerEngine``), else 0.
        num_cpus: CPUs each actor holds.
        cache: the result cache (``True``, a path, or a ``ResultCache``): each actor opens
            the file on its own node, looks pages up before the model and stores new results.
        max_pages: refuse a document with more pages to read than this.
        max_pixels: refuse an image, or an image a PDF page draws, with more pixels than this.
    """
    ray_data = import_extra("ray.data", "read_documents (Ray Data)")
    import ray

    if actors < 1:
        raise ValueError(f"actors must be at least 1, got {actors}.")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
    the_engine = engine if engine is not None else GOTEngine()
    the_task = resolve_task(task)
    render = _Renderer(
        task=the_task,
        content=parse_option(PageContent, content, "content"),
        strategy=parse_option(Strategy, strategy, "strategy"),
        pages=PageSelection.parse(pages),
        password=password,
        max_pages=max_pages,
        max_pixels=max_pixels,
        model_id=the_engine.model_id,
    )
    if not ray.is_initialized():  # as Ray Data would, but with room for the render tasks
        start_local_ray(actors, num_cpus)
    resources = ray.cluster_resources()  # type: ignore[no-untyped-call]
    if num_gpus is None and not the_engine.runs_model_here:
        num_gpus = 0  # a ServerEngine: the server holds the GPU
    if num_gpus is None:
        num_gpus = 1 if resources.get("GPU", 0) >= 1 else 0
        if not num_gpus:
            logger.warning(
                "The Ray cluster has no GPU now: the engines run on CPUs. On a cluster whose "
                "GPU nodes start on demand, pass num_gpus=1 (got-ocr: --gpus-per-actor 1)."
            )
    if resources.get("CPU", 0) < actors * num_cpus + 1:
        logger.warning(
            "The Ray cluster has %s CPUs and %s actors would hold %s of them: the render tasks "
            "need at least one more, or the run waits for one forever. Lower num_cpus "
            "(got-ocr: --cpus-per-actor) or actors, or give Ray more CPUs.",
            resources.get("CPU", 0),
            actors,
            actors * num_cpus,
        )
    dataset = _as_dataset(documents, ray_data)
    window = batch_size * DEFAULT_SORT_BATCHES  # pages sorted by ink within one call
    pages_dataset: Dataset = (
        dataset.flat_map(render)
        .map_batches(
            _PageReader,
            fn_constructor_kwargs={
                "engine": the_engine,
                "task": the_task,
                "content": render.content,
                "batch_size": batch_size,
                "cache": cache,  # opened in each actor: True means that node's default file
            },
            batch_size=window,
            batch_format="pandas",
            compute=ray_data.ActorPoolStrategy(size=actors),
            num_gpus=num_gpus,
            num_cpus=num_cpus,
        )
        .select_columns(list(PAGE_COLUMNS))
    )
    return pages_dataset


def start_local_ray(actors: int, num_cpus: float = 1) -> None:
    """Start a local Ray instance whose logical CPUs fit ``actors`` engine actors and leave
    this machine's cores to the render tasks (Ray's default, one logical CPU per core, would
    let the actors hold every CPU and the render tasks wait forever)."""
    import ray

    cores = os.cpu_count() or 1
    ray.init(num_cpus=cores + math.ceil(actors * num_cpus))


def _as_dataset(documents: Any, ray_data: Any) -> Any:
    if isinstance(documents, ray_data.Dataset):
        columns = documents.columns()
        if columns is not None and "path" not in columns and "bytes" not in columns:
            raise ValueError(
                f"The dataset needs a 'path' or a 'bytes' column; it has {columns}. "
                "ray.data.read_binary_files(..., include_paths=True) makes both."
            )
        return documents
    if isinstance(documents, (str, os.PathLike)):
        documents = [documents]
    items = [{"path": os.fspath(path)} for path in documents]
    # A block per document: documents render in parallel, and their pages reach every actor
    # (one block of pages goes to one actor).
    return ray_data.from_items(items, override_num_blocks=max(1, len(items)))


class _Renderer:
    """The CPU stage: one document row in, one row per page out (a picture for GOT, or the
    page's text when its text layer was read; an error row for what failed)."""

    def __init__(
        self,
        *,
        task: OCRTask,
        content: PageContent,
        strategy: Strategy,
        pages: PageSelection | None,
        password: str | None,
        max_pages: int | None,
        max_pixels: int | None,
        model_id: str,
    ) -> None:
        self.task = task
        self.content = content
        self.strategy = strategy
        self.pages = pages
        self.password = password
        self.max_pages = max_pages
        self.max_pixels = max_pixels
        self.model_id = model_id

    def __call__(self, row: dict[str, Any]) -> Iterator[dict[str, Any]]:
        let_pillow_open(self.max_pixels)  # this worker runs our tasks: max_pixels decides
        path = row.get("path")
        data = row.get("bytes")
        try:
            if data is not None:
                document = SourceDocument.from_input(bytes(data), name=path)
            elif path is not None:
                document = SourceDocument.from_input(str(path))
            else:
                raise DocumentError("<row>", "The row has neither a 'path' nor 'bytes'.")
        except DocumentError as error:
            yield self._error_row(error)
            return
        items = render_document(
            document,
            0,
            task=self.task,
            password=self.password,
            max_pixels=self.max_pixels,
            strategy=self.strategy,
            pages=self.pages,
            max_pages=self.max_pages,
        )
        for item in items:
            yield self._page_row(item) if isinstance(item, Page) else self._error_row(item)

    def _page_row(self, page: Page) -> dict[str, Any]:
        item = PageResult(page, None)
        metadata = page_metadata(item, self.model_id, self.task)  # the loaders' keys, flat
        # What varies by file (a PDF's title, an image's size) goes in as JSON: one schema.
        own = {key: metadata.pop(key) for key in page.document.metadata}
        row = _empty_row(page.document.source)
        row.update(metadata, document_metadata=json.dumps(own, sort_keys=True, default=str))
        if page.image is None:  # read from its text layer: finished here, no model
            row["text"] = page_text(item, self.content)
        else:  # the actor fills in the finish reason and the tokens
            buffer = io.BytesIO()
            page.image.save(buffer, format="PNG", compress_level=1)  # lossless: same cache key
            row.update(
                image=buffer.getvalue(), ocr_model=self.model_id, ocr_task=self.task.describe()
            )
        return row

    def _error_row(self, error: DocumentError) -> dict[str, Any]:
        row = _empty_row(error.source)
        row.update(page=(error.page or 0) - 1, page_number=error.page or 0, error=str(error))
        return row


def _empty_row(source: str) -> dict[str, Any]:
    return {
        "source": source,
        "file_path": source,
        "page": -1,
        "page_number": 0,
        "page_label": "",
        "total_pages": 0,
        "text": "",
        "route": "",
        "route_reason": "",
        "ocr_model": "",  # no model read this row (yet): the loaders would have no ocr_* keys
        "ocr_task": "",
        "ocr_finish_reason": "",
        "ocr_generated_tokens": 0,
        "cached": False,
        "error": "",
        "document_metadata": "{}",
        "image": None,
    }


class _PageReader:
    """The GPU stage: an actor holding one engine. It reads the pages of each batch that
    carry a picture, through the same page pipeline as the loaders (batches sorted by ink,
    the result cache, a failing page costing only itself), and drops the pictures."""

    def __init__(
        self,
        *,
        engine: OCREngine,
        task: OCRTask,
        content: PageContent,
        batch_size: int,
        cache: CacheArgument,
    ) -> None:
        self.content = content
        self.pipeline = PagePipeline(
            engine, task, batch_size=batch_size, on_error=OnError.SKIP, cache=open_cache(cache)
        )

    def __call__(self, batch: Any) -> Any:
        images = batch.pop("image").tolist()
        # A missing picture is None, NaN or pandas.NA, by the pandas version.
        todo = [row for row, image in enumerate(images) if isinstance(image, bytes)]
        if not todo:
            return batch
        failed: dict[int, DocumentError] = {}
        results = self.pipeline.run([images[row] for row in todo], on_skip=_collect_into(failed))
        texts, reasons, tokens, cached = (batch[name].tolist() for name in _FILLED)
        errors = batch["error"].tolist()
        for item in results:
            assert item.result is not None, "a picture read from a text layer"
            row = todo[item.page.document.position]
            texts[row] = result_text(item.result, self.content)
            reasons[row] = item.result.finish_reason.value
            tokens[row] = item.result.generated_tokens
            cached[row] = item.cached
        for position, error in failed.items():
            row = todo[position]
            where = f"{batch['source'].iloc[row]}, page {batch['page_number'].iloc[row]}"
            errors[row] = f"{where}: {error.reason}"
            reasons[row] = ""  # the model was given the page but finished nothing
        filled = (texts, reasons, tokens, cached, errors)
        for name, values in zip((*_FILLED, "error"), filled, strict=True):
            batch[name] = values
        return batch


_FILLED = ("text", "ocr_finish_reason", "ocr_generated_tokens", "cached")


def _collect_into(failed: dict[int, DocumentError]) -> Callable[[DocumentError], None]:
    def collect(error: DocumentError) -> None:
        if error.position is not None:
            failed[error.position] = error

    return collect


def write_pages(dataset: Dataset, output_dir: str | os.PathLike[str], file_format: str) -> Any:
    """Run ``dataset`` and write its rows to ``output_dir`` as ``"parquet"`` or ``"jsonl"``
    files (Ray writes several, one per block); return the rows' ``route``, ``cached`` and
    ``error`` columns as a DataFrame, for a summary, without running the pipeline twice."""
    materialized = dataset.materialize()  # the pictures are gone by now: rows are text
    if file_format == "parquet":
        materialized.write_parquet(os.fspath(output_dir))
    elif file_format == "jsonl":
        materialized.write_json(os.fspath(output_dir))
    else:
        raise ValueError(f"file_format must be 'parquet' or 'jsonl', not {file_format!r}.")
    return materialized.select_columns(["route", "cached", "error"]).to_pandas()
