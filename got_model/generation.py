"""Forward and postprocess: one ``generate`` call per batch, then per-row text and finish reason."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from transformers import GenerationConfig, StoppingCriteria, StoppingCriteriaList

from .repetition import Repetition, RepetitionGuard
from .results import FinishReason

END_TOKEN = "<|im_end|>"


@dataclass(frozen=True)
class RowOutput:
    """One row of a finished batch, before it becomes an OCRResult."""

    text: str
    finish_reason: FinishReason
    generated_tokens: int
    repeated_tokens_cut: int = 0


class _LoopStopper(StoppingCriteria):  # type: ignore[misc]  # transformers is untyped for mypy
    """Stops a row once its newest tokens have become periodic (GOT's "AR repeater" loop).

    Keeps each row's new tokens as a Python list, fed one column per step, so a check is a few
    list comparisons and never copies the whole sequence off the device.
    """

    def __init__(self, guard: RepetitionGuard, batch_size: int, end_token_id: int) -> None:
        self.guard = guard
        self.end_token_id = end_token_id
        self.tokens: list[list[int]] = [[] for _ in range(batch_size)]
        self.loops: dict[int, Repetition] = {}
        self._done: set[int] = set()
        self._steps = 0

    def __call__(self, input_ids: torch.Tensor, scores: Any, **kwargs: Any) -> torch.Tensor:
        self._steps += 1
        check = self._steps % self.guard.check_every == 0
        for row, token in enumerate(input_ids[:, -1].tolist()):
            if row in self._done:
                continue
            self.tokens[row].append(token)
            if token == self.end_token_id:
                self._done.add(row)
            elif check and (loop := self.guard.find(self.tokens[row])) is not None:
                self.loops[row] = loop
                self._done.add(row)
        stopped = [row in self.loops for row in range(len(self.tokens))]
        return torch.tensor(stopped, dtype=torch.bool, device=input_ids.device)


def generate_batch(
    model: Any,
    tokenizer: Any,
    batch: dict[str, Any],
    *,
    max_new_tokens: int,
    repetition_guard: RepetitionGuard | None,
    no_repeat_ngram_size: int | None,
    pad_token_id: int,
    static_cache: bool = False,
    compile: bool = False,
    encoder_batch_size: int | None = None,
) -> list[RowOutput]:
    """Greedy-generate every row of ``batch`` in one call and decode only the new tokens.

    ``static_cache`` preallocates the cache for ``max_new_tokens``; on CUDA, transformers then
    compiles the decoding step, which only ``compile`` allows. With ``encoder_batch_size``, the
    vision encoder reads the batch's images that many at a time before decoding starts (see
    ``embed_prompts``), instead of all at once inside ``generate``.
    """
    end_token_id = int(tokenizer.convert_tokens_to_ids(END_TOKEN))
    rows, prompt_width = batch["input_ids"].shape
    device = model.device
    input_ids = batch["input_ids"].to(device)
    pixel_values = batch["pixel_values"].to(device=device, dtype=model.dtype)
    inputs: dict[str, Any] = {"attention_mask": batch["attention_mask"].to(device)}
    config = GenerationConfig(
        do_sample=False,
        num_beams=1,
        max_new_tokens=max_new_tokens,
        eos_token_id=end_token_id,
        pad_token_id=pad_token_id,
        no_repeat_ngram_size=no_repeat_ngram_size or 0,
        cache_implementation="static" if static_cache else None,
        disable_compile=not compile,
    )
    stopper = _LoopStopper(repetition_guard, rows, end_token_id) if repetition_guard else None
    with torch.inference_mode():
        if encoder_batch_size is None:
            inputs.update(input_ids=input_ids, pixel_values=pixel_values)
        else:  # the output is then the new tokens only
            inputs["inputs_embeds"] = embed_prompts(
                model, input_ids, pixel_values, encoder_batch_size
            )
            prompt_width = 0
        output = model.generate(
            **inputs,
            generation_config=config,
            stopping_criteria=StoppingCriteriaList([stopper] if stopper else []),
        )
    new_tokens = output[:, prompt_width:].tolist()
    return [
        finish_row(
            tokenizer,
            new_tokens[row],
            end_token_id,
            stopper.loops.get(row) if stopper else None,
            repetition_guard,
        )
        for row in range(rows)
    ]


def embed_prompts(
    model: Any, input_ids: torch.Tensor, pixel_values: torch.Tensor, encoder_batch_size: int
) -> torch.Tensor:
    """The prompts' input embeddings with each image's features in its ``<imgpad>`` places,
    as GOT's forward builds them, the images encoded ``encoder_batch_size`` at a time: the
    encoder's working memory is then that of a few images, whatever the batch size."""
    features = []
    for start in range(0, pixel_values.shape[0], encoder_batch_size):
        encoded = model.get_image_features(
            pixel_values=pixel_values[start : start + encoder_batch_size]
        )
        features.append(getattr(encoded, "pooler_output", encoded))  # older releases: a tensor
    embeds = model.get_input_embeddings()(input_ids)
    image_token = getattr(model.config, "image_token_id", None)
    if image_token is None:
        image_token = model.config.image_token_index
    places = (input_ids == image_token).unsqueeze(-1).expand_as(embeds)
    image_features = torch.cat(features).to(embeds.device, embeds.dtype)
    if int(places.sum()) != image_features.numel():
        raise ValueError(
            f"{int(places.sum()) // embeds.shape[-1]} image tokens in the prompts but "
            f"{image_features.shape[0] * image_features.shape[1]} image features."
        )
    return embeds.masked_scatter(places, image_features)


def finish_row(
    tokenizer: Any,
    tokens: Sequence[int],
    end_token_id: int,
    loop: Repetition | None,
    guard: RepetitionGuard | None,
) -> RowOutput:
    """One output's text and finish reason from its new tokens: cut at the end token, or at
    ``loop`` (a repetition found while generating), or checked for a loop once more when it
    ran out of tokens. Both backends finish their outputs here."""
    if loop is None and end_token_id in tokens:
        end = list(tokens).index(end_token_id)
        return RowOutput(_decode(tokenizer, tokens[:end]), FinishReason.STOP, end + 1)
    if loop is None:
        # Ran out of tokens: a loop may have begun between two checks.
        loop = guard.find(tokens) if guard else None
        if loop is None:
            return RowOutput(_decode(tokenizer, tokens), FinishReason.LENGTH, len(tokens))
    kept = tokens[: loop.keep]
    return RowOutput(_decode(tokenizer, kept), FinishReason.REPETITION, loop.total, loop.cut)


def _decode(tokenizer: Any, tokens: Sequence[int]) -> str:
    return str(tokenizer.decode(list(tokens), skip_special_tokens=True))
