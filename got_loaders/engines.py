"""The engine loaders use when none is given: one per process, shared, loaded on first use."""

from __future__ import annotations

import threading

from got_model.engine import GOTEngine, OCREngine

from .pipeline import DEFAULT_BATCH_SIZE

_default_engine: GOTEngine | None = None
_default_engine_lock = threading.Lock()


def default_engine() -> GOTEngine:
    """The shared ``GOTEngine()`` (``stepfun-ai/GOT-OCR-2.0-hf`` on the best device).

    Loaders built without ``engine=`` share it, so a loader per file does not load the 1.4 GB
    model once per file. Creating it loads nothing; the model loads on the first page.
    """
    global _default_engine
    with _default_engine_lock:
        if _default_engine is None:
            _default_engine = GOTEngine()
        return _default_engine


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
    """``batch_size``, else the engine's own (a ``GOTEngine``'s), else ``DEFAULT_BATCH_SIZE``."""
    if batch_size is not None:
        return batch_size
    if isinstance(engine, GOTEngine):
        return engine.generation_settings.batch_size
    return DEFAULT_BATCH_SIZE
