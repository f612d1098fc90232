"""Upscale: a photo made larger and sharper, window by window above the model's native size."""

from __future__ import annotations

import gradio as gr

from .. import common
from ..common import how_to, live, prompt_accordion, run_buttons, sampling, wire_run
from ..sendto import Links
from ..service import Studio
from .captions import describe_button

HOW_TO = """**Drop a photo, pick how much larger, press Upscale.** The photo is enlarged, then the model
restores detail at the new size (the published model's deblurring task: it has no upscaling token of its
own). Above the model's native size it works in overlapping windows, blended at every step so no border
shows; the plan and its cost on this device are shown before you run. The result is a full-size PNG that
carries its settings; the slider compares it with the plainly enlarged photo."""

FACTORS = [("x2", 2), ("x3", 3), ("x4", 4)]


def build(studio: Studio, links: Links) -> None:
    how_to(HOW_TO, studio.untrained_note("upscale"))
    with gr.Row():
        with gr.Column(scale=2):
            photo = common.given_image("Photo to upscale (at most 2048 pixels a side)", 260)
            factor = gr.Radio(FACTORS, value=2, label="How much larger", elem_id="upscale-factor")
            caption = gr.Textbox(label="Caption (optional)", lines=2)
            describe_button(studio, photo, caption, "scene")
            with gr.Accordion("Size and windows", open=False):
                width = gr.Number(
                    None, label="Or a width in pixels (the height follows)", precision=0, minimum=16, maximum=2048
                )
                with gr.Row():
                    tile = gr.Number(studio.native_side, label="Window (tile) size, px", precision=0, minimum=16)
                    overlap = gr.Number(studio.native_side // 4, label="Overlap, px", precision=0, minimum=0)
            plan = gr.Markdown(studio.upscale_advice(), elem_id="upscale-plan")
            run, stop = run_buttons("Upscale")
            settings = sampling(studio, studio.default_negative_prompt, None, many=False)
        with gr.Column(scale=3):
            compare = gr.ImageSlider(
                label="Enlarged photo | upscaled", type="pil", elem_id="upscale-compare", elem_classes=["generated"]
            )
            result = gr.File(label="The upscaled PNG, full size", interactive=False, elem_id="upscale-file")
            summary = gr.Markdown(elem_id="upscale-summary")
            assembled = prompt_accordion()
    shape = [photo, factor, width, tile, overlap]
    live(
        [*shape, settings.steps, settings.guidance],
        studio.upscale_advice,
        [*shape, settings.steps, settings.guidance],
        plan,
    )
    outputs = [compare, result, summary, settings.seed, assembled]
    given = [photo, factor, caption, width, tile, overlap, *settings.inputs(), settings.fast]
    wire_run(studio, run, stop, studio.upscale, given, outputs, "upscale")
    links.target("upscale", photo, caption)
