"""Long camera paths, sampled as the paper's appendix does it: anchors first, then every other view in small
batches conditioned on the input photo and the nearest anchor.

OneDiffusion sees a handful of views at once, so an 80-view orbit is made in batches. The appendix: "first
generates 3 anchor views from the input image, then every further batch of 3 novel views is conditioned on 2
images, the input and the nearest anchor". ``plan_path`` makes that plan a plain object (which views each
batch generates, which it is given, its seed); ``sample_path`` runs it, handing each finished frame to a
callback as soon as its batch is done, so frames can go to disk and memory holds only the anchors.
``anchored=False`` is the plain alternative: every view from the input alone.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from PIL import Image

from . import path_files
from .camera_paths import check_distinct, viewing_angle_deg
from .cameras import Camera
from .images import ImageInput, to_rgb
from .metadata import ResultSettings
from .prompts import task_prompt
from .slots import Slot, multiview_slots

INPUT = -1  # the input photo, among a batch's conditions
ANCHORS, BATCH_SIZE = 3, 3  # the paper's


@dataclass(frozen=True)
class PathBatch:
    """One generation: the path views it makes (``targets``), the views it is given (``conditions``: INPUT,
    then anchors), and its seed."""

    targets: tuple[int, ...]
    conditions: tuple[int, ...]
    seed: int


@dataclass(frozen=True)
class PathPlan:
    views: int
    anchors: tuple[int, ...]
    batches: tuple[PathBatch, ...]

    @property
    def order(self) -> list[int]:
        """Every path view in the order it is generated."""
        return [view for batch in self.batches for view in batch.targets]

    def as_dict(self) -> dict:
        return {"views": self.views, "anchors": list(self.anchors), "batches": [asdict(b) for b in self.batches]}


def spread(count: int, views: int) -> tuple[int, ...]:
    """``count`` views spread over a path of ``views``: the middles of equal stretches."""
    return tuple(sorted({min(views - 1, int((k + 0.5) * views / count)) for k in range(count)}))


def _chunks(items: Sequence[int], size: int) -> list[tuple[int, ...]]:
    return [tuple(items[i : i + size]) for i in range(0, len(items), size)]


def plan_path(
    cameras: Sequence[Camera],
    seed: int = 0,
    anchors: int = ANCHORS,
    batch_size: int = BATCH_SIZE,
    anchored: bool = True,
    from_image: bool = True,
) -> PathPlan:
    """The plan for ``cameras``: with ``anchored``, ``anchors`` views spread over the path, generated first from
    the input (``batch_size`` at a time), then the others grouped by their nearest anchor (by viewing angle),
    ``batch_size`` at a time in path order, each batch given the input and that anchor. Without ``from_image``
    (a caption only) the anchors come from the caption and each later batch is given its anchor alone. Each
    view is generated once; batch k's seed is ``seed + k``. ``anchored=False``: every view from the input."""
    views = len(cameras)
    if not 1 <= batch_size <= 7:
        raise ValueError(f"`batch_size` must be 1 to 7 views (a batch is one multiview call), got {batch_size!r}.")
    if anchored and not 1 <= anchors <= views:
        raise ValueError(f"`anchors` must be 1 to the number of views ({views}), got {anchors!r}.")
    if not anchored and not from_image:
        raise ValueError("Without a photo the path needs its anchors: `anchored` must stay on.")
    given = (INPUT,) if from_image else ()
    chosen = spread(anchors, views) if anchored else ()
    groups = [(targets, given) for targets in _chunks(chosen, batch_size)]
    rest = [v for v in range(views) if v not in chosen]
    if anchored:
        nearest = {v: min(chosen, key=lambda a: (viewing_angle_deg(cameras[v], cameras[a]), abs(a - v))) for v in rest}
        for anchor in chosen:
            mine = [v for v in rest if nearest[v] == anchor]
            groups += [(targets, (*given, anchor)) for targets in _chunks(mine, batch_size)]
    else:
        groups += [(targets, given) for targets in _chunks(rest, batch_size)]
    batches = tuple(PathBatch(targets, conditions, seed + k) for k, (targets, conditions) in enumerate(groups))
    return PathPlan(views, chosen, batches)


@dataclass
class PathProgress:
    """Where a run stands: views done of the total, and the batch just finished."""

    done: int
    total: int
    batch: int
    batches: int


# One batch: (prompt, slots, seed) -> the target images, or None when Stop came during it.
Generate = Callable[[str, list[Slot], int], list[Image.Image] | None]


def pipeline_batches(pipe, **call_kwargs) -> Generate:
    """Batches run by ``pipe`` itself (``call_kwargs``: steps, guidance, negative prompt, size, a step
    callback that may set ``pipe._interrupt``); each batch's noise from its own CPU generator."""

    def generate(prompt: str, views: list[Slot], seed: int) -> list[Image.Image] | None:
        generator = torch.Generator("cpu").manual_seed(seed)
        out = pipe(prompt, views=views, generator=generator, output_type="pil", **call_kwargs)
        return None if pipe.interrupt else list(out.images)

    return generate


def sample_path(
    generate: Generate,
    image: ImageInput | None,
    input_camera: Camera | None,
    cameras: Sequence[Camera],
    plan: PathPlan,
    on_frame: Callable[[int, Image.Image], None],
    caption: str = "",
    on_progress: Callable[[PathProgress], None] | None = None,
) -> int:
    """Run ``plan`` over ``cameras``: each batch is one multiview call (the input photo and its camera first,
    then the given anchors, then the targets), and each finished view goes to ``on_frame(index, image)`` at
    once. Stops when a batch comes back None (Stop); returns how many views were made."""
    photo = to_rgb(image) if image is not None else None
    anchors: dict[int, Image.Image] = {}  # the only frames kept in memory: later batches are given them
    done = 0
    for number, batch in enumerate(plan.batches, start=1):
        given = [photo if v == INPUT else anchors[v] for v in batch.conditions]
        given_cameras = [input_camera if v == INPUT else cameras[v] for v in batch.conditions]
        views = multiview_slots(
            given + [None] * len(batch.targets), given_cameras + [cameras[v] for v in batch.targets]
        )
        frames = generate(task_prompt("multiview", caption), views, batch.seed)
        if frames is None:
            break
        for view, frame in zip(batch.targets, frames):
            if view in plan.anchors:
                anchors[view] = frame
            on_frame(view, frame)
            done += 1
        if on_progress is not None:
            on_progress(PathProgress(done, plan.views, number, len(plan.batches)))
    return done


@dataclass
class PathResult:
    """What a path run left in its folder: the frames made (all of them unless it was stopped), the video,
    the GIF and the zip of those frames, and the plan it followed."""

    folder: Path
    plan: PathPlan
    frames: list[Path]
    video: Path | None
    gif: Path | None
    archive: Path | None

    @property
    def complete(self) -> bool:
        return len(self.frames) == self.plan.views


def make_path(
    pipe,
    image: ImageInput | None,
    cameras: Sequence[Camera],
    folder: str | Path,
    input_camera: Camera | None,
    caption: str = "",
    seed: int = 0,
    anchors: int = ANCHORS,
    batch_size: int = BATCH_SIZE,
    anchored: bool = True,
    fps: float = 24.0,
    num_inference_steps: int = 30,
    guidance_scale: float = 4.0,
    negative_prompt: str | None = None,
    size: int | None = None,
    model: str = "",
    on_progress: Callable[[PathProgress], None] | None = None,
    generate: Generate | None = None,
    **call_kwargs,
) -> PathResult:
    """The one call: plan the path, sample it batch by batch writing each frame to ``folder/frames`` as it is
    made, then write ``video.mp4``, ``preview.gif``, ``cameras.json``, ``transforms.json``, ``run.json`` and
    ``frames.zip`` of what was made (all of it, or what was done when Stop came). ``image`` None: from the
    caption alone. ``size``: the square frames' side (default: the model's native side). ``generate`` runs a
    batch instead of ``pipe`` itself (the app's, on its GPU turn); ``call_kwargs`` go to ``pipe`` otherwise."""
    check_distinct(cameras)
    if not 1 <= fps <= 60:
        raise ValueError(f"`fps` must be from 1 to 60 frames a second, got {fps!r}.")
    if image is None and not caption.strip():
        raise ValueError("Give a photo, or a caption to make the path from.")
    side = size or pipe.native_side
    plan = plan_path(cameras, seed, anchors, batch_size, anchored, from_image=image is not None)
    out = path_files.PathFolder(Path(folder))
    prompt = task_prompt("multiview", caption)
    seeds = {view: batch.seed for batch in plan.batches for view in batch.targets}

    def keep(view: int, frame: Image.Image) -> None:
        settings = ResultSettings(
            prompt, seeds[view], num_inference_steps, guidance_scale, side, side, negative_prompt or "", "orbit", model
        )
        out.add(view, frame, settings)

    generate = generate or pipeline_batches(
        pipe, num_inference_steps=num_inference_steps, guidance_scale=guidance_scale,
        negative_prompt=negative_prompt, height=side, width=side, **call_kwargs,
    )  # fmt: skip
    sample_path(generate, image, input_camera, cameras, plan, keep, caption, on_progress)
    return finish(out, plan, list(cameras), side, fps)


def finish(out: path_files.PathFolder, plan: PathPlan, cameras: list[Camera], side: int, fps: float) -> PathResult:
    """The video, GIF, JSON files and zip of the frames made; none of the media when no frame was."""
    frames = out.frames()
    made = sorted(out.made)
    run = {"frames": len(frames), "of": plan.views, "complete": len(frames) == plan.views, "fps": fps}
    extra = {
        "run.json": {**run, "plan": plan.as_dict()},
        "cameras.json": path_files.cameras_json(cameras, plan.anchors, out.made),
        "transforms.json": path_files.transforms(cameras, side, side, made),
    }
    for name, data in extra.items():
        (out.root / name).write_text(json.dumps(data, indent=1))
    if not frames:
        return PathResult(out.root, plan, frames, None, None, None)
    video = path_files.write_mp4(frames, fps, out.root / "video.mp4")
    gif = path_files.write_gif(frames, fps, out.root / "preview.gif")
    stem = "frames" if run["complete"] else f"frames-{len(frames)}-of-{plan.views}"
    archive = path_files.write_zip(out, out.root / f"{stem}.zip", extra)
    return PathResult(out.root, plan, frames, video, gif, archive)
