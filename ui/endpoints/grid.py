"""Compare grids: a tab's endpoint run over up to two axes of settings, one labelled image of the results.

``grid_endpoint(GRIDS["text-to-image"])`` is the API's ``/text_to_image_grid`` (an MCP tool too): the tab
endpoint's own parameters, then ``x_axis``, ``x_values``, ``y_axis``, ``y_values`` (``onediffusion.grid``
reads them); it returns the labelled grid image (each cell's settings in its PNG text), every cell's images
captioned with its values, and a line saying how many cells were done. Each cell is one run of the tab's
endpoint, so its checks, the settings its PNGs carry, progress and Stop are the tab's own; every cell is
checked dry before the first runs. Stop keeps the cells done. ``grid_cost`` says what a grid costs first.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field

import gradio as gr
from PIL import Image

from onediffusion.grid import MAX_CELLS, CellSettings, Grid, cost_text, parse_axis, run_grid
from onediffusion.metadata import ResultSettings

from .. import advice, checks, inputs
from .. import outputs as out
from ..catalogue import TABS
from ..checks import about
from ..errors import preview_warning
from ..host import ModelHost
from ..inputs import InputError
from . import control, identity, multiview, slots, text_to_image, understand
from .base import endpoint

AXIS_PARAMS = ("x_axis", "x_values", "y_axis", "y_values")
NONE = "none"
_KEYWORD = inspect.Parameter.POSITIONAL_OR_KEYWORD
AXIS_LABELS = {"seed": "Seed", "guidance": "Guidance", "steps": "Steps", "size": "Size",
               "prompt": "Prompt: search and replace"}  # fmt: skip


def _gallery(at: int) -> Callable[[tuple], list[Image.Image]]:
    return lambda outputs: [item[0] for item in outputs[at]]


def _image(at: int) -> Callable[[tuple], list[Image.Image]]:
    return lambda outputs: [outputs[at]]


def _rows(value, default: int) -> int:
    try:
        return len(inputs.table_rows(value)) or default
    except Exception:  # the estimate never fails: the run's own checks say what is wrong
        return default


# Not a grid's parameters: the caller's, and the Faster sampling switch (a grid's cells sample as the app's
# default, so that the cells compare only what the axes vary).
NOT_GRIDDED = ("host", "progress", "request", "fast")


@dataclass(frozen=True)
class GridTab:
    """How a tab's endpoint is run as a grid: the parameters a prompt axis replaces in, the one an option axis
    varies, the images a run shows, and the views it denoises (for the cost)."""

    tab: str
    endpoint: Callable
    api: str
    prompts: tuple[str, ...]
    images: Callable[[tuple], list[Image.Image]]
    views: Callable[[dict], int] = lambda arguments: 1
    option: str | None = None
    option_title: str = "Option"
    parameters: tuple[str, ...] = field(init=False, default=())

    def __post_init__(self) -> None:
        names = [name for name in inspect.signature(self.endpoint).parameters if name not in NOT_GRIDDED]
        object.__setattr__(self, "parameters", tuple(names))

    def options(self) -> dict[str, str]:
        """The option axis's keys and names (the tab's catalogue options)."""
        return {option.key: option.name for option in TABS[self.tab].options} if self.option else {}

    def axes(self) -> list[tuple[str, str]]:
        """(label, kind) of every axis this tab offers."""
        kinds = ["seed", "guidance", "steps", *(["size"] if "size" in self.parameters else []), "prompt"]
        choices = [(AXIS_LABELS[kind], kind) for kind in kinds]
        return choices + ([(self.option_title, "option")] if self.option else [])


GRIDS: dict[str, GridTab] = {
    grid.tab: grid
    for grid in (
        GridTab("text-to-image", text_to_image.text_to_image, "text_to_image_grid", ("prompt",), _gallery(0)),
        GridTab(
            "control",
            control.control,
            "control_grid",
            ("caption",),
            _gallery(1),
            views=lambda arguments: 2,
            option="condition",
            option_title="Condition",
        ),
        GridTab(
            "understanding",
            understand.understand,
            "understand_grid",
            ("caption",),
            _image(0),
            views=lambda arguments: 2,
            option="target",
            option_title="Estimate",
        ),
        GridTab(
            "identity",
            identity.identity,
            "identity_grid",
            ("target_caption", "caption_1", "caption_2", "caption_3", "caption_4", "subject_name"),
            _gallery(0),
            views=lambda arguments: 1 + sum(arguments.get(f"reference_{i}") is not None for i in range(1, 5)),
        ),
        GridTab(
            "multiview",
            multiview.multiview,
            "multiview_grid",
            ("caption",),
            _gallery(0),
            views=lambda arguments: 2 * _rows(arguments.get("cameras"), 4),  # an image and a camera slot per view
        ),
        GridTab("slots", slots.slots, "slots_grid", ("prompt",), _gallery(0), lambda a: _rows(a.get("slots"), 1)),
    )
}


# Reading the axes -----------------------------------------------------------------------------------


def parse_grid(tab: GridTab, arguments: dict, x_axis: str, x_values: str, y_axis: str, y_values: str) -> Grid:
    """The grid the axes describe, checked: X required, Y optional; at most ``MAX_CELLS`` cells; a prompt axis
    finds its text in the tab's prompt. Raises ``InputError`` naming the axis input at fault."""
    offered = [kind for _, kind in tab.axes()]
    axes = []
    for name, kind, values in (("x", x_axis, x_values), ("y", y_axis, y_values)):
        kind = (kind or NONE).strip().lower()
        if kind == NONE:
            if name == "x":
                raise InputError("Pick the setting the X axis varies (seed, guidance, ...).", "x_axis")
            axes.append(None)
            continue
        if kind not in offered:
            raise InputError(
                f"The {name.upper()} axis must be one of {', '.join(offered)}; {kind!r} is not.", f"{name}_axis"
            )
        with about(f"{name}_values"):
            axes.append(parse_axis(kind, values or "", tab.options(), tab.option_title))
    with about("y_values" if axes[1] else "x_values"):
        grid = Grid(*axes).check(MAX_CELLS)
    with about(next((f"{n}_values" for n, a in zip("xy", axes) if a and a.kind == "prompt"), "x_values")):
        grid.check_prompt(*(arguments.get(name) or "" for name in tab.prompts))
    return grid


def cell_arguments(tab: GridTab, grid: Grid, arguments: dict, cell) -> dict:
    """The tab endpoint's arguments for one cell: the run's, with the cell's values put in."""
    given = dict(arguments)
    for kind, value in cell.values.items():
        if kind == "seed":
            given.update(seed=value, randomize_seed=False)
        elif kind in ("guidance", "steps"):
            given[kind] = value
        elif kind == "size":
            given["size"] = f"{value[1]}x{value[0]}"
        elif kind == "option":
            given[tab.option] = value
        elif kind == "prompt":
            search = next(axis.search for axis in grid.axes if axis.kind == "prompt")
            for name in tab.prompts:
                given[name] = (given.get(name) or "").replace(search, value)
    return given


# Running -------------------------------------------------------------------------------------------


@dataclass
class CellProgress:
    """A cell's progress tracker: the run's, counting cells done of the total, the cell's own step in its
    words. Plain data, so it pickles into a ZeroGPU worker as the tracker it wraps does."""

    progress: Callable | None
    done: int
    total: int

    def __call__(self, value=None, desc: str | None = None, unit: str = "steps", **_) -> None:
        if self.progress is None:
            return
        step = f"{desc}: {value[0]}/{value[1]} {unit}" if isinstance(value, tuple) else (desc or "Preparing")
        self.progress((self.done, self.total), desc=f"Cell {self.done + 1} of {self.total} ({step})", unit="cells")


def _fixed_seed(arguments: dict) -> dict:
    """One seed for every cell (drawn once when asked to be random), so only the axes differ between cells."""
    if "seed" not in arguments:
        return arguments
    with about("seed"):
        seed = inputs.seed(arguments.get("seed"), bool(arguments.get("randomize_seed")))
    return {**arguments, "seed": seed, "randomize_seed": False}


def run_compare(host: ModelHost, tab: GridTab, arguments: dict, axes: dict, progress, request) -> tuple:
    """The grid of ``tab``'s endpoint over ``axes``: every cell checked dry first, then run one by one."""
    grid = parse_grid(tab, arguments, **axes)
    arguments = _fixed_seed(arguments)
    cells = {cell.index: cell_arguments(tab, grid, arguments, cell) for cell in grid.cells()}
    for cell in grid.cells():
        found = checks.problem(tab.endpoint, (host,), cells[cell.index])
        if found is not None:
            raise InputError(f"In the cell {cell.label}: {found[1]}", found[0])
    checks.reached_the_model()  # a validator's dry run ends here

    def run_cell(cell):
        tracker = CellProgress(progress, cell.index, grid.size)
        outputs = tab.endpoint(host, **cells[cell.index], progress=tracker, request=request)
        images = tab.images(outputs)
        settings, _ = ResultSettings.from_dict(out.carried_settings(images[0]) or {})
        return images, settings

    with host.runs.holding(getattr(request, "session_hash", None)) as stop, advice.once():
        result = run_grid(grid, run_cell, stop=stop.is_set)
    if result.stopped:
        gr.Warning(f"Stopped after {result.done} of {grid.size} cells: the grid shows the cells done.")
    gallery = [
        (image, cell.cell.label + (f" · {i + 1}" if len(cell.images) > 1 else ""))
        for cell in result.cells
        for i, image in enumerate(cell.images)
    ]
    said = f"**{result.done} of {grid.size} cells done**{' (stopped)' if result.stopped else ''}"
    return result.image, gallery, f"{said} · seed {arguments.get('seed', 0)}"


def grid_cost(host: ModelHost, tab: GridTab, arguments: dict, axes: dict) -> str:
    """What the grid would cost: cells x steps x views, and the seconds that is on this device (once a run has
    measured its speed); an axis problem instead, in the box."""
    if not (axes.get("x_values") or "").strip():
        return "**Cost:** type the X values to see what the grid costs."
    try:
        grid = parse_grid(tab, arguments, **axes)
        with about("steps"):
            steps = inputs.steps(host.defaults.steps if arguments.get("steps") is None else arguments["steps"])
        size = inputs.parse_size(arguments.get("size")) if "size" in arguments else None
    except InputError as err:
        return preview_warning(err)
    base = CellSettings(steps=steps, guidance=0.0, seed=0, size=size)
    views = tab.views(arguments) * int(arguments.get("num_images") or 1)
    rate = host.view_step_seconds
    seconds = grid.work(base, views, host.native_side) * rate if rate is not None else None
    each = [grid.settings(base, cell).steps for cell in grid.cells()]
    steps_said = each[0] if len(set(each)) == 1 else each
    return f"**Cost:** {cost_text(grid, steps_said, views, seconds, host.info.device)}"


# The endpoints -------------------------------------------------------------------------------------

AXIS_DOCS = {
    "x_axis": "the setting the X axis (columns) varies: 'seed', 'guidance', 'steps', 'size' (where the tool takes "
    "one), 'prompt' (search and replace) or the tool's own option where it has one (control: 'option', the "
    "condition; understand: 'option', the estimate).",
    "x_values": "the X axis's values, comma-separated, or ranges with a step: '1-8 (+1)', '2, 4, 6', '8-2 (-2)'; "
    "sizes as '512x512, 768x512'; for 'prompt' the text to search for first, then each replacement: 'red, blue'.",
    "y_axis": "the setting the Y axis (rows) varies, as x_axis, or 'none' for one row.",
    "y_values": f"the Y axis's values, as x_values; at most {MAX_CELLS} cells in all.",
}
RETURNS = """Returns:
    grid: the labelled grid image (URL of a PNG carrying every cell's settings as text)
    cells: every cell's images as [{'image': {'url': ...}, 'caption': 'seed 3 · guidance 4'}, ...]
    summary: how many cells were done of the total, and the seed"""


def _doc(tab: GridTab) -> str:
    lines = inspect.cleandoc(tab.endpoint.__doc__ or "").splitlines()
    start = lines.index("Args:") + 1 if "Args:" in lines else len(lines)
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("Returns:")), len(lines))
    own = [line for line in lines[start:end] if line.strip()]
    axes = [f"    {name}: {text}" for name, text in AXIS_DOCS.items()]
    intro = (
        f"A compare grid of {tab.endpoint.__name__}: the same run over up to two axes of settings (an X/Y plot), "
        "one labelled image of the results and every cell's images; each cell takes the seed given (drawn once "
        "when random), so only the axes differ."
    )
    return "\n".join([intro, "", "Args:", *own, *axes, "", RETURNS])


def grid_endpoint(tab: GridTab) -> Callable:
    """The API's grid of ``tab``: its endpoint's parameters, then the axes (see ``run_compare``)."""
    own = inspect.signature(tab.endpoint)
    caller = [own.parameters["progress"], own.parameters["request"]]
    axes = [inspect.Parameter(name, _KEYWORD, default=NONE if name == "y_axis" else "", annotation=str)
            for name in AXIS_PARAMS]  # fmt: skip
    axes[0] = axes[0].replace(default="seed")
    keep = [p for name, p in own.parameters.items() if name not in ("progress", "request", "fast")]
    signature = own.replace(parameters=[*keep, *axes, *caller], return_annotation=tuple[Image.Image, list, str])

    def compare(*args, **kwargs):
        values = signature.bind(*args, **kwargs)
        values.apply_defaults()
        arguments = dict(values.arguments)
        host, progress, request = arguments.pop("host"), arguments.pop("progress"), arguments.pop("request")
        chosen = {name: arguments.pop(name) for name in AXIS_PARAMS}
        return run_compare(host, tab, arguments, chosen, progress, request)

    compare.__signature__ = signature
    compare.__name__ = compare.__qualname__ = tab.api
    compare.__doc__ = _doc(tab)
    return endpoint()(compare)


def cost_preview(tab: GridTab) -> Callable:
    """``grid_cost`` over the same inputs as ``grid_endpoint(tab)`` (the page's live estimate)."""
    names = [*tab.parameters, *AXIS_PARAMS]

    def cost(host: ModelHost, *values) -> str:
        given = dict(zip(names, values))
        return grid_cost(host, tab, {n: given[n] for n in tab.parameters}, {n: given[n] for n in AXIS_PARAMS})

    return cost
