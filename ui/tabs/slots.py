"""Slots (advanced): any sequence of image and camera slots, each a condition or a target, with a raw prompt."""

from __future__ import annotations

import gradio as gr

from .. import common, compare
from ..common import example, example_text, how_to, run_buttons, sampling, wire_run
from ..endpoints.slots import SLOT_HEADERS
from ..sendto import Links
from ..service import Studio
from ..spaces import cached

HOW_TO = """**Compose any task yourself.** OneDiffusion denoises a sequence of *slots*: each is an image or a
camera, and either a **condition** (given, kept as is) or a **target** (generated). One row per slot,
in order. An image condition takes the image numbered in *image #* from the images below (blank: the
next one); a camera condition takes azimuth, elevation and distance; targets need nothing. Write the
raw prompt, task token first (`[[text2image]]`, `[[depth2image]]`, `[[multiview]]`, `[[faceid]]`, ...).
This is where the paper's zero-shot compositions live: try the examples."""

SCENE = example_text()["scene"]  # views of one world scene, their captions and cameras
VIEWS = SCENE["views"]


def _image(role: str, number: int | None = None) -> list:
    return ["image", role, number, None, None, None]


def _camera(role: str, view: dict | None = None) -> list:
    return ["camera", role, None, *(view["camera"] if view else (None, None, None))]


_MV = f"[[multiview]] {VIEWS[0]['caption']}"
EXAMPLES = [
    [_MV, [_image("condition", 1), _camera("condition", VIEWS[0]), _image("condition", 2),
           _camera("condition", VIEWS[1]), _image("target"), _camera("condition", VIEWS[2])],
     [example(VIEWS[0]["file"]), example(VIEWS[1]["file"])]],
    [_MV, [_image("condition", 1), _camera("condition", VIEWS[0]), _image("condition", 2), _camera("target")],
     [example(VIEWS[0]["file"]), example(VIEWS[2]["file"])]],
    [f"[[depth2image]] {SCENE['caption']}", [_image("target"), _image("target")], None],
]  # fmt: skip
EXAMPLE_LABELS = [
    "A third view from two given views",
    "Where was photo 2 taken? (camera 1 known)",
    "An image and its depth map, both generated",
]


def _slot_table() -> gr.Dataframe:
    datatype = ["str", "str", "number", "number", "number", "number"]
    table = {"headers": SLOT_HEADERS, "datatype": datatype, "type": "array", "column_count": 6}
    label = "Slots, in order: kind (image/camera), role (condition/target), ..."
    return gr.Dataframe([_image("target")], interactive=True, elem_id="slots-table", label=label, **table)


def build(studio: Studio, links: Links) -> None:
    how_to(HOW_TO)
    with gr.Row():
        with gr.Column(scale=2):
            prompt = gr.Textbox(f"[[text2image]] {SCENE['caption']}", label="Raw prompt", lines=2)
            table = _slot_table()
            images = common.given_gallery("Images for image conditions (numbered from 1)", 4, 180)
            run, stop = run_buttons()
            settings = sampling(studio, negative="", sizes=studio.size_choices(auto=True))
            common.reuse_zone("slots", {"prompt": prompt}, settings)
        with gr.Column(scale=3):
            gallery = common.generated_gallery("Every image slot: conditions and generated", "slots-gallery", 3, 360)
            links.source("slots", gallery)
            figure = gr.Plot(label="Camera slots: given (blue) and estimated (green)")
            headers = ["slot", "role", *SLOT_HEADERS[3:], "focal (image widths)"]
            cameras = gr.Dataframe(headers=headers, type="array", interactive=False, label="Camera slots")
            used = gr.Textbox(label="Prompt sent to the model", interactive=False, visible=False)
    outputs = [gallery, cameras, figure, settings.seed, used]
    cache = cached(studio.info, studio.slots, outputs)
    label = "Zero-shot compositions"
    gr.Examples(EXAMPLES, inputs=[prompt, table, images], example_labels=EXAMPLE_LABELS, label=label, **cache)
    wire_run(
        studio, run, stop, studio.slots, [prompt, table, images, *settings.inputs(), settings.fast], outputs, "slots"
    )
    compare.block(studio, "slots", [prompt, table, images, *settings.inputs()], settings)
