"""The chat template ``got-ocr serve`` installs writes GOT's prompt exactly as GOT's processor
does (``VLLMEngine`` writes it the same way; tests/got_model/test_vllm_inputs.py compares that
with the processor's token ids), for every task, rendered the way vLLM's server renders it:
through the tokenizer's ``apply_chat_template`` with ``chat_template_kwargs``."""

from __future__ import annotations

from typing import Any

import pytest
from PIL import Image

from got_model import OCRRequest, OCRTask
from got_model.vllm_backend import PageInputs, scaled_box
from got_model.vllm_server import chat_template_path


@pytest.fixture(scope="module")
def processor(tiny_checkpoint: str) -> Any:
    from transformers import GotOcr2Processor

    return GotOcr2Processor.from_pretrained(tiny_checkpoint)


PAGE = Image.new("RGB", (300, 200), "white")

CASES = [
    (OCRRequest((PAGE,)), {}),
    (OCRRequest((PAGE,), OCRTask(output="formatted")), {"got_format": True}),
    (OCRRequest((PAGE,), OCRTask(box=(10, 20, 150, 190))), None),
    (OCRRequest((PAGE,), OCRTask(output="formatted", box=(1, 2, 3, 4))), None),
    (OCRRequest((PAGE,), OCRTask(color="red")), {"got_color": "red"}),
    (OCRRequest((PAGE,), OCRTask(color="blue", output="formatted")),
     {"got_color": "blue", "got_format": True}),
    (OCRRequest((PAGE, PAGE, PAGE)), {}),
    (OCRRequest((PAGE, PAGE), OCRTask(output="formatted")), {"got_format": True}),
    (OCRRequest((PAGE,), OCRTask(crop_to_patches=True, max_patches=6)), {"got_crop": True}),
    (OCRRequest((PAGE,), OCRTask(crop_to_patches=True, output="formatted")),
     {"got_crop": True, "got_format": True}),
]  # fmt: skip


def render(processor: Any, images: int, kwargs: dict[str, Any], text: str = "") -> str:
    content: list[dict[str, Any]] = [{"type": "image"}] * images
    if text:
        content.append({"type": "text", "text": text})
    with open(chat_template_path(), encoding="utf-8") as template:
        return str(
            processor.tokenizer.apply_chat_template(
                [{"role": "user", "content": content}],
                chat_template=template.read(),
                tokenize=False,
                add_generation_prompt=True,
                **kwargs,
            )
        )


@pytest.mark.parametrize(("request_", "kwargs"), CASES)
def test_the_template_writes_gots_prompt_for_every_task(
    processor: Any, request_: OCRRequest, kwargs: dict[str, Any] | None
) -> None:
    inputs = PageInputs(processor)
    built = inputs.build(request_)
    if kwargs is None:  # a box: 0-1000 of the page, as the client sends it
        kwargs = {"got_box": scaled_box(request_.task.box, PAGE.size)}  # type: ignore[arg-type]
        if request_.task.output.value == "formatted":
            kwargs["got_format"] = True
    expected = built.prompt
    assert render(processor, len(built.images), kwargs) == expected
    # What a message says besides its images does not change GOT's prompt.
    assert render(processor, len(built.images), kwargs, "What does this say?") == expected


def test_without_the_generation_prompt_no_assistant_turn_is_opened(processor: Any) -> None:
    with open(chat_template_path(), encoding="utf-8") as template:
        text = processor.tokenizer.apply_chat_template(
            [{"role": "user", "content": [{"type": "image"}]}],
            chat_template=template.read(),
            tokenize=False,
            add_generation_prompt=False,
        )
    assert text.endswith(" OCR: <|im_end|>")
