"""Image input and output: any common mode to RGB, centre crop, resize, [-1, 1] tensors and back."""

from __future__ import annotations

import os

import numpy as np
import torch
from PIL import Image, ImageOps

ImageInput = Image.Image | np.ndarray | torch.Tensor | str | os.PathLike


def _array_to_image(array: np.ndarray) -> Image.Image:
    """HxW or HxWxC arrays: uint8 as is, uint16 scaled from 0..65535, floats taken as 0..1."""
    arr = np.asarray(array)
    if arr.ndim == 3 and arr.shape[0] in (1, 3, 4) and arr.shape[-1] not in (1, 3, 4):
        arr = np.moveaxis(arr, 0, -1)  # CHW -> HWC
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[-1] not in (3, 4)):
        raise ValueError(f"`image` arrays must be HxW, HxWx3 or HxWx4, got shape {arr.shape}.")
    if arr.dtype == np.uint16:
        arr = (arr / 257.0).round()
    elif np.issubdtype(arr.dtype, np.floating):
        if not np.all(np.isfinite(arr)):
            raise ValueError("`image` holds NaN or infinite values.")
        arr = np.clip(arr, 0.0, 1.0) * 255.0
    return Image.fromarray(arr.astype(np.uint8))


def _sixteen_bit_to_rgb(image: Image.Image) -> Image.Image:
    arr = np.asarray(image, dtype=np.float64)
    top = 65535.0 if arr.max() > 255 else 255.0
    return Image.fromarray((np.clip(arr / top, 0, 1) * 255).round().astype(np.uint8)).convert("RGB")


def to_rgb(image: ImageInput) -> Image.Image:
    """Any image to an RGB PIL image. Alpha (RGBA, LA, P with transparency) is composited on white;
    CMYK is converted; 16-bit and float images are scaled to 8 bits; EXIF rotation is applied."""
    if isinstance(image, (str, os.PathLike)):
        with Image.open(image) as opened:
            opened.load()
            image = opened.copy()
    elif isinstance(image, torch.Tensor):
        image = _array_to_image(image.detach().cpu().float().numpy())
    elif isinstance(image, np.ndarray):
        image = _array_to_image(image)
    elif not isinstance(image, Image.Image):
        raise ValueError(f"`image` must be a PIL image, an array, a tensor or a path, got {type(image).__name__}.")
    image = ImageOps.exif_transpose(image)
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        return _sixteen_bit_to_rgb(image)
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def center_crop_resize(image: Image.Image, height: int, width: int) -> Image.Image:
    """Centre crop to the target aspect ratio, then resize with antialiasing."""
    if image.size == (width, height):
        return image
    return ImageOps.fit(image, (width, height), method=Image.Resampling.BICUBIC, centering=(0.5, 0.5))


def image_to_tensor(image: ImageInput, height: int, width: int) -> torch.Tensor:
    """Image -> (3, height, width) float32 tensor in [-1, 1]."""
    rgb = center_crop_resize(to_rgb(image), height, width)
    arr = np.asarray(rgb, dtype=np.float32) / 127.5 - 1.0
    return torch.from_numpy(arr).permute(2, 0, 1).contiguous()


def tensor_to_numpy(images: torch.Tensor) -> np.ndarray:
    """(N, 3, H, W) decoder output in [-1, 1] -> (N, H, W, 3) float32 in [0, 1]."""
    return (images / 2 + 0.5).clamp(0, 1).permute(0, 2, 3, 1).float().cpu().numpy()


def numpy_to_pil(images: np.ndarray) -> list[Image.Image]:
    return [Image.fromarray((img * 255).round().astype(np.uint8)) for img in images]
