"""Evaluate a model of the procedural world on held-out scenes, task by task, against trivial baselines.

    python -m onediffusion.mini.evaluate [--model assets/onediffusion-mini] [--samples 24] [--json]

| task | metric | baseline | passes when |
|---|---|---|---|
| text2image | colour accuracy of the named object | chance (1/8) | >= 3x chance |
| semanticmap2image | colour accuracy of each object in its mask | chance (1/8) | >= 3x chance |
| image2depth | AbsRel after scale-and-shift alignment | a constant depth | <= half |
| image2semanticmap | IoU of each named object's mask | empty or whole-image mask | >= 2x |
| image2multiview | PSNR of novel views | copying the input view | >= +1.5 dB |
| camera_estimation | median relative rotation error | the identity | <= half |
| upscaling | PSNR of a x2 upscale (tiled) against the truth | Lanczos | >= +1.5 dB |
| upscaling_x4 | PSNR of a x4 upscale (tiled) | Lanczos | reported |
| upscaling_tiles | PSNR of a x4 upscale in tiles | the same, untiled | not worse (0.1 dB) |
| upscaling_seams | gradient energy on a x2 upscale's tile borders over elsewhere | naive tiles, no overlap | below |
| orbit | PSNR of a 12-view orbit's frames against the true views, anchored | every view from the input | not worse |

Upscaling's truth is the scene rendered at 4 times the native size; the photos to upscale are that render shrunk
(Lanczos) to the native size, or to half of it for the tiled-against-untiled comparison.

Held-out scenes come from seeds the trainer never uses: the test scenes (``HELD_OUT``) for the
figures, and validation scenes (``VALIDATION``, ``--split validation``) for choosing settings such
as each task's guidance (``GUIDANCE``, ``--guidance``), so that the test scenes choose nothing.
Masks in semantic prompts get colours other than their objects' own, so copying a colour from the
map scores nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from .. import camera_paths
from ..caching import CACHE_PRESETS, BlockCounter
from ..cameras import Camera, rotation_angle_deg
from ..conditions import enlarge
from ..prompts import COLOR_NAMES, Label
from ..tasks import build_task
from ..trajectory import pipeline_batches, plan_path, sample_path
from ..upscale import plan_upscale, upscale
from .world import OBJECT_COLORS, Scene, View, render, render_views, sample_cameras, sample_scene

HELD_OUT = 5_000_000  # training draws scene seeds below this; the test scenes start here
VALIDATION = 6_000_000  # other held-out scenes, for choosing settings (never the test scenes)
SPLITS = {"test": HELD_OUT, "validation": VALIDATION}  # the first seed of each split
# Guidance per task (the evaluation's, not the presets'); try others with --split validation.
GUIDANCE = {
    "text2image": 4.5,
    "semanticmap2image": 4.5,
    "image2depth": 3.0,
    "image2semanticmap": 3.0,
    "image2multiview": 1.0,
    "camera_estimation": 3.0,
    "upscaling": 3.0,
}
UPSCALE_MARGIN_DB = 1.5
ORBIT_VIEWS = 12  # an orbit of 12 views (4 batches after the 3 anchors) per scene
ORBIT_CAMERA = {"elevation": 25.0, "distance": 2.1, "focal": 1.3887}  # the Mini's camera (its studio.json)
TILES_TOLERANCE_DB = 0.1
PALETTE_RGB = {c: np.array([int(COLOR_NAMES[c][i : i + 2], 16) for i in (1, 3, 5)], float) for c in OBJECT_COLORS}
CHANCE = 1 / len(OBJECT_COLORS)


# Metrics: pure functions on arrays -------------------------------------------------------------


def saturated(rgb: np.ndarray) -> np.ndarray:
    """The pixels (over the last axis) of palette-coloured objects, not the grey floor and sky."""
    rgb = np.asarray(rgb, float)
    top, low = rgb.max(-1), rgb.min(-1)
    return (top > 40) & (top - low > 0.35 * top)


def dominant_color(rgb: np.ndarray, region: np.ndarray | None = None) -> str | None:
    """The palette colour of the saturated pixels (in ``region``, if given), judged on the lit
    quarter so shading cannot turn magenta into purple; None when nothing is saturated."""
    pixels = rgb.reshape(-1, 3).astype(float)
    if region is not None:
        pixels = pixels[region.reshape(-1)]
    pixels = pixels[saturated(pixels)]
    if len(pixels) == 0:
        return None
    lit = pixels[pixels.max(1) >= np.quantile(pixels.max(1), 0.75)].mean(0)
    errors = {}
    for name, c in PALETTE_RGB.items():
        s = np.clip(lit @ c / (c @ c), 0.6, 1.15)
        errors[name] = np.linalg.norm(lit - s * c)
    return min(errors, key=errors.get)


def abs_rel(pred_disparity: np.ndarray, depth: np.ndarray) -> float:
    """AbsRel of a predicted disparity map after least-squares scale-and-shift alignment to the
    true disparity, over pixels with a finite true depth."""
    valid = np.isfinite(depth) & (depth > 0)
    target = 1.0 / depth[valid]
    A = np.stack([pred_disparity[valid], np.ones(valid.sum())], 1)
    scale, shift = np.linalg.lstsq(A, target, rcond=None)[0]
    aligned = np.clip(scale * pred_disparity[valid] + shift, target.min() * 0.5, None)
    return float(np.mean(np.abs(1.0 / aligned - depth[valid]) / depth[valid]))


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


def color_masks(rgb: np.ndarray, colors: list[str]) -> list[np.ndarray]:
    """For each colour, the pixels nearer to it than to black and to the other colours."""
    refs = np.stack([np.zeros(3)] + [PALETTE_RGB[c] for c in colors])
    nearest = np.linalg.norm(rgb[..., None, :].astype(float) - refs, axis=-1).argmin(-1)
    return [nearest == k + 1 for k in range(len(colors))]


def seam_ratio(image: np.ndarray, borders: list[int], axis: int) -> float:
    """Mean squared brightness step across the pixel lines ``borders`` (between line b-1 and b along ``axis``:
    0 rows, 1 columns) over the mean step across every other line: about 1 where tiles leave no trace."""
    grey = np.asarray(image, float).mean(-1)
    steps = np.diff(grey, axis=axis) ** 2  # step k lies between lines k and k + 1
    per_line = steps.mean(axis=1 - axis)
    on = [b - 1 for b in borders if 0 < b < grey.shape[axis]]
    off = np.delete(per_line, on)
    return float(per_line[on].mean() / max(off.mean(), 1e-12))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(float) - b.astype(float)) ** 2)
    return float(10 * np.log10(255.0**2 / max(mse, 1e-10)))


# Held-out cases ----------------------------------------------------------------------------------


@dataclass
class Result:
    task: str
    metric: str
    ours: float
    baseline: float
    baseline_name: str
    passes: bool
    samples: int

    def __post_init__(self):  # plain Python numbers, so the result prints as JSON
        self.ours, self.baseline, self.passes, self.samples = (
            float(self.ours),
            float(self.baseline),
            bool(self.passes),
            int(self.samples),
        )


def shuffled_labels(scene: Scene, rng: np.random.Generator) -> list[Label]:
    """Labels "red sphere" whose mask colours are palette colours other than the objects' own."""
    while True:
        colors = list(rng.choice(OBJECT_COLORS, size=len(scene.objects), replace=False))
        if all(c != o.color for c, o in zip(colors, scene.objects)):
            return [Label(f"{o.color} {o.shape}", c) for o, c in zip(scene.objects, colors)]


def relative_rotation_errors(estimated: list[Camera], cameras: list[Camera]) -> tuple[list[float], list[float]]:
    """Rotation errors (degrees) of cameras 1.. estimated in the frame of the first against the true
    ones relative to the first, and those of guessing the identity."""
    frame = np.linalg.inv(cameras[0].c2w)
    ours, identity = [], []
    for est, true in zip(estimated[1:], cameras[1:]):
        relative = (frame @ true.c2w)[:3, :3]
        ours.append(rotation_angle_deg(est.c2w[:3, :3], relative))
        identity.append(rotation_angle_deg(np.eye(3), relative))
    return ours, identity


def mirrored(camera: Camera) -> Camera:
    """The camera in the mirrored convention, azimuth negated: the world reflected through its x-z plane and
    the camera's x axis flipped, so it stays a rotation (``Camera.orbit(-a, e, d)`` for ``Camera.orbit(a, e, d)``).
    What a sign slip in the ray or orbit code would give the model; a control for the novel-view evaluation."""
    reflect, flip = np.diag([1.0, -1.0, 1.0, 1.0]), np.diag([-1.0, 1.0, 1.0, 1.0])
    return Camera(reflect @ camera.c2w @ flip, camera.focal_length)


def _cameras(rng, n: int):
    """``n`` held-out orbit cameras: the training range of distances, one lens."""
    return sample_cameras(rng, n, distance=(1.9, 2.3), focal_length=(1.3887, 1.3887))


def _view(rng, n_objects=None, size=32) -> tuple[Scene, View]:
    scene = sample_scene(rng, n_objects)
    return scene, render(scene, _cameras(rng, 1)[0], size)


def _colour_accuracy(task: str, hits: list[bool]) -> Result:
    """The colour tasks' result: the share of objects drawn in their named colour, against chance."""
    accuracy = float(np.mean(hits))
    return Result(task, "colour accuracy", accuracy, CHANCE, "chance", accuracy >= 3 * CHANCE, len(hits))


class Evaluator:
    def __init__(
        self,
        pipe,
        samples: int = 24,
        steps: int = 30,
        seed: int = 0,
        split: str = "test",
        guidance: dict[str, float] | None = None,
    ):
        if split not in SPLITS:
            raise ValueError(f"`split` must be one of {list(SPLITS)}, got {split!r}.")
        self.pipe, self.samples, self.steps, self.seed = pipe, samples, steps, seed
        self.size = pipe.image_side
        self.base = SPLITS[split]
        self.guidance = {**GUIDANCE, **(guidance or {})}

    def rng(self, i: int) -> np.random.Generator:
        """The generator of held-out case ``i`` of this split."""
        return np.random.default_rng(self.base + i)

    def orbit_views(self, case: int) -> tuple[list[Camera], list[View]]:
        """Held-out case ``case`` of the multiview tasks: three orbit cameras around one scene, and its views."""
        rng = self.rng(case)
        scene = sample_scene(rng)
        cameras = _cameras(rng, 3)
        return cameras, render_views(scene, cameras, self.size)

    def run_task(self, spec, i: int, task: str):
        kwargs = {**spec.kwargs(), "guidance_scale": self.guidance[task]}  # the evaluation's, not the preset's
        return self.pipe(
            **kwargs,
            negative_prompt="",
            num_inference_steps=self.steps,
            height=self.size,
            width=self.size,
            output_type="np",
            generator=torch.Generator().manual_seed(self.seed + i),
        )

    def text2image(self) -> Result:
        hits = []
        for i in range(self.samples):
            scene = sample_scene(self.rng(i), 1)
            out = self.run_task(build_task("text2image", caption=scene.caption()), i, "text2image")
            hits.append(dominant_color(np.round(out.images[0] * 255)) == scene.objects[0].color)
        return _colour_accuracy("text2image", hits)

    def semanticmap2image(self) -> Result:
        hits = []
        for i in range(self.samples):
            rng = self.rng(1000 + i)
            scene, view = _view(rng)
            labels = shuffled_labels(scene, rng)
            lut = np.array([(0, 0, 0)] + [label.rgb for label in labels], np.uint8)
            spec = build_task(
                "semanticmap2image", condition=lut[view.ids], caption=scene.caption(view.camera), labels=labels
            )
            image = np.round(self.run_task(spec, i, "semanticmap2image").images[0] * 255)
            for k, obj in enumerate(scene.objects, start=1):
                if (view.ids == k).sum() >= 6:
                    hits.append(dominant_color(image, view.ids == k) == obj.color)
        return _colour_accuracy("semanticmap2image", hits)

    def image2depth(self) -> Result:
        ours, const = [], []
        for i in range(self.samples):
            _, view = _view(self.rng(2000 + i))
            pred = self.run_task(build_task("image2depth", image=view.rgb), i, "image2depth").images[0].mean(-1)
            ours.append(abs_rel(pred, view.depth))
            const.append(abs_rel(np.zeros_like(pred), view.depth))
        o, c = float(np.mean(ours)), float(np.mean(const))
        return Result(
            "image2depth", "AbsRel (scale-and-shift aligned)", o, c, "constant depth", o <= 0.5 * c, len(ours)
        )

    def image2semanticmap(self) -> Result:
        ours, whole = [], []
        for i in range(self.samples):
            rng = self.rng(3000 + i)
            scene, view = _view(rng)
            labels = shuffled_labels(scene, rng)
            spec = build_task("image2semanticmap", image=view.rgb, labels=labels)
            pred = np.round(self.run_task(spec, i, "image2semanticmap").images[0] * 255)
            for k, mask in enumerate(color_masks(pred, [label.color for label in labels]), start=1):
                truth = view.ids == k
                if truth.sum() >= 6:
                    ours.append(iou(mask, truth))
                    whole.append(iou(np.ones_like(truth), truth))
        o, w = float(np.mean(ours)), float(np.mean(whole))
        return Result("image2semanticmap", "IoU", o, w, "whole-image mask (empty: 0)", o >= 2 * w, len(ours))

    def image2multiview(self, swap_cameras: bool = False, mirror_cameras: bool = False) -> Result:
        """Novel views against the true ones. Controls (a model that ignored its cameras would not notice
        either): ``swap_cameras`` gives the two target cameras in the wrong order, ``mirror_cameras`` gives
        every camera with its azimuth negated (:func:`mirrored`)."""
        ours, copy = [], []
        for i in range(self.samples):
            cameras, views = self.orbit_views(4000 + i)
            given = [cameras[0], cameras[2], cameras[1]] if swap_cameras else cameras
            given = [mirrored(c) for c in given] if mirror_cameras else given
            out = self.run_task(build_task("image2multiview", image=views[0].rgb, cameras=given), i, "image2multiview")
            for pred, truth in zip(out.images, views[1:]):
                ours.append(psnr(np.round(pred * 255), truth.rgb))
                copy.append(psnr(views[0].rgb, truth.rgb))
        o, c = float(np.mean(ours)), float(np.mean(copy))
        return Result(
            "image2multiview", "PSNR of novel views (dB)", o, c, "copy the input view", o >= c + 1.5, len(ours)
        )

    def camera_estimation(self) -> Result:
        ours, identity = [], []
        for i in range(self.samples):
            cameras, views = self.orbit_views(5000 + i)
            out = self.run_task(build_task("camera_estimation", images=[v.rgb for v in views]), i, "camera_estimation")
            errors, guesses = relative_rotation_errors(out.cameras[0], cameras)
            ours += errors
            identity += guesses
        o, b = float(np.median(ours)), float(np.median(identity))
        return Result("camera_estimation", "median rotation error (deg)", o, b, "identity", o <= 0.5 * b, len(ours))

    # Upscaling ---------------------------------------------------------------------------------

    def upscale_case(self, case: int) -> dict[int, np.ndarray]:
        """Held-out case ``case`` of upscaling: one view rendered at 4 times the native size, and that render
        shrunk (Lanczos) to 2x, 1x and half the native size; by side in pixels."""
        scene, view = _view(self.rng(case), size=4 * self.size)
        return {
            side: np.asarray(enlarge(view.rgb, side, side)) for side in (2 * self.size, self.size, self.size // 2)
        } | {4 * self.size: view.rgb}

    def upscaled(self, photo: np.ndarray, factor: int, i: int, **tiles) -> np.ndarray:
        out = upscale(
            self.pipe,
            photo,
            factor,
            negative_prompt="",
            num_inference_steps=self.steps,
            guidance_scale=self.guidance["upscaling"],
            output_type="np",
            generator=torch.Generator().manual_seed(self.seed + i),
            **tiles,
        )
        return np.round(out.images[0] * 255)

    def _upscale_psnr(self, task: str, factor: int) -> Result:
        ours, lanczos = [], []
        for i in range(self.samples):
            truths = self.upscale_case(6000 + i)
            photo, truth = truths[self.size], truths[self.size * factor]
            ours.append(psnr(self.upscaled(photo, factor, i), truth))
            lanczos.append(psnr(np.asarray(enlarge(photo, self.size * factor, self.size * factor)), truth))
        o, b = float(np.mean(ours)), float(np.mean(lanczos))
        passes = o >= b + UPSCALE_MARGIN_DB if factor == 2 else o >= b
        return Result(task, f"PSNR of a x{factor} upscale, tiled (dB)", o, b, "Lanczos", passes, len(ours))

    def upscaling(self) -> Result:
        """x2 from the native size (tiled above it) against Lanczos: the upscaling target."""
        return self._upscale_psnr("upscaling", 2)

    def upscaling_x4(self) -> Result:
        return self._upscale_psnr("upscaling_x4", 4)

    def upscaling_tiles(self) -> Result:
        """x4 from half the native size (twice the native size out) in native tiles against one window."""
        tiled, whole = [], []
        for i in range(self.samples):
            truths = self.upscale_case(6000 + i)
            photo, truth = truths[self.size // 2], truths[2 * self.size]
            tiled.append(psnr(self.upscaled(photo, 4, i), truth))
            whole.append(psnr(self.upscaled(photo, 4, i, tile_px=2 * self.size), truth))
        o, b = float(np.mean(tiled)), float(np.mean(whole))
        return Result(
            "upscaling_tiles", "PSNR of x4 in tiles (dB)", o, b, "one window", o >= b - TILES_TOLERANCE_DB, len(tiled)
        )

    def tile_borders(self, photo_side: int, factor: int, **tiles) -> list[int]:
        """The pixel lines where the windows of an upscale of a ``photo_side`` square start or end."""
        scale = self.pipe.vae_scale_factor
        plan = plan_upscale((photo_side, photo_side), self.size, factor, vae_scale_factor=scale, **tiles)
        # (start, stop) pairs, not the slices themselves: slices are hashable only from Python 3.12.
        spans = {(rows.start, rows.stop) for rows, _ in plan.tiling.windows(plan.height, plan.width, scale)}
        return sorted({edge * scale for span in spans for edge in span} - {0, plan.height})

    def upscaling_seams(self) -> Result:
        """Brightness steps on the lines where windows meet, over those elsewhere, in a x2 upscale from the native
        size: ours (overlapping windows, blended) against a naive tiling (native tiles, no overlap)."""
        ours, naive = [], []
        for i in range(self.samples):
            photo = self.upscale_case(6000 + i)[self.size]
            for tiles, out in (({}, ours), ({"overlap_px": 0}, naive)):
                image, borders = self.upscaled(photo, 2, i, **tiles), self.tile_borders(self.size, 2, **tiles)
                out.append((seam_ratio(image, borders, 0) + seam_ratio(image, borders, 1)) / 2)
        o, b = float(np.mean(ours)), float(np.mean(naive))
        metric = "gradient energy on tile borders / elsewhere"
        return Result("upscaling_seams", metric, o, b, "naive tiles, no overlap", o < b, len(ours))

    # Long camera paths ---------------------------------------------------------------------------

    def orbit_frames(self, case: int, i: int, anchored: bool, views: int = ORBIT_VIEWS) -> tuple[list, list]:
        """An orbit of ``views`` around held-out scene ``case`` from its first view's photo: the frames made
        (anchored, or every view from the photo alone) and the true renders of the same cameras."""
        rng = self.rng(case)
        scene = sample_scene(rng)
        cameras = camera_paths.orbit(views, ORBIT_CAMERA["elevation"], ORBIT_CAMERA["distance"], ORBIT_CAMERA["focal"])
        truth = render_views(scene, cameras, self.size)
        plan = plan_path(cameras, self.seed + i, anchored=anchored)
        made: dict[int, np.ndarray] = {}
        generate = pipeline_batches(
            self.pipe, num_inference_steps=self.steps, guidance_scale=self.guidance["image2multiview"],
            negative_prompt="", height=self.size, width=self.size,
        )  # fmt: skip
        sample_path(generate, truth[0].rgb, cameras[0], cameras, plan, lambda v, f: made.__setitem__(v, np.asarray(f)))
        return [made[v] for v in range(views)], [view.rgb for view in truth]

    def orbit(self) -> Result:
        """Per-frame PSNR of an orbit against the true views: the paper's anchored sampling against the plain
        alternative (every view from the input photo alone), on the same scenes and seeds."""
        anchored, plain = [], []
        for i in range(self.samples):
            for mode, scores in ((True, anchored), (False, plain)):
                frames, truth = self.orbit_frames(7000 + i, i, mode)
                scores += [psnr(frame, true) for frame, true in zip(frames, truth)]
        a, p = float(np.mean(anchored)), float(np.mean(plain))
        metric = f"PSNR of {ORBIT_VIEWS}-view orbit frames (dB)"
        return Result("orbit", metric, a, p, "every view from the input alone", a >= p, len(anchored))

    def all(self) -> list[Callable[[], Result]]:
        return [
            self.text2image,
            self.semanticmap2image,
            self.image2depth,
            self.image2semanticmap,
            self.image2multiview,
            self.camera_estimation,
            self.upscaling,
            self.upscaling_x4,
            self.upscaling_tiles,
            self.upscaling_seams,
            self.orbit,
        ]


def guidance_overrides(text: str) -> dict[str, float]:
    """``"camera_estimation=2,image2multiview=1"`` -> {task: guidance}, for tasks of ``GUIDANCE`` only."""
    out = {}
    for item in text.split(","):
        task, sep, value = item.partition("=")
        task = task.strip()
        if not sep or task not in GUIDANCE:
            raise argparse.ArgumentTypeError(f"expected task=value with a task of {sorted(GUIDANCE)}, got {item!r}")
        try:
            out[task] = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"the guidance of {task} must be a number, got {value!r}") from None
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m onediffusion.mini.evaluate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", default=None, help="a model folder (default: the bundled OneDiffusion-Mini)")
    parser.add_argument("--samples", type=int, default=24)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tasks", default=None, help="comma-separated subset")
    parser.add_argument("--split", default="test", choices=tuple(SPLITS), help="which held-out scenes")
    parser.add_argument(
        "--guidance", type=guidance_overrides, default=None, help="override, e.g. camera_estimation=2,image2multiview=1"
    )
    parser.add_argument(
        "--cache", default=None, help=f"step caching: a preset of {sorted(CACHE_PRESETS)} (default: exact sampling)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    from ..pipeline import OneDiffusionPipeline
    from . import MINI_MODEL

    pipe = OneDiffusionPipeline.from_pretrained(Path(args.model) if args.model else MINI_MODEL)
    pipe.set_progress_bar_config(disable=True)
    if args.cache:
        pipe.enable_cache(args.cache)
    evaluator = Evaluator(pipe, args.samples, args.steps, args.seed, args.split, args.guidance)
    chosen = set(args.tasks.split(",")) if args.tasks else None
    results, blocks, start = [], {}, time.time()
    for run in evaluator.all():
        if chosen is None or run.__name__ in chosen:
            with BlockCounter(pipe.transformer) as counter:
                results.append(run())
            blocks[run.__name__] = counter.as_dict()
    if args.json:
        report = {"model": str(args.model or MINI_MODEL), "split": args.split, "guidance": evaluator.guidance}
        report |= {"cache": pipe.cache_setting, "block_evaluations": blocks}
        report |= {"seconds": round(time.time() - start), "results": [asdict(r) for r in results]}
        print(json.dumps(report, indent=1))
    else:
        print(f"{'task':<20}{'metric':<36}{'ours':>9}{'baseline':>10}  baseline is          passes  blocks run")
        for r in results:
            share = blocks[r.task]["fraction"]
            print(
                f"{r.task:<20}{r.metric:<36}{r.ours:>9.3f}{r.baseline:>10.3f}  {r.baseline_name:<21}{r.passes!s:<8}"
                f"{share:.0%}"
            )
    return 0 if all(r.passes for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
