"""The transformer FLOP formula: against a count by hand, and against PyTorch's FLOP counter."""

from __future__ import annotations

import pytest
import torch

from benchmarks.flops import FlopBreakdown, TransformerShape, counted_flops, transformer_flops
from benchmarks.presets import SIZES
from onediffusion import NextDiT

HAND = {  # D 12, 2 heads of 6, 1 kv head, 1 layer, caption 4, 2x2 patches of 2 channels
    "input_size": (1, 4, 4),
    "patch_size": (1, 2, 2),
    "in_channels": 2,
    "hidden_size": 12,
    "depth": 1,
    "num_heads": 2,
    "num_kv_heads": 1,
    "multiple_of": 8,
    "caption_channels": 4,
}


def test_shape_from_config():
    s = TransformerShape.from_config(HAND)
    assert (s.hidden, s.heads, s.kv_heads, s.patch, s.in_channels, s.out_channels) == (12, 2, 1, 4, 2, 2)
    assert s.ffn == 32  # int(2 * 4 * 12 / 3) = 32, already a multiple of 8
    assert TransformerShape.from_config({**HAND, "ffn_dim_multiplier": 1.3, "pred_sigma": True}).ffn == 48
    assert TransformerShape.from_config({**HAND, "pred_sigma": True}).out_channels == 4


def test_hand_count():
    # One sample, L = 4 tokens (one 4x4 view of 2x2 patches), S = 3 caption tokens, a timestep per
    # token (M = 4). D = 12, A = 12, d = 6, H = 2, K = 1, F = 32, patch vector 2*2*2 = 8.
    # Multiply-adds: x_embedder 4*8*12 = 384; t MLP 4*(256*12 + 12*12) = 12864; y_embedder 4*12 = 48;
    # adaLN 4*12*48 = 2304; wq 4*12*12 = 576; wk, wv 2*4*12*6 = 576; wo 576; wk_y, wv_y 2*3*4*6 = 144;
    # SwiGLU 3*4*12*32 = 4608; final adaLN 4*12*12 = 576, final linear 4*12*8 = 384.
    linear_macs = 384 + 12864 + 48 + 2304 + 576 + 576 + 576 + 144 + 4608 + 576 + 384
    # Self-attention: scores and weighted sum, 2 * H*L*L*d = 2*2*16*6; cross: 2 * H*L*S*d = 2*2*12*6.
    expected = FlopBreakdown(2 * linear_macs, 2 * 2 * 2 * 16 * 6, 2 * 2 * 2 * 12 * 6)
    got = transformer_flops(TransformerShape.from_config(HAND), tokens=4, caption_tokens=3)
    assert got == expected
    assert got.total == 2 * 23040 + 768 + 576
    # Twice the batch, twice everything; one conditioning row per view instead of per token.
    assert transformer_flops(TransformerShape.from_config(HAND), 4, 3, batch=2).total == 2 * got.total
    per_view = transformer_flops(TransformerShape.from_config(HAND), 4, 3, modulation_rows=1)
    assert got.linear - per_view.linear == 2 * 3 * (256 * 12 + 12 * 12 + 12 * 48 + 12 * 12)


@pytest.mark.parametrize("size", ["tiny", "medium"])
@pytest.mark.parametrize("per_view", [True, False])
def test_formula_matches_pytorch_counter(size, per_view):
    config = SIZES[size].transformer
    B, N, h, w, S = 2, 2, 8, 12, 7

    def build():
        model = NextDiT(**config)
        model.set_attention_backend("math")  # plain matmuls, which the counter sees
        return model

    def run(model):
        t = torch.rand(B, N) * 1000 if per_view else torch.rand(B, N, 16, h, w) * 1000
        y = torch.randn(B, S, config["caption_channels"])
        return model(torch.randn(B, N, 16, h, w), t, y, torch.ones(B, S, dtype=torch.long))

    tokens = N * h * w // 4
    formula = transformer_flops(TransformerShape.from_config(config), tokens, S, B, N if per_view else None)
    assert counted_flops(build, run) == formula.total
