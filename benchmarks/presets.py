"""Model sizes and benchmark cases, as registries of small dataclasses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import PIL.Image

from onediffusion import Camera, build_task
from onediffusion.prompts import DEFAULT_NEGATIVE_PROMPT
from onediffusion.tasks import TaskSpec
from onediffusion.tiny import TINY_T5, TINY_TRANSFORMER, TINY_VAE

_ENC, _DEC = ("DownEncoderBlock2D",) * 4, ("UpDecoderBlock2D",) * 4
_VAE_COMMON = {
    "in_channels": 3, "out_channels": 3, "latent_channels": 16, "down_block_types": _ENC, "up_block_types": _DEC,
    "scaling_factor": 1.5305, "shift_factor": 0.0609, "use_quant_conv": False, "use_post_quant_conv": False,
}  # fmt: skip


@dataclass(frozen=True)
class SizePreset:
    """Shapes of the three networks: NextDiT config, AutoencoderKL config, T5Config fields."""

    name: str
    transformer: dict
    vae: dict
    t5: dict
    note: str = ""


SIZES: dict[str, SizePreset] = {
    "tiny": SizePreset("tiny", dict(TINY_TRANSFORMER), dict(TINY_VAE), dict(TINY_T5), "the test checkpoint's shapes"),
    "medium": SizePreset(
        "medium",
        {
            "hidden_size": 384,
            "depth": 6,
            "num_heads": 4,
            "num_kv_heads": 2,
            "multiple_of": 128,
            "caption_channels": 512,
            "qk_norm": True,
            "input_size": (1, 64, 64),
            "rotary_max_length": 384,
        },
        {
            **_VAE_COMMON,
            "block_out_channels": (32, 64, 64, 64),
            "layers_per_block": 1,
            "norm_num_groups": 16,
            "sample_size": 1024,
        },
        {"d_model": 512, "d_kv": 64, "d_ff": 1024, "num_layers": 4, "num_heads": 8, "feed_forward_proj": "gated-gelu"},
        "a CPU-sized model: head_dim 96, GQA 2:1",
    ),  # fmt: skip
    "full": SizePreset(
        "full",
        {
            "hidden_size": 2304,
            "depth": 32,
            "num_heads": 32,
            "multiple_of": 256,
            "caption_channels": 2048,
            "qk_norm": True,
            "input_size": (1, 128, 128),
            "rotary_max_length": 384,
        },
        {
            **_VAE_COMMON,
            "block_out_channels": (128, 256, 512, 512),
            "layers_per_block": 2,
            "norm_num_groups": 32,
            "sample_size": 1024,
        },
        {
            "d_model": 2048,
            "d_kv": 64,
            "d_ff": 5120,
            "num_layers": 24,
            "num_heads": 32,
            "feed_forward_proj": "gated-gelu",
            "vocab_size": 32128,
        },
        "stand-in for the published 2.8B model: NextDiT 2304x32, 32 heads (head_dim 72), "
        "T5-XL-shaped encoder, SD3-shaped VAE",
    ),  # fmt: skip
}

CAPTION = (
    "a red fox sitting in fresh snow at the edge of a pine forest, soft morning light, shallow depth of "
    "field, detailed fur, mist between the trees, a photograph taken with a long lens"
)


def _photo(size: int, seed: int = 0) -> PIL.Image.Image:
    pixels = np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)
    return PIL.Image.fromarray(pixels)


@dataclass(frozen=True)
class CasePreset:
    """One benchmark case: a task spec (prompt and view slots), the size, guidance."""

    name: str
    title: str
    height: int
    width: int
    spec: Callable[[], TaskSpec] = field(repr=False)
    guidance_scale: float = 4.0
    negative_prompt: str = DEFAULT_NEGATIVE_PROMPT

    def pipe_kwargs(self, steps: int) -> dict:
        spec = self.spec()
        return {
            "prompt": spec.prompt, "views": spec.views, "height": self.height, "width": self.width,
            "num_inference_steps": steps, "guidance_scale": self.guidance_scale,
            "negative_prompt": self.negative_prompt,
        }  # fmt: skip


ISSUE_CASES = ("t2i1024", "cond512", "mv4x512")  # the cases the targets are stated for
CASES: dict[str, CasePreset] = {
    "t2i256": CasePreset(
        "t2i256",
        "256x256 text to image, guidance 4 (a smoke test)",
        256,
        256,
        lambda: build_task("text2image", caption=CAPTION),
    ),
    "t2i1024": CasePreset(
        "t2i1024", "1024x1024 text to image, guidance 4", 1024, 1024, lambda: build_task("text2image", caption=CAPTION)
    ),
    "cond512": CasePreset(
        "cond512",
        "512x512 depth to image (1 target + 1 condition), guidance 4",
        512,
        512,
        lambda: build_task("depth2image", condition=_photo(512), caption=CAPTION),
    ),
    "mv4x512": CasePreset(
        "mv4x512",
        "4-view 512x512 image to multiview (8 slots: 4 images, 4 cameras), guidance 4",
        512,
        512,
        lambda: build_task(
            "image2multiview", image=_photo(512), cameras=[Camera.orbit(az, 10.0, 1.7) for az in (0, 90, 180, 270)]
        ),
    ),
}
