"""got_model: the GOT-OCR 2.0 engine.

Importing this package loads neither torch nor transformers; the model loads on first use.
"""

from .cache import CacheError, CacheInfo, ResultCache, default_cache_path
from .engine import GOT_MAX_NEW_TOKENS, OCREngine
from .errors import (
    EngineOutOfMemoryError,
    GOTError,
    ImageInputError,
    InvalidTaskError,
    MissingExtraError,
    ModelLoadError,
    ModelNotAvailableError,
    ServerAuthError,
    ServerError,
    ServerUnavailableError,
)
from .images import to_rgb
from .loading import DEFAULT_MODEL_ID, LoadSettings
from .markdown import BlockKind, MarkdownOutput, to_markdown
from .repetition import Repetition, RepetitionGuard
from .results import FinishReason, GenerationStats, OCRResult
from .server_engine import ServerEngine, ServerSettings
from .tasks import FORMATTED, PLAIN, OCRRequest, OCRTask, OutputFormat, RegionColor
from .transformers_backend import GenerationSettings, GOTEngine
from .vllm_backend import VLLMEngine, VLLMSettings

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_MODEL_ID",
    "FORMATTED",
    "GOT_MAX_NEW_TOKENS",
    "PLAIN",
    "BlockKind",
    "CacheError",
    "CacheInfo",
    "EngineOutOfMemoryError",
    "FinishReason",
    "GOTEngine",
    "GOTError",
    "GenerationSettings",
    "GenerationStats",
    "ImageInputError",
    "InvalidTaskError",
    "LoadSettings",
    "MarkdownOutput",
    "MissingExtraError",
    "ModelLoadError",
    "ModelNotAvailableError",
    "OCREngine",
    "OCRRequest",
    "OCRResult",
    "OCRTask",
    "OutputFormat",
    "RegionColor",
    "Repetition",
    "RepetitionGuard",
    "ResultCache",
    "ServerAuthError",
    "ServerEngine",
    "ServerError",
    "ServerSettings",
    "ServerUnavailableError",
    "VLLMEngine",
    "VLLMSettings",
    "__version__",
    "default_cache_path",
    "to_markdown",
    "to_rgb",
]
