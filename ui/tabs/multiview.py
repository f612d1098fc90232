"""Multiview: novel views of an object from a photo or a caption, and camera poses from 2-4 photos."""

from __future__ import annotations

import gradio as gr

from onediffusion import camera_presets as cams

from .. import advice, checks, common, compare
from ..common import example, example_text, how_to, live, prompt_accordion, run_buttons, sampling, wire_run
from ..endpoints import orbit
from ..sendto import Links
from ..service import Studio
from ..spaces import cached
from .captions import describe_button

HOW_TO = """**Novel views:** drop a photo of an object (or leave it empty and describe the object), pick a
camera preset or edit the table (one row per view: azimuth around the object, elevation above the ground,
distance), press Generate. The 3D view shows the cameras as you edit: blue is your photo's camera
(row 1, keep its azimuth at 0), orange the views to generate. 2-5 views work best; avoid facial details
in captions. Results come as a gallery, a turntable GIF and a zip with the cameras.

**Camera poses:** drop 2-4 photos of the same object; the model estimates where each was taken from,
drawn in 3D relative to photo 1."""

SCENE = example_text()["scene"]  # views of one world scene, their captions and cameras
VIEWS_EXAMPLES = [[example(SCENE["views"][0]["file"]), SCENE["views"][0]["caption"], SCENE["orbit"]]]
PRESET = {"concurrency_limit": None, "show_progress": "hidden"}  # public (/camera_preset), cheap
POSE_EXAMPLES = [[[example(view["file"]) for view in SCENE["views"]], SCENE["views"][0]["caption"]]]


def _views_results() -> tuple:
    """The views, the turntable and the zip of a run."""
    gallery = common.generated_gallery("Views", "multiview-gallery", columns=4, height=300)
    with gr.Row():
        gif = common.shown_image("Turntable", height=220, type="filepath", format="gif")
        archive = gr.File(label="All views and cameras (zip)", interactive=False, elem_id="multiview-zip")
    return gallery, gif, archive


def _camera_table(rows: list[list[float]]) -> gr.Dataframe:
    table = {"headers": cams.HEADERS, "datatype": ["number"] * 3, "type": "array", "column_count": 3}
    return gr.Dataframe(rows, label="Cameras: one row per view", interactive=True, elem_id="camera-table", **table)


def multiview_settings() -> list[gr.Slider]:
    """Rotary scaling for sizes beyond training, and the schedule's noise scale (1: off, as trained)."""
    with gr.Accordion("Multiview settings", open=False):
        with gr.Row():
            factor = gr.Slider(0.5, 4, 1.0, step=0.05, label="Scale factor", info=advice.SCALE_FACTOR_TIP)
            watershed = gr.Slider(0, 1000, 1.0, step=1, label="Scale watershed", info=advice.SCALE_WATERSHED_TIP)
        noise = gr.Slider(0.1, 10, 1.0, step=0.05, label="Noise scale", info=advice.NOISE_SCALE_TIP)
    return [factor, watershed, noise]


def _novel_views(studio: Studio, links: Links, tabs: gr.Tabs) -> None:
    initial = studio.default_camera_rows()
    with gr.Row():
        with gr.Column(scale=2):
            image = common.given_image("Photo of the object (optional: leave empty to work from the caption)", 260)
            example_caption = "e.g. a blue cube in front of an orange sphere on a grey floor"
            caption = gr.Textbox(label="Caption", lines=2, placeholder=example_caption)
            describe_button(studio, image, caption, "multiview")
            preset = gr.Dropdown(studio.camera_preset_names(), value=cams.DEFAULT_PRESET, label="Camera preset")
            table = _camera_table(initial)
            run, stop = run_buttons()
            sizes = studio.size_choices(square_only=True)
            settings = sampling(studio, studio.default_negative_prompt, sizes, studio.default_size(), many=False)
            scales = multiview_settings()
            caption.info, settings.size.info = advice.MULTIVIEW_CAPTION_TIP, advice.size_tip(studio.native_side, False)
            common.reuse_zone("multiview", {"prompt": caption}, settings)
        with gr.Column(scale=3):
            figure = gr.Plot(studio.camera_preview(initial), label="Cameras around the object", elem_id="camera-figure")
            gallery, gif, archive = _views_results()
            links.source("multiview", gallery)
            assembled = prompt_accordion()
    preset.change(studio.camera_preset, preset, table, api_name="camera_preset", **PRESET)
    live([table, image], studio.camera_preview, [table, image], figure)
    outputs = [gallery, gif, archive, figure, settings.seed, assembled]
    cache = cached(studio.info, studio.multiview, outputs)
    label = "Example: a photo and four cameras around it"
    gr.Examples(VIEWS_EXAMPLES, inputs=[image, caption, table], label=label, **cache)
    given = [image, caption, table, *settings.inputs(), *scales]
    links.target("multiview", image, caption, [(tabs, lambda sent: gr.Tabs(selected="novel-views"))])
    wire_run(studio, run, stop, studio.multiview, [*given, settings.fast], outputs, "multiview")
    live([caption], studio.multiview_prompt, [caption], assembled)
    compare.block(studio, "multiview", given, settings)


def _camera_poses(studio: Studio) -> None:
    with gr.Row():
        with gr.Column(scale=2):
            photos = common.given_gallery("2-4 photos of the same object (given to the model)", 4, 240, "pose-photos")
            caption = gr.Textbox(label="Caption (optional)", lines=1)
            run, stop = run_buttons("Estimate cameras")
            settings = sampling(studio, many=False)
        with gr.Column(scale=3):
            figure = gr.Plot(label="Estimated cameras (relative to photo 1)", elem_id="pose-figure")
            headers = ["photo", *cams.HEADERS, "focal (image widths)"]
            table = gr.Dataframe(
                headers=headers, type="array", interactive=False, label="Estimated cameras", elem_id="pose-table"
            )
            assembled = prompt_accordion()
    outputs = [figure, table, settings.seed, assembled]
    cache = cached(studio.info, studio.estimate_cameras, outputs)
    gr.Examples(POSE_EXAMPLES, inputs=[photos, caption], label="Example: three views of one scene", **cache)
    wire_run(
        studio,
        run,
        stop,
        studio.estimate_cameras,
        [photos, caption, *settings.inputs(), settings.fast],
        outputs,
        "estimate_cameras",
    )


ORBIT_HOW_TO = """**Orbit video:** drop a photo of the object taken from the front (or describe it), pick a path and
how many views; the 3D view shows the whole path before anything runs: purple cameras are the anchors, made
first from your photo; every other view is made in small batches from your photo and the nearest anchor, as
in the paper. Stop keeps the views made so far. The zip holds every frame, the cameras and a
`transforms.json` for NeRF and Gaussian-splatting trainers."""


def _path_settings(studio: Studio) -> tuple[list, list]:
    """The path's controls (in the endpoints' order after the photo and caption) and the advanced ones."""
    ranges = orbit.default_ranges(studio)
    path = gr.Dropdown(list(orbit.PATHS), value=orbit.DEFAULT_PATH, label="Path")
    views = gr.Slider(2, 240, orbit.default_views(studio), step=1, label="Number of views", elem_classes=["views"])
    with gr.Accordion("Path ranges", open=False):
        with gr.Row():
            az = [
                gr.Number(ranges[k], label=f"Azimuth {w} (°)")
                for k, w in (("azimuth_from", "from"), ("azimuth_to", "to"))
            ]
        with gr.Row():
            el = [
                gr.Number(ranges[k], label=f"Elevation {w} (°)")
                for k, w in (("elevation_from", "from"), ("elevation_to", "to"))
            ]
        with gr.Row():
            dist = [
                gr.Number(ranges[k], label=f"Distance {w}")
                for k, w in (("distance_from", "from"), ("distance_to", "to"))
            ]
        table = _camera_table(studio.default_camera_rows())
    fps = gr.Slider(1, 60, 24, step=1, label="Frames a second")
    with gr.Accordion("Anchors and batches", open=False):
        with gr.Row():
            anchors = gr.Slider(1, 8, orbit.ANCHORS, step=1, label="Anchors (made first)")
            batch = gr.Slider(1, 7, orbit.BATCH_SIZE, step=1, label="Views per batch")
    return [path, views, *az, *el, *dist, table], [fps, anchors, batch]


def _orbit_video(studio: Studio, links: Links, tabs: gr.Tabs) -> None:
    with gr.Row():
        with gr.Column(scale=2):
            image = common.given_image("Photo of the object, from the front (or leave empty and describe it)", 240)
            caption = gr.Textbox(
                label="Caption",
                lines=2,
                placeholder="e.g. a red cube and a blue sphere",
                info=advice.MULTIVIEW_CAPTION_TIP,
            )
            shape, advanced = _path_settings(studio)
            run, stop = run_buttons("Make the video")
            settings = sampling(studio, studio.default_negative_prompt, None, many=False)
        with gr.Column(scale=3):
            first = studio.orbit_preview(views=orbit.default_views(studio), **orbit.default_ranges(studio))
            figure = gr.Plot(first, label="The path around the object", elem_id="orbit-figure")
            video = gr.Video(label="Orbit video", interactive=False, elem_id="orbit-video", elem_classes=["generated"])
            summary = gr.Markdown(elem_id="orbit-summary")
            strip = common.generated_gallery("Frames along the path", "orbit-frames", columns=6, height=160)
            with gr.Row():
                gif = gr.File(label="GIF", interactive=False, elem_id="orbit-gif")
                archive = gr.File(
                    label="Frames, cameras, transforms.json (zip)", interactive=False, elem_id="orbit-zip"
                )
            assembled = prompt_accordion()
    fps, anchors, batch = advanced
    preview_inputs = [*shape, anchors, batch, image]
    live(preview_inputs, studio.orbit_preview, preview_inputs, figure)
    outputs = [video, strip, gif, archive, figure, summary, settings.seed, assembled]
    given = [image, caption, *shape, fps, anchors, batch, *settings.inputs(), settings.fast]
    run.click(
        studio.cancellable(studio.orbit_video), given, outputs, api_name="orbit_video",
        concurrency_id=common.GPU_QUEUE, concurrency_limit=1, scroll_to_output=True,
        validator=checks.validator(studio.orbit_video, len(given)),
    )  # fmt: skip
    # Stop asks the run to end after its current step and keeps the views made (the event is not cancelled, so
    # the run returns them); a closed page still stops it (ui.sessions).
    stop.click(studio.cancel, None, None, **common.CHEAP)
    live([caption], studio.multiview_prompt, [caption], assembled)
    links.target("orbit", image, caption, [(tabs, lambda sent: gr.Tabs(selected="orbit-video"))])


def build(studio: Studio, links: Links) -> None:
    how_to(HOW_TO, studio.untrained_note("multiview"))
    with gr.Tabs() as tabs:
        with gr.Tab("Novel views", id="novel-views", elem_id="tab-novel-views"):
            _novel_views(studio, links, tabs)
        with gr.Tab("Orbit video", id="orbit-video", elem_id="tab-orbit-video"):
            how_to(ORBIT_HOW_TO)
            _orbit_video(studio, links, tabs)
        with gr.Tab("Camera poses", id="camera-poses", elem_id="tab-camera-poses"):
            _camera_poses(studio)
