"""Slots (advanced): any sequence of image and camera slots, each a condition or a target, with a raw prompt."""

from __future__ import annotations

import gradio as gr
from PIL import Image

from onediffusion import CameraSlot, ImageSlot
from onediffusion import camera_presets as cams
from onediffusion.cameras import Camera
from onediffusion.images import center_crop_resize
from onediffusion.tasks import TaskSpec

from .. import checks, inputs
from ..checks import about
from ..figures import camera_figure
from ..host import Generation, ModelHost, RunInputs
from ..inputs import InputError
from .base import RAW, endpoint, run_task

SLOT_HEADERS = ["kind", "role", "image #", "azimuth (°)", "elevation (°)", "distance"]


@endpoint(RAW)
def slots(
    host: ModelHost, prompt: str, slots=None, images=None, *, run: RunInputs
) -> tuple[list[tuple[Image.Image, str]], list[list], object, int, str]:
    """Advanced: any sequence of image and camera slots, each given (condition) or generated (target), with a
    raw prompt that names the task; for experiments beyond the other tools.

    Args:
        prompt: the raw prompt, task token included, e.g. '[[multiview]] a red cube' or '[[text2image]] a red cube'.
        slots: slot table {'headers': ['kind', 'role', 'image #', 'azimuth (°)', 'elevation (°)', 'distance'], 'data': [['image', 'condition', 1, null, null, null], ['image', 'target', null, null, null, null]]}: kind 'image' or 'camera', role 'condition' or 'target', image # (1-based into images; blank: the next), and for camera conditions azimuth (°), elevation (°), distance.
        images: the images of the image conditions as [{'image': a URL (http, https or data:image/png;base64), 'caption': null}, ...].

    Returns:
        gallery: every image slot, conditions then generated targets, as [{'image': {'url': ...}, 'caption': ...}, ...]
        cameras: rows [slot, role, azimuth (°), elevation (°), distance, focal length] of the camera slots
        figure: the 3D figure of the camera slots (a Plotly plot), or null
        seed: the seed used
        prompt: the prompt the model saw
    """
    if not (prompt or "").strip():
        raise InputError("Write the raw prompt first, task token included, e.g. '[[multiview]] a red cube'.", "prompt")
    if "[[" not in prompt and not checks.dry():
        gr.Warning(
            "The prompt has no task token such as [[text2image]] or [[multiview]]; the model may not know which task "
            "to do."
        )
    with about("images"):
        photos = inputs.gallery_images(images, "image", 0, 16) if images else []
    with about("slots"):
        views, given = _slots_from_rows(slots, photos, host.defaults.camera)
    result = run_task(host, TaskSpec("slots", prompt.strip(), views), run)
    rows, figure = _slot_cameras(views, given, result, host.defaults.camera.front)
    return _slot_gallery(views, result), rows, figure, result.seed, result.prompt


def _cell(row: list, index: int):
    return row[index] if index < len(row) and row[index] not in (None, "") else None


def _slot(i: int, row: list, photos: list[Image.Image], unused: list[int], camera: cams.CameraDefaults):
    """One slot-table row -> its slot (``unused``: the images not yet taken, in order; updated)."""
    kind, role = (str(_cell(row, c) or "").strip().lower() for c in (0, 1))
    if kind not in ("image", "camera") or role not in ("condition", "target"):
        raise InputError(
            f"Slot {i}: kind must be 'image' or 'camera' and role 'condition' or 'target', "
            f"not {kind or 'blank'!r} and {role or 'blank'!r}."
        )
    if role == "target":
        return ImageSlot.target() if kind == "image" else CameraSlot.target()
    if kind == "camera":
        view = [_cell(row, 3) or 0, _cell(row, 4) or 0, _cell(row, 5)]
        a, e, d = cams.rows_to_views([view], distance=camera.distance)[0]
        return CameraSlot.condition(Camera.orbit(a, e, d, camera.focal_length))
    number = _cell(row, 2)
    if number is None and not unused:
        raise InputError(f"Slot {i} is an image condition but no image is left for it: add one below.")
    index = int(inputs.number_cell(number, "image #", i)) - 1 if number is not None else unused[0]
    if not 0 <= index < len(photos):
        raise InputError(f"Slot {i} asks for image {index + 1}, but only {len(photos)} were added below.")
    if index in unused:
        unused.remove(index)
    return ImageSlot.condition(photos[index])


def _slots_from_rows(rows, photos: list[Image.Image], camera: cams.CameraDefaults) -> tuple[list, dict[int, Camera]]:
    """Slot-table rows -> slots, and the cameras given for camera conditions by slot index (a blank
    distance, and the focal length, are ``camera``'s)."""
    unused = list(range(len(photos)))
    views = [_slot(i, row, photos, unused, camera) for i, row in enumerate(inputs.table_rows(rows))]
    given = {i: v.camera for i, v in enumerate(views) if isinstance(v, CameraSlot) and not v.is_target}
    return views, given


def _slot_gallery(views: list, result: Generation) -> list[tuple[Image.Image, str]]:
    """Every image slot in order: conditions once, then each sample's generated targets."""
    image_slots = [i for i, v in enumerate(views) if isinstance(v, ImageSlot)]
    targets = [i for i in image_slots if views[i].is_target]
    items = [
        (center_crop_resize(views[i].image, result.height, result.width), f"slot {i} · condition")
        for i in image_slots
        if not views[i].is_target
    ]
    for n, image in enumerate(result.images):
        sample, slot = divmod(n, max(len(targets), 1))
        items.append((image, f"slot {targets[slot]} · generated · image {sample + 1} · seed {result.seed}"))
    return items


def _slot_cameras(
    views: list, given: dict[int, Camera], result: Generation, front: Camera
) -> tuple[list[list], object]:
    """Camera rows and figure: given cameras as given, estimated ones placed relative to the first camera
    (at ``front`` when it is not given)."""
    indices = [i for i, v in enumerate(views) if isinstance(v, CameraSlot)]
    if not indices or not result.cameras:
        return [], None
    placed = cams.place_around_object(result.cameras, given.get(indices[0], front))
    roles = ["estimated" if views[i].is_target else "condition" for i in indices]
    rows = [[i, role, *row] for i, role, row in zip(indices, roles, cams.camera_rows(placed))]
    figure = camera_figure(placed, [f"slot {i}" for i in indices], roles, aspect=result.height / result.width)
    return rows, figure
