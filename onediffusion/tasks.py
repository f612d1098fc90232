"""Task presets: every task of the paper as a named recipe of prompt and view slots.

``build_task("depth2image", condition=depth_map, caption="a cat")`` returns a :class:`TaskSpec`
whose ``prompt`` carries the task token and whose ``views`` put each image or camera in its
slot and role, so no caller writes a token or a slot layout by hand::

    spec = build_task("image2depth", image=photo)
    depth = pipe(**spec.kwargs(), num_inference_steps=30).images[0]
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .cameras import Camera
from .conditions import inpainting_canvas
from .images import ImageInput
from .prompts import (
    DEFAULT_GUIDANCE,
    EDITING_GUIDANCE,
    Label,
    identity_prompt,
    scaled_size,
    subject_prompt,
    task_prompt,
)
from .slots import CameraSlot, ImageSlot, Slot, multiview_slots

# Conditions the model maps to and from images. The same token serves both directions.
CONDITIONS: dict[str, str] = {
    "depth": "depth map",
    "canny": "Canny edges",
    "hed": "HED soft edges",
    "pose": "human pose skeleton",
    "semanticmap": "semantic map",
    "boundingbox": "bounding boxes",
}
LABELLED = {"semanticmap": "mask", "boundingbox": "boundingbox"}


@dataclass(frozen=True)
class TaskSpec:
    """What the pipeline needs for one task: the assembled prompt, the slots, a guidance default."""

    task: str
    prompt: str
    views: list[Slot]
    guidance_scale: float = DEFAULT_GUIDANCE

    def kwargs(self) -> dict:
        return {"prompt": self.prompt, "views": self.views, "guidance_scale": self.guidance_scale}

    def size(self, native_side: int, size: tuple[int, int] | None = None) -> tuple[int, int]:
        """(height, width): ``size`` when given, else the aspect-ratio entry nearest the first given image
        at ``native_side``, or a native square when no image is given."""
        if size is not None:
            return size
        first = next((s.image for s in self.views if isinstance(s, ImageSlot) and not s.is_target), None)
        if first is None:
            return native_side, native_side
        return scaled_size(first.height, first.width, native_side)


@dataclass(frozen=True)
class TaskPreset:
    name: str
    title: str
    description: str
    build: Callable[..., TaskSpec]
    outputs: str = "image"  # "image", "condition", "views" or "cameras"
    params: tuple[str, ...] = field(default=())
    label_kind: str | None = None  # "mask" or "boundingbox": the task takes class-and-colour labels

    @property
    def labelled(self) -> bool:
        return self.label_kind is not None


TASKS: dict[str, TaskPreset] = {}


def _register(name: str, title: str, description: str, outputs: str = "image", label_kind: str | None = None):
    def wrap(fn: Callable[..., tuple[str, list[Slot]] | tuple[str, list[Slot], float]]):
        def build(**kwargs) -> TaskSpec:
            prompt, views, *guidance = fn(**kwargs)
            return TaskSpec(name, prompt, views, guidance[0] if guidance else DEFAULT_GUIDANCE)

        params = tuple(inspect.signature(fn).parameters)
        TASKS[name] = TaskPreset(name, title, description, build, outputs, params, label_kind)
        return fn

    return wrap


def build_task(name: str, **inputs) -> TaskSpec:
    """Build the prompt and slots of a registered task from its inputs (see ``TASKS[name].params``)."""
    if name not in TASKS:
        raise ValueError(f"`task` must be one of {sorted(TASKS)}, got {name!r}.")
    preset = TASKS[name]
    unknown = set(inputs) - set(preset.params)
    if unknown:
        raise ValueError(f"Task {name!r} takes {list(preset.params)}, not {sorted(unknown)}.")
    return preset.build(**inputs)


@_register("text2image", "Text to image", "Generate an image from a caption.")
def _text2image(caption: str):
    return task_prompt("text2image", caption), [ImageSlot.target()]


def _labels_kind(cond: str, labels: Sequence[Label]) -> dict:
    if labels and cond not in LABELLED:
        raise ValueError(f"`labels` apply to semantic maps and boxes only, not to {cond!r}.")
    return {"labels": labels, "label_kind": LABELLED.get(cond, "mask")}


def _register_condition(cond: str, what: str) -> None:
    kind = LABELLED.get(cond)

    @_register(f"{cond}2image", f"{what} to image", f"Generate an image that follows a {what}.", label_kind=kind)
    def to_image(condition: ImageInput, caption: str = "", labels: Sequence[Label] = ()):
        return task_prompt(cond, caption, **_labels_kind(cond, labels)), [
            ImageSlot.target(),
            ImageSlot.condition(condition),
        ]

    @_register(f"image2{cond}", f"Image to {what}", f"Estimate the {what} of a photo.", "condition", kind)
    def from_image(image: ImageInput, caption: str = "", labels: Sequence[Label] = ()):
        return task_prompt(cond, caption, **_labels_kind(cond, labels)), [
            ImageSlot.condition(image),
            ImageSlot.target(),
        ]


for _cond, _what in CONDITIONS.items():
    _register_condition(_cond, _what)


@_register("inpainting", "Inpainting", "Fill the masked region of a photo.")
def _inpainting(image: ImageInput, mask: ImageInput, caption: str = ""):
    return task_prompt("inpainting", caption), [ImageSlot.target(), ImageSlot.condition(inpainting_canvas(image, mask))]


@_register("deblurring", "Deblurring", "Restore a sharp photo from a blurry one.")
def _deblurring(image: ImageInput, caption: str = ""):
    return task_prompt("deblurring", caption), [ImageSlot.target(), ImageSlot.condition(image)]


@_register("upscaling", "Upscaling", "Make a small photo large and sharp: enlarged, then restored.")
def _upscaling(image: ImageInput, caption: str = ""):
    """``image`` already enlarged to the size wanted (``conditions.enlarge``); the published model has no token
    for upscaling, and its nearest task is deblurring (onediffusion.upscale, which also tiles large sizes)."""
    return task_prompt("deblurring", caption), [ImageSlot.target(), ImageSlot.condition(image)]


@_register("editing", "Instruction editing", "Edit a photo following an instruction.")
def _editing(image: ImageInput, instruction: str):
    if not instruction.strip():
        raise ValueError("`instruction` must not be empty: say what to change.")
    return task_prompt("editing", instruction), [ImageSlot.target(), ImageSlot.condition(image)], EDITING_GUIDANCE


@_register("identity", "Identity", "A new photo of the person in 1-4 reference photos.")
def _identity(references: Sequence[ImageInput], reference_captions: Sequence[str], target_caption: str):
    if len(references) != len(reference_captions):
        raise ValueError(
            f"Give one caption per reference photo: {len(references)} photos, {len(reference_captions)} captions."
        )
    prompt = identity_prompt(target_caption, reference_captions)
    return prompt, [ImageSlot.target(), *(ImageSlot.condition(ref) for ref in references)]


@_register("subject_driven", "Subject-driven", "The subject of a photo in a new scene.")
def _subject_driven(image: ImageInput, item: str, target_caption: str, source_caption: str = ""):
    return subject_prompt(item, target_caption, source_caption), [ImageSlot.target(), ImageSlot.condition(image)]


def _check_cameras(cameras: Sequence[Camera], least: int) -> None:
    if not least <= len(cameras) <= 8:
        raise ValueError(f"Multiview takes {least} to 8 cameras, got {len(cameras)}.")


@_register("image2multiview", "Image to multiview", "Novel views of the object in a photo.", outputs="views")
def _image2multiview(image: ImageInput, cameras: Sequence[Camera], caption: str = ""):
    _check_cameras(cameras, 2)
    return task_prompt("multiview", caption), multiview_slots([image] + [None] * (len(cameras) - 1), list(cameras))


@_register("text2multiview", "Text to multiview", "Consistent views of a described object.", outputs="views")
def _text2multiview(cameras: Sequence[Camera], caption: str):
    _check_cameras(cameras, 1)
    return task_prompt("multiview", caption), multiview_slots([None] * len(cameras), list(cameras))


@_register("camera_estimation", "Camera-pose estimation", "Estimate the cameras of 2-4 photos.", outputs="cameras")
def _camera_estimation(images: Sequence[ImageInput], caption: str = ""):
    if not 2 <= len(images) <= 4:
        raise ValueError(f"Camera-pose estimation takes 2 to 4 photos, got {len(images)}.")
    slots: list[Slot] = []
    for image in images:
        slots += [ImageSlot.condition(image), CameraSlot.target()]
    return task_prompt("multiview", caption), slots
