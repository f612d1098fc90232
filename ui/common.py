"""Widgets and wiring every tab shares: the how-to, sampling settings, run and stop buttons, the prompt
accordion, label and camera tables, and the one helper that wires a GPU run with progress and cancel."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from onediffusion import PALETTE
from onediffusion.caching import CACHE_NOTE
from onediffusion.paths import ASSETS

from . import checks
from . import outputs as out
from .inputs import MAX_GUIDANCE, MAX_IMAGES, MAX_SEED, MAX_STEPS
from .reuse import reuse
from .service import Studio

EXAMPLES_DIR = ASSETS / "examples"
GPU_QUEUE = "gpu"  # every model run shares one queue slot: one generation at a time per GPU
QUIET = {"show_progress": "hidden", "api_visibility": "undocumented"}  # a widget reacting: no spinner, not in the API
CHEAP = {"concurrency_limit": None, **QUIET}
DOWNLOADS = ["download", "download_all", "fullscreen"]
LABEL_HEADERS = ["class", "colour"]


REFERENCED_EXAMPLES: set[str] = set()  # every example file a tab names, for the test that they all exist


def example(name: str) -> str:
    """Path of one of the app's own example files (the only files it serves from disk)."""
    REFERENCED_EXAMPLES.add(name)
    return str(EXAMPLES_DIR / name)


@functools.cache
def example_text() -> dict:
    """The captions, class rows, instructions and cameras that go with the example images, as
    ``assets/make_examples.py`` wrote them beside the images (``examples.json``)."""
    return json.loads((EXAMPLES_DIR / "examples.json").read_text())


def how_to(text: str, note: str = "") -> gr.Markdown:
    """A tab's how-to; ``note`` adds what the loaded model was not trained for (``Studio.untrained_note``)."""
    return gr.Markdown(text + note, elem_classes=["how-to"])


@dataclass
class Sampling:
    """The settings block of a tab; ``inputs()`` lists them in the order the endpoints take them."""

    negative_prompt: gr.Textbox | None
    size: gr.Dropdown | None
    steps: gr.Slider
    guidance: gr.Slider
    seed: gr.Number
    randomize: gr.Checkbox
    num_images: gr.Slider | None
    fast: gr.Checkbox  # last in every run's inputs (after a tab's own trailing settings), as the endpoints take it

    def inputs(self) -> list:
        parts = [self.negative_prompt, self.size, self.steps, self.guidance, self.seed, self.randomize, self.num_images]
        return [part for part in parts if part is not None]


def sampling(
    studio: Studio,
    negative: str | None = None,
    sizes: list | None = None,
    size_value: str | None = None,
    many: bool = True,
) -> Sampling:
    """Seed row, then an accordion with steps, guidance, size, negative prompt and image count; steps
    and guidance start at the model's defaults.

    ``negative`` None leaves the negative prompt out; ``sizes`` None leaves the size out.
    """
    defaults = studio.defaults
    with gr.Row(equal_height=True):
        seed = gr.Number(
            0,
            label="Seed",
            precision=0,
            minimum=0,
            maximum=MAX_SEED,
            scale=3,
            elem_classes=["seed"],
            info="The seed used is written back here after each run.",
        )
        randomize = gr.Checkbox(
            True,
            label="Random seed",
            scale=1,
            info="Untick to reuse the seed above.",
            elem_classes=["random-seed"],
        )
    with gr.Accordion("Settings", open=False):
        with gr.Row():
            steps = gr.Slider(
                1, MAX_STEPS, defaults.steps, step=1, label="Steps", elem_classes=["steps"], info=defaults.steps_hint()
            )
            guidance_ = gr.Slider(
                0,
                MAX_GUIDANCE,
                defaults.guidance,
                step=0.1,
                label="Guidance",
                info=defaults.guidance_hint(),
                elem_classes=["guidance"],
            )
        size = None
        if sizes is not None:
            size = gr.Dropdown(
                sizes,
                value=size_value or sizes[0][1],
                label="Size (width × height)",
                elem_classes=["size"],
                allow_custom_value=True,
                info="Presets follow the model's aspect-ratio table; or type e.g. 640x384 (multiples of 16).",
            )
        count = gr.Slider(1, MAX_IMAGES, 1, step=1, label="Number of images") if many else None
        negative_prompt = None
        if negative is not None:
            negative_prompt = gr.Textbox(
                negative, label="Negative prompt", lines=2, info="What to steer away from. Leave empty for none."
            )
        fast = gr.Checkbox(studio.settings.fast, label="Faster sampling", info=CACHE_NOTE, elem_classes=["fast"])
    return Sampling(negative_prompt, size, steps, guidance_, seed, randomize, count, fast)


def given_image(label: str, height: int, **options) -> gr.Image:
    """An image the person gives the model (framed blue, as a condition)."""
    return gr.Image(label=label, type="pil", format="png", height=height, elem_classes=["condition"], **options)


def shown_image(label: str, frame: str = "generated", height: int = 320, **options) -> gr.Image:
    """An image the page shows, framed as ``frame`` ("generated": orange, "condition": blue)."""
    options = {"type": "pil", "format": "png", **options}
    return gr.Image(label=label, interactive=False, height=height, elem_classes=[frame, "fit"], **options)


def given_gallery(label: str, columns: int, height: int, elem_id: str | None = None) -> gr.Gallery:
    """Several images the person gives the model (framed blue)."""
    options = {"columns": columns, "height": height, "elem_id": elem_id}
    return gr.Gallery(label=label, type="pil", format="png", interactive=True, elem_classes=["condition"], **options)


def generated_gallery(label: str, elem_id: str, columns: int = 2, height: int = 420) -> gr.Gallery:
    """What the model generated (framed orange), each image downloadable."""
    options = {"columns": columns, "height": height, "elem_id": elem_id}
    # Not interactive even where an event reads it (the before-and-after slider does): nothing to upload here.
    return gr.Gallery(
        label=label, format="png", interactive=False, elem_classes=["generated"], buttons=DOWNLOADS, **options
    )


def run_buttons(label: str = "Generate") -> tuple[gr.Button, gr.Button]:
    with gr.Row():
        run = gr.Button(label, variant="primary", scale=3)
        stop = gr.Button("Stop", variant="stop", scale=1)
    return run, stop


def prompt_accordion(label: str = "Prompt sent to the model") -> gr.Textbox:
    """The assembled prompt (task token, labels, [[imgN]] markers), kept up to date as inputs change."""
    with gr.Accordion(label, open=False):
        return gr.Textbox(
            label="Assembled prompt", interactive=False, lines=2, buttons=["copy"], elem_classes=["assembled-prompt"]
        )


def label_table(rows: Sequence[Sequence[str]] = (("", ""),), visible: bool = True) -> gr.Dataframe:
    """Class-and-colour rows for semantic maps and boxes; a blank colour takes the next palette colour."""
    names = ", ".join(name for _, name in PALETTE)
    return gr.Dataframe(
        [list(r) for r in rows],
        headers=LABEL_HEADERS,
        datatype=["str", "str"],
        type="array",
        column_count=2,
        row_count=1,
        label=f"Classes and colours (colours: {names})",
        interactive=True,
        visible=visible,
    )


def label_rows(visible: bool = True) -> tuple[gr.Dataframe, gr.HTML]:
    """The class-and-colour table with the palette's legend below it."""
    return label_table(visible=visible), palette_legend(visible=visible)


def palette_legend(visible: bool = True) -> gr.HTML:
    swatches = "".join(
        f'<span class="swatch" style="background:{hex_code}" title="{name}"></span>{name} '
        for hex_code, name in PALETTE
    )
    return gr.HTML(f'<div class="palette">{swatches}</div>', visible=visible)


def wire_run(studio: Studio, run: gr.Button, stop: gr.Button, fn: Callable, inputs: list, outputs: list, api_name: str):
    """Run ``fn`` on the shared GPU queue when ``run`` is clicked, its inputs checked first (``ui.checks``: bad
    input is shown at the input at fault and takes no queue slot); Stop cancels the event, which interrupts
    the pipeline after its current step (see ``ModelHost.cancellable``)."""
    event = run.click(
        studio.cancellable(fn),
        inputs,
        outputs,
        api_name=api_name,
        concurrency_id=GPU_QUEUE,
        concurrency_limit=1,
        scroll_to_output=True,
        validator=checks.validator(fn, len(inputs)),
    )
    stop.click(studio.cancel, None, None, cancels=[event], **CHEAP)
    return event


def live(components: Sequence, fn: Callable, inputs: list, outputs, trigger_load: gr.Blocks | None = None) -> None:
    """Recompute ``outputs`` (a preview, a figure) whenever any of ``components`` changes."""
    for component in components:
        component.change(fn, inputs, outputs, **CHEAP)
    if trigger_load is not None:
        trigger_load.load(fn, inputs, outputs, **CHEAP)


REUSE_LABEL = "Reuse settings: drop a result here"


def reuse_zone(zone: str, controls: dict[str, gr.components.Component], settings: Sampling | None = None) -> gr.File:
    """A drop zone that puts the settings a result PNG carries into ``controls`` (by ``ui.reuse`` name:
    prompt, option, labels, ...) and ``settings``' controls, saying in a ``gr.Info`` what it read and
    what it could not; a control it did not read is left as it is."""
    zone_file = gr.File(label=REUSE_LABEL, file_types=[".png"], type="filepath", height=120, elem_classes=["reuse"])
    if settings is not None:
        shared = {
            "negative_prompt": settings.negative_prompt,
            "size": settings.size,
            "steps": settings.steps,
            "guidance": settings.guidance,
            "seed": settings.seed,
            "randomize": settings.randomize,
        }
        controls = {**controls, **{name: part for name, part in shared.items() if part is not None}}
    sizes = [value for _, value in settings.size.choices] if settings is not None and settings.size else []
    names = list(controls)

    fill = functools.partial(reuse_updates, zone=zone, sizes=sizes, names=names)
    zone_file.upload(fill, zone_file, list(controls.values()), **CHEAP)
    return zone_file


def reuse_updates(path: str | None, zone: str, sizes: list[str], names: list[str]) -> list:
    """One update per control of ``names``: the value read from the result at ``path``, or ``gr.update()``
    (no change) for a control it did not read; the report goes to a ``gr.Info``."""
    found = reuse(path, zone, sizes)
    if path:
        gr.Info(found.message(Path(path).name))
    return [gr.update(value=found.values[name]) if name in found.values else gr.update() for name in names]


def compare_slider(elem_id: str, visible: bool) -> gr.ImageSlider:
    """Input and result in one frame, a handle dragged across to compare them (filled by ``wire_compare``)."""
    options = {"type": "pil", "format": "png", "interactive": False, "max_height": 420, "buttons": ["fullscreen"]}
    label = "Before and after: drag the handle to compare"
    return gr.ImageSlider(label=label, visible=visible, elem_id=elem_id, elem_classes=["generated"], **options)


def wire_compare(event, before: gr.components.Component, after: gr.components.Component, slider: gr.ImageSlider):
    """After a successful run, put ``before`` (the input) and the first image of ``after`` in ``slider``;
    the endpoint's own outputs stay as they are."""
    event.success(compare, [before, after], slider, **CHEAP)


def compare(before, after) -> tuple | None:
    """The slider's pair from an image's or a gallery's value (its first image)."""
    if isinstance(after, list):
        after = after[0] if after else None
    if isinstance(after, tuple):
        after = after[0]
    return out.before_after(before, after)


def visible_for(keys: set[str]) -> Callable[[str], dict]:
    """A change handler showing a component only while the chosen option is one of ``keys``."""
    return lambda key: gr.update(visible=key in keys)
