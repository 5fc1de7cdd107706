"""The exceptions got_model raises, rooted in one base class."""

from __future__ import annotations


class GOTError(Exception):
    """Base class of every error raised by got-loaders on purpose."""


class InvalidTaskError(GOTError, ValueError):
    """A task or request is malformed: a box outside the image, an unknown color, ...

    Raised before any model work, so a bad argument never costs a model load.
    """


class ImageInputError(GOTError, ValueError):
    """An image cannot be turned into the RGB picture GOT reads."""


class ModelLoadError(GOTError):
    """The model cannot be loaded (a bad device or dtype, a broken checkpoint...): no page
    can be read, so loaders stop instead of failing page after page."""


class EngineOutOfMemoryError(GOTError, MemoryError):
    """The device ran out of memory on one request even when it ran alone.

    Batches that run out of memory are split and retried first; this is what is left when a
    single page does not fit.
    """


class ModelNotAvailableError(ModelLoadError, OSError):
    """The GOT weights could not be found locally nor fetched from the Hugging Face Hub."""

    def __init__(self, model: str, revision: str | None, reason: str) -> None:
        self.model = model
        self.revision = revision
        rev = revision or "main"
        super().__init__(
            f"Cannot load GOT-OCR weights {model!r} (revision {rev!r}): {reason}\n"
            "To use a local copy, download it once on a machine with network access, e.g.\n"
            f"    hf download {model} --revision {rev} --local-dir ./got-ocr2\n"
            "then pass that directory: GOTEngine(model='./got-ocr2'). Weights already in the "
            "Hugging Face cache (HF_HOME / HF_HUB_CACHE) are found with local_files_only=True "
            "or HF_HUB_OFFLINE=1."
        )


class MissingExtraError(GOTError, ImportError):
    """An optional integration was used without its extra installed."""

    def __init__(self, feature: str, extra: str, missing_module: str) -> None:
        self.extra = extra
        self.missing_module = missing_module
        super().__init__(
            f"{feature} needs the optional dependency {missing_module!r}, which is not installed. "
            f'Install it with: pip install "got-loaders[{extra}]"',
            name=missing_module,
        )
