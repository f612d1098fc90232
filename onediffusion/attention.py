"""Attention kernels for NextDiT: soft-capped joint self-attention and caption cross-attention.

OneDiffusion's self-attention soft-caps its logits (``30 * tanh(s / 30)``) before the softmax.
PyTorch's fused ``scaled_dot_product_attention`` has no hook for a score modifier, so the capped
path is written here, in three interchangeable backends that compute the same maths:

- ``"math"``: the plain way, the full (B, H, L, L) score matrix materialised; the stand-in for
  the authors' path and the reference the others are checked against.
- ``"chunked"``: the same maths over blocks of queries, so peak memory grows with the block, not
  with L^2; the default on CPU.
- ``"flex"``: PyTorch's FlexAttention with a tanh score modifier, compiled; the default on CUDA.

The uncapped cross-attention to the caption uses the fused kernel directly.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F

SOFT_CAP = 30.0
ATTENTION_BACKENDS = ("auto", "math", "chunked", "flex")
_CHUNK_ELEMENTS = 1 << 24  # score elements per chunk: 64 MB of float32 per block


def _capped_scores(q: torch.Tensor, k: torch.Tensor, scale: float, cap: float) -> torch.Tensor:
    scores = torch.matmul(q, k.transpose(-2, -1)) * scale
    return cap * torch.tanh(scores / cap)


def math_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, cap: float = SOFT_CAP) -> torch.Tensor:
    """Soft-capped attention, scores materialised. q, k, v: (B, H, L, d) -> (B, H, L, d)."""
    scale = q.shape[-1] ** -0.5
    weights = torch.softmax(_capped_scores(q, k, scale, cap), dim=-1)
    return torch.matmul(weights, v)


def chunked_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, cap: float = SOFT_CAP) -> torch.Tensor:
    """The same maths as :func:`math_attention`, one block of queries at a time."""
    B, H, L, _ = q.shape
    block = max(1, _CHUNK_ELEMENTS // max(1, B * H * k.shape[-2]))
    if block >= L:
        return math_attention(q, k, v, cap)
    return torch.cat([math_attention(q[:, :, i : i + block], k, v, cap) for i in range(0, L, block)], dim=2)


@functools.cache
def _compiled_flex():
    from torch.nn.attention.flex_attention import flex_attention

    return torch.compile(flex_attention, dynamic=False)


def flex_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, cap: float = SOFT_CAP) -> torch.Tensor:
    """FlexAttention with the soft cap as a score modifier (compiled; meant for CUDA)."""

    def soft_cap(score, b, h, q_idx, kv_idx):
        return cap * torch.tanh(score / cap)

    return _compiled_flex()(q, k, v, score_mod=soft_cap)


_BACKENDS = {"math": math_attention, "chunked": chunked_attention, "flex": flex_attention}


def resolve_backend(backend: str, device: torch.device) -> str:
    if backend not in ATTENTION_BACKENDS:
        raise ValueError(f"`attention_backend` must be one of {ATTENTION_BACKENDS}, got {backend!r}.")
    if backend != "auto":
        return backend
    return "flex" if device.type == "cuda" else "chunked"


def softcapped_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, backend: str = "auto", cap: float = SOFT_CAP
) -> torch.Tensor:
    """Joint self-attention with soft-capped logits. q, k, v: (B, H, L, d) -> (B, H, L, d)."""
    return _BACKENDS[resolve_backend(backend, q.device)](q, k, v, cap)


def caption_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Cross-attention to the caption (no cap), PyTorch's fused kernel.

    q: (B, H, L, d); k, v: (B, H, S, d); mask: (B, S), true for real caption tokens.
    """
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask[:, None, None, :].bool())


__all__ = [
    "ATTENTION_BACKENDS",
    "SOFT_CAP",
    "caption_attention",
    "chunked_attention",
    "flex_attention",
    "math_attention",
    "resolve_backend",
    "softcapped_attention",
]
