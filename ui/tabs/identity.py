"""Identity: new photos of a person from 1-4 reference photos, or of an object (subject-driven)."""

from __future__ import annotations

import gradio as gr

from .. import advice, common, compare
from ..catalogue import IDENTITY as MODES
from ..common import example, example_text, how_to, live, prompt_accordion, run_buttons, sampling, wire_run
from ..sendto import Links
from ..service import Studio
from ..spaces import cached
from .captions import describe_button, unavailable_note

HOW_TO = """**Add 1-4 reference photos of one person, caption each, describe the new photo, press Generate.**
The prompt is assembled for you (see *Prompt sent to the model*): `[[img0]]` is the new photo,
`[[img1]]`... the references in order. Captions of 30-75 words work best; describe clothes, setting
and pose rather than the face. *Subject-driven* mode takes one photo of an object and its name instead.
In the examples, views of one scene of the demo model's world stand in for photos of one person."""

IDENTITY = example_text()["identity"]  # two views of one world scene, with their captions
REFERENCES = [[example(ref["file"]), ref["caption"]] for ref in IDENTITY["references"]]
EXAMPLES = [
    ["identity", *REFERENCES[0], *REFERENCES[1], IDENTITY["target_caption"], ""],
    ["subject_driven", *REFERENCES[0], None, "", IDENTITY["subject_caption"], IDENTITY["subject"]],
]

EXAMPLE_COLUMNS = ["mode", "reference_1", "caption_1", "reference_2", "caption_2", "target_caption", "subject_name"]


def on_mode(mode: str) -> tuple:
    """Subject-driven mode uses one reference photo and a subject name."""
    identity = mode == "identity"
    return gr.update(visible=not identity), *(gr.update(visible=identity) for _ in range(3))


def _references() -> tuple[list, list]:
    """Four columns of a reference photo and its caption: the widgets (photo, caption, ...) and the columns."""
    references, columns = [], []
    with gr.Row():
        for i in range(1, 5):
            with gr.Column(min_width=160, elem_id=f"reference-{i}") as column:
                photo = common.given_image(f"Reference photo {i}", 200)
                caption = gr.Textbox(label=f"Caption of photo {i}", lines=2)
            references += [photo, caption]
            columns.append(column)
    return references, columns


def build(studio: Studio, links: Links) -> None:
    how_to(HOW_TO, studio.untrained_note(MODES.id))
    mode = gr.Radio(MODES.choices(), value="identity", label="Mode")
    references, columns = _references()
    for i, column in enumerate(columns):
        references[2 * i + 1].info = advice.IDENTITY_CAPTION_TIP
        with column:  # under each reference photo; the mode says whether it is a person or an object
            describe_button(studio, references[2 * i], references[2 * i + 1], mode, note=False)
    unavailable_note(studio)
    with gr.Row():
        with gr.Column(scale=2):
            target = gr.Textbox(label="Target caption: the new photo", lines=3)
            subject = gr.Textbox(label="Subject name (e.g. 'robot')", visible=False)
            target.info = advice.IDENTITY_TARGET_TIP
            run, stop = run_buttons()
            sizes = studio.size_choices(auto=True)
            settings = sampling(studio, studio.default_negative_prompt, sizes, studio.default_size())
            captions = {f"caption_{i}": references[2 * i - 1] for i in range(1, 5)}
            reused = {"option": mode, "prompt": target, "subject": subject, **captions}
            common.reuse_zone("identity", reused, settings)
        with gr.Column(scale=3):
            gallery = common.generated_gallery("Generated", "identity-gallery")
            links.source("identity", gallery)
            assembled = prompt_accordion()
    r = references
    mode.change(on_mode, mode, [subject, *columns[1:]], **common.QUIET)
    given = [mode, *references, target, subject]
    outputs = [gallery, settings.seed, assembled]
    cache = cached(studio.info, studio.identity, outputs, EXAMPLE_COLUMNS)
    gr.Examples(EXAMPLES, inputs=[mode, r[0], r[1], r[2], r[3], target, subject], label="Examples", **cache)
    links.target("identity", references[0], references[1])
    wire_run(studio, run, stop, studio.identity, [*given, *settings.inputs(), settings.fast], outputs, "identity")
    live(given, studio.identity_prompt, given, assembled)
    compare.block(studio, "identity", [*given, *settings.inputs()], settings)
