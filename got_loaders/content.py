"""What a page becomes: its Markdown, its plain text or GOT's raw output, and flat metadata."""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum

from got_model.results import FinishReason, OCRResult
from got_model.tasks import FORMATTED, PLAIN, OCRTask

from .pipeline import PageResult
from .sources.pages import DocumentInfo, MetadataValue
from .sources.text_layer import Route

DEFAULT_PAGES_DELIMITER = "\n\f"  # LangChain's PDF loaders join pages with this


class PageContent(str, Enum):
    """The text each Document carries."""

    MARKDOWN = "markdown"
    """CommonMark + GFM Markdown: headings, tables, ``$`` math (the default)."""
    TEXT = "text"
    """Plain text of the same blocks, without Markdown syntax."""
    RAW = "raw"
    """GOT's output as generated (LaTeX-like markup for formatted tasks)."""


def resolve_task(task: OCRTask | str) -> OCRTask:
    """``"formatted"`` / ``"plain"`` or an ``OCRTask``."""
    if isinstance(task, OCRTask):
        return task
    named = {"formatted": FORMATTED, "plain": PLAIN}
    if task not in named:
        raise ValueError(f"task must be an OCRTask, 'formatted' or 'plain', not {task!r}.")
    return named[task]


def page_text(item: PageResult, content: PageContent) -> str:
    """The text of one page in the chosen form, whichever way it was read."""
    if content is PageContent.RAW:
        return item.raw
    if content is PageContent.TEXT:
        return item.converted.text
    return item.converted.markdown


def result_text(result: OCRResult, content: PageContent) -> str:
    """The text of one engine result in the chosen form."""
    if content is PageContent.RAW:
        return result.text
    if content is PageContent.TEXT:
        return result.converted.text
    return result.markdown


def document_metadata(document: DocumentInfo) -> dict[str, MetadataValue]:
    """Keys shared by every page of a document: LangChain's PDF-loader contract.

    ``source`` and ``file_path`` are the path (or the input's name), then ``total_pages`` and
    the document's own metadata (lower-cased PDF keys, or an image's format and size).
    """
    return {
        "source": document.source,
        "file_path": document.file_path or document.source,
        "total_pages": document.total_pages,
        **document.metadata,
    }


def ocr_metadata(
    model_id: str, task: OCRTask, results: Sequence[OCRResult | None]
) -> dict[str, MetadataValue]:
    """``ocr_*`` keys: the model, the task, the worst finish reason and the tokens generated.

    They describe the pages the model read; pages read from their text layer (None) add
    nothing. When the model read none of ``results`` there are no such keys at all: no model,
    task or finish reason to report, and ``route``/``route_reason`` say how the text was read.
    """
    done = [result for result in results if result is not None]
    if not done:
        return {}
    return {
        "ocr_model": model_id,
        "ocr_task": task.describe(),
        "ocr_finish_reason": worst_finish_reason(done).value,
        "ocr_generated_tokens": sum(result.generated_tokens for result in done),
    }


def route_metadata(items: Sequence[PageResult]) -> dict[str, MetadataValue]:
    """``route`` (``"ocr"`` or ``"text"``) and ``route_reason`` of one page; for several,
    ``route`` is ``"mixed"`` when they differ, with ``text_layer_pages`` counting those read
    from their text layer."""
    routes = {item.route.route.value for item in items}
    if len(items) == 1:
        return {"route": items[0].route.route.value, "route_reason": items[0].route.reason.value}
    return {
        "route": routes.pop() if len(routes) == 1 else "mixed",
        "text_layer_pages": sum(item.route.route is Route.TEXT for item in items),
    }


def page_metadata(item: PageResult, model_id: str, task: OCRTask) -> dict[str, MetadataValue]:
    """A fresh, flat metadata dict for one page (``page`` is 0-based, as in LangChain)."""
    page = item.page
    metadata = document_metadata(page.document)
    metadata.update(page=page.index, page_number=page.number, page_label=page.label)
    metadata.update(ocr_metadata(model_id, task, [item.result]))
    metadata.update(route_metadata([item]))
    return metadata


_SEVERITY = {FinishReason.STOP: 0, FinishReason.REPETITION: 1, FinishReason.LENGTH: 2}


def worst_finish_reason(results: Sequence[OCRResult]) -> FinishReason:
    """``stop`` when every output ended normally, else the reason of the worst one."""
    return max(
        (result.finish_reason for result in results),
        key=_SEVERITY.__getitem__,
        default=FinishReason.STOP,
    )
