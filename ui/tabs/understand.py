"""Understanding: a photo in; depth, pose, edges, segmentation or boxes out, from the model itself."""

from __future__ import annotations

import gradio as gr

from .. import common, compare
from ..catalogue import UNDERSTANDING
from ..common import example, example_text, how_to, live, prompt_accordion, run_buttons, sampling, wire_run
from ..sendto import Links
from ..service import Studio
from ..spaces import cached
from .captions import describe_button

HOW_TO = """**Drop a photo, pick what to estimate, press Estimate.** The model runs in its understanding
direction: the photo is the condition, the map is generated. Depth comes colourised (bright yellow is
near), as a 16-bit PNG and as a 3D relief you can turn; masks, skeletons, edges and boxes are laid
over the photo. For segmentation and boxes, name the classes to find, one per row, each with a colour."""

SCENE = example_text()["scene"]  # a world scene: its class rows, as "<colour> <shape>" in a mask colour
EXAMPLES = [
    [example("scene_az000.png"), "depth", []],
    [example("scene_az000.png"), "semanticmap", SCENE["semantic_labels"]],
    [example("scene_az090.png"), "boundingbox", SCENE["box_labels"]],
]


COMPARED = {"depth", "semanticmap", "boundingbox"}  # the photo and its map, in one frame


def on_target(target: str) -> tuple:
    option = UNDERSTANDING.option(target)
    return (
        gr.update(visible=option.labelled),
        gr.update(visible=option.labelled),
        gr.update(visible=option.shows == "depth"),
        gr.update(visible=option.labelled),
    )


def _results() -> tuple:
    """The result, the raw output, the depth relief, the regions and the downloads."""
    with gr.Row():
        shown = common.shown_image("Result", elem_id="understand-result")
        raw = common.shown_image("Model output (raw)", type="filepath", elem_id="understand-raw")
    relief = {"height": 320, "clear_color": (1, 1, 1, 1), "elem_id": "understand-mesh"}
    mesh = gr.Model3D(label="Depth as a 3D relief (drag to turn)", **relief)
    regions = gr.JSON(label="Regions found per class (boxes in pixels: x0, y0, x1, y1)", visible=False)
    files = gr.File(label="Downloads", file_count="multiple", interactive=False, elem_id="understand-files")
    return shown, raw, mesh, regions, files


def build(studio: Studio, links: Links) -> None:
    how_to(HOW_TO, studio.untrained_note(UNDERSTANDING.id))
    with gr.Row():
        with gr.Column(scale=2):
            photo = common.given_image("Photo (given to the model)", 300)
            target = gr.Radio(UNDERSTANDING.choices(), value=UNDERSTANDING.options[0].key, label="Estimate")
            labels, legend = common.label_rows(visible=False)
            caption = gr.Textbox(label="Caption of the photo (optional)", lines=1)
            describe_button(studio, photo, caption, "scene")
            run, stop = run_buttons("Estimate")
            settings = sampling(studio, many=False)
            common.reuse_zone("understanding", {"option": target, "prompt": caption, "labels": labels}, settings)
        with gr.Column(scale=3):
            shown, raw, mesh, regions, files = _results()
            links.source("understanding", raw, "Send the model output to")
            slider = common.compare_slider("understand-compare", UNDERSTANDING.options[0].key in COMPARED)
            assembled = prompt_accordion()
    run_inputs = [photo, target, labels, caption, *settings.inputs()]
    links.target("understanding", photo, caption)
    target.change(on_target, target, [labels, legend, mesh, regions], **common.QUIET)
    outputs = [shown, raw, mesh, files, regions, settings.seed, assembled]
    cache = cached(studio.info, studio.understand, outputs)
    gr.Examples(EXAMPLES, inputs=[photo, target, labels], label="Examples", **cache)
    event = wire_run(
        studio,
        run,
        stop,
        studio.understand,
        [*run_inputs, settings.fast],
        outputs,
        "understand",
    )
    common.wire_compare(event, photo, shown, slider)
    target.change(common.visible_for(COMPARED), target, slider, **common.QUIET)
    live([target, labels, caption], studio.understand_prompt, [target, labels, caption], assembled)
    compare.block(studio, "understanding", run_inputs, settings)
