"""Compare grids in the engine: axis values read as people type them, bad values refused in plain words,
cells enumerated and their settings applied, the labelled grid image and its PNG text, a run that stops
keeps the cells done, and a grid on the tiny pipeline."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from onediffusion import build_task
from onediffusion.grid import (
    GRID_KEY,
    MAX_CELLS,
    CellSettings,
    Grid,
    cost_text,
    grid_image,
    parse_axis,
    run_grid,
    run_task_grid,
)
from onediffusion.metadata import ResultSettings, read_png
from onediffusion.tables import InputError

CONDITIONS = {"depth": "Depth map", "canny": "Canny edges"}


@pytest.mark.parametrize(
    ("kind", "text", "values"),
    [
        ("seed", "1-8 (+1)", (1, 2, 3, 4, 5, 6, 7, 8)),
        ("seed", "2, 4, 6", (2, 4, 6)),
        ("seed", "8-2 (-3)", (8, 5, 2)),
        ("seed", "3-1", (3, 2, 1)),
        ("steps", "10-30 (+10), 50", (10, 20, 30, 50)),
        ("guidance", "2.5-4 (+0.5)", (2.5, 3.0, 3.5, 4.0)),
        ("guidance", "1-2 (+0.3)", (1.0, 1.3, 1.6, 1.9)),
        ("size", "64x64, 128x64", ((64, 64), (64, 128))),
        ("prompt", 'red, blue, "green, bright"', ("red", "blue", "green, bright")),
        ("option", "depth, Canny edges", ("depth", "canny")),
    ],
)
def test_values_read_as_typed(kind, text, values):
    assert parse_axis(kind, text, CONDITIONS).values == values


@pytest.mark.parametrize(
    ("kind", "text", "message"),
    [
        ("seed", "", "the axis has no values"),
        ("guidance", " , ", "the axis has no values"),
        ("steps", "1-8 (0)", "has a step of 0"),
        ("steps", "1-8 (-1)", "goes up from 1 to 8, so its step must be +"),
        ("seed", "8-1 (+2)", "goes down from 8 to 1, so its step must be -"),
        ("steps", "0, 10", "Steps must be from 1 to 200; 0 is outside"),
        ("guidance", "4, 25", "Guidance must be from 0 to 20; 25 is outside"),
        ("seed", "1.5", "Seed must be whole numbers"),
        ("seed", "ten", "'ten' is not a number"),
        ("size", "65x64", "multiple of 16"),
        ("option", "hed", "'hed' is not one; pick from depth, canny"),
        ("seed", "1-5000", "gives 5000 values"),
        ("colour", "red", "An axis must be one of"),
    ],
)
def test_bad_values_are_refused_in_plain_words(kind, text, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace("+", r"\+")):
        parse_axis(kind, text, CONDITIONS)


def test_cells_go_row_by_row_and_carry_their_settings():
    grid = Grid(parse_axis("seed", "1, 2, 3"), parse_axis("prompt", "red, blue"))
    cells = list(grid.cells())
    assert grid.shape == (2, 3) and [(c.row, c.column) for c in cells][:4] == [(0, 0), (0, 1), (0, 2), (1, 0)]
    base = CellSettings(steps=5, guidance=3.0, seed=0)
    last = grid.settings(base, cells[-1])
    assert (last.seed, last.steps, last.prompt("a red cube")) == (3, 5, "a blue cube")
    assert grid.settings(base, cells[0]).prompt("a red cube") == "a red cube"  # the first value: as typed
    assert cells[-1].label == "seed 3 · “blue”"


def test_the_cap_the_same_setting_twice_and_a_search_not_in_the_prompt():
    with pytest.raises(InputError, match=f"9 x 8 = 72 cells is more than the {MAX_CELLS}"):
        Grid(parse_axis("seed", "1-9"), parse_axis("steps", "1-8")).check()
    with pytest.raises(InputError, match="Both axes vary the seed"):
        Grid(parse_axis("seed", "1, 2"), parse_axis("seed", "3, 4"))
    with pytest.raises(InputError, match="searches for 'purple', which the prompt does not contain"):
        Grid(parse_axis("prompt", "purple, red")).check_prompt("a red cube", "")


def test_cost_counts_cells_steps_views_and_size():
    grid = Grid(parse_axis("size", "64x64, 128x128"), parse_axis("steps", "2, 4"))
    base = CellSettings(steps=10, guidance=3.0, seed=0)
    assert grid.work(base, views=2, native_side=64) == 2 * (2 + 2 * 4 + 4 + 4 * 4)
    text = cost_text(Grid(parse_axis("seed", "1-4")), 30, 2, 150.0, "cuda")
    assert text == "4 cells × 30 steps × 2 views = 240 view-steps, about 2 min on cuda."
    assert "measured on the first run" in cost_text(Grid(), 30, 1, None, "cpu")


def _settings(seed: int) -> ResultSettings:
    return ResultSettings("[[text2image]] a cube", seed, 2, 3.0, 32, 32)


def test_the_grid_image_is_labelled_and_carries_every_cells_settings(tmp_path):
    grid = Grid(parse_axis("seed", "1, 2"), parse_axis("guidance", "3, 4"))
    colours = {0: "red", 1: "green", 2: "blue", 3: "yellow"}

    def run_cell(cell):
        return [Image.new("RGB", (32, 32), colours[cell.index])], _settings(cell.values["seed"])

    result = run_grid(grid, run_cell)
    path = tmp_path / "grid.png"
    result.image.save(path, pnginfo=_png_info(result.image))
    image = Image.open(path).convert("RGB")
    assert image.width > 64 and image.height > 64  # cells plus the labels around them
    pixels = np.asarray(image)
    assert (pixels < 60).all(axis=-1).any()  # dark text drawn on white
    read = read_png(path)
    assert read.settings.seed == 1  # the first cell's settings, as any result PNG carries them
    record = json.loads(Image.open(path).text[GRID_KEY])
    assert record["x"]["title"] == "Seed" and record["y"]["values"] == ["3", "4"]
    assert [c["settings"]["seed"] for c in record["cells"]] == [1, 2, 1, 2] and record["done"] == 4


def _png_info(image):
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    for key, value in image.info.items():
        info.add_itxt(key, value)
    return info


def test_a_stopped_grid_keeps_the_cells_done():
    grid = Grid(parse_axis("seed", "1-4"))
    stop = {"now": False}

    def run_cell(cell):
        if cell.index == 2:
            stop["now"] = True
            raise RuntimeError("interrupted")
        return [Image.new("RGB", (16, 16))], _settings(cell.values["seed"])

    seen = []
    result = run_grid(
        grid, run_cell, on_cell=lambda r, done, total: seen.append((done, total)), stop=lambda: stop["now"]
    )
    assert result.stopped and result.done == 2 and seen == [(1, 4), (2, 4)]
    assert json.loads(result.image.info[GRID_KEY])["done"] == 2  # the cells not run are drawn grey
    grid_image(grid, [])  # nothing done still draws
    with pytest.raises(RuntimeError):
        run_grid(grid, run_cell)  # a failure that is not a stop propagates


def test_a_grid_on_the_tiny_pipeline(tiny_pipe):
    spec = build_task("text2image", caption="a red cube")
    grid = Grid(parse_axis("seed", "1, 2"), parse_axis("prompt", "red, blue"))
    result = run_task_grid(tiny_pipe, spec, grid, steps=2, guidance=2.0, size=(32, 32), model="tiny")
    assert result.done == 4 and not result.stopped
    prompts = [c.settings.prompt for c in result.cells]
    assert prompts == ["[[text2image]] a red cube"] * 2 + ["[[text2image]] a blue cube"] * 2
    first, second = (np.asarray(c.images[0]) for c in result.cells[:2])
    assert first.shape == (32, 32, 3) and not np.array_equal(first, second)  # the seed changes the image
    again = run_task_grid(tiny_pipe, spec, Grid(parse_axis("seed", "1")), steps=2, guidance=2.0, size=(32, 32))
    assert np.array_equal(np.asarray(again.cells[0].images[0]), first)  # a cell is its settings, nothing more
