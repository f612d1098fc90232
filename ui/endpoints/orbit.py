"""Orbit video: a long camera path around the object in a photo (or a caption), made as the paper's appendix
does it (anchors first, then batches given the input and the nearest anchor), as an MP4, a GIF and a zip of
frames and cameras (``onediffusion.trajectory``)."""

from __future__ import annotations

from dataclasses import replace

from PIL import Image

from onediffusion import camera_paths as paths
from onediffusion import camera_presets as cams
from onediffusion.cameras import Camera
from onediffusion.images import center_crop_resize
from onediffusion.prompts import task_prompt
from onediffusion.trajectory import ANCHORS, BATCH_SIZE, PathPlan, plan_path

from .. import inputs
from .. import outputs as out
from ..figures import path_figure
from ..host import ModelHost, RunInputs
from ..inputs import InputError
from .base import ORBIT, endpoint

PATHS = {
    "Orbit: a full turn": "orbit",
    "Front sweep (the paper's: left to right, rising)": "front sweep",
    "Spiral: a turn, rising": "spiral",
    "Zoom in": "zoom",
    "Through the camera table": "table",
}
DEFAULT_PATH = "Orbit: a full turn"
PUBLISHED_VIEWS, DEMO_VIEWS = 80, 16  # the paper's 80; the demo model's about a minute on a CPU
STRIP_FRAMES = 12  # frames shown in the result's strip (all are in the zip)
FPS_LIMITS, TURNS = (1, 60), 1.0


def default_views(host: ModelHost) -> int:
    """The paper's 80 views on the published model; fewer on a small model (a demo: about a minute on a CPU)."""
    return DEMO_VIEWS if host.pipe.studio else PUBLISHED_VIEWS


def default_ranges(host: ModelHost) -> dict[str, float]:
    """The ranges' starting values: the paper's front sweep, the model's elevation and distance."""
    camera = host.defaults.camera
    return {
        "azimuth_from": paths.PAPER_SWEEP_AZIMUTH[0],
        "azimuth_to": paths.PAPER_SWEEP_AZIMUTH[1],
        "elevation_from": camera.elevation,
        "elevation_to": camera.elevation + 30.0,
        "distance_from": camera.distance,
        "distance_to": round(camera.distance * 0.7, 2),
    }


def path_cameras(host: ModelHost, path: str, views, ranges: dict, table=None) -> list[Camera]:
    """The path's cameras; raises InputError naming what is wrong."""
    if path not in PATHS:
        raise InputError(f"Unknown path {path!r}: pick one of {', '.join(PATHS)}.")
    count = inputs.views_count(views, paths.MIN_VIEWS, paths.MAX_VIEWS)
    focal, kind = host.defaults.camera.focal_length, PATHS[path]
    a = [float(ranges[k]) for k in ("azimuth_from", "azimuth_to")]
    e = [float(ranges[k]) for k in ("elevation_from", "elevation_to")]
    d = [float(ranges[k]) for k in ("distance_from", "distance_to")]
    try:
        if kind == "orbit":
            cameras = paths.orbit(count, e[0], d[0], focal)
        elif kind == "front sweep":
            cameras = paths.front_sweep(count, a, e, d[0], focal)
        elif kind == "spiral":
            cameras = paths.spiral(count, e, TURNS, d[0], focal)
        elif kind == "zoom":
            cameras = paths.zoom(count, d, a[0], e[0], focal)
        else:
            rows = cams.rows_to_views(table, 2, cams.MAX_VIEWS, host.defaults.camera.distance)
            cameras = paths.through(cams.views_to_cameras(rows, focal), count)
        paths.check_distinct(cameras)
    except ValueError as err:
        raise InputError(plain(err)) from None
    return cameras


def plain(err: ValueError) -> str:
    """The engine's message with its argument names as the page labels them."""
    text = str(err)
    for name, label in (("`views`", "Number of views"), ("`azimuth`", "The azimuth range"),
                        ("`elevation`", "The elevation range"), ("`distance`", "The distance range"),
                        ("`anchors`", "Anchors"), ("`batch_size`", "Views per batch")):  # fmt: skip
        text = text.replace(name, label)
    return text


def _plan(cameras: list[Camera], anchors, batch_size, from_image: bool) -> PathPlan:
    try:
        return plan_path(cameras, 0, int(anchors), int(batch_size), True, from_image)
    except (TypeError, ValueError) as err:
        raise InputError(plain(err)) from None


def input_camera(host: ModelHost, cameras: list[Camera]) -> Camera:
    """The photo's camera: the model's front view at the path's first distance (azimuth 0)."""
    camera = host.defaults.camera
    distance = float((cameras[0].centre @ cameras[0].centre) ** 0.5)
    return Camera.orbit(0.0, camera.elevation, distance, camera.focal_length)


@endpoint()
def orbit_preview(
    host: ModelHost,
    path: str = DEFAULT_PATH,
    views: int = DEMO_VIEWS,
    azimuth_from: float = -25.78,
    azimuth_to: float = 34.38,
    elevation_from: float = 0.0,
    elevation_to: float = 30.0,
    distance_from: float = 1.7,
    distance_to: float = 1.2,
    cameras=None,
    anchors: int = ANCHORS,
    batch_size: int = BATCH_SIZE,
    image=None,
):
    """The 3D figure of a path before anything runs: the photo's camera, the anchors (generated first) in
    their own colour, the other views, and the path through them."""
    ranges = dict(
        zip(RANGE_NAMES, (azimuth_from, azimuth_to, elevation_from, elevation_to, distance_from, distance_to))
    )
    cams_ = path_cameras(host, path, views, ranges, cameras)
    from_image = image is not None and image is not False
    plan = _plan(cams_, anchors, batch_size, from_image)
    return path_figure(cams_, plan.anchors, input_camera(host, cams_) if from_image else None)


RANGE_NAMES = ("azimuth_from", "azimuth_to", "elevation_from", "elevation_to", "distance_from", "distance_to")


@endpoint(ORBIT)
def orbit_video(
    host: ModelHost,
    image=None,
    caption: str = "",
    path: str = DEFAULT_PATH,
    views: int | None = None,
    azimuth_from: float = -25.78,
    azimuth_to: float = 34.38,
    elevation_from: float | None = None,
    elevation_to: float | None = None,
    distance_from: float | None = None,
    distance_to: float | None = None,
    cameras=None,
    fps: float = 24,
    anchors: int = ANCHORS,
    batch_size: int = BATCH_SIZE,
    *,
    run: RunInputs,
) -> tuple[str | None, list[tuple[Image.Image, str]], str | None, str | None, object, str, int, str]:
    """An orbit video: many views of the object in a photo (or described in a caption) along a camera path,
    made as the paper does it: anchor views first from the photo, then the others in small batches, each given
    the photo and the nearest anchor. Returns an MP4, the frames and a zip with every frame, the cameras and a
    transforms.json for NeRF and Gaussian-splatting trainers. Stop keeps the frames made so far.

    Args:
        image: a photo of the object, a URL (http, https or data:image/png;base64), taken from the front (azimuth 0); optional with a caption.
        caption: what the object is; required without image.
        path: the camera path: 'Orbit: a full turn', 'Front sweep (the paper's: left to right, rising)', 'Spiral: a turn, rising', 'Zoom in' or 'Through the camera table'.
        views: how many views (frames), 2 to 240 (default 80 on the published model, 16 on the demo model).
        azimuth_from: front sweep: the first azimuth in degrees (the paper's -25.78).
        azimuth_to: front sweep: the last azimuth in degrees (the paper's 34.38).
        elevation_from: the (first) elevation in degrees, -89 to 89 (default: the model's).
        elevation_to: front sweep and spiral: the last elevation in degrees.
        distance_from: the (first) distance from the object (default: the model's).
        distance_to: zoom: the last distance.
        cameras: 'Through the camera table': keyframe rows {'headers': ['azimuth (°)', 'elevation (°)', 'distance'], 'data': [[0, 10, 1.7], [90, 20, 1.7], [180, 10, 1.7]]}, 2-8 rows.
        fps: frames a second of the video, 1 to 60.
        anchors: views generated first from the photo, spread over the path (the paper's 3).
        batch_size: views generated at once after the anchors (the paper's 3), 1 to 7.

    Returns:
        video: the MP4 (H.264) of the frames made, URL
        frames: up to 12 frames spread over the path, as [{'image': {'url': ...}, 'caption': 'view N · anchor'}, ...]
        gif: a GIF preview (URL)
        archive: a zip with every frame (PNG, settings in its text), cameras.json, transforms.json and run.json (URL)
        figure: the 3D figure of the path (a Plotly plot)
        summary: how many views were made of how many, in how many batches, and where the anchors are
        seed: the seed of the first batch (batch k uses seed + k)
        prompt: the prompt the model saw, task token included
    """
    photo = inputs.image(image, "photo", required=False)
    if photo is None and not (caption or "").strip():
        raise InputError("Add a photo, or describe the object in the caption, to make a path around it.")
    defaults = default_ranges(host)
    given = (azimuth_from, azimuth_to, elevation_from, elevation_to, distance_from, distance_to)
    ranges = {name: defaults[name] if value is None else value for name, value in zip(RANGE_NAMES, given)}
    count = default_views(host) if views is None else views
    cameras_ = path_cameras(host, path, count, ranges, cameras)
    if not FPS_LIMITS[0] <= float(fps) <= FPS_LIMITS[1]:
        raise InputError(f"Frames a second must be from {FPS_LIMITS[0]} to {FPS_LIMITS[1]}, not {fps!r}.")
    plan = _plan(cameras_, anchors, batch_size, photo is not None)
    side = host.native_side
    options = host.options(replace(run, size=f"{side}x{side}"))
    shown = center_crop_resize(photo, side, side) if photo is not None else None
    result = host.generate_path(
        shown, cameras_, input_camera(host, cameras_) if photo is not None else None, caption or "", options,
        {"anchors": len(plan.anchors), "batch_size": int(batch_size), "fps": float(fps)},
        out.run_folder() / "path", run.progress, run.session,
    )  # fmt: skip
    return _outputs(host, result, cameras_, photo is not None, caption or "", options.seed)


def _outputs(host: ModelHost, result, cameras: list[Camera], from_image: bool, caption: str, seed: int) -> tuple:
    made = len(result.frames)
    if made == 0:
        raise InputError("Stopped before the first views were made: nothing was generated.")
    step = max(1, made // STRIP_FRAMES)
    strip = []
    for path in result.frames[::step][:STRIP_FRAMES]:
        index = int(path.stem.split("_")[1]) - 1
        with Image.open(path) as frame:
            frame.load()
            strip.append((frame.copy(), f"view {index + 1}" + (" · anchor" if index in result.plan.anchors else "")))
    anchors = ", ".join(str(a + 1) for a in result.plan.anchors)
    state = "" if result.complete else " (stopped: the video, GIF and zip hold the views made)"
    summary = (
        f"{made} of {result.plan.views} views{state} · {len(result.plan.batches)} batches · anchors: views {anchors}"
    )
    figure = path_figure(cameras, result.plan.anchors, input_camera(host, cameras) if from_image else None)
    return (
        str(result.video), strip, str(result.gif), str(result.archive), figure, summary, seed,
        task_prompt("multiview", caption),
    )  # fmt: skip
