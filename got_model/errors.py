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


class ServerError(GOTError):
    """A GOT server (``ServerEngine``) could not read one page: it refused the page, answered
    with an error, did not answer in time, or was lost while reading it. The page alone fails;
    rerunning reads it again."""


class ServerUnavailableError(ModelLoadError):
    """No GOT server answers at the URL (nothing listens, or not an OpenAI-compatible API), or
    it does not serve the model asked for: no page can be read."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        super().__init__(
            f"Cannot use the GOT server at {url}: {reason}\n"
            "Start one with: got-ocr serve (it prints its URL when ready)."
        )


class ServerAuthError(ModelLoadError):
    """The GOT server refused the API key: no page can be read."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        super().__init__(
            f"The GOT server at {url} refused the API key ({reason}). Pass the key the server "
            "was started with: ServerEngine(url, api_key=...), got-ocr convert --api-key, or "
            "the GOT_OCR_API_KEY environment variable."
        )
