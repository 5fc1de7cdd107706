"""got_loaders: documents -> pages -> GOT engine -> LangChain / LlamaIndex / Unstructured objects.

Importing this package loads neither torch, PyMuPDF nor any framework; each adapter imports its
framework when it is used, and a missing one raises an ImportError naming the extra to install.
The adapters' names can be imported from here too (``from got_loaders import GOTPDFLoader``,
``GOTReader``, ``partition_got``); each loads its adapter module on first access.
"""

import importlib
from typing import TYPE_CHECKING, Any

from got_model import (
    DEFAULT_MODEL_ID,
    GOTEngine,
    OCREngine,
    OCRResult,
    OCRTask,
    ResultCache,
    ServerEngine,
    VLLMEngine,
)

from .content import PageContent
from .engines import default_engine, shared_engine
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
from .pipeline import DocumentSkippedWarning, OnError, PagePipeline, PageResult, RecognitionError
from .sources.documents import DocumentInput, SourceDocument
from .sources.pages import DocumentInfo, DocumentKind, Page
from .sources.selection import PageSelection
from .sources.text_layer import PageRoute, Route, RouteReason, Strategy

if TYPE_CHECKING:  # for type checkers and IDEs; at run time __getattr__ imports them on use
    from .langchain import GOTImageBlobParser as GOTImageBlobParser
    from .langchain import GOTImageLoader as GOTImageLoader
    from .langchain import GOTParser as GOTParser
    from .langchain import GOTPDFLoader as GOTPDFLoader
    from .llamaindex import GOTReader as GOTReader
    from .unstructured import partition_got as partition_got
    from .unstructured import register_got_partitioner as register_got_partitioner

__version__ = "0.1.0"

# name -> the adapter module that defines it, imported on first access
_ADAPTERS = {
    "GOTPDFLoader": "langchain",
    "GOTImageLoader": "langchain",
    "GOTParser": "langchain",
    "GOTImageBlobParser": "langchain",
    "GOTReader": "llamaindex",
    "partition_got": "unstructured",
    "register_got_partitioner": "unstructured",
}


def __getattr__(name: str) -> Any:
    module = _ADAPTERS.get(name)
    if module is not None:
        return getattr(importlib.import_module(f"{__name__}.{module}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_ADAPTERS})


# The adapters' names stay out of __all__: ``from got_loaders import *`` must not import every
# framework (nor fail for a missing extra).
__all__ = [
    "DEFAULT_MODEL_ID",
    "DocumentError",
    "DocumentInfo",
    "DocumentInput",
    "DocumentKind",
    "DocumentNotFoundError",
    "DocumentSkippedWarning",
    "GOTEngine",
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
    "PageRoute",
    "PageSelection",
    "PageSelectionError",
    "PasswordError",
    "RecognitionError",
    "ResultCache",
    "Route",
    "RouteReason",
    "ServerEngine",
    "SourceDocument",
    "Strategy",
    "UnsupportedFormatError",
    "VLLMEngine",
    "__version__",
    "default_engine",
    "import_extra",
    "shared_engine",
]
