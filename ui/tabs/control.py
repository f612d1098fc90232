"""Control: an image that follows a condition (depth, edges, pose, a map, boxes, a mask, a blur, an instruction)."""

from __future__ import annotations

import functools

import gradio as gr

from .. import advice, common, compare
from ..catalogue import CONTROL
from ..common import example, example_text, how_to, live, prompt_accordion, run_buttons, sampling, wire_run
from ..sendto import Links
from ..service import Studio
from ..spaces import cached
from .captions import describe_button

HOW_TO = """**Pick a condition, give it, describe the result, press Generate.** The *condition* (blue frame) is
what the model must follow; the images on the right (orange frame) are generated. Give the condition
directly, or drop a photo in *Make it from a photo*: Canny edges and blur are computed here, depth,
HED, pose, segmentation and boxes by the model itself (its understanding direction)."""

SCENE = example_text()["scene"]  # a world scene: its caption, class rows and an instruction
EXAMPLES = [
    ["depth", example("scene_depth.png"), SCENE["caption"], []],
    ["canny", example("scene_canny.png"), SCENE["caption"], []],
    ["semanticmap", example("scene_semantic.png"), SCENE["caption"], SCENE["semantic_labels"]],
    ["boundingbox", example("scene_boxes.png"), SCENE["caption"], SCENE["box_labels"]],
    ["deblurring", example("scene_blurry.png"), SCENE["caption"], []],
    ["editing", example("scene_az000.png"), SCENE["instruction"], []],
    ["pose", example("pose.png"), "a woman in a yellow raincoat waving, city street", []],  # the world has no people
]
INPAINTING_EXAMPLE = {
    "background": example("scene_az000.png"),
    "layers": [example("scene_mask_layer.png")],
    "composite": None,
}
FIRST = CONTROL.options[0]
COMPARED = {"deblurring", "inpainting", "editing"}  # the photo given and the result, in one frame


def on_condition(condition: str) -> tuple:
    """Show the inputs the chosen condition needs."""
    option = CONTROL.option(condition)
    inpainting = option.takes_mask
    return (
        f"*{option.hint}*",
        gr.update(visible=not inpainting),
        gr.update(value=option.make_label or "", visible=option.make_label is not None),
        gr.update(label=_box_label(option.box), visible=not inpainting),
        gr.update(visible=inpainting),
        gr.update(visible=option.labelled),
        gr.update(visible=option.labelled),
        gr.update(label="Instruction" if option.takes_instruction else "Caption (what the result shows)"),
    )


def guidance_for(studio: Studio, condition: str) -> float:
    """The model's guidance for the chosen condition (editing has its own)."""
    return studio.defaults.guidance_for(CONTROL.option(condition).task)


def _box_label(box: str) -> str:
    return f"Condition: {box.lower()} (given to the model)"


def _condition_inputs() -> tuple:
    """The condition's inputs: the make-it accordion, the condition box, the inpainting editor."""
    with gr.Accordion("Make it from a photo", open=False) as maker:
        photo = gr.Image(label="Photo", type="pil", format="png", height=220)
        make = gr.Button(FIRST.make_label)
    condition_image = common.given_image(_box_label(FIRST.box), 280, elem_id="control-condition")
    brush = gr.Brush(colors=["#FFFFFF"], color_mode="fixed")
    editor = {"type": "pil", "format": "png", "height": 360, "elem_classes": ["condition"], "transforms": ()}
    inpainting = gr.ImageEditor(label="Photo: paint over the region to fill in", visible=False, brush=brush, **editor)
    return maker, photo, make, condition_image, inpainting


def build(studio: Studio, links: Links) -> None:
    how_to(HOW_TO, studio.untrained_note(CONTROL.id))
    with gr.Row():
        with gr.Column(scale=2):
            condition = gr.Dropdown(CONTROL.choices(), value=FIRST.key, label="Condition")
            hint = gr.Markdown(f"*{FIRST.hint}*")
            maker, photo, make, condition_image, inpainting = _condition_inputs()
            caption = gr.Textbox(label="Caption (what the result shows)", lines=2)
            with maker:  # the photo a condition is made from: its caption is the result's
                describe_button(studio, photo, caption, "scene")
            labels, legend = common.label_rows(visible=False)
            run, stop = run_buttons()
            settings = sampling(studio, negative=studio.default_negative_prompt, sizes=studio.size_choices(auto=True))
            settings.guidance.info = f"{settings.guidance.info} {advice.EDITING_TIP}"
            common.reuse_zone("control", {"option": condition, "prompt": caption, "labels": labels}, settings)
        with gr.Column(scale=3):
            with gr.Row():
                shown = common.shown_image("Condition, as the model saw it", frame="condition")
                gallery = common.generated_gallery("Generated", "control-gallery", height=320)
            links.source("control", gallery)
            slider = common.compare_slider("control-compare", FIRST.key in COMPARED)
            assembled = prompt_accordion()
    run_inputs = [condition, condition_image, inpainting, caption, labels, *settings.inputs()]
    links.target("control-photo", photo, caption, [(maker, lambda sent: gr.Accordion(open=True))])
    conditioned = [
        (condition, lambda sent: sent.condition or gr.update()),
        (labels, lambda sent: sent.labels or gr.update()),
    ]
    links.target("control-condition", condition_image, caption, conditioned)
    results = [shown, gallery, settings.seed, assembled]
    columns = ["condition", "condition_image", "caption", "labels", "guidance"]
    cache = cached(studio.info, studio.control, results, columns)
    rows = [[*row, guidance_for(studio, row[0])] for row in EXAMPLES]  # an example sets its condition's guidance
    gr.Examples(
        rows, inputs=[condition, condition_image, caption, labels, settings.guidance], label="Examples", **cache
    )
    inpainting_example = [["inpainting", INPAINTING_EXAMPLE, SCENE["caption"]]]
    cache = cached(studio.info, studio.control, results, ["condition", "inpainting", "caption"])
    gr.Examples(
        inpainting_example, [condition, inpainting, caption], label="Inpainting example (one object masked)", **cache
    )

    shown_inputs = [hint, maker, make, condition_image, inpainting, labels, legend, caption]
    condition.change(on_condition, condition, shown_inputs, **common.QUIET)
    # Only a person's pick resets the guidance: a reused result or an example sets its own.
    condition.input(functools.partial(guidance_for, studio), condition, settings.guidance, **common.QUIET)
    make_inputs = [condition, photo, labels, settings.steps, settings.seed]
    wire_run(studio, make, stop, studio.make_condition, make_inputs, [condition_image], "make_condition")
    event = wire_run(
        studio,
        run,
        stop,
        studio.control,
        [*run_inputs, settings.fast],
        [shown, gallery, settings.seed, assembled],
        "control",
    )
    common.wire_compare(event, shown, gallery, slider)
    condition.change(common.visible_for(COMPARED), condition, slider, **common.QUIET)
    live([condition, caption, labels], studio.control_prompt, [condition, caption, labels], assembled)
    compare.block(studio, "control", run_inputs, settings)
