"""Load GOT-OCR 2.0 through transformers' native classes, with errors a user can act on."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from .devices import resolve_device, resolve_dtype
from .errors import ModelNotAvailableError

DEFAULT_MODEL_ID = "stepfun-ai/GOT-OCR-2.0-hf"


@dataclass(frozen=True)
class LoadSettings:
    """Where the weights come from and where they run.

    Attributes:
        model: a Hugging Face Hub id or a local directory holding the weights and processor.
        revision: a branch, tag or commit of the Hub repository to pin.
        local_files_only: never reach the network; ``None`` follows ``HF_HUB_OFFLINE``.
        cache_dir: Hugging Face cache to read and fill (default: the Hub's own).
        device: ``"auto"`` (CUDA, then MPS, then CPU), or any torch device string.
        dtype: ``"auto"`` (bf16/fp16 on GPU, fp32 on CPU), or a torch dtype or its name.
        attn_implementation: the decoder's attention, e.g. ``"sdpa"``, ``"eager"`` or
            ``"flash_attention_2"``; ``None`` lets transformers choose (SDPA).
        vision_attention: the vision encoder's: ``"sdpa"`` (``got_model.vision_attention``:
            the same attention a band of queries at a time, a fraction of the memory) or
            ``"eager"`` (transformers' own, which holds every page's full score matrix).
    """

    model: str = DEFAULT_MODEL_ID
    revision: str | None = None
    local_files_only: bool | None = None
    cache_dir: str | None = None
    device: str = "auto"
    dtype: Any = "auto"
    attn_implementation: str | None = None
    vision_attention: str = "sdpa"

    def __post_init__(self) -> None:
        if self.vision_attention not in ("sdpa", "eager"):
            raise ValueError(
                f'vision_attention must be "sdpa" or "eager", got {self.vision_attention!r}.'
            )

    def offline(self) -> bool:
        """True when no network access may be attempted."""
        if self.local_files_only is not None:
            return self.local_files_only
        from huggingface_hub import constants

        return bool(constants.HF_HUB_OFFLINE)


def load_model_and_processor(settings: LoadSettings) -> tuple[Any, Any]:
    """Load ``GotOcr2ForConditionalGeneration`` and ``GotOcr2Processor``, ready for inference.

    Never uses ``trust_remote_code``: only transformers' own GOT-OCR2 code runs.

    Raises:
        ModelNotAvailableError: the weights are not on disk and cannot be downloaded.
    """
    from transformers import GotOcr2ForConditionalGeneration, GotOcr2Processor

    device = resolve_device(settings.device)
    dtype = resolve_dtype(settings.dtype, device)
    offline = settings.offline()
    common: dict[str, Any] = {
        "revision": settings.revision,
        "local_files_only": offline,
        "cache_dir": settings.cache_dir,
    }
    looks_local = os.path.sep in settings.model and not _is_hub_id(settings.model)
    if looks_local and not os.path.isdir(settings.model):
        raise ModelNotAvailableError(
            settings.model, settings.revision, "no such directory on this machine."
        )
    model_kwargs: dict[str, Any] = {"dtype": dtype}
    if settings.attn_implementation is not None:
        # Transformers refuses one implementation for the whole model: the encoder has none
        # but its own.
        model_kwargs["attn_implementation"] = {"text_config": settings.attn_implementation}
    try:
        processor = GotOcr2Processor.from_pretrained(settings.model, **common)
        model = GotOcr2ForConditionalGeneration.from_pretrained(
            settings.model, **common, **model_kwargs
        )
    except (OSError, ValueError) as exc:  # hub errors subclass one or the other
        raise _not_available(settings, offline, exc) from exc
    model.to(device)
    model.eval()
    if settings.vision_attention == "sdpa":
        from .vision_attention import use_sdpa_vision_attention

        use_sdpa_vision_attention(model)
    return model, processor


def resolve_model_files(settings: LoadSettings) -> str:
    """The local directory holding the model's files: ``settings.model`` itself, or its Hub
    snapshot at ``settings.revision``, downloaded unless offline (the vLLM backend hands vLLM
    this directory, so both backends find and pin weights the same way).

    Raises:
        ModelNotAvailableError: the files are not on disk and cannot be downloaded.
    """
    if os.path.isdir(settings.model):
        return settings.model
    if not _is_hub_id(settings.model):
        raise ModelNotAvailableError(
            settings.model, settings.revision, "no such directory on this machine."
        )
    from huggingface_hub import snapshot_download

    offline = settings.offline()
    try:
        return str(
            snapshot_download(
                settings.model,
                revision=settings.revision,
                cache_dir=settings.cache_dir,
                local_files_only=offline,
            )
        )
    except Exception as exc:  # the Hub's errors: not found, offline, gated, no network
        raise _not_available(settings, offline, exc) from exc


def _not_available(
    settings: LoadSettings, offline: bool, exc: BaseException
) -> ModelNotAvailableError:
    how = "offline mode (local_files_only / HF_HUB_OFFLINE=1)" if offline else "the Hub"
    return ModelNotAvailableError(
        settings.model,
        settings.revision,
        f"not found locally and not available from {how} ({type(exc).__name__}: "
        f"{_first_line(exc)})",
    )


def _is_hub_id(name: str) -> bool:
    parts = name.split("/")
    return len(parts) == 2 and all(parts) and not name.startswith((".", "~"))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else "no details"
