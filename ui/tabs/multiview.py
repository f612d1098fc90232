"""Multiview: novel views of an object from a photo or a caption, and camera poses from 2-4 photos."""

from __future__ import annotations

import gradio as gr

from .. import camera_presets as cams
from ..common import example, example_text, how_to, live, prompt_accordion, run_buttons, sampling, wire_run
from ..service import Studio

HOW_TO = """**Novel views:** drop a photo of an object (or leave it empty and describe the object), pick a
camera preset or edit the table (one row per view: azimuth around the object, elevation above the ground,
distance), press Generate. The 3D view shows the cameras as you edit: blue is your photo's camera
(row 1, keep its azimuth at 0), orange the views to generate. 2-5 views work best; avoid facial details
in captions. Results come as a gallery, a turntable GIF and a zip with the cameras.

**Camera poses:** drop 2-4 photos of the same object; the model estimates where each was taken from,
drawn in 3D relative to photo 1."""

SCENE = example_text()["scene"]  # views of one world scene, their captions and cameras
VIEWS_EXAMPLES = [[example(SCENE["views"][0]["file"]), SCENE["views"][0]["caption"], SCENE["orbit"]]]
POSE_EXAMPLES = [[[example(view["file"]) for view in SCENE["views"]], SCENE["views"][0]["caption"]]]


def _novel_views(studio: Studio) -> None:
    initial = studio.default_camera_rows()
    with gr.Row():
        with gr.Column(scale=2):
            image = gr.Image(label="Photo of the object (optional: leave empty to work from the caption)", type="pil", format="png",
                             height=260, elem_classes=["condition"])  # fmt: skip
            caption = gr.Textbox(
                label="Caption", lines=2, placeholder="e.g. a blue cube in front of an orange sphere on a grey floor"
            )
            preset = gr.Dropdown(studio.camera_preset_names(), value=cams.DEFAULT_PRESET, label="Camera preset")
            table = gr.Dataframe(initial, headers=cams.HEADERS, datatype=["number"] * 3, type="array", column_count=3, label="Cameras: one row per view",
                                 interactive=True, elem_id="camera-table")  # fmt: skip
            run, stop = run_buttons()
            settings = sampling(studio, negative=studio.default_negative_prompt, many=False,
                                sizes=studio.size_choices(square_only=True), size_value=studio.default_size())  # fmt: skip
        with gr.Column(scale=3):
            figure = gr.Plot(studio.camera_preview(initial), label="Cameras around the object",
                             elem_id="camera-figure")  # fmt: skip
            gallery = gr.Gallery(label="Views", format="png", columns=4, height=300, elem_id="multiview-gallery",
                                 elem_classes=["generated"], buttons=["download", "download_all", "fullscreen"])  # fmt: skip
            with gr.Row():
                gif = gr.Image(
                    label="Turntable",
                    type="filepath",
                    format="gif",
                    interactive=False,
                    height=220,
                    elem_classes=["generated", "fit"],
                )
                archive = gr.File(label="All views and cameras (zip)", interactive=False, elem_id="multiview-zip")
            assembled = prompt_accordion()
    gr.Examples(VIEWS_EXAMPLES, inputs=[image, caption, table], label="Example: a photo and four cameras around it")
    preset.change(studio.camera_preset, preset, table, api_name="camera_preset", concurrency_limit=None,
                  show_progress="hidden")  # fmt: skip
    live([table, image], studio.camera_preview, [table, image], figure)
    wire_run(studio, run, stop, studio.multiview, [image, caption, table, *settings.inputs()],
             [gallery, gif, archive, figure, settings.seed, assembled], "multiview")  # fmt: skip
    live([caption], studio.multiview_prompt, [caption], assembled)


def _camera_poses(studio: Studio) -> None:
    with gr.Row():
        with gr.Column(scale=2):
            photos = gr.Gallery(label="2-4 photos of the same object (given to the model)", type="pil", format="png",
                                interactive=True, columns=4, height=240, elem_classes=["condition"],
                                elem_id="pose-photos")  # fmt: skip
            caption = gr.Textbox(label="Caption (optional)", lines=1)
            run, stop = run_buttons("Estimate cameras")
            settings = sampling(studio, many=False)
        with gr.Column(scale=3):
            figure = gr.Plot(label="Estimated cameras (relative to photo 1)", elem_id="pose-figure")
            table = gr.Dataframe(headers=["photo", *cams.HEADERS, "focal (image widths)"], type="array",
                                 interactive=False, label="Estimated cameras", elem_id="pose-table")  # fmt: skip
            assembled = prompt_accordion()
    gr.Examples(POSE_EXAMPLES, inputs=[photos, caption], label="Example: three views of one scene")
    wire_run(studio, run, stop, studio.estimate_cameras, [photos, caption, *settings.inputs()],
             [figure, table, settings.seed, assembled], "estimate_cameras")  # fmt: skip


def build(studio: Studio) -> None:
    how_to(HOW_TO, studio.untrained_note("multiview"))
    with gr.Tabs():
        with gr.Tab("Novel views", id="novel-views", elem_id="tab-novel-views"):
            _novel_views(studio)
        with gr.Tab("Camera poses", id="camera-poses", elem_id="tab-camera-poses"):
            _camera_poses(studio)
