"""Error wording: what an engine or input failure says to the person at the page.

Bad input (``InputError``, an engine ``ValueError``) is said in plain words, with the engine's
`argument` names turned into the labels people see; running out of GPU memory, a model that cannot be
loaded and unexpected failures each get a message that says what to do next.
"""

from __future__ import annotations

import logging
import re

import gradio as gr
import torch

from onediffusion import ModelLoadError

from .inputs import InputError

logger = logging.getLogger("onediffusion.studio")

# Engine argument names -> the widget labels people see.
ENGINE_NAMES = {
    "height": "Height", "width": "Width", "num_inference_steps": "Steps", "guidance_scale": "Guidance",
    "num_images_per_prompt": "Number of images", "prompt": "Prompt", "negative_prompt": "Negative prompt",
    "instruction": "Instruction", "item": "Subject name", "mask": "Mask", "image": "Image", "views": "Slots",
    "labels": "Classes", "caption": "Caption", "cameras": "Cameras", "camera": "Camera", "factor": "Factor",
    "tile_px": "Tile size", "overlap_px": "Overlap", "fps": "Frames a second",
}  # fmt: skip
OUT_OF_MEMORY = "Out of GPU memory: try a smaller size, fewer images or fewer views."


def plain_words(message: str) -> str:
    """An engine message with its `argument` names turned into the labels people see."""

    def label(match: re.Match) -> str:
        text = ENGINE_NAMES.get(match[1], match[1].replace("_", " "))
        at_start = match.start() == 0 or message[: match.start()].rstrip().endswith((".", ":"))
        return text[0].upper() + text[1:] if at_start else text[0].lower() + text[1:]

    return re.sub(r"`([^`]+)`", label, message)


def user_error(err: Exception, where: str) -> gr.Error:
    """The ``gr.Error`` that tells a user about ``err`` (raised in endpoint ``where``); the app keeps serving."""
    if isinstance(err, gr.Error):
        return err
    if isinstance(err, ValueError):  # InputError included
        return gr.Error(plain_words(str(err)), print_exception=False)
    if isinstance(err, torch.OutOfMemoryError):
        return gr.Error(OUT_OF_MEMORY)
    if isinstance(err, ModelLoadError):
        return gr.Error(str(err))
    logger.error("Unexpected failure in %s", where, exc_info=err)
    return gr.Error(
        f"Something went wrong on our side ({type(err).__name__}: {err}). The app is still running: "
        "try again, perhaps with other settings."
    )


def preview_warning(err: InputError | ValueError) -> str:
    """An input problem shown in a preview box itself (instead of raising on every keystroke)."""
    return f"⚠️ {plain_words(str(err))}"
