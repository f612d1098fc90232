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
from .slots import multiview_slots

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
) -> PathPlan:
    """The plan for ``cameras``: with ``anchored``, ``anchors`` views spread over the path, generated first from
    the input (``batch_size`` at a time), then the others grouped by their nearest anchor (by viewing angle),
    ``batch_size`` at a time in path order, each batch given the input and that anchor. Each view is generated
    once; batch k's seed is ``seed + k``."""
    views = len(cameras)
    if not 1 <= batch_size <= 7:
        raise ValueError(f"`batch_size` must be 1 to 7 views (a batch is one multiview call), got {batch_size!r}.")
    if anchored and not 1 <= anchors <= views:
        raise ValueError(f"`anchors` must be 1 to the number of views ({views}), got {anchors!r}.")
    groups: list[tuple[tuple[int, ...], tuple[int, ...]]] = []
    chosen = spread(anchors, views) if anchored else ()
    groups += [(targets, (INPUT,)) for targets in _chunks(chosen, batch_size)]
    rest = [v for v in range(views) if v not in chosen]
    if anchored:
        nearest = {v: min(chosen, key=lambda a: (viewing_angle_deg(cameras[v], cameras[a]), abs(a - v))) for v in rest}
        for anchor in chosen:
            mine = [v for v in rest if nearest[v] == anchor]
            groups += [(targets, (INPUT, anchor)) for targets in _chunks(mine, batch_size)]
    else:
        groups += [(targets, (INPUT,)) for targets in _chunks(rest, batch_size)]
    batches = tuple(PathBatch(targets, conditions, seed + k) for k, (targets, conditions) in enumerate(groups))
    return PathPlan(views, chosen, batches)


@dataclass
class PathProgress:
    """Where a run stands: views done of the total, and the batch just finished."""

    done: int
    total: int
    batch: int
    batches: int


def sample_path(
    pipe,
    image: ImageInput,
    input_camera: Camera,
    cameras: Sequence[Camera],
    plan: PathPlan,
    on_frame: Callable[[int, Image.Image], None],
    caption: str = "",
    on_progress: Callable[[PathProgress], None] | None = None,
    **call_kwargs,
) -> int:
    """Run ``plan`` over ``cameras`` with ``pipe``: each batch is one multiview call (the input photo and its
    camera first, then the given anchors, then the targets), and each finished view goes to
    ``on_frame(index, image)`` at once. Stops after the batch in flight when ``pipe._interrupt`` is set (a step
    callback sets it); returns how many views were made. ``call_kwargs`` go to every call (steps, guidance,
    negative prompt, size, a step callback)."""
    photo = to_rgb(image)
    anchors: dict[int, Image.Image] = {}  # the only frames kept in memory: later batches are given them
    done = 0
    for number, batch in enumerate(plan.batches, start=1):
        given = [photo] + [anchors[v] for v in batch.conditions if v != INPUT]
        given_cameras = [input_camera] + [cameras[v] for v in batch.conditions if v != INPUT]
        views = multiview_slots(
            given + [None] * len(batch.targets), given_cameras + [cameras[v] for v in batch.targets]
        )
        out = pipe(
            task_prompt("multiview", caption),
            views=views,
            generator=torch.Generator("cpu").manual_seed(batch.seed),
            output_type="pil",
            **call_kwargs,
        )
        if pipe.interrupt:
            break
        for view, frame in zip(batch.targets, out.images):
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
    image: ImageInput,
    cameras: Sequence[Camera],
    folder: str | Path,
    input_camera: Camera,
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
    **call_kwargs,
) -> PathResult:
    """The one call: plan the path, sample it batch by batch writing each frame to ``folder/frames`` as it is
    made, then write ``video.mp4``, ``preview.gif``, ``cameras.json``, ``transforms.json``, ``run.json`` and
    ``frames.zip`` of what was made (all of it, or what was done when Stop came). ``size``: the square frames'
    side (default: the model's native side)."""
    check_distinct(cameras)
    if not 1 <= fps <= 60:
        raise ValueError(f"`fps` must be from 1 to 60 frames a second, got {fps!r}.")
    side = size or pipe.native_side
    plan = plan_path(cameras, seed, anchors, batch_size, anchored)
    out = path_files.PathFolder(Path(folder))
    prompt = task_prompt("multiview", caption)
    seeds = {view: batch.seed for batch in plan.batches for view in batch.targets}

    def keep(view: int, frame: Image.Image) -> None:
        settings = ResultSettings(
            prompt, seeds[view], num_inference_steps, guidance_scale, side, side, negative_prompt or "", "orbit", model
        )
        out.add(view, frame, settings)

    sample_path(
        pipe, image, input_camera, cameras, plan, keep, caption, on_progress,
        num_inference_steps=num_inference_steps, guidance_scale=guidance_scale, negative_prompt=negative_prompt,
        height=side, width=side, **call_kwargs,
    )  # fmt: skip
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
