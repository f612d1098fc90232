"""Text to image: a caption in, images out."""

from __future__ import annotations

import gradio as gr

from .. import advice, common, compare
from ..common import example_text, how_to, live, prompt_accordion, run_buttons, sampling, wire_run
from ..sendto import Links
from ..service import Studio
from ..spaces import cached

HOW_TO = """**Describe the image, then press Generate.** The published model likes long, detailed captions
(the authors write 100-150 words covering subject, setting, lighting and style); the examples are captions
of the demo model's world of coloured shapes on a grey floor. Tick *Random seed* off to reproduce a result:
the seed used is written back into the Seed box. Bigger sizes are in *Settings*."""

EXAMPLES = [[caption] for caption in example_text()["text_to_image"]]  # captions of the demo model's world


def build(studio: Studio, links: Links) -> None:
    how_to(HOW_TO, studio.untrained_note("text-to-image"))
    with gr.Row():
        with gr.Column(scale=2):
            prompt = gr.Textbox(label="Prompt", lines=4, placeholder="Describe the image in detail...")
            run, stop = run_buttons()
            sizes = studio.size_choices(large=True)
            settings = sampling(studio, studio.default_negative_prompt, sizes, studio.default_size())
            settings.size.info = advice.size_tip(studio.native_side, True)
            if studio.native_side == advice.PUBLISHED_SIDE:
                settings.guidance.info = f"{settings.guidance.info} {advice.DEFAULTS_TIP}"
            common.reuse_zone("text-to-image", {"prompt": prompt}, settings)
        with gr.Column(scale=3):
            gallery = common.generated_gallery("Generated images", "t2i-gallery", height=480)
            links.source("text-to-image", gallery)
            assembled = prompt_accordion()
    outputs = [gallery, settings.seed, assembled]
    gr.Examples(
        EXAMPLES, inputs=[prompt], label="Example prompts", **cached(studio.info, studio.text_to_image, outputs)
    )
    wire_run(
        studio, run, stop, studio.text_to_image, [prompt, *settings.inputs(), settings.fast], outputs, "text_to_image"
    )
    live([prompt], studio.text_to_image_prompt, [prompt], assembled)
    compare.block(studio, "text-to-image", [prompt, *settings.inputs()], settings)
