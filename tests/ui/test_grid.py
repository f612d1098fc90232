"""Compare grids and input checks in the service layer (no browser): each tab's grid endpoint, its bad input
at the input at fault, the cost said before a run, Stop keeping the cells done; the validators' answers."""

from __future__ import annotations

import io
import json

import gradio as gr
import numpy as np
import pytest
from PIL import Image

from onediffusion.grid import GRID_KEY
from onediffusion.metadata import read_png
from tests.helpers import FAST
from ui import checks
from ui.cost import CostModel
from ui.endpoints.grid import GRIDS, cost_preview

RUN = {**FAST, "negative_prompt": ""}
SMALL = {**RUN, "size": "32x32"}


def _png(image: Image.Image) -> bytes:
    """The image as Gradio serves it: a PNG with its text info."""
    from gradio.processing_utils import get_pil_metadata

    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=get_pil_metadata(image))
    return buffer.getvalue()


def test_a_text_to_image_grid_labels_its_cells_and_carries_their_settings(studio):
    grid, cells, summary = studio.text_to_image_grid(
        "a red cube", **SMALL, x_axis="seed", x_values="1, 2", y_axis="prompt", y_values="red, blue"
    )
    assert [caption for _, caption in cells] == [
        "seed 1 · “red”",
        "seed 2 · “red”",
        "seed 1 · “blue”",
        "seed 2 · “blue”",
    ]
    assert summary.startswith("**4 of 4 cells done**")
    data = _png(grid)
    record = json.loads(Image.open(io.BytesIO(data)).text[GRID_KEY])
    prompts = [cell["settings"]["prompt"] for cell in record["cells"]]
    assert prompts == ["[[text2image]] a red cube"] * 2 + ["[[text2image]] a blue cube"] * 2
    assert [cell["settings"]["seed"] for cell in record["cells"]] == [1, 2, 1, 2]
    assert read_png(data).settings.seed == 1  # a grid dropped on Reuse settings gives its first cell's
    same = studio.text_to_image("a red cube", **SMALL | {"seed": 2})[0][0][0]
    assert np.array_equal(np.asarray(cells[1][0]), np.asarray(same))  # a cell is the tab's run, nothing more


def test_the_tabs_own_option_and_sizes(studio, examples):
    depth = Image.open(examples / "scene_depth.png")
    _, cells, _ = studio.control_grid(
        "depth", depth, None, "a cube", None, **RUN, size="32x32", x_axis="option", x_values="depth, canny"
    )
    assert [caption for _, caption in cells] == ["Depth map", "Canny edges"]
    _, cells, _ = studio.multiview_grid(
        None,
        "a cube",
        [[0, 0, 1.7], [90, 0, 1.7]],
        **{k: v for k, v in RUN.items()},
        x_axis="size",
        x_values="32x32, 48x48",
    )
    assert [image.size for image, _ in cells] == [(32, 32), (32, 32), (48, 48), (48, 48)]  # two views a cell


@pytest.mark.parametrize(
    ("axes", "field", "message"),
    [
        ({"x_axis": "seed", "x_values": ""}, "x_values", "the axis has no values"),
        ({"x_axis": "steps", "x_values": "1-8 (0)"}, "x_values", "has a step of 0"),
        ({"x_axis": "seed", "x_values": "1-4 (-1)"}, "x_values", "so its step must be +"),
        ({"x_axis": "seed", "x_values": "1-9", "y_axis": "steps", "y_values": "1-8"}, "y_values", "72 cells"),
        ({"x_axis": "guidance", "x_values": "4, 30"}, "x_values", "Guidance must be from 0 to 20"),
        ({"x_axis": "prompt", "x_values": "purple, red"}, "x_values", "which the prompt does not contain"),
        ({"x_axis": "option", "x_values": "depth"}, "x_axis", "must be one of seed, guidance, steps, size, prompt"),
        ({"x_axis": "none"}, "x_axis", "Pick the setting the X axis varies"),
    ],
)
def test_bad_axes_are_named_at_their_input_and_nothing_runs(studio, axes, field, message):
    names = [*GRIDS["text-to-image"].parameters, "x_axis", "x_values", "y_axis", "y_values"]
    values = {"prompt": "a red cube", **SMALL, "size": "32x32", "num_images": 1, "y_axis": "none", "y_values": ""}
    values.update(axes)
    answers = checks.validator(studio.text_to_image_grid, len(names))(*[values.get(n) for n in names])
    wrong = [(names[i], a["message"]) for i, a in enumerate(answers) if not a["is_valid"]]
    assert len(wrong) == 1 and wrong[0][0] == field and message in wrong[0][1], wrong
    with pytest.raises(gr.Error, match=message.replace("(", r"\(").replace("+", r"\+")):
        studio.text_to_image_grid(**{n: values.get(n) for n in names})


def test_every_cell_is_checked_before_the_first_runs(studio, photo):
    ran = []
    original = studio._call_on_gpu
    studio._call_on_gpu = lambda *a, **k: ran.append(1) or original(*a, **k)  # every pipeline call
    try:
        with pytest.raises(gr.Error, match="In the cell Segmentation: Name at least one class"):
            studio.understand_grid(photo, "depth", None, "", **FAST, x_axis="option", x_values="depth, semanticmap")
    finally:
        studio._call_on_gpu = original
    assert ran == []  # the depth cell, which would pass, did not run either


def test_the_cost_is_said_before_and_timed_after_a_run(studio):
    tab = GRIDS["text-to-image"]
    cost = cost_preview(tab)
    given = ["a cube", "", "32x32", 3, 4.0, 1, False, 2, "seed", "1-4 (+1)", "steps", "2, 4"]
    studio.costs = CostModel()  # nothing measured yet
    assert "8 cells × 2-4 steps × 2 views" in cost(studio, *given) and "measured on the first run" in cost(
        studio, *given
    )
    studio.costs.record(studio.view_step_flop(), 0.5)  # a run measured: 0.5 s a view-step
    # 0.5 s a view-step at 64 x 64: 4 seeds x (2 + 4) steps x 2 views at a quarter of the area = 6 s
    assert cost(studio, *given).endswith("= 48 view-steps, about 6 s on cpu.")
    bad = cost(studio, *given[:-1], "2-4 (-1)")
    assert bad.startswith("⚠️") and "step must be +" in bad


def test_stop_keeps_the_cells_done(studio):
    seen = []

    def progress(value=None, desc=None, unit="steps", **_):
        seen.append(value)
        if isinstance(value, tuple) and value[0] == 2 and unit == "cells":
            studio.cancel()  # in cell 3's first report: cells 1 and 2 are done

    grid, cells, summary = studio.text_to_image_grid(
        "a cube", **SMALL, x_axis="seed", x_values="1-4", progress=progress
    )
    assert len(cells) == 2 and summary.startswith("**2 of 4 cells done** (stopped)")
    assert json.loads(grid.info[GRID_KEY])["done"] == 2 and (0, 4) in seen


def test_validators_show_the_endpoints_own_words_at_the_input(studio, photo):
    t2i = checks.validator(studio.text_to_image, 8)
    answers = t2i("", "", "64x64", 2, 4.0, 0, True, 1)
    assert answers[0] == gr.validate(False, "Describe the image to generate in the Prompt box first.")
    assert all(a["is_valid"] for a in answers[1:])
    assert all(a["is_valid"] for a in t2i("a cube", "", "64x64", 2, 4.0, 0, True, 1))
    seed = t2i("a cube", "", "64x64", 2, 4.0, None, False, 1)
    assert not seed[5]["is_valid"] and "Seed is empty" in seed[5]["message"]
    understand = checks.validator(studio.understand, 8)
    assert (
        understand(None, "depth", None, "", 2, 4.0, 0, True)[0]["message"]
        == "Add a photo first: the photo box is empty."
    )
    labels = understand(photo, "semanticmap", None, "", 2, 4.0, 0, True)
    assert not labels[2]["is_valid"] and labels[2]["message"].startswith("Name at least one class")
    mv = checks.validator(studio.multiview, 3)
    assert mv(None, "", None)[1]["message"].startswith("Add a photo, or describe the object")
    single = checks.validator(studio.describe_photo, 1, check=lambda photo: checks.problem(lambda: None, ()))
    assert single(None) == gr.validate(True, "")  # a lone input's answer is not wrapped in a list
