"""Describe this photo: a caption for an input photo, written by the host's captioner (``ui.captioner``).

Every "Describe this photo" button on the page calls ``describe_photo``; the API serves it as
``/describe_photo``. A failure raises a plain-words ``gr.Error``, and the button's caption box, its only
output, then keeps what it held.
"""

from __future__ import annotations

import gradio as gr

from onediffusion.prompts import MAX_PROMPT_TOKENS

from .. import checks, inputs
from ..captioner import PURPOSES, CaptionError
from ..checks import about
from ..host import ModelHost
from ..inputs import InputError
from .base import endpoint

# Tabs name the purpose by their own mode where they have one (identity's "subject_driven").
ALIASES = {"subject_driven": "subject"}
# Tokens a caption may take of the model's 300: an identity prompt holds up to four references and the target.
TOKEN_BUDGET = {"identity": MAX_PROMPT_TOKENS // 3, "subject": MAX_PROMPT_TOKENS // 3}


def purpose_of(purpose: str | None) -> str:
    """The captioner purpose a button asks for ('scene' when none), checked."""
    name = ALIASES.get(purpose or "scene", purpose or "scene")
    if name not in PURPOSES:
        raise InputError(f"`purpose` must be one of {sorted(PURPOSES)}, got {purpose!r}.")
    return name


def captions_available(host: ModelHost) -> tuple[bool, str | None]:
    """Whether the Describe buttons can work, and why not in plain words (nothing is loaded to answer)."""
    return host.captioner.available, host.captioner.reason


def describe_photo_checks(host: ModelHost, photo, purpose: str = "scene") -> None:
    """What ``describe_photo`` checks before the captioner runs (its validator's dry run)."""
    with about("photo"):
        inputs.image(photo, "photo")
    with about("purpose"):
        purpose_of(purpose)
    checks.reached_the_model()


@endpoint()
def describe_photo(host: ModelHost, photo, purpose: str = "scene", request: gr.Request | None = None) -> str:
    """A detailed caption of a photo, to paste into a task's caption box (the published model wants long captions).

    Args:
        photo: the photo to describe, a URL (http, https or data:image/png;base64).
        purpose: what the caption is for: 'scene' (Control, Understanding; the default), 'identity' (a person: 30 to 75 words, as the published model's guide asks), 'subject' (an object without its background) or 'multiview' (an object, no facial details).

    Returns:
        caption: the caption, trimmed to the tokens the model reads; the captioner loads on first use.
    """
    name = purpose_of(purpose)
    tokenizer = host.pipe.tokenizer
    budget = TOKEN_BUDGET.get(name, MAX_PROMPT_TOKENS // 2)
    try:
        with host.model_turn(session=getattr(request, "session_hash", None)):
            return host.captioner.describe(photo, name, tokenizer, budget)
    except CaptionError as err:
        raise gr.Error(str(err), print_exception=False) from None
