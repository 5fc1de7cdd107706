"""Engines loaders share: one per set of engine settings per process, loaded on first use."""

from __future__ import annotations

from got_model.engine import GOT_MAX_NEW_TOKENS, OCREngine
from got_model.loading import DEFAULT_MODEL_ID, LoadSettings
from got_model.server_engine import ServerEngine
from got_model.transformers_backend import GenerationSettings, GOTEngine, process_engine
from got_model.vllm_backend import VLLMEngine, VLLMSettings, process_vllm_engine

from .pipeline import DEFAULT_BATCH_SIZE


def shared_engine(
    model: str = DEFAULT_MODEL_ID,
    *,
    revision: str | None = None,
    device: str = "auto",
    dtype: str = "auto",
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_new_tokens: int = GOT_MAX_NEW_TOKENS,
    compile: bool = False,
) -> GOTEngine:
    """The process's ``GOTEngine`` for these settings, created on the first call.

    Readers configured alike share one engine, so ``file_extractor={".pdf": GOTReader(),
    ".png": GOTReader()}`` loads the 1.4 GB model once, not once per reader. Creating the
    engine loads nothing; the model loads on the first page.
    """
    return process_engine(
        LoadSettings(model=str(model), revision=revision, device=device, dtype=dtype),
        GenerationSettings(batch_size=batch_size, max_new_tokens=max_new_tokens, compile=compile),
    )


def shared_vllm_engine(
    model: str = DEFAULT_MODEL_ID,
    *,
    revision: str | None = None,
    dtype: str = "auto",
    batch_size: int | None = None,
    max_new_tokens: int = GOT_MAX_NEW_TOKENS,
) -> VLLMEngine:
    """The process's ``VLLMEngine`` for these settings, created (not started) on the first
    call: ``shared_engine`` for the vLLM backend."""
    settings = VLLMSettings(max_new_tokens=max_new_tokens)
    if batch_size is not None:
        settings = VLLMSettings(max_new_tokens=max_new_tokens, batch_size=batch_size)
    return process_vllm_engine(
        LoadSettings(model=str(model), revision=revision, dtype=dtype), settings
    )


def default_engine() -> GOTEngine:
    """The shared ``GOTEngine()`` (``stepfun-ai/GOT-OCR-2.0-hf`` on the best device).

    Loaders built without ``engine=`` share it, so a loader per file does not load the 1.4 GB
    model once per file. Creating it loads nothing; the model loads on the first page.
    """
    return shared_engine()


def engine_or_default(engine: OCREngine | None) -> OCREngine:
    """``engine``, or the shared default; rejects objects that are not engines."""
    if engine is None:
        return default_engine()
    if not isinstance(engine, OCREngine):
        raise TypeError(
            f"engine must be an OCREngine (e.g. GOTEngine(...)), not {type(engine).__name__}."
        )
    return engine


def engine_batch_size(engine: OCREngine, batch_size: int | None) -> int:
    """``batch_size``, else the engine's own (a ``GOTEngine``'s, ``VLLMEngine``'s or
    ``ServerEngine``'s), else ``DEFAULT_BATCH_SIZE``."""
    if batch_size is not None:
        return batch_size
    if isinstance(engine, GOTEngine):
        return engine.generation_settings.batch_size
    if isinstance(engine, (VLLMEngine, ServerEngine)):
        return engine.settings.batch_size
    return DEFAULT_BATCH_SIZE
