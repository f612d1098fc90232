"""Benchmark cases, as a registry of small dataclasses; the model sizes are ``onediffusion.sizes``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import PIL.Image

from onediffusion import Camera, build_task
from onediffusion.prompts import DEFAULT_NEGATIVE_PROMPT
from onediffusion.sizes import SIZES, SizePreset
from onediffusion.tasks import TaskSpec

__all__ = ["CASES", "SIZES", "CasePreset", "SizePreset"]  # the sizes live in the engine now

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
            "prompt": spec.prompt,
            "views": spec.views,
            "height": self.height,
            "width": self.width,
            "num_inference_steps": steps,
            "guidance_scale": self.guidance_scale,
            "negative_prompt": self.negative_prompt,
        }


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
