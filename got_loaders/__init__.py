"""got_loaders: documents -> pages -> GOT engine -> LangChain / LlamaIndex / Unstructured objects.

Importing this package loads neither torch nor any framework; each adapter imports its
framework when it is used, and a missing one raises an ImportError naming the extra to install.
"""

from got_model import DEFAULT_MODEL_ID, GOTEngine, OCREngine, OCRResult, OCRTask

from .extras import import_extra

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_MODEL_ID",
    "GOTEngine",
    "OCREngine",
    "OCRResult",
    "OCRTask",
    "__version__",
    "import_extra",
]
