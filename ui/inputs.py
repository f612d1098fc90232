"""Turn what the widgets hand over (strings, table rows, editor layers, gallery items) into engine values.

Every function here raises ``InputError`` with a message a non-coder can act on; the service turns
it into a ``gr.Error``. Nothing here touches the model. Sizes and tables read the same in the batch command,
so their readers are the engine's (``onediffusion.tables``), named here for the app.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence

import numpy as np
from PIL import Image

from onediffusion.images import to_rgb
from onediffusion.prompts import ASPECT_RATIO_512
from onediffusion.tables import (  # noqa: F401
    AUTO_SIZE,
    MAX_GUIDANCE,
    MAX_SEED,
    MAX_STEPS,
    InputError,
    labels,
    number_cell,
    parse_size,
    table_rows,
)

MAX_UPLOAD_SIDE = 4096
MAX_IMAGES = 4
_COMMON_RATIOS = {
    3 / 4: "4:3",
    4 / 3: "3:4",
    2 / 3: "3:2",
    3 / 2: "2:3",
    9 / 16: "16:9",
    16 / 9: "9:16",
    1 / 2: "2:1",
    2.0: "1:2",
}  # height / width -> the name people use (width:height)


# Sizes ------------------------------------------------------------------------------------------


def _snap(value: float) -> int:
    return max(16, round(value / 16) * 16)


def _shape(height: int, width: int) -> str:
    """'square', or 'landscape'/'portrait' with a common ratio's name when the size is close to one."""
    if height == width:
        return "square"
    ratio = height / width
    common = next((name for r, name in _COMMON_RATIOS.items() if abs(r - ratio) / r < 0.06), None)
    shape = "landscape" if width > height else "portrait"
    return f"{shape}, {common}" if common else shape


def size_presets(native_side: int, scales: Sequence[float] = (1.0,)) -> list[tuple[str, str]]:
    """The 512-pixel aspect-ratio table scaled to the model's native side, as (label, "WxH") choices.

    Entries that collapse to the same size at small scales are listed once; squares come first.
    """
    sizes: dict[str, tuple[int, int]] = {}
    for scale in scales:
        factor = native_side * scale / 512
        for h, w in ASPECT_RATIO_512.values():
            height, width = _snap(h * factor), _snap(w * factor)
            sizes.setdefault(f"{width}x{height}", (height, width))
    ordered = sorted(sizes.items(), key=lambda item: item[1][0] != item[1][1])
    return [(f"{w} × {h} ({_shape(h, w)})", value) for value, (h, w) in ordered]


# Numbers ----------------------------------------------------------------------------------------


def _integer(name: str, value, low: int, high: int) -> int:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a whole number, not {value!r}.") from None
    if not number.is_integer() or not low <= number <= high:
        raise InputError(f"{name} must be a whole number from {low} to {high}, not {value!r}.")
    return int(number)


def steps(value) -> int:
    return _integer("Steps", value, 1, MAX_STEPS)


def views_count(value, low: int, high: int) -> int:
    return _integer("Number of views", value, low, high)


def num_images(value) -> int:
    return _integer("Number of images", value, 1, MAX_IMAGES)


def guidance(value) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(f"Guidance must be a number, not {value!r}.") from None
    if not 0 <= number <= MAX_GUIDANCE:
        raise InputError(f"Guidance must be between 0 and {MAX_GUIDANCE:g}, not {value!r}.")
    return number


def seed(value, randomize: bool) -> int:
    """The seed to use: a fresh random one when asked, else the given one (checked)."""
    if randomize:
        return secrets.randbelow(MAX_SEED + 1)
    if value is None or value == "":
        raise InputError("Seed is empty: type a number, or tick 'Random seed'.")
    return _integer("Seed", value, 0, MAX_SEED)


# Images -----------------------------------------------------------------------------------------


def image(value, what: str = "photo", required: bool = True) -> Image.Image | None:
    """An uploaded image as RGB, with a plain message when missing, unreadable or too large."""
    if value is None or (isinstance(value, str) and not value):
        if required:
            raise InputError(f"Add a {what} first: the {what} box is empty.")
        return None
    if isinstance(value, dict):  # a gallery item or a client-side file description
        value = value.get("image") or value.get("path") or value.get("name")
        return image(value, what, required)
    try:
        rgb = to_rgb(value)
    except (OSError, ValueError) as err:
        raise InputError(f"The {what} could not be read as an image ({err}).") from None
    if max(rgb.size) > MAX_UPLOAD_SIDE:
        raise InputError(f"The {what} is {rgb.width} × {rgb.height} pixels; the limit is {MAX_UPLOAD_SIDE} per side.")
    return rgb


def gallery_images(items: Iterable | None, what: str, least: int, most: int) -> list[Image.Image]:
    """Images from a gallery value ([(image, caption)], [{"image": ...}] or plain images/paths)."""
    images = []
    for item in items or []:
        value = item[0] if isinstance(item, (tuple, list)) else item
        images.append(image(value, what))
    if not least <= len(images) <= most:
        raise InputError(
            f"Give {least} to {most} {what}s; {len(images)} {'was' if len(images) == 1 else 'were'} given."
        )
    return images


def _layer_mask(layer: Image.Image) -> np.ndarray:
    """Painted pixels of one editor layer: its alpha when it has transparency, else its bright pixels."""
    rgba = np.asarray(layer.convert("RGBA"))
    alpha = rgba[..., 3]
    if alpha.min() < 255:
        return alpha > 0
    return np.asarray(layer.convert("L")) > 127


def _layer_image(layer) -> Image.Image:
    """An editor layer with its transparency kept: a PIL image, a file path, or a file description."""
    if isinstance(layer, dict):
        layer = layer.get("path") or layer.get("name") or layer.get("image")
    if isinstance(layer, Image.Image):
        return layer
    try:
        with Image.open(layer) as opened:
            return opened.convert("RGBA")
    except (OSError, ValueError, AttributeError) as err:
        raise InputError(f"A painted layer of the inpainting editor could not be read as an image ({err}).") from None


def editor_photo_and_mask(value: dict | None) -> tuple[Image.Image, Image.Image]:
    """An image-editor value -> (photo, mask) with the painted strokes white on black."""
    if not value or value.get("background") is None:
        raise InputError("Add a photo to the inpainting editor first, then paint the region to fill in.")
    photo = image(value["background"], "photo")
    painted = np.zeros((photo.height, photo.width), bool)
    for layer in value.get("layers") or []:
        painted |= _layer_mask(_layer_image(layer).resize(photo.size, Image.Resampling.NEAREST))
    if not painted.any():
        raise InputError("Paint over the region to fill in (use the brush in the editor): the mask is empty.")
    return photo, Image.fromarray((painted * 255).astype(np.uint8))
