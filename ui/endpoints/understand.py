"""Understanding: depth, pose, HED, Canny, segmentation or boxes of a photo, by the model itself."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from onediffusion import Label, build_task
from onediffusion.images import center_crop_resize
from onediffusion.tasks import TASKS, TaskSpec

from .. import inputs
from .. import outputs as out
from ..catalogue import UNDERSTANDING
from ..checks import about
from ..host import Generation, ModelHost, RunInputs
from ..inputs import InputError
from .base import DUMMY, ESTIMATE, endpoint, preview, run_task


def understanding_task(task: str, photo: Image.Image, labels: list[Label], caption: str) -> TaskSpec:
    """A photo through the model's understanding direction (``image2depth``, ``image2pose``, ...); the
    class rows go along where the task takes them."""
    extra = {"labels": labels} if TASKS[task].labelled else {}
    return build_task(task, image=photo, caption=caption or "", **extra)


def estimate(host: ModelHost, photo: Image.Image, task: str, labels: list[Label], run: RunInputs) -> Generation:
    """``understanding_task`` of a photo (no caption), run."""
    return run_task(host, understanding_task(task, photo, labels, ""), run)


@endpoint(ESTIMATE)
def understand(
    host: ModelHost, photo, target: str = "depth", labels=None, caption: str = "", *, run: RunInputs
) -> tuple[Image.Image, Image.Image, str | None, list[str], list[dict], int, str]:
    """Estimate from a photo, with the model itself: its depth, human pose, HED soft edges, Canny edges,
    segmentation into named classes, or bounding boxes of named classes.

    Args:
        photo: the photo, a URL (http, https or data:image/png;base64).
        target: what to estimate: 'depth', 'pose', 'hed', 'canny', 'semanticmap' or 'boundingbox' (for these two, name the classes in labels).
        caption: what the photo shows, which may help the model, or '' for none.

    Returns:
        shown: the result to look at, an image URL: colourised depth, or the estimate over the photo (boxes outlined)
        raw: the model's own output image (URL)
        mesh: for depth, a GLB relief mesh (URL); else null
        files: downloadable files (URLs): for depth a 16-bit depth PNG, the colourised depth and the mesh
        regions: per class (semanticmap, boundingbox): [{'class', 'colour', 'hex', 'share' of the image, 'box' [x0, y0, x1, y1]}]
        seed: the seed used
        prompt: the prompt the model saw, task token included
    """
    with about("photo"):
        image = inputs.image(photo, "photo")
    with about("target"):
        option = UNDERSTANDING.option(target)
    with about("labels"):
        label_list = inputs.labels(labels)
    if option.labelled and not label_list:
        raise InputError("Name at least one class in the class-and-colour table (e.g. 'sky', 'person').", "labels")
    spec = understanding_task(option.task, image, label_list, caption)
    result = run_task(host, spec, run)
    photo_used = center_crop_resize(image, result.height, result.width)
    folder = out.run_folder()
    raw = result.images[0]
    out.save_carried(raw, folder / f"{target}.png")
    if option.shows == "depth":
        return _depth_outputs(raw, result.arrays[0], photo_used, folder) + ([], result.seed, result.prompt)
    regions = out.label_regions(raw, label_list) if option.labelled else []
    shown = out.overlay_drawing(photo_used, raw)
    if option.shows == "boxes":
        shown = out.draw_boxes(shown, regions)
    out.save_carried(out.carry_over(raw, shown), folder / f"{target}_overlay.png")
    files = [str(folder / f"{target}.png"), str(folder / f"{target}_overlay.png")]
    return shown, raw, None, files, regions, result.seed, result.prompt


def _depth_outputs(raw: Image.Image, array: np.ndarray, photo: Image.Image, folder: Path) -> tuple:
    depth = out.depth_values(array)
    coloured = out.carry_over(raw, out.colourise_depth(depth))
    out.save_carried(coloured, folder / "depth_colour.png")
    png16 = out.save_depth_png16(depth, folder / "depth_16bit.png", raw)
    glb = out.save_glb(out.depth_mesh(depth, photo), folder / "depth_mesh.glb")
    files = [str(png16), str(folder / "depth_colour.png"), str(glb)]
    return coloured, raw, str(glb), files


@preview
def understand_prompt(host: ModelHost, target: str, labels=None, caption: str = "") -> str:
    task = UNDERSTANDING.option(target).task
    return understanding_task(task, DUMMY, inputs.labels(labels), caption).prompt
