"""The authors' ``img2img`` entry point, mapped onto view slots.

Their pipeline takes a ``denoise_mask`` (1 target, 0 condition per slot), the condition images in
order and, for multiview, azimuth, elevation and distance lists. :class:`ReferenceAPIMixin` turns
these into the slot list ``OneDiffusionPipeline.__call__`` takes, so code written against their
API runs unchanged (and can estimate cameras, which theirs cannot).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import PIL.Image
import torch

from .cameras import DEFAULT_FOCAL, RAY_SCALE, Camera
from .slots import CameraSlot, ImageSlot, Slot

if TYPE_CHECKING:
    from .pipeline import OneDiffusionPipelineOutput


class ReferenceAPIMixin:
    """Adds the authors' ``img2img`` to a pipeline whose ``__call__`` takes ``views``."""

    @torch.no_grad()
    def img2img(
        self,
        image: PIL.Image.Image | list[PIL.Image.Image] | None = None,
        prompt: str | list[str] = "",
        denoise_mask: Sequence[int] = (1, 0),
        height: int | None = None,
        width: int | None = None,
        is_multiview: bool = False,
        multiview_azimuths: Sequence[float | None] = (0, 30, 60, 90),
        multiview_elevations: Sequence[float | None] = (0, 0, 0, 0),
        multiview_distances: float | Sequence[float | None] = 1.7,
        multiview_c2ws: Sequence | None = None,
        multiview_intrinsics: Sequence | None = None,
        multiview_focal_length: float = DEFAULT_FOCAL,
        forward_kwargs: dict | None = None,
        **kwargs,
    ) -> OneDiffusionPipelineOutput | tuple:
        """The authors' ``img2img``: ``denoise_mask`` marks each slot 1 (target) or 0 (condition);
        ``image`` fills the condition image slots in order. With ``is_multiview`` the slots
        interleave [image_0, camera_0, image_1, ...] and cameras come from the azimuth, elevation
        and distance lists (or ``multiview_c2ws`` in the authors' OpenGL-style convention).
        ``.latents`` are returned divided by ``RAY_SCALE``, as theirs are."""
        images = [image] if isinstance(image, PIL.Image.Image) else list(image or [])
        mask = [int(m) for m in denoise_mask]
        if any(m not in (0, 1) for m in mask):
            raise ValueError(f"`denoise_mask` must hold only 0 (condition) and 1 (target), got {list(denoise_mask)!r}.")
        cameras = None
        if is_multiview:
            cameras = reference_cameras(
                len(mask),
                multiview_azimuths,
                multiview_elevations,
                multiview_distances,
                multiview_c2ws,
                multiview_intrinsics,
                multiview_focal_length,
            )
        slots = mask_to_slots(mask, images, cameras)
        kwargs.update(forward_kwargs or {})
        out = self(prompt=prompt, views=slots, height=height, width=width, **kwargs)
        if isinstance(out, tuple):
            return out[0], out[1] / RAY_SCALE
        out.latents = out.latents / RAY_SCALE
        return out


def mask_to_slots(mask: list[int], images: list, cameras: list[Camera] | None) -> list[Slot]:
    """Slots from a ``denoise_mask``; with ``cameras`` (multiview) odd slots are camera slots."""
    image_positions = [i for i in range(len(mask)) if cameras is None or i % 2 == 0]
    expected = sum(1 for i in image_positions if mask[i] == 0)
    if len(images) != expected:
        raise ValueError(
            f"`image` holds {len(images)} images but `denoise_mask` {mask} has {expected} condition image slots."
        )
    pending = iter(images)
    slots: list[Slot] = []
    for i, m in enumerate(mask):
        if cameras is not None and i % 2 == 1:
            camera = cameras[i // 2]
            slots.append(CameraSlot.target(camera) if m else CameraSlot.condition(camera))
        else:
            slots.append(ImageSlot.target() if m else ImageSlot.condition(next(pending)))
    return slots


def reference_cameras(n_slots, azimuths, elevations, distances, c2ws, intrinsics, focal_length) -> list[Camera]:
    """Cameras from the authors' multiview arguments (None entries are dropped, as theirs are)."""
    if n_slots % 2:
        raise ValueError(
            f"A multiview `denoise_mask` interleaves image and camera slots, so its length must be even, got {n_slots}."
        )
    views = n_slots // 2
    if intrinsics is not None:
        focals = [float(np.asarray(k)[0, 0]) for k in np.asarray(intrinsics, dtype=np.float64).reshape(-1, 3, 3)]
    else:
        focals = [focal_length] * views
    if c2ws is not None:
        mats = np.asarray(c2ws, dtype=np.float64).reshape(-1, 4, 4).copy()
        mats[:, :3, 1:3] *= -1  # the authors' OpenGL-style axes -> OpenCV
        cams = [Camera(m, f) for m, f in zip(mats, focals)]
    else:
        az = [a for a in azimuths if a is not None]
        el = [e for e in elevations if e is not None]
        if not isinstance(distances, (list, tuple)):
            distances = [distances] * len(az)
        dist = [d for d in distances if d is not None]
        if not len(az) == len(el) == len(dist):
            raise ValueError(
                f"`multiview_azimuths`, `multiview_elevations` and `multiview_distances` differ in length: "
                f"{len(az)}, {len(el)}, {len(dist)}."
            )
        cams = [Camera.orbit(a, e, d, f) for a, e, d, f in zip(az, el, dist, focals)]
    if len(cams) != views:
        raise ValueError(f"`denoise_mask` has {views} views but {len(cams)} cameras were given.")
    return cams
