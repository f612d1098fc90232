"""The authors' advice for their model, in our words, in one place: tips shown next to the controls they
concern, and notes on a run's settings when they are outside the advised range.

Each ``*_notes`` function is pure (settings in, a list of short notes out); ``advise`` shows them as
``gr.Info`` before a run, which goes ahead regardless. Sizes scale with the model's native side: the
published model (native side 1024) was trained for text to image at 768-1280 px and for every other
task near 512 px; any other model is advised to stay near its own native side.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import re
from collections.abc import Iterable, Iterator, Sequence

import gradio as gr

from . import checks

PUBLISHED_SIDE = 1024  # the published model's native side (its text-to-image training size)
NEAR = (0.75, 1.25)  # "near" a side: 768-1280 around 1024, 384-640 around 512
MULTIPLE = 16
IDENTITY_WORDS = (30, 75)
VIEWS = (2, 5)
SCALE_FACTOR = (1.1, 1.5)
SCALE_WATERSHED = (100, 400)
EXTRAPOLATION_STEPS = (75, 100)
EDITING_MAX_GUIDANCE = 3.5
FACIAL = re.compile(
    r"\b(?:face|faces|facial|eyes?|eyebrows?|nose|mouth|lips|smil\w*|beard|moustache|mustache|freckles|"
    r"teeth|chin|cheeks?|forehead|expression)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[a-z]{4,}")  # content words, roughly: what a target caption can repeat from a reference

# Tips shown next to the controls they concern.
DEFAULTS_TIP = "The published model works best at 50 steps and guidance about 4 (4 to 4.2)."
EDITING_TIP = "Editing over-saturates above guidance 3 to 3.5."
IDENTITY_CAPTION_TIP = "30 to 75 words work best: clothes, setting, pose, light."
IDENTITY_TARGET_TIP = "Repeat some of the references' description here: the identity keeps better."
MULTIVIEW_CAPTION_TIP = "Describe the object; leave out facial details."
SCALE_FACTOR_TIP = "For sizes beyond training (extrapolation): 1.1 to 1.5, with 75 to 100 steps. 1 = off."
SCALE_WATERSHED_TIP = "With a scale factor: 100 to 400 (the timestep below which positions are rescaled)."
NOISE_SCALE_TIP = "Scales the schedule's shift (more noise early on); 1 is what the model was trained with."


def advised_side(native_side: int, text_to_image: bool) -> int:
    """The side a task works best near: text to image at the native side, other tasks of the published
    model at 512, every task of another model at its native side."""
    return native_side // 2 if native_side == PUBLISHED_SIDE and not text_to_image else native_side


def _span(side: int) -> tuple[int, int]:
    return round(side * NEAR[0]), round(side * NEAR[1])


def size_tip(native_side: int, text_to_image: bool) -> str:
    low, high = _span(advised_side(native_side, text_to_image))
    what = "Text to image" if text_to_image else "This task"
    return f"{what} works best from {low} to {high} px a side (multiples of {MULTIPLE})."


def size_notes(width: int, height: int, native_side: int, text_to_image: bool) -> list[str]:
    """A size far from the side the task works best near, by area (the size's own check wants multiples of 16)."""
    low, high = _span(advised_side(native_side, text_to_image))
    if low <= math.sqrt(width * height) <= high:
        return []
    return [f"{width} × {height} is outside the advised size: {size_tip(native_side, text_to_image)}"]


def editing_notes(guidance: float) -> list[str]:
    return [f"Guidance {guidance:g} is high for editing: {EDITING_TIP}"] if guidance > EDITING_MAX_GUIDANCE else []


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def identity_notes(captions: Sequence[str], target_caption: str) -> list[str]:
    """Reference captions outside 30-75 words, and a target caption that repeats none of them."""
    low, high = IDENTITY_WORDS
    notes = []
    for i, caption in enumerate(captions, start=1):
        count = len(caption.split())
        if not count:
            notes.append(
                f"Photo {i} has no caption: 'Describe this photo' writes one ({low} to {high} words work best)."
            )
        elif not low <= count <= high:
            notes.append(f"The caption of photo {i} has {count} words: {low} to {high} work best.")
    described = set().union(*(_words(c) for c in captions)) if captions else set()
    if described and not described & _words(target_caption):
        notes.append(f"The target caption repeats nothing of the references' captions. {IDENTITY_TARGET_TIP}")
    return notes


def _outside(value: float, span: tuple[float, float]) -> bool:
    return not span[0] <= value <= span[1]


def extrapolation_notes(scale_factor: float, scale_watershed: float, steps: int) -> list[str]:
    """With rotary scaling on (a scale factor other than 1): the advised factor, watershed and steps."""
    if scale_factor == 1:
        return []
    checks = [
        ("Scale factor", scale_factor, SCALE_FACTOR),
        ("Scale watershed", scale_watershed, SCALE_WATERSHED),
        ("Steps", steps, EXTRAPOLATION_STEPS),
    ]
    return [
        f"{name} {value:g}: for extrapolation {span[0]:g} to {span[1]:g} work best."
        for name, value, span in checks
        if _outside(value, span)
    ]


def multiview_notes(views: int, width: int, height: int, caption: str, native_side: int) -> list[str]:
    """Views outside 2-5, images that are not square or far from the advised side, facial details."""
    notes = []
    if _outside(views, VIEWS):
        notes.append(f"{views} views: multiview works best with {VIEWS[0]} to {VIEWS[1]}.")
    if width != height:
        notes.append(f"{width} × {height} is not square: multiview works best with square images.")
    notes += size_notes(width, height, native_side, text_to_image=False)
    facial = sorted({match.lower() for match in FACIAL.findall(caption or "")})
    if facial:
        notes.append(f"The caption mentions {', '.join(facial)}: {MULTIVIEW_CAPTION_TIP}")
    return notes


_SHOWN: contextvars.ContextVar[set[str] | None] = contextvars.ContextVar("onediffusion_notes_shown", default=None)


def advise(notes: Iterable[str]) -> None:
    """Each note as a short ``gr.Info`` before the run (printed when no page is listening); none in a dry run,
    and each note once within ``once``."""
    if checks.dry():
        return
    shown = _SHOWN.get()
    for note in notes:
        if shown is not None and note in shown:
            continue
        if shown is not None:
            shown.add(note)
        gr.Info(note, duration=8, title="Advice")


def upscale_tip(native_side: int) -> str:
    """What upscaling likes: windows near the model's native side, x2 more than x4, a caption optional."""
    published = native_side == PUBLISHED_SIDE
    model = "The published model" if published else "This model"
    return (
        f"{model} restores each window near its native {native_side} px, so large results are made window by "
        "window; x2 keeps closest to the photo, x4 invents more detail. A caption may help, but every window "
        "reads it: leave it empty if windows start repeating the subject."
    )


@contextlib.contextmanager
def once() -> Iterator[None]:
    """Within, a note already shown is not shown again (the cells of a grid share their notes)."""
    token = _SHOWN.set(set())
    try:
        yield
    finally:
        _SHOWN.reset(token)
