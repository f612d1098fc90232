"""Text to image: images from a caption."""

from __future__ import annotations

from PIL import Image

from onediffusion import build_task
from onediffusion.prompts import task_prompt

from .. import advice
from ..host import ModelHost, RunInputs
from ..inputs import InputError
from .base import GENERATE, endpoint, numbered, preview, run_task


@endpoint(GENERATE)
def text_to_image(host: ModelHost, prompt: str, *, run: RunInputs) -> tuple[list[tuple[Image.Image, str]], int, str]:
    """Images from a caption. Text to image: the model draws what the caption describes.

    Args:
        prompt: what the image shows; the published model likes long, detailed captions (subject, setting, light, style).

    Returns:
        gallery: the images as [{'image': {'url': PNG on this server, ...}, 'caption': 'image 1 · seed S'}, ...]
        seed: the seed used (give it back with randomize_seed false to repeat the result)
        prompt: the prompt the model saw, task token included
    """
    if not (prompt or "").strip():
        raise InputError("Describe the image to generate in the Prompt box first.", field="prompt")
    options = host.options(run)
    height, width = options.size or (host.native_side, host.native_side)
    advice.advise(advice.size_notes(width, height, host.native_side, text_to_image=True))
    result = run_task(host, build_task("text2image", caption=prompt), run, options)
    return numbered(result.images, "image", result.seed), result.seed, result.prompt


@preview
def text_to_image_prompt(host: ModelHost, prompt: str = "") -> str:
    return task_prompt("text2image", prompt or "")
