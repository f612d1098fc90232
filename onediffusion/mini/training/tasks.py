"""Training tasks: each a recipe of slots (what fills them), roles and prompt, from one scene record.

The layouts and prompts are those of the inference presets in ``onediffusion.tasks`` (a test
checks this), so what the model learns is what the pipeline asks for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ...prompts import identity_prompt, task_prompt
from .data import VIEWS, SceneRecord

LABELLED = {"semanticmap": "mask", "boundingbox": "boundingbox"}


@dataclass(frozen=True)
class Source:
    """What fills a slot: an image of ``kind`` from view ``view`` (None: a per-scene image), or,
    with kind "camera", the camera of view ``view``."""

    kind: str
    view: int | None = None


@dataclass
class Sample:
    prompt: str
    sources: list[Source]
    targets: list[bool]


Recipe = Callable[[SceneRecord, np.random.Generator, int], Sample]


def _maybe(caption: str, rng: np.random.Generator) -> str:
    """Understanding prompts carry the caption half the time, so both forms work at inference."""
    return caption if rng.random() < 0.5 else ""


def _labels(rec: SceneRecord, cond: str, v: int) -> dict:
    if cond not in LABELLED:
        return {}
    return {"labels": rec.labels[v], "label_kind": LABELLED[cond]}


def text2image(rec, rng, n):
    v = int(rng.integers(VIEWS))
    return Sample(task_prompt("text2image", rec.captions[v]), [Source("rgb", v)], [True])


def condition_to_image(cond: str) -> Recipe:
    def recipe(rec, rng, n):
        v = int(rng.integers(VIEWS))
        prompt = task_prompt(cond, rec.captions[v], **_labels(rec, cond, v))
        return Sample(prompt, [Source("rgb", v), Source(cond, v)], [True, False])

    return recipe


def image_to_condition(cond: str) -> Recipe:
    def recipe(rec, rng, n):
        v = int(rng.integers(VIEWS))
        prompt = task_prompt(cond, _maybe(rec.captions[v], rng), **_labels(rec, cond, v))
        return Sample(prompt, [Source("rgb", v), Source(cond, v)], [False, True])

    return recipe


def restoration(task: str, kind: str) -> Recipe:
    def recipe(rec, rng, n):
        return Sample(
            task_prompt(task, _maybe(rec.inpaint_caption, rng)), [Source("rgb", 0), Source(kind)], [True, False]
        )

    return recipe


def upscaling(rec, rng, n):
    """A small photo enlarged, restored: the published model has no token of its own for it, and its nearest
    task is deblurring on the enlarged photo (``onediffusion.upscale``), so Mini learns it under that token."""
    caption = _maybe(rec.inpaint_caption, rng)
    return Sample(task_prompt("deblurring", caption), [Source("sharp"), Source("upscaled")], [True, False])


def editing(rec, rng, n):
    return Sample(task_prompt("editing", rec.instruction), [Source("edited"), Source("rgb", 0)], [True, False])


def identity(rec, rng, n):
    """The same objects from other viewpoints stand in for photos of the same person."""
    views = [int(v) for v in rng.permutation(VIEWS)[: n + 1]]
    prompt = identity_prompt(rec.captions[views[0]], [rec.captions[v] for v in views[1:]])
    return Sample(prompt, [Source("rgb", v) for v in views], [True] + [False] * n)


def multiview(roles: Callable[[np.random.Generator, int], list[bool]], captioned: float = 0.5) -> Recipe:
    """Slots [image_0, camera_0, image_1, camera_1, ...] over ``n`` random views of the scene."""

    def recipe(rec, rng, n):
        views = [int(v) for v in rng.permutation(VIEWS)[:n]]
        sources = [Source(kind, v) for v in views for kind in ("rgb", "camera")]
        caption = rec.captions[views[0]] if rng.random() < captioned else ""
        return Sample(task_prompt("multiview", caption), sources, roles(rng, n))

    return recipe


def _random_roles(rng: np.random.Generator, n: int) -> list[bool]:
    roles = list(rng.random(2 * n) < 0.5)
    if not any(roles):
        roles[int(rng.integers(2 * n))] = True
    return [bool(r) for r in roles]


TRAIN_TASKS: dict[str, Recipe] = {
    "text2image": text2image,
    **{f"{c}2image": condition_to_image(c) for c in ("depth", "semanticmap", "boundingbox", "canny")},
    **{f"image2{c}": image_to_condition(c) for c in ("depth", "semanticmap", "boundingbox")},
    "inpainting": restoration("inpainting", "masked"),
    "deblurring": restoration("deblurring", "blurred"),
    "editing": editing,
    "identity": identity,
    "image2multiview": multiview(lambda rng, n: [False, False] + [True, False] * (n - 1)),
    "text2multiview": multiview(lambda rng, n: [True, False] * n, captioned=1.0),
    "camera_estimation": multiview(lambda rng, n: [False, True] * n),
    "multiview": multiview(_random_roles),
}
# Tasks a later stage adds. The recipe's draws (and its tokenizer's corpus) stay those of TRAIN_TASKS, so earlier
# stages run as they did; a stage draws one of these only where its task weights name it above 0.
LATER_TASKS: dict[str, Recipe] = {"upscaling": upscaling}
ALL_TASKS: dict[str, Recipe] = {**TRAIN_TASKS, **LATER_TASKS}
# How many views (multiview) or references (identity) a batch of each task uses.
VIEW_COUNTS = {
    "identity": (1, 2),
    "image2multiview": (2, 4),
    "text2multiview": (2, 3),
    "camera_estimation": (2, 3),
    "multiview": (2, 4),
}
# Stage presets (``--stage``): task draw weights for a stage that starts from a previous one's state
# (``--init-from``); tasks not named keep weight 1. "views" leans on the tasks Mini fails (novel views and
# cameras): camera estimation 6/27 of the draws (about 5 x 10^4 samples an hour on 2 cores), novel views
# 4/27, and the twelve others 12/27 between them, so they keep being rehearsed.
# "upscale" adds upscaling at 6/22 of the draws and keeps the sixteen others at 1 each, as rehearsal.
STAGES: dict[str, dict[str, float]] = {
    "recipe": {},
    "views": {"image2multiview": 4.0, "text2multiview": 2.0, "camera_estimation": 6.0, "multiview": 3.0},
    "upscale": {"upscaling": 6.0},
}
