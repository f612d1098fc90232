"""The "Describe this photo" button every input photo has: it fills the photo's caption box.

The button runs ``Studio.describe_photo`` (the first button's event is the API's ``/describe_photo``).
When the captioner cannot be used (``--captioner none``, offline and not downloaded) the button is greyed
out and a note under it says why in plain words.
"""

from __future__ import annotations

import functools

import gradio as gr
from gradio.context import get_blocks_context

from .. import checks
from ..common import GPU_QUEUE
from ..endpoints.describe import describe_photo_checks
from ..service import Studio

LABEL = "✍️ Describe this photo"
API_NAME = "describe_photo"
EVENT = {"concurrency_id": GPU_QUEUE, "concurrency_limit": 1, "show_progress": "minimal"}  # the model's queue


def _api() -> dict:
    """The page's first Describe button is the API's /describe_photo; the others the same function, unlisted."""
    named = any(fn.api_name == API_NAME for fn in get_blocks_context().fns.values())
    return {"api_visibility": "undocumented"} if named else {"api_name": API_NAME}


def describe_button(studio: Studio, photo, caption: gr.Textbox, purpose: str | gr.Component, note: bool = True):
    """A button under ``photo`` that writes its caption into ``caption``; ``purpose`` is a captioner
    purpose or a component holding one (identity's mode). ``note``: say why, when it cannot work."""
    available, _ = studio.captions_available()
    button = gr.Button(LABEL, size="sm", interactive=available, elem_classes=["describe"])
    if note:
        unavailable_note(studio)
    # A hidden box rather than gr.State: the API's /describe_photo keeps ``purpose`` as a parameter callers can set.
    given = purpose if isinstance(purpose, gr.Component) else gr.Textbox(purpose, visible=False)
    # The caption box is the only output: a failure (gr.Error) sends nothing, so the box keeps its text.
    check = functools.partial(describe_photo_checks, studio)
    validator = checks.validator(studio.describe_photo, 2, check=check)  # an empty photo: said there, nothing queued
    button.click(studio.describe_photo, [photo, given], [caption], validator=validator, **EVENT, **_api())
    return button


def unavailable_note(studio: Studio) -> gr.Markdown | None:
    """Why the Describe buttons are greyed out, in plain words; nothing when they work."""
    available, reason = studio.captions_available()
    return None if available else gr.Markdown(f"*{reason}*", elem_classes=["describe-note"])
