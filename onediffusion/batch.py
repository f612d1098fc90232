"""Batch runs: every task preset over a folder of images, a file of prompts or a JSONL file of task specs.

    python -m onediffusion.batch image2depth --input photos/ --output depth/ --steps 30
    python -m onediffusion.batch text2image --input prompts.txt --output out/ --seed 7 --batch-size 4
    accelerate launch --num_processes 4 -m onediffusion.batch --input specs.jsonl --output out/

Outputs are PNGs named after their inputs, carrying their settings (``metadata.py``), and one line per
item in ``manifest.jsonl``. An item's seed is its own (JSONL ``seed``) or ``--seed`` plus its index in
the whole input, drawn on the CPU, so neither ``--batch-size`` nor the number of processes changes a
result. Items whose outputs exist are skipped (an interrupted run resumes); bad items are reported and
skipped; the exit status is 1 only when every item failed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from PIL import Image
from tqdm import tqdm

from . import camera_paths as paths
from . import camera_presets as cams
from .cameras import Camera
from .defaults import ModelDefaults
from .grid import Grid, parse_axis, run_task_grid
from .images import to_rgb
from .metadata import ResultSettings, save_png, typed_fields
from .prompts import MAX_PROMPT_TOKENS, fallback_negative_prompt, task_prompt, token_count
from .serving import Settings, load_pipeline
from .slots import CameraSlot, ImageSlot
from .tables import InputError, labels, parse_size
from .tasks import TASKS, TaskSpec, build_task
from .trajectory import make_path
from .upscale import enlarged, plan_upscale

MANIFEST = "manifest.jsonl"
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".gif"}
# How each task parameter is given on the command line and in JSONL: one path, paths, text, texts,
# class labels ("sword:yellow,head") or cameras ("0,0,1.7;90,0,1.7": azimuth, elevation, distance).
PARAM_KINDS = {
    "caption": "text", "instruction": "text", "target_caption": "text", "source_caption": "text", "item": "text",
    "image": "path", "condition": "path", "mask": "path", "images": "paths", "references": "paths",
    "reference_captions": "texts", "labels": "labels", "cameras": "cameras",
}  # fmt: skip
PROMPT_PARAMS = ("caption", "instruction", "target_caption")  # where a prompt goes: the first the task takes
SINGLE_IMAGE_PARAMS = ("image", "condition")
_KIND_WORDS = {"int": "a whole number", "float": "a number", "str": "text", "list": "a list"}
# Tasks of more than one pipeline call, each item run alone with the command's options for them: upscaling
# (enlarged, then restored window by window: onediffusion.upscale) and a camera path (onediffusion.trajectory).
PATH_TASK = "orbit"
RUN_ALONE = ("upscaling", PATH_TASK)
PATH_PRESETS = ("orbit", "front sweep", "spiral", "zoom")
SPEC_KEYS = {"task", "name", "prompt", "images", "seed", "steps", "guidance", "size", "negative_prompt"}


@dataclass
class Item:
    """One input of the run, as read: the task's inputs still raw (paths, label and camera text)."""

    index: int
    name: str
    source: str
    task: str | None
    inputs: dict = field(default_factory=dict)
    seed: int | None = None  # None until read_items numbers it
    steps: int | None = None
    guidance: float | None = None
    size: str | None = None  # "WxH"
    negative_prompt: str | None = None
    error: str | None = None


@dataclass
class Job:
    """An item ready to run: its task spec, settings and output file names."""

    item: Item
    spec: TaskSpec
    settings: ResultSettings
    outputs: list[str]
    sampling: str = "exact"  # or the step cache's preset (``--fast``)


TASK_NAMES = [*TASKS, PATH_TASK]


def task_params(task: str) -> tuple[str, ...]:
    """What a task takes: its preset's parameters, or a camera path's photo and caption."""
    return ("image", "caption") if task == PATH_TASK else TASKS[task].params


# 1. Reading the input ----------------------------------------------------------------------------


def read_items(path: Path, task: str | None, options: dict, seed: int) -> list[Item]:
    """Items of a folder of images, a text file of prompts (one per line) or a JSONL file of specs."""
    if path.is_dir():
        items = _folder_items(path, task, options)
    elif path.suffix.lower() == ".jsonl":
        items = _jsonl_items(path, task, options)
    else:
        items = _prompt_items(path, task, options)
    _unique_names(items)
    for item in items:
        if item.seed is None:
            item.seed = seed + item.index  # by position in the whole input: the same in any process
    return items


def _folder_items(folder: Path, task: str | None, options: dict) -> list[Item]:
    params = task_params(task) if task in TASK_NAMES else ()
    slot = next((p for p in SINGLE_IMAGE_PARAMS if p in params), None)
    if slot is None:
        raise ValueError(f"Task {task!r} does not take one image per item: give a prompts or JSONL file instead.")
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    return [Item(i, path.stem, str(path), task, {**options, slot: str(path)}) for i, path in enumerate(files)]


def _prompt_items(path: Path, task: str | None, options: dict) -> list[Item]:
    params = task_params(task) if task in TASK_NAMES else ()
    slot = next((p for p in PROMPT_PARAMS if p in params), None)
    if slot is None:
        raise ValueError(f"Task {task!r} takes no prompt: give a folder of images or a JSONL file instead.")
    lines = [(n, line.strip()) for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)]
    prompts = [(n, line) for n, line in lines if line and not line.startswith("#")]
    return [
        Item(i, f"{n:04d}-{_slug(text)}", f"{path}:{n}", task, {**options, slot: text})
        for i, (n, text) in enumerate(prompts)
    ]


def _jsonl_items(path: Path, task: str | None, options: dict) -> list[Item]:
    lines = [(n, line) for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if line.strip()]
    items = []
    for i, (n, line) in enumerate(lines):
        item = Item(i, f"{n:04d}", f"{path}:{n}", task)
        try:
            _fill_from_spec(item, _json_object(line), path.parent, options)
        except ValueError as err:
            item.error = f"line {n}: {err}"
        items.append(item)
    return items


def _json_object(line: str) -> dict:
    try:
        spec = json.loads(line)
    except json.JSONDecodeError as err:
        raise ValueError(f"not JSON ({err.msg} at column {err.colno}).") from None
    if not isinstance(spec, dict):
        raise ValueError(f"a spec must be a JSON object, got {type(spec).__name__}.")
    return spec


def _fill_from_spec(item: Item, spec: dict, folder: Path, options: dict) -> None:
    """A JSONL spec -> the item's task, inputs and settings (relative image paths from the file's folder)."""
    item.task = spec.get("task", item.task)
    if item.task is None:
        raise ValueError("no task: name it in the line (`task`) or on the command line.")
    if item.task not in TASK_NAMES:
        raise ValueError(f"unknown task {item.task!r}; tasks: {', '.join(TASK_NAMES)}.")
    params = task_params(item.task)
    unknown = set(spec) - SPEC_KEYS - set(params)
    if unknown:
        raise ValueError(f"unknown keys {sorted(unknown)} for task {item.task!r}.")
    typed = _typed(spec)
    inputs = {k: v for k, v in options.items() if k in params}
    inputs.update({k: spec[k] for k in params if k in spec})
    if "prompt" in spec:
        inputs[next(p for p in PROMPT_PARAMS if p in params)] = typed["prompt"]  # every task takes one
    if "images" in spec:
        inputs.update(_place_images(item.task, typed["images"]))
    for key in [k for k in inputs if PARAM_KINDS[k] in ("path", "paths")]:
        inputs[key] = _resolve(inputs[key], folder)
    item.inputs = inputs
    item.name = str(spec.get("name") or f"{item.name}-{item.task}")
    item.seed, item.steps, item.guidance = typed.get("seed"), typed.get("steps"), typed.get("guidance")
    item.negative_prompt = typed.get("negative_prompt")
    size = typed.get("size")
    item.size = "x".join(str(v) for v in size) if isinstance(size, list) else size


def _typed(spec: dict) -> dict:
    """The spec's settings, typed by the rule result files are read by (``metadata.TypedFields``); the first
    that is not what it should be raises ValueError naming it."""
    values, wrong = typed_fields(spec)
    if wrong:
        name, kinds = next(iter(wrong.items()))
        words = " or ".join(_KIND_WORDS[kind] for kind in kinds)
        raise ValueError(f"`{name}` must be {words}, got {spec[name]!r}.")
    return values


def _place_images(task: str, images: list) -> dict:
    """A spec's ``images`` list -> the task's image parameters, in their order."""
    params = task_params(task)
    for many in ("images", "references"):
        if many in params:
            return {many: images}
    slots = [p for p in params if PARAM_KINDS.get(p) == "path"]
    if len(images) > len(slots):
        raise ValueError(
            f"task {task!r} takes {len(slots)} image(s) ({', '.join(slots) or 'none'}), got {len(images)}."
        )
    return dict(zip(slots, images))


def _resolve(value, folder: Path):
    if isinstance(value, list):
        return [_resolve(v, folder) for v in value]
    if not isinstance(value, str):
        raise ValueError(f"image paths must be strings, got {value!r}.")
    return str(folder / value) if not Path(value).is_absolute() else value


def _slug(text: str, most: int = 40) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")[:most].rstrip("-").lower() or "item"


def _unique_names(items: list[Item]) -> None:
    """Safe file names, made unique in input order (so every process derives the same ones)."""
    seen: set[str] = set()
    for item in items:
        base = re.sub(r"[^\w.-]+", "_", item.name).strip("._") or f"{item.index:04d}"
        name, k = base, 2
        while name.lower() in seen:
            name, k = f"{base}-{k}", k + 1
        seen.add(name.lower())
        item.name = name


# 2. Preparing an item: its images, labels and cameras, the task spec, the settings the app would use ------


@dataclass
class Run:
    """What every item of a run shares: the pipeline, the model's defaults and the command line."""

    pipe: object
    model: str
    defaults: ModelDefaults  # of the loaded model
    output: Path
    negative_prompt: str
    steps: int | None = None
    guidance: float | None = None
    size: str | None = None
    batch_size: int = 1
    overwrite: bool = False
    alone: dict = field(default_factory=dict)  # upscaling's and camera paths' options (--factor, --views, ...)
    grid: Grid | None = None  # --x-axis/--y-axis: every item run as a compare grid


def prepare(item: Item, run: Run) -> Job:
    """The item's task spec and full settings: its own values, else the command line's, else the model's."""
    if item.task in RUN_ALONE:
        if run.grid is not None:
            raise ValueError(f"task {item.task} cannot run as a grid: a grid's cells are one pipeline call each.")
        return prepare_alone(item, run)
    try:
        spec = build_task(item.task, **_convert(item.task, item.inputs, run))
    except TypeError as err:  # a required input left out, e.g. editing's instruction
        message = str(err).split(") ", 1)[-1]
        raise ValueError(f"task {item.task} {message}; it takes {', '.join(TASKS[item.task].params)}.") from None
    steps = _first(item.steps, run.steps, run.defaults.steps)
    guidance = _first(item.guidance, run.guidance, run.defaults.guidance_for(item.task))
    negative = _first(item.negative_prompt, run.negative_prompt)
    height, width = _size(spec, item.size or run.size, run)
    for what, text in (("prompt", spec.prompt), ("negative prompt", negative)):
        count = token_count(run.pipe.tokenizer, text)
        if count > MAX_PROMPT_TOKENS:
            raise ValueError(f"the {what} is {count} tokens long; the model reads at most {MAX_PROMPT_TOKENS}.")
    settings = ResultSettings(
        spec.prompt, item.seed, steps, float(guidance), width, height, negative, item.task, run.model
    )
    if run.grid is not None:
        run.grid.check_prompt(spec.prompt)
        outputs = [f"{item.name}_grid.png"]
    else:
        outputs = _output_names(item, spec)
    return Job(item, spec, settings, outputs, getattr(run.pipe, "cache_setting", None) or "exact")


def _first(*values):
    return next(value for value in values if value is not None)


def _convert(task: str, raw: dict, run: Run) -> dict:
    """Raw inputs -> build_task's: images opened, label and camera tables read as the app reads its tables."""
    camera = run.defaults.camera
    converted = {}
    for key, value in raw.items():
        kind = PARAM_KINDS[key]
        if kind == "path":
            converted[key] = _open(value)
        elif kind == "paths":
            converted[key] = [_open(v) for v in _as_list(value, key)]
        elif kind == "labels":
            converted[key] = labels(_rows(value, ",", ":", ("name", "color")))
        elif kind == "cameras":
            views = cams.rows_to_views(_rows(value, ";", ","), distance=camera.distance)
            converted[key] = cams.views_to_cameras(views, camera.focal_length)
        else:
            converted[key] = [str(v) for v in _as_list(value, key)] if kind == "texts" else str(value)
    if "cameras" in task_params(task) and "cameras" not in converted:  # the app's default table
        views = cams.rows_to_views(cams.preset_rows(cams.DEFAULT_PRESET, camera), distance=camera.distance)
        converted["cameras"] = cams.views_to_cameras(views, camera.focal_length)
    _check_sizes(raw, converted)
    return converted


def _open(path: str) -> Image.Image:
    try:
        return to_rgb(path)
    except (OSError, ValueError) as err:
        raise ValueError(f"cannot read the image {path}: {err}") from None


def _as_list(value, key: str) -> list:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ValueError(f"`{key}` must be a list, got {value!r}.")
    return list(value)


def _rows(value, row_sep: str, cell_sep: str, keys: tuple[str, ...] = ("azimuth", "elevation", "distance")) -> list:
    """A table as text ("a:b,c:d"), a list of such strings, of lists, or of dicts with ``keys``."""
    rows = value.split(row_sep) if isinstance(value, str) else _as_list(value, "table")
    table = []
    for row in rows:
        if isinstance(row, dict):
            table.append([row.get(k, row.get("colour")) if k == "color" else row.get(k) for k in keys])
        elif isinstance(row, str):
            table.append([cell.strip() for cell in row.split(cell_sep)])
        else:
            table.append(list(row) if isinstance(row, Sequence) else [row])
    return table


def _check_sizes(raw: dict, converted: dict) -> None:
    """The images of one item (a photo and its mask, the photos of one object) must share one size:
    each would be stretched to the target size on its own, and no longer line up."""
    sizes = {}
    for key in raw:
        if PARAM_KINDS[key] == "path":
            sizes[raw[key]] = converted[key].size
        elif PARAM_KINDS[key] == "paths":
            sizes.update(zip(raw[key], (image.size for image in converted[key])))
    if len(set(sizes.values())) > 1:
        listed = ", ".join(f"{Path(p).name} is {w}x{h}" for p, (w, h) in sizes.items())
        raise ValueError(f"the images of one item must have one size: {listed}.")


def prepare_alone(item: Item, run: Run) -> Job:
    """An upscaling or camera-path item: its photo, the size it makes, and its settings."""
    converted = _convert("upscaling", item.inputs, run)  # the same inputs: a photo and a caption
    photo, caption = converted["image"], converted.get("caption", "")
    steps = _first(item.steps, run.steps, run.defaults.steps)
    guidance = float(_first(item.guidance, run.guidance, run.defaults.guidance))
    negative = _first(item.negative_prompt, run.negative_prompt)
    if item.task == "upscaling":
        options = run.alone
        plan = plan_upscale(
            photo.size, run.pipe.native_side, options.get("factor", 2), None, options.get("tile"),
            options.get("overlap"), run.pipe.vae_scale_factor,
        )  # fmt: skip
        spec = build_task("upscaling", image=enlarged(photo, plan), caption=caption)
        settings = ResultSettings(
            spec.prompt, item.seed, steps, guidance, plan.width, plan.height, negative, item.task, run.model
        )
        return Job(item, spec, settings, [f"{item.name}.png"])
    side = run.pipe.native_side
    spec = TaskSpec(PATH_TASK, task_prompt("multiview", caption), [ImageSlot.condition(photo)])
    settings = ResultSettings(spec.prompt, item.seed, steps, guidance, side, side, negative, item.task, run.model)
    return Job(item, spec, settings, [f"{item.name}_{PATH_TASK}/video.mp4"])


def run_alone(job: Job, run: Run) -> None:
    """Run an upscaling or camera-path item and write its files (an upscale as one PNG with its settings; a
    path as a folder of frames, video, GIF, cameras and zip)."""
    st, options = job.settings, run.alone
    call = {
        "num_inference_steps": st.steps,
        "guidance_scale": st.guidance,
        "negative_prompt": st.negative_prompt or None,
    }
    photo = job.spec.views[1 if job.item.task == "upscaling" else 0].image
    if job.item.task == "upscaling":
        plan = plan_upscale((st.width, st.height), run.pipe.native_side, None, (st.width, st.height),
                            options.get("tile"), options.get("overlap"), run.pipe.vae_scale_factor)  # fmt: skip
        kwargs = {**job.spec.kwargs(), **call, "height": st.height, "width": st.width, "tiling": plan.tiling}
        out = run.pipe(**kwargs, generator=torch.Generator("cpu").manual_seed(st.seed), output_type="pil")
        write_outputs(job, out.images, None, run)
        return
    defaults = run.defaults.camera
    views = int(options.get("views", 24))
    make = paths.PRESETS[options.get("path", "orbit")]
    cameras = make(views, distance=defaults.distance, focal_length=defaults.focal_length)
    front = Camera.orbit(0.0, defaults.elevation, defaults.distance, defaults.focal_length)
    folder = run.output / f"{job.item.name}_{PATH_TASK}"
    caption = job.spec.prompt.removeprefix(task_prompt("multiview", "")).strip()
    make_path(
        run.pipe, photo, cameras, folder, front, caption, st.seed, int(options.get("anchors", 3)),
        int(options.get("views_per_batch", 3)), fps=float(options.get("fps", 24)), size=st.width, model=run.model,
        **call,
    )  # fmt: skip


def run_grid_job(job: Job, run: Run) -> None:
    """An item as a compare grid (``onediffusion.grid``): the labelled grid PNG carrying every cell's settings,
    and each cell's images as result PNGs in a folder beside it."""
    st = job.settings
    result = run_task_grid(
        run.pipe, job.spec, run.grid, steps=st.steps, guidance=st.guidance, seed=st.seed, size=(st.height, st.width),
        negative_prompt=st.negative_prompt, model=run.model,
    )  # fmt: skip
    result.save(run.output / job.outputs[0])
    folder = run.output / f"{job.item.name}_grid"
    folder.mkdir(exist_ok=True)
    for done in result.cells:
        for k, image in enumerate(done.images):
            save_png(image, folder / f"cell-{done.cell.index + 1:02d}-{k}.png", done.settings)


def _size(spec: TaskSpec, size: str | None, run: Run) -> tuple[int, int]:
    """(height, width): the one asked for, else the app's: the aspect-ratio entry nearest the first
    given image at the model's native side, or a native square."""
    return spec.size(run.pipe.native_side, parse_size(size) if size is not None else None)


def _output_names(item: Item, spec: TaskSpec) -> list[str]:
    outputs = TASKS[item.task].outputs
    if outputs == "cameras":
        return [f"{item.name}_cameras.json"]
    targets = sum(1 for s in spec.views if isinstance(s, ImageSlot) and s.is_target)
    if outputs == "views":
        return [f"{item.name}_view{i:02d}.png" for i in range(1, targets + 1)]
    return [f"{item.name}.png"]


# 3. Running: groups of one shape in one pipeline call, outputs written atomically -----------------------


def shape_key(job: Job) -> tuple:
    """Jobs with equal keys can share a pipeline call. The pipeline takes one list of prompts and one
    generator per sample, but a single list of view slots for the whole batch (and encodes condition
    images with the first generator), so only items without condition images are grouped."""
    views = job.spec.views
    if any(isinstance(s, ImageSlot) and not s.is_target for s in views):
        return ("alone", job.item.index)
    cameras = tuple(
        (s.role, None if s.camera is None else (s.camera.c2w.tobytes(), s.camera.focal_length))
        for s in views
        if isinstance(s, CameraSlot)
    )
    st = job.settings
    return (st.task, st.height, st.width, st.steps, st.guidance, cameras)


def groups(jobs: list[Job], batch_size: int) -> list[list[Job]]:
    """Jobs by shape, in input order, cut into calls of at most ``batch_size``."""
    by_key: dict[tuple, list[Job]] = {}
    for job in jobs:
        by_key.setdefault(shape_key(job), []).append(job)
    return [same[i : i + batch_size] for same in by_key.values() for i in range(0, len(same), batch_size)]


def run_group(pipe, jobs: list[Job]) -> list[tuple[list[Image.Image], list | None]]:
    """One pipeline call for jobs of one shape: for each, its images and (camera tasks) its cameras."""
    first = jobs[0].settings
    # Each call encodes its own texts together, so an item's numbers never depend on what ran before it.
    pipe.clear_prompt_cache()
    out = pipe(
        prompt=[job.spec.prompt for job in jobs],
        views=jobs[0].spec.views,
        height=first.height,
        width=first.width,
        num_inference_steps=first.steps,
        guidance_scale=first.guidance,
        negative_prompt=[job.settings.negative_prompt for job in jobs],
        generator=[torch.Generator("cpu").manual_seed(job.settings.seed) for job in jobs],
        output_type="pil",
    )
    per = len(out.images) // len(jobs)
    return [(out.images[k * per : (k + 1) * per], out.cameras[k] if out.cameras else None) for k in range(len(jobs))]


def write_outputs(job: Job, images: list[Image.Image], cameras: list | None, run: Run) -> None:
    """The job's files; an existing file is kept unless ``overwrite``. Each is written to a temporary
    name first, so an interrupted run never leaves a half file that would count as done."""
    payloads = list(zip(job.outputs, images))
    if cameras is not None and job.outputs[0].endswith(".json"):
        data = {
            **job.settings.as_dict(),
            "cameras": [{"c2w": c.c2w.tolist(), "focal_length": c.focal_length} for c in cameras],
        }
        payloads = [(job.outputs[0], json.dumps(data, indent=2))]
    for name, payload in payloads:
        path = run.output / name
        if path.exists() and not run.overwrite:
            continue
        partial = path.with_name(f".{name}.{os.getpid()}.part")
        if isinstance(payload, str):
            partial.write_text(payload, encoding="utf-8")
        else:
            save_png(payload, partial, job.settings)
        os.replace(partial, path)


def manifest_line(item: Item, status: str, job: Job | None = None, error: str | None = None) -> dict:
    """One item of the manifest: its input, every setting (as the app's downloads carry them), its outputs."""
    line: dict = {"index": item.index, "name": item.name, "input": item.source, "task": item.task, "seed": item.seed}
    if job is not None:
        line.update(job.settings.as_dict(), sampling=job.sampling, outputs=job.outputs)
    line.update(status=status, error=error)
    return line


def process(items: list[Item], run: Run, bar: tqdm) -> list[dict]:
    """Run this process's items; one manifest line each, in input order."""
    lines: dict[int, dict] = {}
    jobs = []
    for item in items:
        try:
            if item.error:
                raise ValueError(item.error)
            job = prepare(item, run)
        except Exception as err:  # any bad input fails its item only, never the run
            lines[item.index] = _failed(item, str(err), bar)
            continue
        if not run.overwrite and all((run.output / name).exists() for name in job.outputs):
            lines[item.index] = manifest_line(item, "skipped", job, "its outputs exist (--overwrite to redo)")
            bar.update()
            continue
        jobs.append(job)
    alone = [job for job in jobs if run.grid is not None or job.item.task in RUN_ALONE]
    for job in alone:
        try:
            run_grid_job(job, run) if run.grid is not None else run_alone(job, run)
        except (ValueError, RuntimeError) as err:
            lines[job.item.index] = _failed(job.item, str(err), bar, job)
            continue
        lines[job.item.index] = manifest_line(job.item, "done", job)
        bar.update()
    jobs = [job for job in jobs if job not in alone]
    for group in groups(jobs, run.batch_size):
        try:
            results = run_group(run.pipe, group)
        except (ValueError, RuntimeError) as err:
            lines.update({job.item.index: _failed(job.item, str(err), bar, job) for job in group})
            continue
        for job, (images, cameras) in zip(group, results):
            write_outputs(job, images, cameras, run)
            lines[job.item.index] = manifest_line(job.item, "done", job)
        bar.update(len(group))
    return [lines[i] for i in sorted(lines)]


def _failed(item: Item, error: str, bar: tqdm, job: Job | None = None) -> dict:
    bar.write(f"{item.name}: failed, not run: {error}", file=sys.stderr)
    bar.update()
    return manifest_line(item, "failed", job, error)


# 4. The command ------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m onediffusion.batch",
        description="Run one OneDiffusion task over many inputs; `accelerate launch -m onediffusion.batch` "
        "splits them between processes and machines.",
    )
    parser.add_argument(
        "task",
        nargs="?",
        choices=TASK_NAMES,
        metavar="TASK",
        help=f"the task ({', '.join(TASK_NAMES)}); a JSONL spec may name its own.",
    )
    parser.add_argument(
        "--input",
        required=True,
        type=Path,
        help="a folder of images, a text file of prompts (one a line) or a .jsonl file of specs.",
    )
    parser.add_argument("--output", required=True, type=Path, help="the folder for the outputs and manifest.jsonl.")
    parser.add_argument("--model", help="a hub id or a folder (default: the app's; the demo model when unavailable).")
    parser.add_argument(
        "--dtype", choices=["float32", "float16", "bfloat16"], help="default: the app's for the device."
    )
    parser.add_argument("--steps", type=int, help="denoising steps (default: the model's).")
    parser.add_argument("--guidance", type=float, help="guidance scale (default: the model's for the task).")
    parser.add_argument("--seed", type=int, default=0, help="item i without its own seed gets SEED + i.")
    parser.add_argument("--size", help="WIDTHxHEIGHT (default: from the first input image, as the app picks).")
    parser.add_argument("--negative-prompt", help="default: the model's (the authors' for the published model).")
    parser.add_argument("--batch-size", type=int, default=1, help="items of one shape per pipeline call.")
    parser.add_argument(
        "--fast",
        action="store_true",
        help="step caching (onediffusion.caching's default preset): the full network at about half of the steps; "
        "images close to, not exactly, exact sampling's.",
    )
    parser.add_argument(
        "--quantize",
        choices=["int8"],
        help="the transformer's and text encoder's weights in 8 bits (computing in bfloat16 on a GPU, float32 on a CPU).",
    )
    parser.add_argument("--overwrite", action="store_true", help="redo items whose outputs exist, replacing them.")
    alone = parser.add_argument_group("upscaling and camera paths (orbit)")
    alone.add_argument("--factor", type=float, default=2.0, help="upscaling: how many times larger, 1 to 4.")
    alone.add_argument("--tile", type=int, help="upscaling: the window's side in pixels (default: the native side).")
    alone.add_argument("--overlap", type=int, help="upscaling: the windows' overlap in pixels (default: a quarter).")
    alone.add_argument("--path", choices=PATH_PRESETS, default="orbit", help="orbit: the camera path.")
    alone.add_argument("--views", type=int, default=24, help="orbit: how many views (frames), 2 to 240.")
    alone.add_argument("--fps", type=float, default=24.0, help="orbit: the video's frames a second.")
    alone.add_argument("--anchors", type=int, default=3, help="orbit: views made first from the photo.")
    alone.add_argument("--views-per-batch", type=int, default=3, help="orbit: views made at once after them.")
    grid = parser.add_argument_group("compare grids (every item run over up to two axes of settings)")
    grid.add_argument("--x-axis", choices=GRID_AXES, help="the setting the columns vary.")
    grid.add_argument("--x-values", help="its values: '1-8 (+1)', '2, 4, 6', '512x512, 768x512', 'red, blue'.")
    grid.add_argument("--y-axis", choices=GRID_AXES, help="the setting the rows vary (default: one row).")
    grid.add_argument("--y-values", help="its values, as --x-values.")
    task_options = parser.add_argument_group("task inputs (shared by every item; see each task's parameters)")
    for name, kind in PARAM_KINDS.items():
        many = kind in ("paths", "texts")
        task_options.add_argument(
            f"--{name.replace('_', '-')}",
            dest=name,
            nargs="+" if many else None,
            metavar=kind.upper().rstrip("S") if many else kind.upper(),
        )
    return parser


def _task_options(args: argparse.Namespace, parser: argparse.ArgumentParser) -> dict:
    options = {name: getattr(args, name) for name in PARAM_KINDS if getattr(args, name) is not None}
    if args.task is not None:
        taken = task_params(args.task)
        extra = [f"--{k.replace('_', '-')}" for k in options if k not in taken]
        if extra:
            parser.error(f"task {args.task} does not take {', '.join(extra)}; it takes {', '.join(taken)}.")
    elif not args.input.suffix.lower() == ".jsonl":
        parser.error("name the TASK: only a JSONL file's lines can name their own.")
    if args.size is not None:
        try:
            parse_size(args.size)
        except InputError as err:
            parser.error(str(err))
    if args.batch_size < 1 or (args.steps is not None and args.steps < 1):
        parser.error("--batch-size and --steps must be at least 1.")
    return options


# A grid's axes in batch: the task's own option (a Control condition, an Understanding estimate) is the app's;
# here each condition or estimate is an item of its own.
GRID_AXES = ("seed", "guidance", "steps", "size", "prompt")


def _grid(args: argparse.Namespace, parser: argparse.ArgumentParser) -> Grid | None:
    """The compare grid the command asks for, checked (bad values: one line, exit status 2); None for none."""
    if args.x_axis is None:
        if args.y_axis is not None or args.x_values is not None or args.y_values is not None:
            parser.error("a grid starts with --x-axis (and --x-values); --y-axis and --y-values add rows.")
        return None
    if args.task in RUN_ALONE:
        parser.error(f"task {args.task} cannot run as a grid: a grid's cells are one pipeline call each.")
    try:
        x = parse_axis(args.x_axis, args.x_values or "")
        y = parse_axis(args.y_axis, args.y_values or "") if args.y_axis is not None else None
        return Grid(x, y).check()
    except InputError as err:
        parser.error(str(err))


def load_run(args: argparse.Namespace, device: str) -> Run:
    """The model the app would serve (its loading, with the demo-model fallback) and its defaults."""
    model = {"model": args.model} if args.model else {}
    settings = Settings(device=device, dtype=args.dtype, quantize=args.quantize, fast=args.fast, **model)
    pipe, info = load_pipeline(settings)
    if info.is_fallback:
        print(f"Could not load {info.requested}: {info.fallback_reason} Using the demo model.", file=sys.stderr)
    pipe.set_progress_bar_config(disable=True)
    if args.fast:
        pipe.enable_cache()
    defaults = ModelDefaults.from_studio(pipe.studio)
    negative = args.negative_prompt
    if negative is None:  # as the app: the model's own, else the authors' when its tokenizer can take it
        negative = defaults.negative_prompt
    if negative is None:
        negative = fallback_negative_prompt(pipe.tokenizer)
    return Run(
        pipe,
        info.name,
        defaults,
        args.output,
        negative,
        args.steps,
        args.guidance,
        args.size,
        args.batch_size,
        args.overwrite,
        {name: getattr(args, name) for name in ALONE_OPTIONS},
    )


ALONE_OPTIONS = ("factor", "tile", "overlap", "path", "views", "fps", "anchors", "views_per_batch")


def write_manifest(output: Path, lines: list[dict]) -> list[dict]:
    """Every process's lines -> one manifest.jsonl in input order, written whole or not at all."""
    lines = sorted(lines, key=lambda line: line["index"])
    partial = output / f".{MANIFEST}.part"
    partial.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    os.replace(partial, output / MANIFEST)
    return lines


def summary(lines: list[dict], output: Path) -> int:
    """Print the counts; the exit status: 1 only when every item failed."""
    counts = {status: sum(line["status"] == status for line in lines) for status in ("done", "skipped", "failed")}
    where = f"; see {output / MANIFEST}" if counts["failed"] else ""
    print(
        f"{len(lines)} items: {counts['done']} done, {counts['skipped']} skipped (outputs exist), "
        f"{counts['failed']} failed{where}.",
        file=sys.stderr,
    )
    return 1 if lines and counts["failed"] == len(lines) else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    options = _task_options(args, parser)
    grid = _grid(args, parser)
    try:
        items = read_items(args.input, args.task, options, args.seed)
    except (OSError, ValueError) as err:
        parser.error(str(err))
    if not items:
        parser.error(f"{args.input} holds no items.")
    from accelerate import PartialState  # one process, or one of those `accelerate launch` started
    from accelerate.utils import gather_object

    # PartialState reads ACCELERATE_USE_CPU only when told: without it, processes launched on a machine
    # without GPUs would each run every item alone instead of sharing them over gloo.
    state = PartialState(cpu=os.environ.get("ACCELERATE_USE_CPU", "").lower() in ("1", "true", "yes"))
    run = load_run(args, str(state.device))
    run.grid = grid
    args.output.mkdir(parents=True, exist_ok=True)
    with state.split_between_processes(items) as mine:
        rank = state.process_index
        label = f"process {rank}" if state.num_processes > 1 else "batch"
        with tqdm(total=len(mine), unit="item", desc=label, position=rank, file=sys.stderr) as bar:
            lines = process(mine, run, bar)
    lines = gather_object(lines)  # every process's lines, on every process (one process: its own)
    if not state.is_main_process:
        return 0
    return summary(write_manifest(args.output, lines), args.output)


if __name__ == "__main__":
    sys.exit(main())
