"""GOT's vision encoder with attention that never holds a page's whole score matrix.

transformers' ``GotOcr2VisionAttention`` builds, in each of its 4 global layers, the scores of
all 4,096 patch tokens of a 1024 px page against all 4,096 (12 heads: 200 M values), adds the
decomposed relative-position terms over the same matrix and soft-maxes it in full: about
2.3 GiB a page in bf16, which caps how many pages a GPU can encode at once.

``sdpa_forward`` computes the same attention a band of query rows at a time through
``torch.nn.functional.scaled_dot_product_attention``, the relative-position terms of that band
as an additive bias: the scale, the bias and the soft-max are GOT's, and so is the result (to
floating-point rounding). ``use_sdpa_vision_attention`` gives the attention modules of one
loaded model this forward, after checking on a probe input that it agrees with the module's
own; transformers' classes are left as they are.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

logger = logging.getLogger("got_model")

QUERY_CHUNK = 512
"""Query tokens per band: 8 rows of a 64x64 page. A band's bias and scores are an eighth of
the full matrices (12 heads x 512 x 4,096: 50 MB in bf16, 100 MB in float32, each)."""

_MODULE = "GotOcr2VisionAttention"
_NEEDS = ("qkv", "proj", "num_attention_heads", "scale", "use_rel_pos", "get_rel_pos")


def sdpa_forward(
    self: Any, hidden_states: Any, output_attentions: Any = None, **kwargs: Any
) -> tuple[Any, None]:
    """``GotOcr2VisionAttention.forward`` through SDPA, a band of ``QUERY_CHUNK`` query tokens
    at a time. Bound to a module (``self``); returns no attention weights."""
    import torch
    from torch.nn import functional

    batch, height, width, _ = hidden_states.shape
    heads = self.num_attention_heads
    tokens = height * width
    qkv = self.qkv(hidden_states).reshape(batch, tokens, 3, heads, -1).permute(2, 0, 3, 1, 4)
    query, key, value = qkv.unbind(0)  # (batch, heads, tokens, head_dim)
    if self.use_rel_pos:
        table_h = self.get_rel_pos(height, height, self.rel_pos_h)  # (height, height, head_dim)
        table_w = self.get_rel_pos(width, width, self.rel_pos_w)  # (width, width, head_dim)
    output = torch.empty_like(query)
    rows = max(1, getattr(self, "query_chunk", QUERY_CHUNK) // width)
    for top in range(0, height, rows):
        bottom = min(height, top + rows)
        band = slice(top * width, bottom * width)
        part = query[:, :, band]
        bias = None
        if self.use_rel_pos:
            grid = part.reshape(batch, heads, bottom - top, width, -1)
            rel_h = torch.einsum("bnhwc,hkc->bnhwk", grid, table_h[top:bottom])
            rel_w = torch.einsum("bnhwc,wkc->bnhwk", grid, table_w)
            bias = (rel_h[..., :, None] + rel_w[..., None, :]).reshape(
                batch, heads, (bottom - top) * width, tokens
            )
        output[:, :, band] = functional.scaled_dot_product_attention(
            part, key, value, attn_mask=bias, scale=self.scale
        )
    output = output.reshape(batch, heads, height, width, -1).permute(0, 2, 3, 1, 4)
    return self.proj(output.reshape(batch, height, width, -1)), None


def use_sdpa_vision_attention(model: Any, query_chunk: int = QUERY_CHUNK) -> int:
    """Give every vision attention module of ``model`` (a ``GotOcr2ForConditionalGeneration``)
    ``sdpa_forward``; returns how many took it.

    Only this model's modules change (their ``forward`` is set on the instance). None does if
    they do not look like the ones this was written for, or if the new forward does not agree
    with theirs on a probe input (a transformers release that changed them): that is logged
    once, and transformers' own attention stays.
    """
    modules = [m for m in model.modules() if type(m).__name__ == _MODULE]
    if not modules:
        _skip("the model has no GotOcr2VisionAttention")
        return 0
    if not all(all(hasattr(m, name) for name in _NEEDS) for m in modules):
        _skip("its GotOcr2VisionAttention is not the one this was written for")
        return 0
    # One module of each kind (windowed, global: their position tables differ in size).
    kinds = {tuple(m.rel_pos_h.shape) if m.use_rel_pos else None: m for m in modules}
    for module in kinds.values():
        problem = _disagreement(module)
        if problem:
            _skip(problem)
            return 0
    for module in modules:
        module.query_chunk = query_chunk
        # A partial, not a bound method: the model still pickles (and deep-copies).
        module.forward = functools.partial(sdpa_forward, module)
    return len(modules)


def _disagreement(module: Any) -> str | None:
    """Why ``sdpa_forward`` cannot stand in for ``module``'s forward, or None if it can."""
    import torch

    parameter = next(module.parameters())
    channels = module.qkv.in_features
    generator = torch.Generator(device="cpu").manual_seed(0)
    probe = torch.randn((2, 6, 5, channels), generator=generator).to(parameter)
    try:
        with torch.inference_mode():
            expected = type(module).forward(module, probe)[0]
            module.query_chunk = 10  # several bands, one of them partial
            got = sdpa_forward(module, probe)[0]
    except Exception as exc:
        return f"the SDPA attention failed on a probe: {type(exc).__name__}: {exc}"
    finally:
        module.__dict__.pop("query_chunk", None)
    tolerance = 1e-4 if parameter.dtype == torch.float32 else 3e-2
    scale = float(expected.abs().max()) or 1.0
    if got.shape != expected.shape or not torch.allclose(
        got, expected, atol=tolerance * scale, rtol=tolerance
    ):
        return "the SDPA attention disagrees with GotOcr2VisionAttention on a probe"
    return None


def _skip(why: str) -> None:
    logger.warning("GOT's vision encoder keeps transformers' attention: %s.", why)
