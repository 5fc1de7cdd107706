"""got_loaders: documents -> pages -> GOT engine -> LangChain / LlamaIndex / Unstructured objects.

Importing this package loads neither torch, PyMuPDF nor any framework; each adapter imports its
framework when it is used, and a missing one raises an ImportError naming the extra to install.
The LangChain classes can be imported from here too (``from got_loaders import GOTPDFLoader``);
they load ``got_loaders.langchain`` on first access.
"""

from typing import TYPE_CHECKING, Any

from got_model import DEFAULT_MODEL_ID, GOTEngine, OCREngine, OCRResult, OCRTask

from .content import PageContent
from .documents import DocumentInput, SourceDocument
from .engines import default_engine
from .errors import (
    DocumentError,
    DocumentNotFoundError,
    InvalidPagesError,
    PageRenderError,
    PageSelectionError,
    PasswordError,
    UnsupportedFormatError,
)
from .extras import import_extra
from .pages import DocumentInfo, DocumentKind, Page
from .pipeline import DocumentSkippedWarning, OnError, PagePipeline, PageResult, RecognitionError
from .selection import PageSelection

if TYPE_CHECKING:
    from .langchain import GOTImageBlobParser, GOTImageLoader, GOTParser, GOTPDFLoader

__version__ = "0.1.0"

_LANGCHAIN = frozenset({"GOTPDFLoader", "GOTImageLoader", "GOTParser", "GOTImageBlobParser"})


def __getattr__(name: str) -> Any:
    if name in _LANGCHAIN:
        from . import langchain

        return getattr(langchain, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_MODEL_ID",
    "DocumentError",
    "DocumentInfo",
    "DocumentInput",
    "DocumentKind",
    "DocumentNotFoundError",
    "DocumentSkippedWarning",
    "GOTEngine",
    "GOTImageBlobParser",
    "GOTImageLoader",
    "GOTPDFLoader",
    "GOTParser",
    "InvalidPagesError",
    "OCREngine",
    "OCRResult",
    "OCRTask",
    "OnError",
    "Page",
    "PageContent",
    "PagePipeline",
    "PageRenderError",
    "PageResult",
    "PageSelection",
    "PageSelectionError",
    "PasswordError",
    "RecognitionError",
    "SourceDocument",
    "UnsupportedFormatError",
    "__version__",
    "default_engine",
    "import_extra",
]
