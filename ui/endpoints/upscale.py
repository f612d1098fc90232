"""Upscale: a small photo made large and sharp (``onediffusion.upscale``): enlarged with Lanczos, then the
restoration task at the new size, in overlapping windows above a tile; with what it will cost said first."""

from __future__ import annotations

from dataclasses import replace

from PIL import Image

from onediffusion import build_task
from onediffusion.grid import say_seconds
from onediffusion.upscale import UpscalePlan, enlarged, plan_upscale

from .. import advice, inputs
from .. import outputs as out
from ..host import ModelHost, RunInputs
from .base import ORBIT, endpoint, preview, run_task

UPSCALE = ORBIT  # the same settings: negative prompt, steps, guidance, seed (the size comes from the factor)


def _plan(host: ModelHost, photo: Image.Image, factor, width, tile, overlap) -> UpscalePlan:
    target = None
    if width:
        target = (int(width), max(16, round(int(width) * photo.height / photo.width)))
    return plan_upscale(
        photo.size, host.native_side, factor if not width else None, target, tile or None, overlap,
        host.pipe.vae_scale_factor,
    )  # fmt: skip


@endpoint(UPSCALE)
def upscale(
    host: ModelHost,
    photo,
    factor: float = 2,
    caption: str = "",
    width: int | None = None,
    tile: int | None = None,
    overlap: int | None = None,
    *,
    run: RunInputs,
) -> tuple[tuple[Image.Image, Image.Image], str, str, int, str]:
    """Upscale a photo: enlarged with Lanczos to the size asked, then restored by the model (the published model
    has no upscaling token: its deblurring task runs on the enlarged photo), in overlapping windows of about
    the model's native size above it, so any size up to 2048 pixels a side fits the memory of one window.

    Args:
        photo: the photo, a URL (http, https or data:image/png;base64), at most 2048 pixels a side.
        factor: how many times larger, 1 to 4 (2, 3 and 4 are the usual); ignored when width is given.
        caption: what the photo shows, optional: it may help, but it describes the whole photo to every window.
        width: the width wanted in pixels instead of a factor (the height follows the photo's shape), up to 2048.
        tile: the window's side in pixels (a multiple of 16; default: the model's native side).
        overlap: how much neighbouring windows overlap in pixels (default: a quarter of a tile); less than the tile.

    Returns:
        compare: the enlarged photo and the result, for a before-and-after slider
        result: the upscaled PNG (settings in its text), URL
        summary: the sizes, the windows and the steps it took
        seed: the seed used
        prompt: the prompt the model saw, task token included
    """
    picture = inputs.image(photo, "photo")
    plan = _plan(host, picture, factor, width, tile, overlap)
    given = enlarged(picture, plan)
    spec = build_task("upscaling", image=given, caption=caption or "")
    options = replace(host.options(replace(run, size=f"{plan.width}x{plan.height}")), tiling=plan.tiling)
    result = run_task(host, spec, run, options)
    image = result.images[0]
    path = out.save_carried(image, out.run_folder() / f"upscaled-{plan.width}x{plan.height}.png")
    summary = (
        f"{plan.width} × {plan.height} px from {picture.width} × {picture.height} · "
        f"{plan.windows} window{'s' * (plan.windows > 1)} × {options.steps} steps"
    )
    return (given, image), str(path), summary, result.seed, result.prompt


@preview
def upscale_advice(
    host: ModelHost, photo=None, factor: float = 2, width=None, tile=None, overlap=None, steps=None, guidance=None
) -> str:
    """What the run will do and cost on this device, before it starts, and what the model likes."""
    tips = advice.upscale_tip(host.native_side)
    if photo is None:
        return tips
    picture = inputs.image(photo, "photo")
    plan = _plan(host, picture, factor, width, tile, overlap)
    steps = host.defaults.steps if steps is None else int(steps)
    guidance = host.defaults.guidance if guidance is None else float(guidance)
    spec = build_task("upscaling", image=enlarged(picture, plan))
    options = replace(
        host.options(RunInputs(size=f"{plan.width}x{plan.height}", steps=steps, guidance=guidance)), tiling=plan.tiling
    )
    seconds, measured = host.estimate_seconds(spec, options, plan.height, plan.width)
    basis = "from the runs done on this device" if measured else "a first guess from this device's speed"
    return (
        f"**{plan.width} × {plan.height} px**: {plan.windows} window{'s' * (plan.windows > 1)} × {steps} steps = "
        f"{plan.forwards(steps)} model passes, {say_seconds(seconds)} here ({basis}).  \n{tips}"
    )
