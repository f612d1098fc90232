"""Multiview: novel views of an object from a photo or a caption, and camera poses from 2-4 photos."""

from __future__ import annotations

import gradio as gr

from onediffusion import camera_presets as cams

from .. import advice, common
from ..common import example, example_text, how_to, live, prompt_accordion, run_buttons, sampling, wire_run
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


def _novel_views(studio: Studio) -> None:
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
            assembled = prompt_accordion()
    preset.change(studio.camera_preset, preset, table, api_name="camera_preset", **PRESET)
    live([table, image], studio.camera_preview, [table, image], figure)
    outputs = [gallery, gif, archive, figure, settings.seed, assembled]
    cache = cached(studio.info, studio.multiview, outputs)
    label = "Example: a photo and four cameras around it"
    gr.Examples(VIEWS_EXAMPLES, inputs=[image, caption, table], label=label, **cache)
    given = [image, caption, table, *settings.inputs(), *scales, settings.fast]
    wire_run(studio, run, stop, studio.multiview, given, outputs, "multiview")
    live([caption], studio.multiview_prompt, [caption], assembled)


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


def build(studio: Studio) -> None:
    how_to(HOW_TO, studio.untrained_note("multiview"))
    with gr.Tabs():
        with gr.Tab("Novel views", id="novel-views", elem_id="tab-novel-views"):
            _novel_views(studio)
        with gr.Tab("Camera poses", id="camera-poses", elem_id="tab-camera-poses"):
            _camera_poses(studio)
