"""FLOP counts: the NextDiT forward by formula, the VAE and T5 by PyTorch's FLOP counter.

A multiply-add is 2 FLOPs. Only matrix products are counted (linear layers, both attentions,
convolutions); norms, RoPE and other elementwise work are left out, as they are in the usual
"compute floor" arithmetic: the floor is what the matrix units alone would need.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch
from torch._subclasses.fake_tensor import FakeTensorMode
from torch.utils.flop_counter import FlopCounterMode, sdpa_flop_count


@dataclass(frozen=True)
class TransformerShape:
    """What the FLOPs of one NextDiT forward depend on, read off a NextDiT config."""

    hidden: int
    depth: int
    heads: int
    kv_heads: int
    caption: int
    patch: int  # pT * pH * pW
    in_channels: int
    out_channels: int
    ffn: int

    @classmethod
    def from_config(cls, config) -> TransformerShape:
        cfg = dict(config)
        hidden = cfg["hidden_size"]
        ffn = int(2 * 4 * hidden / 3)
        if cfg.get("ffn_dim_multiplier") is not None:
            ffn = int(cfg["ffn_dim_multiplier"] * ffn)
        multiple = cfg.get("multiple_of", 256)
        ffn = multiple * ((ffn + multiple - 1) // multiple)
        channels = cfg.get("in_channels", 16)
        return cls(
            hidden=hidden,
            depth=cfg["depth"],
            heads=cfg["num_heads"],
            kv_heads=cfg.get("num_kv_heads") or cfg["num_heads"],
            caption=cfg["caption_channels"],
            patch=math.prod(cfg.get("patch_size", (1, 2, 2))),
            in_channels=channels,
            out_channels=2 * channels if cfg.get("pred_sigma") else channels,
            ffn=ffn,
        )


@dataclass(frozen=True)
class FlopBreakdown:
    linear: int
    self_attention: int
    cross_attention: int

    @property
    def total(self) -> int:
        return self.linear + self.self_attention + self.cross_attention

    def as_dict(self) -> dict:
        return {**asdict(self), "total": self.total}


def transformer_flops(
    shape: TransformerShape,
    tokens: int,
    caption_tokens: int,
    batch: int = 1,
    modulation_rows: int | None = None,
    caption_kv: bool = True,
) -> FlopBreakdown:
    """FLOPs of one NextDiT forward over ``batch`` samples of ``tokens`` image tokens each.

    Per sample, with D hidden, A = min(D, 1024) the adaLN width, d the head dim, L tokens, S
    caption tokens and M conditioning rows (``modulation_rows``: L when every token carries its
    own timestep, the number of views when the timesteps come one per view): embedders, per
    layer the adaLN (M x A -> 4D), q/k/v/o, the caption's k/v projections (left out with
    ``caption_kv=False``: a denoising loop computes them once, ``NextDiT.reuse_caption``), the SwiGLU
    (3 D x F), self-attention 4 H L^2 d and cross-attention 4 H L S d; then the final layer.
    """
    D, A, L, S = shape.hidden, min(shape.hidden, 1024), tokens, caption_tokens
    M = tokens if modulation_rows is None else modulation_rows
    d = D // shape.heads
    H, K = shape.heads, shape.kv_heads
    embed = L * shape.patch * shape.in_channels * D + M * (256 * A + A * A) + shape.caption * A
    caption = 2 * S * shape.caption * K * d if caption_kv else 0
    per_layer = M * A * 4 * D + L * D * (2 * H * d + 2 * K * d) + caption + 3 * L * D * shape.ffn
    final = M * A * D + L * D * shape.patch * shape.out_channels
    linear = 2 * (embed + shape.depth * per_layer + final)
    self_attention = shape.depth * 4 * H * L * L * d
    cross_attention = shape.depth * 4 * H * L * S * d
    return FlopBreakdown(batch * linear, batch * self_attention, batch * cross_attention)


def _cpu_sdpa_flops(query_shape, key_shape, value_shape, *args, **kwargs) -> int:
    return sdpa_flop_count(query_shape, key_shape, value_shape)


# The counter knows the CUDA attention kernels but not the CPU one the caption attention uses.
_CUSTOM = {torch.ops.aten._scaled_dot_product_flash_attention_for_cpu: _cpu_sdpa_flops}


def counted_flops(build: Callable[[], torch.nn.Module], run: Callable[[torch.nn.Module], object]) -> int:
    """FLOPs of ``run(build())`` by PyTorch's counter, on fake tensors: no memory, no compute."""
    with FakeTensorMode(allow_non_fake_inputs=True):
        module = build()
        with FlopCounterMode(display=False, custom_mapping=_CUSTOM) as counter:
            run(module)
    return counter.get_total_flops()
