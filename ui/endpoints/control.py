"""Control: images that follow a condition, and conditions made from a photo."""

from __future__ import annotations

from PIL import Image

from onediffusion import Label, build_task
from onediffusion.images import center_crop_resize
from onediffusion.tasks import TaskSpec

from .. import advice, checks, inputs
from .. import outputs as out
from ..catalogue import CONTROL, ControlOption
from ..checks import about
from ..host import ModelHost, RunInputs
from ..inputs import InputError
from .base import DUMMY, GENERATE, MAKE, endpoint, numbered, preview, run_task
from .understand import estimate


def control_task(option: ControlOption, image: Image.Image, mask, caption: str, labels: list[Label]) -> TaskSpec:
    """The task of a Control option, each of the tab's inputs given under the name its task takes it by."""
    if option.takes_instruction and not caption.strip():
        raise InputError(
            "Write the instruction first: say what to change, e.g. 'make the sky purple'.", field="caption"
        )
    given = {"condition": image, "image": image, "mask": mask, "caption": caption, "instruction": caption}
    if option.labelled:
        given["labels"] = labels
    return build_task(option.task, **{name: value for name, value in given.items() if name in option.preset.params})


@endpoint(GENERATE)
def control(
    host: ModelHost,
    condition: str,
    condition_image,
    inpainting=None,
    caption: str = "",
    labels=None,
    *,
    run: RunInputs,
) -> tuple[Image.Image, list[tuple[Image.Image, str]], int, str]:
    """Generate images that follow a condition: a depth map, edges, a pose skeleton, a semantic map or boxes
    to follow, a photo to inpaint, deblur or edit by instruction (make_condition makes one from a photo).

    Args:
        condition_image: the condition image, a URL (http, https or data:image/png;base64); for 'inpainting' leave it out and give inpainting.
        inpainting: for 'inpainting' only: {'background': photo URL, 'layers': [URL of a PNG, transparent but over the region to fill], 'composite': null}.
        caption: what the result shows; for 'editing' the instruction instead, e.g. 'make the sky purple' (required there).

    Returns:
        condition: the condition as the model saw it (cropped and resized to the output size), an image URL
        gallery: the generated images as [{'image': {'url': PNG on this server, ...}, 'caption': ...}, ...]
        seed: the seed used
        prompt: the prompt the model saw, task token included
    """
    with about("condition"):
        option = CONTROL.option(condition)
    if option.takes_mask:
        with about("inpainting"):
            image, mask = inputs.editor_photo_and_mask(inpainting)
    else:
        with about("condition_image"):
            image, mask = inputs.image(condition_image, "condition image"), None
    with about("labels"):
        label_list = inputs.labels(labels)
    spec = control_task(option, image, mask, caption or "", label_list)
    options = host.options(run, option.task)
    advice.advise(advice.editing_notes(options.guidance) if option.task == "editing" else [])
    result = run_task(host, spec, run, options)
    shown = out.carry_over(result.images[0], center_crop_resize(spec.views[1].image, result.height, result.width))
    return shown, numbered(result.images, "generated", result.seed), result.seed, result.prompt


@preview
def control_prompt(host: ModelHost, condition: str, caption: str = "", labels=None) -> str:
    """The prompt a control run would use, assembled without running the model."""
    mask = Image.new("L", DUMMY.size, 255)
    return control_task(CONTROL.option(condition), DUMMY, mask, caption or "", inputs.labels(labels)).prompt


@endpoint(MAKE, fast=False)
def make_condition(host: ModelHost, condition: str, photo, labels=None, *, run: RunInputs) -> Image.Image:
    """Make a control condition from a photo: Canny edges and blur are computed directly; depth, HED, pose,
    segmentation and boxes are estimated by the model itself; 'editing' and 'inpainting' return the photo as is.

    Args:
        condition: the condition to make: 'depth', 'canny', 'hed', 'pose', 'semanticmap' or 'boundingbox' (name the classes in labels), 'deblurring' (blurs the photo), 'editing'.
        photo: the photo, a URL (http, https or data:image/png;base64).
        seed: random seed of the model's estimate (depth, HED, pose, segmentation, boxes), a whole number.

    Returns:
        condition_image: the condition, an image URL on this server, to give to control
    """
    with about("photo"):
        image = inputs.image(photo, "photo")
    with about("condition"):
        make = CONTROL.option(condition).make
    with about("labels"):
        label_list = inputs.labels(labels)
    if callable(make):
        return image if checks.dry() else make(image)
    return estimate(host, image, make, label_list, run).images[0]
