"""A tiny random GOT-OCR2 checkpoint for tests: the real architecture at toy sizes.

``build_tiny_checkpoint(path)`` writes, in a few seconds, a directory that loads through exactly
the path the real ``stepfun-ai/GOT-OCR-2.0-hf`` weights take (``GOTEngine(model=path)``):
``GotOcr2ForConditionalGeneration`` weights, a byte-level BPE tokenizer carrying GOT's special
tokens, and GOT's image processor at 64x64 pixels. Its output is meaningless but deterministic,
and it depends on the image, so batching and ordering bugs show up as different text.

Use it in your own CI too::

    from got_model import GOTEngine
    from got_model.testing import build_tiny_checkpoint

    engine = GOTEngine(build_tiny_checkpoint(tmp_path / "got-tiny"), device="cpu")
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# GOT's special tokens, as in its Qwen-based vocabulary.
GOT_SPECIAL_TOKENS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<ref>",
    "</ref>",
    "<box>",
    "</box>",
    "<quad>",
    "</quad>",
    "<img>",
    "</img>",
    "<imgpad>",
)

TINY_IMAGE_SIZE = 64
TINY_PATCH_SIZE = 4  # 16x16 grid -> 4x4 = 16 image tokens per patch
TINY_VOCAB_SIZE = 384
TINY_TEXT_HEAD_DIM = 8  # 4 heads: a decoder 32 wide
VLLM_TEXT_HEAD_DIM = 64  # the smallest vLLM's CPU attention runs; 256 wide, still tiny
_TEXT_HEADS = 4

# Text in the style GOT writes, so the tokenizer learns realistic merges.
_CORPUS = (
    "The quick brown fox jumps over the lazy dog. General OCR Theory reads pages.",
    "\\title{Attention Is All You Need} \\author{A. Author} \\section*{Introduction}",
    "\\begin{tabular}{|l|c|r|} \\hline Model & BLEU & Cost \\\\ \\hline 1 & 2 & 3 \\\\",
    "\\end{tabular} Inline math \\( E = m c^{2} \\) and display \\[ \\sum_{i=1}^{n} x_i \\]",
    "\\begin{itemize} \\item First point \\item Second point \\end{itemize} 0123456789",
    "Table 1: Results. Figure 2: Overview. Page 3 of 10. abcdefghijklmnopqrstuvwxyz",
)


def build_tiny_checkpoint(
    path: str | Path, *, seed: int = 0, text_head_dim: int = TINY_TEXT_HEAD_DIM
) -> str:
    """Write a tiny random GOT-OCR2 checkpoint to ``path`` and return the path as a string.

    The same ``seed`` gives the same weights. The global torch RNG is left untouched.
    ``text_head_dim`` sets the decoder's attention head size (its width follows): vLLM's CPU
    attention refuses a head size of 8, so the vLLM tests build with ``VLLM_TEXT_HEAD_DIM``.
    """
    from transformers import GotOcr2Config, GotOcr2Processor

    target = Path(path)
    target.mkdir(parents=True, exist_ok=True)
    tokenizer = _build_tokenizer()
    config = GotOcr2Config(
        vision_config={
            "hidden_size": 32,
            "output_channels": 16,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "mlp_dim": 64,
            "image_size": TINY_IMAGE_SIZE,
            "patch_size": TINY_PATCH_SIZE,
            "window_size": 4,
            "global_attn_indexes": [1],
        },
        text_config={
            "vocab_size": len(tokenizer),
            "hidden_size": _TEXT_HEADS * text_head_dim,
            "intermediate_size": 2 * _TEXT_HEADS * text_head_dim,
            "num_hidden_layers": 2,
            "num_attention_heads": _TEXT_HEADS,
            "num_key_value_heads": 2,
            "max_position_embeddings": 8192,
        },
        image_token_index=tokenizer.convert_tokens_to_ids("<imgpad>"),
    )
    model = random_model(config, seed)
    model.save_pretrained(target)
    processor = GotOcr2Processor(image_processor=_build_image_processor(), tokenizer=tokenizer)
    processor.save_pretrained(target)
    (target / "got_tiny.json").write_text(
        json.dumps({"built_by": "got_model.testing.build_tiny_checkpoint", "seed": seed}) + "\n"
    )
    return str(target)


def random_model(config: Any, seed: int = 0) -> Any:
    """A ``GotOcr2ForConditionalGeneration`` for ``config`` with wide random weights; the same
    ``seed`` gives the same weights, and the global torch RNG is left untouched.

    Transformers' own init gives near-constant logits at toy sizes (every image yields the
    same token forever). Wide random weights make the output depend on the image.
    """
    import torch
    from transformers import GotOcr2ForConditionalGeneration

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = GotOcr2ForConditionalGeneration(config)
        generator = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for parameter in model.parameters():
                if parameter.dim() >= 2:
                    parameter.normal_(0.0, 0.5, generator=generator)
    return model


def _build_tokenizer() -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=TINY_VOCAB_SIZE,
        special_tokens=list(GOT_SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(_CORPUS, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=[
            t for t in GOT_SPECIAL_TOKENS if t not in {"<|im_end|>", "<|endoftext|>"}
        ],
    )


def _build_image_processor(side: int = TINY_IMAGE_SIZE) -> Any:
    """GOT's PIL image processor, resizing to ``side`` x ``side``."""
    size = {"height": side, "width": side}
    try:  # transformers >= 5 splits the PIL and torchvision backends
        from transformers.models.got_ocr2.image_processing_pil_got_ocr2 import (
            GotOcr2ImageProcessorPil as ImageProcessor,
        )
    except ImportError:  # transformers 4.x
        from transformers import GotOcr2ImageProcessor as ImageProcessor
    return ImageProcessor(size=size)


def make_looping(engine: Any, cycle: Sequence[int]) -> None:
    """Rewire a loaded tiny ``GOTEngine`` so greedy decoding writes ``cycle`` forever.

    GOT's real failure mode ("AR repeater") on demand, for testing the repetition guard.

    Attention and MLP outputs are zeroed, so each position's hidden state is just the embedding
    of its own token; the (untied) output head then maps the prompt's last token to
    ``cycle[0]`` and each ``cycle[i]`` to ``cycle[i + 1]``. Embedding rows get equal norms, so a
    row's dot product with itself beats any other row.
    """
    import torch

    from .inputs import image_tokens_per_patch

    engine.load()
    model, processor = engine._model, engine._processor
    tokens = image_tokens_per_patch(model.config)
    probe = processor(images=_white(), return_tensors="pt", num_image_tokens=tokens)
    last_prompt_token = int(probe["input_ids"][0, -1])
    text = model.model.language_model
    with torch.no_grad():
        for layer in text.layers:
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
        embed = text.embed_tokens.weight
        hidden = embed.shape[1]
        normalized = torch.nn.functional.normalize(embed.detach().clone(), dim=-1) * hidden**0.5
        embed.copy_(normalized)
        text.norm.weight.fill_(1.0)
        head = torch.zeros_like(normalized)
        successors = {last_prompt_token: cycle[0]}
        successors.update({token: cycle[(i + 1) % len(cycle)] for i, token in enumerate(cycle)})
        for source, target in successors.items():
            head[target] += normalized[source]
    model.lm_head.weight = torch.nn.Parameter(head)


def _white() -> Any:
    from PIL import Image

    return Image.new("RGB", (32, 32), "white")
