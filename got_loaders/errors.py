"""Errors about the documents being loaded, each naming the file and, where known, the page."""

from __future__ import annotations

from got_model.errors import GOTError


class DocumentError(GOTError):
    """A document, or one page of it, cannot be read.

    Attributes:
        source: the file's name (a path, or a label for bytes and file objects).
        page: the 1-based page number, or ``None`` when the whole document failed.
        reason: what went wrong and what the user can do, without the location.
        position: where the document came among a page pipeline's inputs (0-based), set by
            the pipeline; ``None`` elsewhere.
    """

    def __init__(self, source: str, reason: str, *, page: int | None = None) -> None:
        if reason.endswith("..") and not reason.endswith("..."):  # a sentence ended twice
            reason = reason[:-1]
        self.source = source
        self.page = page
        self.reason = reason
        self.position: int | None = None  # the document's place among a run's inputs
        where = source if page is None else f"{source}, page {page}"
        super().__init__(f"{where}: {reason}")

    def __reduce__(self) -> tuple[object, ...]:
        # Keyword-only ``page`` would otherwise be lost when the error crosses a process boundary.
        return (_rebuild, (type(self), self.source, self.reason, self.page))


def _rebuild(cls: type[DocumentError], source: str, reason: str, page: int | None) -> DocumentError:
    return cls(source, reason, page=page)


class DocumentNotFoundError(DocumentError, FileNotFoundError):
    """The path does not exist, or is a directory."""


class UnsupportedFormatError(DocumentError, ValueError):
    """The input is neither a PDF nor an image format Pillow can read."""


class PasswordError(DocumentError, PermissionError):
    """The PDF is encrypted and no password, or a wrong one, was given."""


class PageSelectionError(DocumentError, ValueError):
    """A page selection names pages the document does not have."""


class PageRenderError(DocumentError):
    """The document opened but one page could not be rendered or decoded."""


class LimitExceededError(DocumentError, ValueError):
    """A document has more pages, or a page more pixels, than the configured limit
    (``max_pages``, ``max_pixels``)."""


class InvalidPagesError(GOTError, ValueError):
    """A ``pages=`` argument is malformed (checked before any file is opened)."""
