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
