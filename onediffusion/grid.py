"""Compare grids: one task run over up to two axes of settings (an X/Y plot), drawn as one labelled image.

    from onediffusion.grid import Grid, parse_axis, run_task_grid
    grid = Grid(parse_axis("seed", "1-4 (+1)"), parse_axis("guidance", "2, 4, 6"))
    result = run_task_grid(pipe, build_task("text2image", caption="a red fox"), grid, steps=30)
    result.save("grid.png")  # axis names and values drawn on it; every cell's settings in its PNG text

An axis is a setting and its values, typed as a list (``"2, 4, 6"``) or a range with its step
(``"1-8 (+1)"``, ``"8-2 (-2)"``): the seed, guidance, steps, size, a prompt search-and-replace (the
first value is the text searched for, each value in turn replaces it, the first included) or the
task's own option (a Control condition, an Understanding estimate). Cells run one after another with a
callback per cell; a stop asked between or during cells keeps the cells already done. Every bad value
raises ``InputError`` in plain words before anything runs.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property

import torch
from PIL import Image, ImageDraw, ImageFont

from .metadata import JSON_KEY, PARAMETERS_KEY, ResultSettings, save_text_chunks
from .tables import MAX_GUIDANCE, MAX_SEED, MAX_STEPS, InputError, parse_size
from .tasks import TaskSpec

GRID_KEY = "onediffusion-grid"  # the PNG text chunk of a grid image: its axes and every cell's settings
MAX_CELLS = 64
MIN_TILE = 128  # pixels: cells smaller than this are enlarged in the grid image (not in the cells)
MAX_RANGE = 1000  # values a range may expand to before the cap is even considered
_NUMBER = r"\d+(?:\.\d+)?"
_RANGE = re.compile(rf"^({_NUMBER})\s*-\s*({_NUMBER})(?:\s*\(\s*([+-]?)\s*({_NUMBER})\s*\))?$")


@dataclass(frozen=True)
class AxisKind:
    """A setting an axis can vary: how it is called, and how its values are read and drawn."""

    name: str
    title: str
    read: Callable[[str, AxisKind], list]
    low: float | None = None
    high: float | None = None
    whole: bool = False


@dataclass(frozen=True)
class Axis:
    """One axis of a grid: the setting (``kind``), its values as read, and each value's text as drawn."""

    kind: str
    values: tuple
    texts: tuple[str, ...]
    title: str
    search: str | None = None  # the prompt axis: the text each value replaces

    def __len__(self) -> int:
        return len(self.values)

    def as_dict(self) -> dict:
        return {"kind": self.kind, "title": self.title, "values": list(self.texts), "search": self.search}


@dataclass(frozen=True)
class Cell:
    """One cell: its place, and the value of each axis there (by the axis's kind)."""

    index: int
    row: int
    column: int
    values: Mapping[str, object]
    texts: tuple[str, ...]

    @property
    def label(self) -> str:
        """'seed 3 · guidance 4': what the cell's caption says."""
        return " · ".join(self.texts) or "the settings as given"


@dataclass(frozen=True)
class CellSettings:
    """The sampling settings of a cell: the run's own, with the cell's axes applied (``Grid.settings``)."""

    steps: int
    guidance: float
    seed: int
    size: tuple[int, int] | None = None  # (height, width); None: the task picks
    negative_prompt: str = ""
    option: str | None = None
    swap: tuple[str, str] | None = None  # (search, replacement) for the prompt

    def prompt(self, text: str) -> str:
        """``text`` with the cell's replacement made (the same text when there is none)."""
        return text.replace(*self.swap) if self.swap else text


# 1. Reading axis values ----------------------------------------------------------------------------


def split_values(text: str) -> list[str]:
    """Comma-separated values, spaces trimmed; a value holding a comma goes in double quotes."""
    rows = list(csv.reader([text or ""], skipinitialspace=True))
    return [value.strip() for value in (rows[0] if rows else []) if value.strip()]


def _range(token: str, kind: AxisKind) -> list[float] | None:
    """``a-b (+s)`` -> a, a+s, ... up to b (None when ``token`` is not a range); a missing step is 1 towards b."""
    match = _RANGE.match(token)
    if match is None:
        return None
    start, end = float(match[1]), float(match[2])
    step = float(match[4]) if match[4] else 1.0
    if match[3] == "-":
        step = -step
    elif not match[3] and end < start:
        step = -step  # "8-1" counts down, as "1-8" counts up
    if step == 0:
        raise InputError(f"{kind.title}: the range {token!r} has a step of 0; give a step such as (+1).")
    if (end - start) * step < 0:
        way, sign = ("up", "+") if end > start else ("down", "-")
        raise InputError(
            f"{kind.title}: the range {token!r} goes {way} from {match[1]} to {match[2]}, so its step must be "
            f"{sign}, not {step:+g}."
        )
    count = math.floor(round((end - start) / step, 9)) + 1
    if count > MAX_RANGE:
        raise InputError(f"{kind.title}: the range {token!r} gives {count} values; a grid has at most {MAX_CELLS}.")
    return [round(start + i * step, 9) for i in range(count)]


def _number(token: str, kind: AxisKind) -> float:
    try:
        value = float(token)
    except ValueError:
        raise InputError(
            f"{kind.title}: {token!r} is not a number; write values like '1, 2, 3' or '1-8 (+1)'."
        ) from None
    if not math.isfinite(value):
        raise InputError(f"{kind.title}: {token!r} is not a finite number.")
    return value


def _numbers(text: str, kind: AxisKind) -> list:
    values: list = []
    for token in split_values(text):
        values += _range(token, kind) or [_number(token, kind)]
    for value in values:
        if kind.whole and not float(value).is_integer():
            raise InputError(f"{kind.title} must be whole numbers; {value:g} is not.")
        if not kind.low <= value <= kind.high:
            raise InputError(f"{kind.title} must be from {kind.low:g} to {kind.high:g}; {value:g} is outside.")
    return [int(v) for v in values] if kind.whole else [float(v) for v in values]


def _sizes(text: str, kind: AxisKind) -> list:
    return [parse_size(token) for token in split_values(text)]


def _texts(text: str, kind: AxisKind) -> list:
    return split_values(text)


AXES: dict[str, AxisKind] = {
    kind.name: kind
    for kind in (
        AxisKind("seed", "Seed", _numbers, 0, MAX_SEED, whole=True),
        AxisKind("guidance", "Guidance", _numbers, 0, MAX_GUIDANCE),
        AxisKind("steps", "Steps", _numbers, 1, MAX_STEPS, whole=True),
        AxisKind("size", "Size", _sizes),
        AxisKind("prompt", "Prompt", _texts),
        AxisKind("option", "Option", _texts),
    )
}


def parse_axis(kind: str, text: str, options: Mapping[str, str] | None = None, option_title: str = "Option") -> Axis:
    """An axis of ``kind`` (a key of ``AXES``) from the values typed; ``options`` are the task's own option
    keys and names (the ``option`` axis only). Raises ``InputError`` naming the value at fault."""
    if kind not in AXES:
        raise InputError(f"An axis must be one of {', '.join(AXES)}; {kind!r} is not.")
    axis_kind = AXES[kind] if kind != "option" else replace(AXES[kind], title=option_title)
    values = axis_kind.read(text, axis_kind)
    if not values:
        example = {"prompt": "'red, blue, green'", "size": "'512x512, 768x512'", "option": "two options"}
        raise InputError(f"{axis_kind.title}: the axis has no values; type some, e.g. {example.get(kind, '1-4 (+1)')}.")
    if kind == "prompt":
        search = values[0]
        return Axis(kind, tuple(values), tuple(values), f"Prompt: {search!r} replaced by", search)
    if kind == "option":
        return _option_axis(values, options or {}, axis_kind.title)
    texts = tuple(f"{w}x{h}" for h, w in values) if kind == "size" else tuple(f"{v:g}" for v in values)
    return Axis(kind, tuple(values), texts, axis_kind.title)


def _option_axis(values: list[str], options: Mapping[str, str], title: str) -> Axis:
    if not options:
        raise InputError("This task has no option of its own to vary.")
    by_name = {name.lower(): key for key, name in options.items()} | {key.lower(): key for key in options}
    keys = []
    for value in values:
        if value.lower() not in by_name:
            raise InputError(f"{title}: {value!r} is not one; pick from {', '.join(options)}.")
        keys.append(by_name[value.lower()])
    return Axis("option", tuple(keys), tuple(options[key] for key in keys), title)


# 2. The grid -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Grid:
    """Up to two axes: ``x`` across (columns), ``y`` down (rows). With neither, one cell: the settings as given."""

    x: Axis | None = None
    y: Axis | None = None

    def __post_init__(self) -> None:
        if self.x is not None and self.y is not None and self.x.kind == self.y.kind:
            raise InputError(f"Both axes vary the {self.x.title.lower()}: pick another setting for one of them.")

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns)."""
        return (len(self.y) if self.y else 1), (len(self.x) if self.x else 1)

    @property
    def size(self) -> int:
        rows, columns = self.shape
        return rows * columns

    @property
    def axes(self) -> list[Axis]:
        return [axis for axis in (self.x, self.y) if axis is not None]

    def check(self, max_cells: int = MAX_CELLS) -> Grid:
        """The grid itself, once it has at most ``max_cells`` cells (else ``InputError``)."""
        if self.size > max_cells:
            rows, columns = self.shape
            raise InputError(
                f"{columns} x {rows} = {self.size} cells is more than the {max_cells} a grid may have: "
                "take fewer values, or a larger range step."
            )
        return self

    def check_prompt(self, *texts: str) -> None:
        """A prompt axis must find its search text in one of ``texts`` (the prompt and captions given)."""
        for axis in self.axes:
            if axis.kind == "prompt" and not any(axis.search in (text or "") for text in texts):
                raise InputError(f"The prompt axis searches for {axis.search!r}, which the prompt does not contain.")

    def cells(self) -> Iterator[Cell]:
        """Row by row, left to right."""
        rows, columns = self.shape
        for row in range(rows):
            for column in range(columns):
                values, texts = {}, []
                for axis, at in ((self.x, column), (self.y, row)):
                    if axis is not None:
                        values[axis.kind] = axis.values[at]
                        texts.append(_cell_text(axis, at))
                yield Cell(row * columns + column, row, column, values, tuple(texts))

    def settings(self, base: CellSettings, cell: Cell) -> CellSettings:
        """``base`` with ``cell``'s values applied."""
        values = dict(cell.values)
        changes = {name: values[name] for name in ("steps", "guidance", "seed", "size", "option") if name in values}
        if "prompt" in values:
            search = next(axis.search for axis in self.axes if axis.kind == "prompt")
            changes["swap"] = (search, values["prompt"]) if values["prompt"] != search else None
        return replace(base, **changes)

    def work(self, base: CellSettings, views: int, native_side: int) -> float:
        """The grid's work in view-steps at the native size: each cell's steps x ``views`` x its area over the
        native square (its time on a device is this times the seconds of one such view-step there)."""
        total = 0.0
        for cell in self.cells():
            settings = self.settings(base, cell)
            height, width = settings.size or (native_side, native_side)
            total += settings.steps * views * height * width / native_side**2
        return total

    def as_dict(self) -> dict:
        return {"x": self.x.as_dict() if self.x else None, "y": self.y.as_dict() if self.y else None}


def _cell_text(axis: Axis, at: int) -> str:
    if axis.kind == "prompt":
        return f"“{axis.texts[at]}”"
    if axis.kind == "option":
        return axis.texts[at]
    return f"{axis.title.lower()} {axis.texts[at]}"


def cost_text(grid: Grid, steps: Sequence[int] | int, views: int, seconds: float | None, device: str) -> str:
    """'12 cells x 30 steps x 2 views = 720 view-steps, about 3 min on cuda': the cost said before a run."""
    per = f"{steps} steps" if isinstance(steps, int) else f"{min(steps)}-{max(steps)} steps"
    count = steps * grid.size if isinstance(steps, int) else sum(steps)
    text = f"{grid.size} cell{'s' * (grid.size != 1)} × {per} × {views} view{'s' * (views != 1)} = {count * views} view-steps"
    if seconds is None:
        return f"{text}; the time is measured on the first run on {device}."
    return f"{text}, {say_seconds(seconds)} on {device}."


def say_seconds(seconds: float) -> str:
    """A duration as a person says it before a run: "about 40 s", "about 12 min", "about 1.5 h"."""
    if seconds < 90:
        return f"about {max(1, round(seconds))} s"
    if seconds < 5400:
        return f"about {round(seconds / 60)} min"
    return f"about {seconds / 3600:.1f} h"


# 3. Running ---------------------------------------------------------------------------------------


@dataclass
class CellResult:
    """A cell done: its images (one or more: several images or views) and the settings that made them."""

    cell: Cell
    images: list[Image.Image]
    settings: ResultSettings


@dataclass
class GridResult:
    """The cells done (all of them unless stopped), and the labelled grid image of them."""

    grid: Grid
    cells: list[CellResult] = field(default_factory=list)
    stopped: bool = False

    @property
    def done(self) -> int:
        return len(self.cells)

    @cached_property
    def image(self) -> Image.Image:
        """The labelled grid, carrying the first cell's settings (as a result PNG does) and every cell's."""
        return grid_image(self.grid, self.cells)

    def save(self, path) -> None:
        """The grid image as a PNG with the settings it carries as text (``image.save`` alone drops them)."""
        save_text_chunks(self.image, path, (PARAMETERS_KEY, JSON_KEY, GRID_KEY))


def run_grid(
    grid: Grid,
    run_cell: Callable[[Cell], tuple[list[Image.Image], ResultSettings]],
    on_cell: Callable[[CellResult, int, int], None] | None = None,
    stop: Callable[[], bool] | None = None,
) -> GridResult:
    """Run every cell of ``grid`` with ``run_cell`` (its images and settings), calling ``on_cell(result, done,
    total)`` after each. When ``stop()`` becomes true, between cells or during one (which then fails), the
    cells done are kept and ``stopped`` is set; any other failure propagates."""
    result = GridResult(grid)
    stopping = stop or (lambda: False)
    for cell in grid.cells():
        if stopping():
            result.stopped = True
            break
        try:
            images, settings = run_cell(cell)
        except Exception:
            if not stopping():
                raise
            result.stopped = True
            break
        result.cells.append(CellResult(cell, list(images), settings))
        if on_cell is not None:
            on_cell(result.cells[-1], result.done, grid.size)
    return result


def run_task_grid(
    pipe,
    spec: TaskSpec | Callable[[str | None], TaskSpec],
    grid: Grid,
    *,
    steps: int = 30,
    guidance: float | None = None,
    seed: int = 0,
    size: tuple[int, int] | None = None,
    negative_prompt: str = "",
    model: str = "",
    on_cell: Callable[[CellResult, int, int], None] | None = None,
) -> GridResult:
    """A task's grid on a pipeline: every cell one pipeline call, seeded on the CPU. ``spec`` is the task, or,
    for a grid with an ``option`` axis, a function of the option giving the task; ``guidance`` None: the task's."""
    make = spec if callable(spec) else (lambda option: spec)
    first = make(None)
    base = CellSettings(steps, first.guidance_scale if guidance is None else guidance, seed, size, negative_prompt)

    def run_cell(cell: Cell) -> tuple[list[Image.Image], ResultSettings]:
        settings = grid.settings(base, cell)
        task = make(settings.option) if settings.option is not None else first
        height, width = task.size(pipe.native_side, settings.size)
        prompt = settings.prompt(task.prompt)
        images = pipe(
            prompt=prompt,
            views=task.views,
            height=height,
            width=width,
            num_inference_steps=settings.steps,
            guidance_scale=settings.guidance,
            negative_prompt=settings.negative_prompt or None,
            generator=torch.Generator("cpu").manual_seed(settings.seed),
            output_type="pil",
        ).images
        made = ResultSettings(
            prompt, settings.seed, settings.steps, settings.guidance, width, height, negative_prompt, task.task, model
        )
        return images, made

    return run_grid(grid.check(), run_cell, on_cell)


# 4. Drawing ---------------------------------------------------------------------------------------

_INK, _PAPER, _EMPTY = (20, 20, 20), (255, 255, 255), (232, 232, 232)


def strip(images: Sequence[Image.Image]) -> Image.Image:
    """Images side by side (a cell with several images or views), on white."""
    if len(images) == 1:
        return images[0].convert("RGB")
    height = max(image.height for image in images)
    canvas = Image.new("RGB", (sum(image.width for image in images), height), _PAPER)
    x = 0
    for image in images:
        canvas.paste(image.convert("RGB"), (x, 0))
        x += image.width
    return canvas


def _wrap(draw: ImageDraw.ImageDraw, text: str, font, width: int) -> list[str]:
    """``text`` in lines no wider than ``width`` where its words allow."""
    lines: list[str] = []
    for word in text.split():
        if lines and draw.textlength(f"{lines[-1]} {word}", font=font) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines or [""]


def grid_image(grid: Grid, cells: Sequence[CellResult]) -> Image.Image:
    """The cells in their places under a title naming the axes, each column headed and each row led by its
    value; a cell not run is grey and says so. The image carries the first cell's settings and the grid's."""
    rows, columns = grid.shape
    tiles = {result.cell.index: strip(result.images) for result in cells}
    smallest = min((min(tile.size) for tile in tiles.values()), default=MIN_TILE)
    if smallest < MIN_TILE:  # small outputs (a demo model's) enlarged, so the labels stay small beside them
        scale = math.ceil(MIN_TILE / smallest)
        tiles = {i: t.resize((t.width * scale, t.height * scale), Image.Resampling.NEAREST) for i, t in tiles.items()}
    widths = [max((tiles[r * columns + c].width for r in range(rows) if r * columns + c in tiles), default=64)
              for c in range(columns)]  # fmt: skip
    heights = [max((tiles[r * columns + c].height for c in range(columns) if r * columns + c in tiles), default=64)
               for r in range(rows)]  # fmt: skip
    font = ImageFont.load_default(size=max(12, min(28, min(widths + heights) // 6)))
    pad = max(4, font.size // 3)
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    line = font.size + pad // 2
    heads = [_wrap(measure, grid.x.texts[c], font, widths[c] - pad) if grid.x else [] for c in range(columns)]
    lead_width = max(widths[0], 8 * font.size) if grid.y else 0
    leads = [_wrap(measure, grid.y.texts[r], font, lead_width - 2 * pad) if grid.y else [] for r in range(rows)]
    title = _wrap(measure, _title(grid), font, max(sum(widths) + lead_width, 16 * font.size) - 2 * pad)
    top = pad + len(title) * line + pad + (max(map(len, heads)) * line + pad if grid.x else 0)
    left = lead_width + (pad if grid.y else 0)
    canvas = Image.new("RGB", (max(left + sum(widths) + pad, 16 * font.size), top + sum(heights) + pad), _PAPER)
    draw = ImageDraw.Draw(canvas)
    for i, text in enumerate(title):
        draw.text((pad, pad + i * line), text, font=font, fill=_INK)
    y = top
    for r in range(rows):
        for i, text in enumerate(leads[r]):
            draw.text((pad, y + i * line), text, font=font, fill=_INK)
        x = left
        for c in range(columns):
            if r == 0:
                for i, text in enumerate(heads[c]):  # centred over the column
                    at = x + max(0, (widths[c] - draw.textlength(text, font=font)) / 2)
                    draw.text((at, top - (len(heads[c]) - i) * line - pad // 2), text, font=font, fill=_INK)
            tile = tiles.get(r * columns + c)
            if tile is None:
                draw.rectangle([x, y, x + widths[c] - 1, y + heights[r] - 1], fill=_EMPTY)
                draw.text((x + pad, y + pad), "not run", font=font, fill=_INK)
            else:
                canvas.paste(tile, (x, y))
            x += widths[c]
        y += heights[r]
    return carrying_grid(canvas, grid, cells)


def _title(grid: Grid) -> str:
    parts = [f"{name}: {axis.title}" for name, axis in (("X, across", grid.x), ("Y, down", grid.y)) if axis]
    return " · ".join(parts) or "One cell: the settings as given"


def carrying_grid(image: Image.Image, grid: Grid, cells: Sequence[CellResult]) -> Image.Image:
    """``image`` with the first cell's settings (``parameters`` and ``onediffusion``, as every result) and the
    grid's axes and each cell's settings (``onediffusion-grid``) in its text info, which PNGs keep."""
    if cells:
        first = cells[0].settings
        image.info[PARAMETERS_KEY] = first.parameters_text()
        image.info[JSON_KEY] = json.dumps(first.as_dict(), ensure_ascii=False, sort_keys=True)
    image.info[GRID_KEY] = json.dumps(grid_record(grid, cells), ensure_ascii=False, sort_keys=True)
    return image


def grid_record(grid: Grid, cells: Sequence[CellResult]) -> dict:
    """The grid as JSON: its axes, cells done of the total, and each cell's place, values and settings."""
    return {
        **grid.as_dict(),
        "done": len(cells),
        "total": grid.size,
        "cells": [
            {
                "row": result.cell.row,
                "column": result.cell.column,
                "values": list(result.cell.texts),
                "settings": result.settings.as_dict(),
            }
            for result in cells
        ],
    }
