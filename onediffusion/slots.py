"""View slots: the sequence OneDiffusion denoises.

Every call is a list of slots. A slot is an image or a camera, and either a *condition* (given,
kept clean) or a *target* (generated from noise). Text to image is one image target; depth to
image is an image target then a depth condition; camera-pose estimation is image conditions
interleaved with camera targets. Slots validate themselves on construction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from PIL import Image

from .cameras import Camera
from .images import ImageInput, to_rgb

Role = Literal["condition", "target"]
ROLES = ("condition", "target")
MAX_SLOTS = 16


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ValueError(f"`role` must be 'condition' or 'target', got {role!r}.")


@dataclass(frozen=True)
class ImageSlot:
    """An image view. A condition needs ``image``; a target is generated (any ``image`` is ignored)."""

    role: Role = "target"
    image: Image.Image | None = None

    def __post_init__(self):
        _check_role(self.role)
        if self.role == "condition":
            if self.image is None:
                raise ValueError("An image slot with role 'condition' needs an `image`.")
            object.__setattr__(self, "image", to_rgb(self.image))

    @classmethod
    def condition(cls, image: ImageInput) -> ImageSlot:
        return cls("condition", image)

    @classmethod
    def target(cls) -> ImageSlot:
        return cls("target")

    @property
    def is_target(self) -> bool:
        return self.role == "target"


@dataclass(frozen=True)
class CameraSlot:
    """A camera view, read by the model as a Plucker ray map.

    A condition needs ``camera``. A target is estimated (camera-pose estimation); its ``camera``
    may be left out. Rays are expressed in the frame of the sequence's first camera slot, so
    when any camera is given, the first camera slot must hold one too.
    """

    role: Role = "condition"
    camera: Camera | None = None

    def __post_init__(self):
        _check_role(self.role)
        if self.camera is not None and not isinstance(self.camera, Camera):
            raise ValueError(f"`camera` must be a onediffusion.cameras.Camera, got {type(self.camera).__name__}.")
        if self.role == "condition" and self.camera is None:
            raise ValueError("A camera slot with role 'condition' needs a `camera`.")

    @classmethod
    def condition(cls, camera: Camera) -> CameraSlot:
        return cls("condition", camera)

    @classmethod
    def target(cls, camera: Camera | None = None) -> CameraSlot:
        return cls("target", camera)

    @property
    def is_target(self) -> bool:
        return self.role == "target"


Slot = ImageSlot | CameraSlot


def check_slots(slots: Sequence[Slot]) -> list[Slot]:
    """Validate a slot sequence as a whole; returns it as a list."""
    if slots is None or len(slots) == 0:
        raise ValueError("`views` is empty: give at least one slot (for text to image, one ImageSlot.target()).")
    if len(slots) > MAX_SLOTS:
        raise ValueError(f"`views` holds {len(slots)} slots; at most {MAX_SLOTS} are supported.")
    for i, slot in enumerate(slots):
        if not isinstance(slot, (ImageSlot, CameraSlot)):
            raise ValueError(f"`views[{i}]` must be an ImageSlot or a CameraSlot, got {type(slot).__name__}.")
    if not any(slot.is_target for slot in slots):
        raise ValueError("`views` has no target slot: mark at least one slot role='target' to generate it.")
    cameras = [s for s in slots if isinstance(s, CameraSlot)]
    if any(s.camera is not None for s in cameras) and cameras[0].camera is None:
        raise ValueError(
            "The first camera slot has no `camera`, but later ones do: camera rays are expressed in the "
            "frame of the first camera, so give it a camera (any target slot may still be estimated)."
        )
    return list(slots)


def multiview_slots(
    images: Sequence[ImageInput | None],
    cameras: Sequence[Camera | None],
) -> list[Slot]:
    """Interleave views as [image_0, camera_0, image_1, camera_1, ...].

    An image given (not None) is a condition, None a target; likewise a camera given is a
    condition and None a camera to estimate.
    """
    if len(images) != len(cameras):
        raise ValueError(f"`images` and `cameras` need one entry per view, got {len(images)} and {len(cameras)}.")
    slots: list[Slot] = []
    for image, camera in zip(images, cameras):
        slots.append(ImageSlot.target() if image is None else ImageSlot.condition(image))
        slots.append(CameraSlot.target() if camera is None else CameraSlot.condition(camera))
    return slots
