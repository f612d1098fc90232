"""Multiview: views of an object from a camera table, the live camera figure, presets, and the camera
poses of 2-4 photos."""

from __future__ import annotations

from dataclasses import replace

from PIL import Image

from onediffusion import build_task
from onediffusion import camera_presets as cams
from onediffusion.cameras import Camera
from onediffusion.images import center_crop_resize
from onediffusion.prompts import task_prompt

from .. import advice, inputs
from .. import outputs as out
from ..checks import about
from ..figures import camera_figure
from ..host import Generation, ModelHost, RunInputs, RunOptions
from ..inputs import InputError
from .base import ESTIMATE, VIEWS, endpoint, gallery, preview, run_task

SCALE_LIMITS = {"scale_factor": (0.5, 4.0), "scale_watershed": (0.0, 1000.0), "noise_scale": (0.1, 10.0)}


def camera_preset_names(host: ModelHost) -> list[str]:
    return list(cams.presets(host.defaults.camera))


def default_camera_rows(host: ModelHost) -> list[list[float]]:
    return cams.preset_rows(cams.DEFAULT_PRESET, host.defaults.camera)


def _views(host: ModelHost, rows, least: int = 1) -> list[cams.Row]:
    return cams.rows_to_views(rows, least, distance=host.defaults.camera.distance)


def _cameras(host: ModelHost, views: list[cams.Row]) -> list[Camera]:
    return cams.views_to_cameras(views, host.defaults.camera.focal_length)


def _roles(views: list[cams.Row], from_image: bool) -> list[str]:
    """The first view is the photo's (a condition) when there is a photo; the rest are generated."""
    return ["condition" if from_image and i == 0 else "generated" for i in range(len(views))]


def _views_figure(host: ModelHost, views: list[cams.Row], from_image: bool):
    names = [f"view {i + 1}" for i in range(len(views))]
    return camera_figure(_cameras(host, views), names, _roles(views, from_image))


@endpoint()
def camera_preset(host: ModelHost, preset: str) -> list[list[float]]:
    """The camera table of a named preset (``onediffusion.camera_presets.presets``) at the model's camera, for multiview.

    Args:
        preset: the preset's name, one of the listed choices.

    Returns:
        rows: [azimuth (°), elevation (°), distance], one row per view
    """
    return cams.preset_rows(preset, host.defaults.camera)


@endpoint()
def camera_preview(host: ModelHost, cameras, image=None):
    """The 3D figure of a camera table; the first view is drawn as given (blue) when a photo is
    given (only whether ``image`` is set matters)."""
    return _views_figure(host, _views(host, cameras), image is not None and image is not False)


def engine_scales(scale_factor: float, scale_watershed: float, noise_scale: float) -> tuple[tuple[str, float], ...]:
    """The Multiview settings, checked, as the pipeline's keyword arguments."""
    given = {"scale_factor": scale_factor, "scale_watershed": scale_watershed, "noise_scale": noise_scale}
    for name, (low, high) in SCALE_LIMITS.items():
        value = given[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            label = name.replace("_", " ").capitalize()
            raise InputError(f"{label} must be a number from {low:g} to {high:g}, not {value!r}.", name)
    return tuple((name, float(value)) for name, value in given.items())


@endpoint(VIEWS)
def multiview(
    host: ModelHost,
    image=None,
    caption: str = "",
    cameras=None,
    *,
    run: RunInputs,
    scale_factor: float = 1.0,
    scale_watershed: float = 1.0,
    noise_scale: float = 1.0,
) -> tuple[list[tuple[Image.Image, str]], str, str, object, int, str]:
    """Views of an object from new cameras: from a photo of it (the first camera's view) or from a caption alone.

    Args:
        image: optional: a photo of the object, a URL (http, https or data:image/png;base64); it is the first camera's view and the others are generated.
        caption: what the object is; required without image.
        cameras: camera table {'headers': ['azimuth (°)', 'elevation (°)', 'distance'], 'data': [[0, 0, 1.7], [90, 0, 1.7]]}, one row per view, 1-8 rows (2-8 with image): azimuth in degrees around the object, elevation from -90 to 90, distance above 0 (blank: the model's); camera_preset gives ready tables; leave it out for 4 views around.
        scale_factor: rotary position scale for sizes beyond training, 0.5 to 4 (1 = off; 1.1 to 1.5 for extrapolation, with 75 to 100 steps).
        scale_watershed: with scale_factor: the timestep (0 to 1000) below which positions are divided instead of the rotary base multiplied; 100 to 400 advised, 1 = off.
        noise_scale: multiplies the schedule's shift, 0.1 to 10 (1 = as the published model was trained).

    Returns:
        gallery: every view as [{'image': {'url': PNG on this server, ...}, 'caption': 'view 1 · azimuth 0°, ...'}, ...]
        turntable: a GIF of the views (URL)
        archive: a zip of the views and their cameras (URL)
        figure: the 3D figure of the cameras (a Plotly plot)
        seed: the seed used
        prompt: the prompt the model saw, task token included
    """
    with about("image"):
        photo = inputs.image(image, "photo", required=False)
    rows = cameras if cameras is not None else default_camera_rows(host)
    with about("cameras"):
        views = _views(host, rows, least=2 if photo is not None else 1)
        cameras_ = _cameras(host, views)
    if photo is None and not (caption or "").strip():
        raise InputError("Add a photo, or describe the object in the caption, to make views of it.", "caption")
    if photo is not None:
        spec = build_task("image2multiview", image=photo, cameras=cameras_, caption=caption or "")
    else:
        spec = build_task("text2multiview", cameras=cameras_, caption=caption)
    height, width = inputs.parse_size(run.size) or (host.native_side, host.native_side)  # trained on squares
    options = host.options(replace(run, size=f"{width}x{height}"))
    options = replace(options, engine=engine_scales(scale_factor, scale_watershed, noise_scale))
    advice.advise(advice.multiview_notes(len(views), width, height, caption or "", host.native_side))
    advice.advise(advice.extrapolation_notes(scale_factor, scale_watershed, options.steps))
    result = run_task(host, spec, run, options)
    given = (
        [out.carry_over(result.images[0], center_crop_resize(photo, result.height, result.width))]
        if photo is not None
        else []
    )
    frames = given + result.images
    return _multiview_outputs(host, frames, views, photo is not None, result, options)


def _multiview_outputs(host, frames, views, from_image: bool, result: Generation, options: RunOptions) -> tuple:
    roles = _roles(views, from_image)
    captions = [
        f"view {i + 1} · azimuth {a:g}°, elevation {e:g}° · "
        + ("your photo (condition)" if role == "condition" else "generated")
        for i, ((a, e, _), role) in enumerate(zip(views, roles))
    ]
    folder = out.run_folder()
    gif = out.save_gif(frames, folder / "turntable.gif")
    metadata = {
        "settings": out.carried_settings(result.images[0]),  # as every result PNG carries them
        "prompt": result.prompt,
        "seed": result.seed,
        "steps": options.steps,
        "guidance": options.guidance,
        "negative_prompt": options.negative_prompt,
        "width": result.width,
        "height": result.height,
        "views": [
            {"file": f"view_{i + 1:02d}.png", "azimuth": a, "elevation": e, "distance": d, "role": role}
            for i, ((a, e, d), role) in enumerate(zip(views, roles))
        ],
    }
    named = {view["file"]: frame for view, frame in zip(metadata["views"], frames)}
    archive = out.save_zip(folder / "multiview.zip", named, metadata)
    figure = _views_figure(host, views, from_image)
    return gallery(frames, captions), str(gif), str(archive), figure, result.seed, result.prompt


@preview
def multiview_prompt(host: ModelHost, caption: str = "") -> str:
    return task_prompt("multiview", caption or "")


@endpoint(ESTIMATE)
def estimate_cameras(
    host: ModelHost, photos, caption: str = "", *, run: RunInputs
) -> tuple[object, list[list], int, str]:
    """Estimate the camera poses of 2-4 photos of the same object or scene, with the model itself. Cameras are
    relative to photo 1, placed at the model's first view (azimuth 0, its default elevation and distance).

    Args:
        photos: 2-4 photos as [{'image': a URL (http, https or data:image/png;base64), 'caption': null}, ...].
        caption: what the photos show, or '' for none.

    Returns:
        figure: the 3D figure of the estimated cameras (a Plotly plot)
        rows: [photo number, azimuth (°), elevation (°), distance, focal length in image widths], one per photo
        seed: the seed used
        prompt: the prompt the model saw, task token included
    """
    with about("photos"):
        images = inputs.gallery_images(photos, "photo", 2, 4)
    spec = build_task("camera_estimation", images=images, caption=caption or "")
    result = host.generate(spec, host.options(run), run.progress, run.session)
    placed = cams.place_around_object(result.cameras, host.defaults.camera.front)
    names = [f"photo {i + 1}" for i in range(len(placed))]
    figure = camera_figure(placed, names, ["estimated"] * len(placed), aspect=result.height / result.width)
    rows = [[i + 1, *row] for i, row in enumerate(cams.camera_rows(placed))]
    return figure, rows, result.seed, result.prompt
