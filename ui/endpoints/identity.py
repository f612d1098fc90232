"""Identity: new photos of a person from 1-4 reference photos, or of an object (subject-driven)."""

from __future__ import annotations

from collections.abc import Sequence

from PIL import Image

from onediffusion import build_task
from onediffusion.tasks import TaskSpec

from .. import advice, inputs
from ..checks import about
from ..host import ModelHost, RunInputs
from ..inputs import InputError
from .base import DUMMY, GENERATE, endpoint, numbered, preview, run_task


def identity_task(
    mode: str, photos: list[Image.Image], captions: list[str], target_caption: str, subject: str
) -> TaskSpec:
    """The task of a mode: 'identity' (1-4 references) or 'subject_driven' (one reference, named)."""
    if mode == "subject_driven":
        if len(photos) != 1:
            raise InputError("Subject-driven mode uses exactly one reference photo: put it in slot 1.", "reference_1")
        return build_task(
            "subject_driven",
            image=photos[0],
            item=subject or "",
            target_caption=target_caption,
            source_caption=captions[0],
        )
    if mode != "identity":
        raise InputError(f"Mode must be 'identity' or 'subject_driven', not {mode!r}.", "mode")
    if not photos:
        raise InputError("Add at least one reference photo (up to 4).", "reference_1")
    return build_task("identity", references=photos, reference_captions=captions, target_caption=target_caption)


def _references(values: Sequence) -> tuple[list[Image.Image], list[str]]:
    """Photo, caption, photo, caption... -> the photos given and their captions, in slot order."""
    photos, captions = [], []
    for i, (photo, caption) in enumerate(zip(values[::2], values[1::2]), start=1):
        with about(f"reference_{i}"):
            image = inputs.image(photo, f"reference photo {i}", required=False)
        if image is not None:
            photos.append(image)
            captions.append((caption or "").strip())
    return photos, captions


@endpoint(GENERATE)
def identity(
    host: ModelHost,
    mode: str,
    reference_1,
    caption_1: str = "",
    reference_2=None,
    caption_2: str = "",
    reference_3=None,
    caption_3: str = "",
    reference_4=None,
    caption_4: str = "",
    target_caption: str = "",
    subject_name: str = "",
    *,
    run: RunInputs,
) -> tuple[list[tuple[Image.Image, str]], int, str]:
    """New photos of a person from 1-4 photos of them (mode 'identity'), or of an object from one photo of it
    in a new scene (mode 'subject_driven'), as target_caption describes.

    Args:
        mode: 'identity' (the same person; reference photos 1-4) or 'subject_driven' (the same object; reference_1 only).
        reference_1: a photo of the person or the object, a URL (http, https or data:image/png;base64); required.
        caption_1: optional: what reference_1 shows.
        reference_2: optional: another photo of the person (mode 'identity'), a URL (http, https or data:image/png;base64).
        caption_2: optional: what reference_2 shows.
        reference_3: optional: another photo of the person (mode 'identity'), a URL (http, https or data:image/png;base64).
        caption_3: optional: what reference_3 shows.
        reference_4: optional: another photo of the person (mode 'identity'), a URL (http, https or data:image/png;base64).
        caption_4: optional: what reference_4 shows.
        target_caption: what the new photo shows (required), e.g. 'the woman laughing on a beach at sunset'.
        subject_name: for 'subject_driven': what the object is, e.g. 'red backpack'.

    Returns:
        gallery: the new photos as [{'image': {'url': PNG on this server, ...}, 'caption': ...}, ...]
        seed: the seed used
        prompt: the prompt the model saw, with an [[imgN]] marker per photo
    """
    given = [reference_1, caption_1, reference_2, caption_2, reference_3, caption_3, reference_4, caption_4]
    photos, captions = _references(given)
    if not (target_caption or "").strip():
        raise InputError("Describe the new photo in 'Target caption' first.", "target_caption")
    spec = identity_task(mode, photos, captions, target_caption, subject_name)
    advice.advise(advice.identity_notes(captions, target_caption) if mode == "identity" else [])
    result = run_task(host, spec, run)
    return numbered(result.images, "generated", result.seed), result.seed, result.prompt


@preview
def identity_prompt(host: ModelHost, mode: str, *given) -> str:
    """The assembled prompt for the identity tab's inputs after the mode: four (photo, caption) pairs,
    then the target caption and the subject name. Only whether each photo is given matters."""
    *pairs, target_caption, subject_name = given
    photos, captions = _references([DUMMY if i % 2 == 0 and value else value for i, value in enumerate(pairs)])
    return identity_task(mode, photos, captions, target_caption or "", subject_name).prompt
