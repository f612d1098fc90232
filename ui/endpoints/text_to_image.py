"""Text to image: images from a caption."""

from __future__ import annotations

from PIL import Image

from onediffusion import build_task
from onediffusion.prompts import task_prompt

from ..host import ModelHost, RunInputs
from ..inputs import InputError
from .base import GENERATE, endpoint, numbered, preview, run_task


@endpoint(GENERATE)
def text_to_image(host: ModelHost, prompt: str, *, run: RunInputs) -> tuple[list[tuple[Image.Image, str]], int, str]:
    """Images from a caption. Returns (gallery of (image, caption), seed used, assembled prompt)."""
    if not (prompt or "").strip():
        raise InputError("Describe the image to generate in the Prompt box first.")
    result = run_task(host, build_task("text2image", caption=prompt), run)
    return numbered(result.images, "image", result.seed), result.seed, result.prompt


@preview
def text_to_image_prompt(host: ModelHost, prompt: str = "") -> str:
    return task_prompt("text2image", prompt or "")
