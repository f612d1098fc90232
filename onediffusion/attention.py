"""Attention kernels for NextDiT: soft-capped joint self-attention and caption cross-attention.

OneDiffusion's self-attention soft-caps its logits (``30 * tanh(s / 30)``) before the softmax.
PyTorch's fused ``scaled_dot_product_attention`` has no hook for a score modifier, so the capped
path is written here, in three interchangeable backends that compute the same maths:

- ``"math"``: the plain way, the full (B, H, L, L) score matrix materialised; the stand-in for
  the authors' path and the reference the others are checked against.
- ``"chunked"``: the same maths one block of scores at a time, in place in one reused buffer
  (GEMM with the scale folded in, ``tanh_``, ``mul_``, softmax written over itself, GEMM). Peak
  memory no longer grows with L^2, and the elementwise passes stop faulting in fresh pages for
  every temporary. The default on CPU,
  several times faster there than ``"math"`` (see benchmarks/RESULTS.md).
- ``"flex"``: PyTorch's FlexAttention with a tanh score modifier, compiled; the default on CUDA.
  Its Triton kernel rounds the head dimension up to a power of two internally (72 -> 128), so
  any head_dim works without padding here.

On ZeroGPU Spaces (``SPACES_ZERO_GPU`` set) "auto" is "chunked" on CUDA too: ZeroGPU does not support
just-in-time ``torch.compile`` (each GPU call runs in a freshly forked worker, and only ahead-of-time
compiled graphs are offered), and PyTorch's fused SDPA has no hook for the soft cap, so the eager
"chunked" kernel is the exact path that needs no compiler.

Every backend keeps the reference's order of operations up to float rounding: the golden tests
pin the model's output to 1e-4 relative in float32, and tests/perf checks the backends against
each other. The uncapped cross-attention to the caption uses the fused kernel directly.
"""

from __future__ import annotations

import functools
import os
import warnings

import torch
import torch.nn.functional as F

SOFT_CAP = 30.0
ATTENTION_BACKENDS = ("auto", "math", "chunked", "flex")
# Bytes of scores per block in "chunked". What makes "math" slow on CPU is faulting in fresh
# pages for every L x L temporary, not cache misses: with one thread any block from 1 MiB up runs
# at the same speed. With two threads every op is a fork/join of both cores, and when other
# processes hold a core, small blocks (many ops) stall: 1 MiB blocks were then slower than "math",
# 64 MiB blocks 3.8x faster. 64 MiB stays negligible next to the model (benchmarks/RESULTS.md).
BLOCK_BYTES = 64 << 20
_flex_failure: str | None = None  # why compiled FlexAttention failed here, if it did


def _capped_scores(q: torch.Tensor, k: torch.Tensor, scale: float, cap: float) -> torch.Tensor:
    scores = torch.matmul(q, k.transpose(-2, -1)) * scale
    return cap * torch.tanh(scores / cap)


def math_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, cap: float = SOFT_CAP) -> torch.Tensor:
    """Soft-capped attention, scores materialised. q, k, v: (B, H, L, d) -> (B, H, L, d)."""
    scale = q.shape[-1] ** -0.5
    weights = torch.softmax(_capped_scores(q, k, scale, cap), dim=-1)
    return torch.matmul(weights, v)


def _block_shape(heads: int, queries: int, keys: int, itemsize: int, block_bytes: int) -> tuple[int, int]:
    """(heads, query rows) per score block: whole heads while one fits, else rows of one head."""
    per_head = queries * keys * itemsize
    if per_head <= block_bytes:
        return max(1, min(heads, block_bytes // per_head)), queries
    return 1, max(1, block_bytes // (keys * itemsize))


def _differentiable_blocks(q, k, v, cap: float, block_bytes: int) -> torch.Tensor:
    # Autograd cannot flow through the in-place kernel below; keep the plain maths, per block.
    rows = max(1, block_bytes // (q.shape[0] * q.shape[1] * k.shape[-2] * q.element_size()))
    return torch.cat([math_attention(q[:, :, i : i + rows], k, v, cap) for i in range(0, q.shape[2], rows)], dim=2)


def chunked_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, cap: float = SOFT_CAP, block_bytes: int | None = None
) -> torch.Tensor:
    """The same maths as :func:`math_attention`, one block of scores at a time, in place.

    q: (B, H, L, d); k, v: (B, H, S, d) -> (B, H, L, d). Peak extra memory: one block of
    ``block_bytes`` (default :data:`BLOCK_BYTES`) instead of B*H*L*S scores.
    """
    block_bytes = block_bytes or BLOCK_BYTES
    if torch.is_grad_enabled() and (q.requires_grad or k.requires_grad or v.requires_grad):
        return _differentiable_blocks(q, k, v, cap, block_bytes)
    if torch.compiler.is_compiling():
        return math_attention(q, k, v, cap)  # inside a compiled graph: let the compiler fuse the maths
    B, H, L, d = q.shape
    S = k.shape[-2]
    q3, v3 = q.reshape(B * H, L, d), v.reshape(B * H, S, v.shape[-1])
    kt = k.reshape(B * H, S, d).transpose(1, 2)
    out = q.new_empty(B * H, L, v.shape[-1])
    heads, rows = _block_shape(B * H, L, S, q.element_size(), block_bytes)
    scores = q.new_empty(heads, rows, S)
    alpha = d**-0.5 / cap  # s * scale / cap in one GEMM epilogue
    for h in range(0, B * H, heads):
        hs = slice(h, h + heads)
        for i in range(0, L, rows):
            s = scores[: q3[hs].shape[0], : min(rows, L - i)]
            torch.baddbmm(s, q3[hs, i : i + rows], kt[hs], beta=0, alpha=alpha, out=s)
            s.tanh_().mul_(cap)
            torch.softmax(s, dim=-1, out=s)
            torch.bmm(s, v3[hs], out=out[hs, i : i + rows])
    return out.view(B, H, L, -1)


@functools.cache
def _soft_cap_mod(cap: float):
    """One score modifier per cap value, so compiled graphs see the same function every call."""

    def soft_cap(score, b, h, q_idx, kv_idx):
        return cap * torch.tanh(score / cap)

    return soft_cap


@functools.cache
def _compiled_flex():
    from torch.nn.attention.flex_attention import flex_attention as flex

    # Static shapes first; a second shape makes dynamo compile a dynamic kernel, not one per size.
    return torch.compile(flex)


def flex_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, cap: float = SOFT_CAP, compiled: bool = True
) -> torch.Tensor:
    """FlexAttention with the soft cap as a score modifier (compiled; meant for CUDA).

    ``compiled=False`` runs PyTorch's eager reference of the same kernel (slow, scores
    materialised): for tests on CPU. If compiling fails on this machine, warns once and falls
    back to :func:`chunked_attention` from then on (:func:`flex_failure` says why).
    """
    global _flex_failure
    from torch.nn.attention.flex_attention import flex_attention as flex

    score_mod, scale = _soft_cap_mod(float(cap)), q.shape[-1] ** -0.5
    if not compiled or torch.compiler.is_compiling():
        return flex(q, k, v, score_mod=score_mod, scale=scale)  # inside a compiled graph: traced as is
    if _flex_failure is None:
        try:
            return _compiled_flex()(q, k, v, score_mod=score_mod, scale=scale)
        except torch.OutOfMemoryError:
            raise  # not a compiler problem: the caller should hear of it
        except Exception as err:  # any compiler or driver failure: stay correct, just slower
            _flex_failure = f"{type(err).__name__}: {err}"
            warnings.warn(f"Compiled FlexAttention failed; using 'chunked' attention: {_flex_failure}", stacklevel=2)
    return chunked_attention(q, k, v, cap)


def flex_failure() -> str | None:
    """Why compiled FlexAttention fell back to "chunked" in this process, or None if it has not."""
    return _flex_failure


_BACKENDS = {"math": math_attention, "chunked": chunked_attention, "flex": flex_attention}


def jit_available() -> bool:
    """Whether just-in-time compiled kernels may be used here: not on ZeroGPU Spaces (see above)."""
    return not os.environ.get("SPACES_ZERO_GPU")


def resolve_backend(backend: str, device: torch.device) -> str:
    """The concrete backend "auto" stands for on ``device``: "flex" on CUDA where compiling is possible,
    "chunked" elsewhere."""
    if backend not in ATTENTION_BACKENDS:
        raise ValueError(f"`attention_backend` must be one of {ATTENTION_BACKENDS}, got {backend!r}.")
    if backend != "auto":
        return backend
    return "flex" if device.type == "cuda" and jit_available() else "chunked"


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
    "BLOCK_BYTES",
    "SOFT_CAP",
    "caption_attention",
    "chunked_attention",
    "flex_attention",
    "flex_failure",
    "jit_available",
    "math_attention",
    "resolve_backend",
    "softcapped_attention",
]
