"""Turn a tiny GOT model into one that loops forever, to test the repetition guard for real."""

from __future__ import annotations

from typing import Any

import torch


def make_looping(engine: Any, cycle: list[int]) -> None:
    """Rewire ``engine``'s model so greedy decoding writes ``cycle`` over and over, never ending.

    Attention and MLP outputs are zeroed, so each position's hidden state is just the embedding
    of its own token; the (untied) output head then maps the prompt's last token to
    ``cycle[0]`` and each ``cycle[i]`` to ``cycle[i + 1]``. Embedding rows get equal norms, so a
    row's dot product with itself beats any other row.
    """
    engine.load()
    model, processor = engine._model, engine._processor
    probe = processor(images=_white(), return_tensors="pt", num_image_tokens=16)
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
