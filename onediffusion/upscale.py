"""Upscaling: a small photo made large and sharp, at any size up to the pipeline's 2048 pixels a side.

The paper lists upscaling among the image-to-image tasks, trained like deblurring on pairs that "the
corresponding pre-processor" makes, but the released prompt guide has no upscaling token: its nearest task
is ``[[deblurring]]``. So the photo is enlarged to the size wanted with Lanczos (``conditions.enlarge``), and
the restoration task (the ``upscaling`` preset: deblurring's prompt, the enlarged photo as the condition,
a target of its size) runs at that size. Above a tile (the model's native side by default) it runs in
overlapping windows blended at every step (``onediffusion.tiling``), so memory stays that of one window.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from .conditions import enlarge
from .images import ImageInput, to_rgb
from .pipeline import MAX_SIDE
from .tasks import build_task
from .tiling import Tiling

FACTORS = (2, 3, 4)  # the named ones; any factor from MIN_FACTOR to MAX_FACTOR is taken
MIN_FACTOR, MAX_FACTOR = 1.0, 4.0
MAX_INPUT_SIDE = MAX_SIDE  # a larger photo is already beyond what the pipeline can make


@dataclass(frozen=True)
class UpscalePlan:
    """What an upscale will do: the output size (multiples of 16, the aspect kept as near as they allow),
    the windows it is denoised in (None: one pass, the output fits a tile), and their number."""

    width: int
    height: int
    tiling: Tiling | None
    windows: int

    def forwards(self, steps: int) -> int:
        """Transformer forwards of the whole run: windows x steps (guidance runs in the same forward)."""
        return self.windows * steps


def _multiple_of_16(value: float) -> int:
    return max(16, int(value / 16 + 0.5) * 16)  # halves up: 200 px is 208, not 192


def plan_upscale(
    size: tuple[int, int],
    native_side: int,
    factor: float | None = 2,
    target: tuple[int, int] | None = None,
    tile_px: int | None = None,
    overlap_px: int | None = None,
    vae_scale_factor: int = 8,
) -> UpscalePlan:
    """The plan for a photo of ``size`` (width, height): by ``factor`` (1 to 4), or to ``target`` (width,
    height) when given; tiles of ``tile_px`` (default: the native side) overlapping by ``overlap_px``."""
    width, height = size
    if not 1 <= max(width, height) <= MAX_INPUT_SIDE:
        raise ValueError(f"`image` must be at most {MAX_INPUT_SIDE} pixels a side, got {width}x{height}.")
    if target is None:
        if factor is None or not MIN_FACTOR <= float(factor) <= MAX_FACTOR:
            raise ValueError(
                f"`factor` must be from {MIN_FACTOR:g} to {MAX_FACTOR:g} (larger asks the model to invent most "
                f"of the image), got {factor!r}."
            )
        target = (width * float(factor), height * float(factor))
    out_w, out_h = (_multiple_of_16(v) for v in target)
    if max(out_w, out_h) > MAX_SIDE or min(target) < 16:
        raise ValueError(f"The upscaled size must be 16 to {MAX_SIDE} pixels a side, got {out_w}x{out_h}.")
    tiling = Tiling.for_model(native_side, tile_px, overlap_px)
    if max(out_w, out_h) <= tiling.tile_px:
        return UpscalePlan(out_w, out_h, None, 1)
    return UpscalePlan(out_w, out_h, tiling, len(tiling.windows(out_h, out_w, vae_scale_factor)))


def upscale(
    pipe,
    image: ImageInput,
    factor: float | None = 2,
    target: tuple[int, int] | None = None,
    caption: str = "",
    tile_px: int | None = None,
    overlap_px: int | None = None,
    **call_kwargs,
):
    """Upscale ``image`` with ``pipe`` (see the module): by ``factor``, or to ``target`` (width, height).
    ``call_kwargs`` go to the pipeline (steps, guidance, generator, callbacks, ``output_type``...).
    Returns the pipeline's output; ``.images[0]`` is the upscaled photo."""
    photo = to_rgb(image)
    plan = plan_upscale(photo.size, pipe.native_side, factor, target, tile_px, overlap_px, pipe.vae_scale_factor)
    spec = build_task("upscaling", image=enlarged(photo, plan), caption=caption)
    return pipe(**{**spec.kwargs(), "height": plan.height, "width": plan.width, "tiling": plan.tiling, **call_kwargs})


def enlarged(photo: Image.Image, plan: UpscalePlan) -> Image.Image:
    """The photo enlarged to the plan's size with Lanczos: the condition, and the baseline to beat."""
    return enlarge(photo, plan.width, plan.height)
