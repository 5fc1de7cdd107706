"""The vLLM plugin: GOT's processor learns to count its image tokens, only where it cannot."""

from __future__ import annotations

import pytest

from got_model.vllm_plugin import num_multimodal_tokens, register
from tests.conftest import noise_image


@pytest.fixture
def processor(tiny_engine):
    tiny_engine.load()
    return tiny_engine._processor


@pytest.mark.parametrize("size", [(80, 60), (250, 60), (60, 250), (64, 64)])
@pytest.mark.parametrize("options", [{}, {"crop_to_patches": True, "max_patches": 6}])
def test_counts_equal_the_image_tokens_the_processor_writes(processor, size, options) -> None:
    image = noise_image(1, size)
    encoded = processor(images=image, num_image_tokens=16, return_tensors="pt", **options)
    pad = processor.tokenizer.convert_tokens_to_ids(processor.image_token)
    written = int((encoded["input_ids"][0] == pad).sum())
    counted = num_multimodal_tokens(
        processor, image_sizes=[(image.height, image.width)], num_image_tokens=16, **options
    )
    assert counted.num_image_tokens == [written]
    assert counted.num_image_patches == [int(encoded["pixel_values"].shape[0])]


def test_register_adds_the_method_only_where_it_is_missing(monkeypatch) -> None:
    from transformers import GotOcr2Processor

    own = getattr(GotOcr2Processor, "_get_num_multimodal_tokens", None)
    if own is not None and own is not num_multimodal_tokens:  # transformers >= 5.25
        register()
        assert GotOcr2Processor._get_num_multimodal_tokens is own
        return
    monkeypatch.delattr(GotOcr2Processor, "_get_num_multimodal_tokens", raising=False)
    register()
    assert GotOcr2Processor._get_num_multimodal_tokens is num_multimodal_tokens

    def theirs(*args, **kwargs):
        return None

    monkeypatch.setattr(GotOcr2Processor, "_get_num_multimodal_tokens", theirs, raising=False)
    register()
    assert GotOcr2Processor._get_num_multimodal_tokens is theirs


def test_importing_got_model_adds_nothing() -> None:
    import subprocess
    import sys

    import transformers
    from packaging.version import Version

    code = (
        "import got_model, got_loaders\n"
        "from transformers import GotOcr2Processor\n"
        "print(hasattr(GotOcr2Processor, '_get_num_multimodal_tokens'))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    # Whatever transformers has itself (from 5.25 on): importing got_model never adds it.
    expected = Version(transformers.__version__) >= Version("5.25")
    assert out.stdout.strip() == str(expected)
