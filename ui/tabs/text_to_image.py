"""Text to image: a caption in, images out."""

from __future__ import annotations

import gradio as gr

from ..common import how_to, live, prompt_accordion, run_buttons, sampling, wire_run
from ..service import Studio

HOW_TO = """**Describe the image, then press Generate.** Long, detailed captions work best: the
authors write 100-150 words covering subject, setting, lighting and style. Tick *Random seed* off to
reproduce a result: the seed used is written back into the Seed box. Bigger sizes are in *Settings*."""

EXAMPLES = [
    ["A red cube and a blue sphere on a round wooden table, soft studio light from the left, a pale blue "
     "background, sharp shadows, a clean product photo."],
    ["A cosy reading nook by a rainy window at dusk: a green armchair, a knitted blanket, a stack of old "
     "books and a steaming mug of tea on a small side table, warm lamp light, film photograph."],
    ["A red fox curled up asleep in fresh snow at the edge of a pine forest, early morning, golden light, "
     "shallow depth of field, wildlife photography."],
]  # fmt: skip


def build(studio: Studio) -> None:
    how_to(HOW_TO)
    with gr.Row():
        with gr.Column(scale=2):
            prompt = gr.Textbox(label="Prompt", lines=4, placeholder="Describe the image in detail...")
            run, stop = run_buttons()
            settings = sampling(studio, negative=studio.default_negative_prompt, sizes=studio.size_choices(large=True),
                                size_value=studio.default_size())  # fmt: skip
        with gr.Column(scale=3):
            gallery = gr.Gallery(label="Generated images", format="png", columns=2, height=480,
                                 elem_classes=["generated"], elem_id="t2i-gallery",
                                 buttons=["download", "download_all", "fullscreen"])  # fmt: skip
            assembled = prompt_accordion()
    gr.Examples(EXAMPLES, inputs=[prompt], label="Example prompts")
    wire_run(studio, run, stop, studio.text_to_image, [prompt, *settings.inputs()],
             [gallery, settings.seed, assembled], "text_to_image")  # fmt: skip
    live([prompt], studio.text_to_image_prompt, [prompt], assembled)
