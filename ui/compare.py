"""The Compare accordion of every tab that samples: an X/Y grid of the tab's own run (``ui.endpoints.grid``).

Two axes, each a setting and its values; the cost of the grid said as the values are typed (cells x steps x
views, and the seconds that is on this device once a run has measured it); a button that runs it on the
model's queue (the API's ``/<tab>_grid``), checked before the queue like every run; the labelled grid, every
cell's images and how many cells were done. Stop keeps the cells done: it stops the run between two steps and
the grid comes back with what was made.
"""

from __future__ import annotations

import functools

import gradio as gr

from . import checks, common
from .common import CHEAP, GPU_QUEUE, Sampling
from .endpoints.grid import GRIDS, cost_preview
from .service import Studio

HOW_TO = """Run this tab's settings over one or two axes and see the results side by side in one labelled image.
Values are lists (`2, 4, 6`) or ranges with their step (`1-8 (+1)`, `8-2 (-2)`); sizes `512x512, 768x512`;
a *prompt* axis takes the text to search for, then each replacement (`red, blue, green`). Every cell uses the
seed above (drawn once when *Random seed* is ticked), so only the axes differ between cells."""


def block(studio: Studio, tab_id: str, inputs: list, settings: Sampling) -> gr.Gallery:
    """The accordion, wired: ``inputs`` are the tab's run inputs in its endpoint's order. Returns the cells'
    gallery (whose images can be sent on)."""
    tab = GRIDS[tab_id]
    choices = tab.axes()
    with gr.Accordion("Compare: a grid of settings (X/Y)", open=False, elem_id=f"compare-{tab_id}"):
        common.how_to(HOW_TO)
        with gr.Row():
            x_axis = gr.Dropdown(choices, value="seed", label="X axis (columns)", scale=1, elem_classes=["x-axis"])
            x_values = gr.Textbox("", label="X values", placeholder="e.g. 1-4 (+1)", scale=2, elem_classes=["x-values"])
        with gr.Row():
            y_axis = gr.Dropdown([("None", "none"), *choices], value="none", label="Y axis (rows)", scale=1)
            y_values = gr.Textbox("", label="Y values", placeholder="e.g. 2, 4, 6", scale=2, elem_classes=["y-values"])
        cost = gr.Markdown(elem_classes=["grid-cost"])
        with gr.Row():
            run = gr.Button("Run the grid", variant="primary", scale=3)
            stop = gr.Button("Stop", variant="stop", scale=1)
        label = "Grid: axis names and values on it"
        options = {"type": "pil", "format": "png", "interactive": False, "height": 420, "elem_id": f"grid-{tab_id}"}
        grid = gr.Image(label=label, elem_classes=["generated"], **options)
        cells = common.generated_gallery("Cells: the single results", f"cells-{tab_id}", columns=4, height=300)
        summary = gr.Markdown(elem_classes=["grid-summary"])
    axes = [x_axis, x_values, y_axis, y_values]
    given = [*inputs, *axes]
    fn = getattr(studio, tab.api)
    run.click(
        studio.cancellable(fn),
        given,
        [grid, cells, summary],
        api_name=tab.api,
        concurrency_id=GPU_QUEUE,
        concurrency_limit=1,
        validator=checks.validator(fn, len(given)),
    )
    stop.click(studio.cancel, None, None, **CHEAP)  # the grid ends between two steps and returns the cells done
    watched = [*axes, settings.steps, *(part for part in (settings.size, settings.num_images) if part is not None)]
    common.live(watched, functools.partial(cost_preview(tab), studio), given, cost)
    return cells
