"""Model sizes: the shapes of the three networks, from the test checkpoint to the published model.

``python -m onediffusion.tiny OUT --preset NAME`` writes a random checkpoint of any of them, and the
benchmarks build pipelines from them (``benchmarks/presets.py`` imports this registry).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

TINY_TRANSFORMER = {
    "input_size": (1, 8, 8), "patch_size": (1, 2, 2), "in_channels": 16, "hidden_size": 96, "depth": 2,
    "num_heads": 4, "num_kv_heads": 2, "multiple_of": 32, "caption_channels": 32, "qk_norm": True,
    "model_max_length": 120, "rotary_max_length": 64,
}  # fmt: skip
_ENC, _DEC = ("DownEncoderBlock2D",) * 4, ("UpDecoderBlock2D",) * 4
_VAE_COMMON = {
    "in_channels": 3, "out_channels": 3, "latent_channels": 16, "down_block_types": _ENC, "up_block_types": _DEC,
    "scaling_factor": 1.5305, "shift_factor": 0.0609, "use_quant_conv": False, "use_post_quant_conv": False,
}  # fmt: skip


TINY_VAE = {
    **_VAE_COMMON, "block_out_channels": (16, 16, 32, 32), "layers_per_block": 1, "norm_num_groups": 8, "sample_size": 64,
}  # fmt: skip
TINY_T5 = {"d_model": 32, "d_kv": 8, "d_ff": 64, "num_layers": 2, "num_heads": 4, "feed_forward_proj": "gated-gelu"}


@dataclass(frozen=True)
class SizePreset:
    """Shapes of the three networks (NextDiT config, AutoencoderKL config, T5Config fields) and how a
    checkpoint of them is written: the dtype of its weights and the largest shard (None: one file)."""

    name: str
    transformer: dict
    vae: dict
    t5: dict
    note: str = ""
    dtype: torch.dtype = torch.float32
    max_shard_size: str | None = None


MEDIUM_TRANSFORMER = {
    "hidden_size": 384, "depth": 6, "num_heads": 4, "num_kv_heads": 2, "multiple_of": 128, "caption_channels": 512,
    "qk_norm": True, "input_size": (1, 64, 64), "rotary_max_length": 384,
}  # fmt: skip
MEDIUM_VAE = {
    **_VAE_COMMON, "block_out_channels": (32, 64, 64, 64), "layers_per_block": 1, "norm_num_groups": 16,
    "sample_size": 1024,
}  # fmt: skip
MEDIUM_T5 = {
    "d_model": 512,
    "d_kv": 64,
    "d_ff": 1024,
    "num_layers": 4,
    "num_heads": 8,
    "feed_forward_proj": "gated-gelu",
}
FULL_TRANSFORMER = {
    "hidden_size": 2304, "depth": 32, "num_heads": 32, "multiple_of": 256, "caption_channels": 2048, "qk_norm": True,
    "input_size": (1, 128, 128), "rotary_max_length": 384,
}  # fmt: skip
FULL_VAE = {
    **_VAE_COMMON, "block_out_channels": (128, 256, 512, 512), "layers_per_block": 2, "norm_num_groups": 32,
    "sample_size": 1024,
}  # fmt: skip
FULL_T5 = {
    "d_model": 2048, "d_kv": 64, "d_ff": 5120, "num_layers": 24, "num_heads": 32, "feed_forward_proj": "gated-gelu",
    "vocab_size": 32128,
}  # fmt: skip

SIZES: dict[str, SizePreset] = {
    "tiny": SizePreset("tiny", TINY_TRANSFORMER, TINY_VAE, TINY_T5, "the test checkpoint's shapes"),
    "medium": SizePreset(
        "medium", MEDIUM_TRANSFORMER, MEDIUM_VAE, MEDIUM_T5, "a CPU-sized model: head_dim 96, GQA 2:1"
    ),
    "full": SizePreset(
        "full",
        FULL_TRANSFORMER,
        FULL_VAE,
        FULL_T5,
        "stand-in for the published 2.8B model: NextDiT 2304x32, 32 heads (head_dim 72), T5-XL-shaped encoder, "
        "SD3-shaped VAE",
        dtype=torch.bfloat16,
        max_shard_size="2GB",  # several shards per large component, as large checkpoints are on the hub
    ),
}
