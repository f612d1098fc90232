"""The soft-capped attention backends compute the same maths (float32 to rounding, bf16 to its
precision), on odd lengths and with blocks small enough to exercise every loop."""

from __future__ import annotations

import warnings

import pytest
import torch

from onediffusion import attention as A
from tests.helpers import rel_err

SHAPES = [(1, 1, 1, 6), (2, 3, 5, 24), (2, 3, 37, 72), (1, 2, 129, 96)]
BLOCKS = [None, 64, 37 * 4 * 5, 1 << 12]  # default, smaller than one row, a few rows, a few heads


def qkv(shape, dtype=torch.float32, scale=3.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(shape, generator=g) * scale).to(dtype) for _ in range(3)]


def exact(q, k, v, cap=A.SOFT_CAP):
    return A.math_attention(q.double(), k.double(), v.double(), cap)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("block_bytes", BLOCKS)
def test_chunked_matches_math_float32(shape, block_bytes):
    q, k, v = qkv(shape)  # scale 3: logits reach the cap, so the tanh matters
    out = A.chunked_attention(q, k, v, block_bytes=block_bytes)
    assert out.shape == shape and out.dtype == torch.float32
    assert rel_err(out, exact(q, k, v)) < 5e-6  # float32 rounding: the plain path is as far off
    assert rel_err(out, A.math_attention(q, k, v)) < 5e-6


def test_chunked_keys_longer_than_queries():
    q, _, _ = qkv((2, 2, 7, 24))
    _, k, v = qkv((2, 2, 19, 24), seed=1)
    assert rel_err(A.chunked_attention(q, k, v, block_bytes=256), exact(q, k, v)) < 1e-6


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("block_bytes", [None, 256])
def test_chunked_half_precision(dtype, block_bytes):
    q, k, v = qkv((2, 3, 37, 72), dtype)
    out = A.chunked_attention(q, k, v, block_bytes=block_bytes)
    assert out.dtype == dtype
    ref = exact(q, k, v)
    tol = 2e-2 if dtype == torch.bfloat16 else 3e-3
    assert rel_err(out, ref) < tol
    assert rel_err(out, ref) < 2 * rel_err(A.math_attention(q, k, v), ref) + 1e-3  # no worse than the plain path


@pytest.mark.filterwarnings("ignore:flex_attention called without torch.compile")
def test_flex_score_mod_matches_math():
    q, k, v = qkv((2, 3, 37, 24))  # PyTorch's eager FlexAttention: the same score_mod the kernel gets
    assert rel_err(A.flex_attention(q, k, v, compiled=False), exact(q, k, v)) < 1e-5


def test_other_caps():
    q, k, v = qkv((1, 2, 33, 24))
    for cap in (5.0, 50.0):
        assert rel_err(A.chunked_attention(q, k, v, cap, block_bytes=512), exact(q, k, v, cap)) < 1e-6
    assert A._soft_cap_mod(30.0) is A._soft_cap_mod(30.0)  # compiled graphs see one function per cap


def test_chunked_with_autograd_matches_math_gradients():
    q, k, v = (t.requires_grad_() for t in qkv((1, 2, 17, 24)))
    A.chunked_attention(q, k, v, block_bytes=512).square().sum().backward()
    grads = [t.grad.clone() for t in (q, k, v)]
    for t in (q, k, v):
        t.grad = None
    A.math_attention(q, k, v).square().sum().backward()
    for g, t in zip(grads, (q, k, v)):
        assert rel_err(g, t.grad) < 1e-5


def test_resolve_backend():
    assert A.resolve_backend("auto", torch.device("cpu")) == "chunked"
    assert A.resolve_backend("auto", torch.device("cuda")) == "flex"
    assert A.resolve_backend("math", torch.device("cuda")) == "math"
    with pytest.raises(ValueError, match="attention_backend"):
        A.resolve_backend("sdpa", torch.device("cpu"))


def test_flex_failure_falls_back_to_chunked(monkeypatch):
    def broken():
        def call(*args, **kwargs):
            raise RuntimeError("no compiler here")

        return call

    monkeypatch.setattr(A, "_compiled_flex", broken)
    monkeypatch.setattr(A, "_flex_failure", None)
    q, k, v = qkv((1, 2, 9, 24))
    with pytest.warns(UserWarning, match="no compiler here"):
        out = A.flex_attention(q, k, v)
    assert "no compiler here" in A.flex_failure()
    assert rel_err(out, exact(q, k, v)) < 1e-6
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # warned once only
        A.flex_attention(q, k, v)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("d", [24, 72])
def test_compiled_flex_on_cuda(d):
    q, k, v = (t.cuda() for t in qkv((2, 4, 300, d)))
    assert rel_err(A.flex_attention(q, k, v), exact(q, k, v).cuda()) < 1e-4
    assert A.flex_failure() is None
    qb, kb, vb = (t.bfloat16() for t in (q, k, v))
    assert rel_err(A.flex_attention(qb, kb, vb), exact(q, k, v).cuda()) < 2e-2


def test_flex_out_of_memory_is_not_swallowed(monkeypatch):
    def out_of_memory():
        def call(*args, **kwargs):
            raise torch.OutOfMemoryError("CUDA out of memory")

        return call

    monkeypatch.setattr(A, "_compiled_flex", out_of_memory)
    monkeypatch.setattr(A, "_flex_failure", None)
    with pytest.raises(torch.OutOfMemoryError):
        A.flex_attention(*qkv((1, 1, 4, 6)))
    assert A.flex_failure() is None
