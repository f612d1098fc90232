"""Conditions computed locally from a photo: Canny edges, blur, and the grey inpainting canvas.

The other conditions (depth, pose, HED, segmentation, boxes) come from the model itself, run in
its understanding direction (see ``tasks.py``).
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image, ImageFilter

from .images import ImageInput, to_rgb
from .prompts import INPAINT_GREY


def canny_edges(image: ImageInput, low: int = 100, high: int = 200) -> Image.Image:
    """White Canny edges on black, as an RGB image (OpenCV's Canny, the detector ControlNet-style data uses)."""
    if not 0 <= low <= high <= 1000:
        raise ValueError(f"`low` and `high` must satisfy 0 <= low <= high <= 1000, got {low} and {high}.")
    gray = np.asarray(to_rgb(image).convert("L"))
    return Image.fromarray(cv2.Canny(gray, low, high)).convert("RGB")


def blur(image: ImageInput, radius: float = 4.0) -> Image.Image:
    """A Gaussian-blurred copy: the degraded input of the deblurring task."""
    if not 0 <= radius <= 64:
        raise ValueError(f"`radius` must be between 0 and 64 pixels, got {radius}.")
    return to_rgb(image).filter(ImageFilter.GaussianBlur(radius))


def enlarge(image: ImageInput, width: int, height: int) -> Image.Image:
    """``image`` resized to ``width`` x ``height`` with Lanczos: the upscaling task's condition, which the
    restoration task then sharpens (``onediffusion.upscale``)."""
    if width < 1 or height < 1:
        raise ValueError(f"`width` and `height` must be at least 1, got {width}x{height}.")
    return to_rgb(image).resize((width, height), Image.Resampling.LANCZOS)


def shrunk_and_enlarged(image: ImageInput, factor: int) -> Image.Image:
    """``image`` shrunk ``factor`` times and enlarged back to its size, both with Lanczos: a small photo made
    large, the degraded half of an upscaling training pair (the pre-processor the paper names)."""
    rgb = to_rgb(image)
    width, height = rgb.size
    if factor < 1 or width < factor or height < factor:
        raise ValueError(f"`factor` must be 1 to the image's side, got {factor} for {width}x{height}.")
    small = rgb.resize((width // factor, height // factor), Image.Resampling.LANCZOS)
    return enlarge(small, width, height)


def mask_array(mask: ImageInput, size: tuple[int, int]) -> np.ndarray:
    """Any mask image -> boolean (H, W) at ``size`` (width, height); painted or bright pixels are True.

    Transparent pixels count as unpainted, so an RGBA brush layer works as is.
    """
    if isinstance(mask, Image.Image) and mask.mode in ("RGBA", "LA"):
        alpha = np.asarray(mask.getchannel("A").resize(size, Image.Resampling.NEAREST))
        return alpha > 0
    gray = to_rgb(mask).convert("L").resize(size, Image.Resampling.NEAREST)
    return np.asarray(gray) > 127


def inpainting_canvas(image: ImageInput, mask: ImageInput) -> Image.Image:
    """The inpainting condition: the photo with the masked region painted grey (128, 128, 128)."""
    rgb = np.array(to_rgb(image))
    region = mask_array(mask, (rgb.shape[1], rgb.shape[0]))
    if not region.any():
        raise ValueError("`mask` is empty: paint the region to fill in.")
    rgb[region] = INPAINT_GREY
    return Image.fromarray(rgb)
