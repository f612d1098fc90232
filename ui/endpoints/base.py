"""What every endpoint shares: the sampling settings it takes (declared once, in the order the tabs'
settings blocks hand them over), plain-words errors, prompt previews, gallery items.

``@endpoint(GENERATE)`` appends the settings, the progress tracker and the request to the function's
own parameters, so Gradio and ``gradio_client`` see one flat signature
(``text_to_image(prompt, negative_prompt=None, size="auto", steps=None, ...)``), and hands the function
those values as one ``RunInputs``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from dataclasses import fields

import gradio as gr
from PIL import Image

from onediffusion.metadata import ResultSettings
from onediffusion.tasks import TaskSpec

from .. import checks
from .. import outputs as out
from ..errors import preview_warning, user_error
from ..host import Generation, ModelHost, RunInputs, RunOptions
from .docs import with_shared_args

PROGRESS = gr.Progress()  # the marker Gradio looks for; it hands each call its own tracker
DUMMY = Image.new("RGB", (16, 16), "white")  # stands in for a photo when only the prompt is wanted

_KEYWORD = inspect.Parameter.POSITIONAL_OR_KEYWORD
# Every sampling setting an endpoint may take: its type and default (None: the model's default).
SETTINGS = {
    "negative_prompt": (str | None, None), "size": (str, "auto"), "steps": (int | None, None),
    "guidance": (float | None, None), "seed": (int, 0), "randomize_seed": (bool, True), "num_images": (int, 1),
    "fast": (bool | None, None),
}  # fmt: skip
CALLER = (
    inspect.Parameter("progress", _KEYWORD, default=PROGRESS),
    inspect.Parameter("request", _KEYWORD, default=None, annotation=gr.Request | None),
)


def settings(*names: str, **defaults) -> tuple[inspect.Parameter, ...]:
    """The parameters of the named settings, in the order given (``defaults`` overrides a default)."""
    return tuple(
        inspect.Parameter(name, _KEYWORD, default=defaults.get(name, SETTINGS[name][1]), annotation=SETTINGS[name][0])
        for name in names
    )


GENERATE = settings("negative_prompt", "size", "steps", "guidance", "seed", "randomize_seed", "num_images")
VIEWS = GENERATE[:-1]  # one set of views per run
ESTIMATE = settings("steps", "guidance", "seed", "randomize_seed")  # understanding: no negative prompt, no size
RAW = settings(
    "negative_prompt", "size", "steps", "guidance", "seed", "randomize_seed", "num_images", negative_prompt=""
)
MAKE = settings("steps", "seed")
ORBIT = settings("negative_prompt", "steps", "guidance", "seed", "randomize_seed")  # square frames, one per view
FAST = settings("fast")  # last of all (after a tab's own trailing settings): older positional calls keep working
_RUN_FIELDS = {field.name for field in fields(RunInputs)}


def _signature(
    fn: Callable, extra: Sequence[inspect.Parameter], last: Sequence[inspect.Parameter]
) -> inspect.Signature:
    """``fn``'s signature with its ``run`` parameter, if it has one, replaced by the settings ``extra``, its
    keyword-only parameters after them, the settings ``last``, then the caller's progress tracker and request."""
    signature = inspect.signature(fn, eval_str=True)
    if "run" not in signature.parameters:
        return signature
    own = [p for name, p in signature.parameters.items() if name != "run"]
    # Keyword-only parameters after ``run`` are a tab's own trailing settings: they follow the shared ones, so
    # calls made before they existed keep working.
    trailing = [p.replace(kind=_KEYWORD) for p in own if p.kind is p.KEYWORD_ONLY]
    own = [p for p in own if p.kind is not p.KEYWORD_ONLY]
    return signature.replace(parameters=[*own, *extra, *trailing, *last, *CALLER])


def _run_inputs(values: dict) -> RunInputs:
    """Pop the settings, progress and request out of an endpoint's bound arguments, as one ``RunInputs``."""
    progress, request = values.pop("progress"), values.pop("request")
    given = {name: values.pop(name) for name in list(values) if name in _RUN_FIELDS}
    return RunInputs(**given, progress=progress, session=getattr(request, "session_hash", None))


def endpoint(extra: Sequence[inspect.Parameter] = (), fast: bool = True) -> Callable[[Callable], Callable]:
    """Make ``fn(host, ..., run: RunInputs)`` an endpoint that takes the settings ``extra`` (and, with ``fast``
    and a ``run``, the "Faster sampling" switch last), the progress tracker and the request as parameters of its own (a
    function without ``run`` keeps its signature); every failure becomes a plain-words ``gr.Error`` and the app
    keeps serving."""

    def wrap(fn: Callable) -> Callable:
        wants_run = "run" in inspect.signature(fn).parameters
        signature = _signature(fn, extra, FAST if fast and wants_run else ())  # a run's switch: none on a helper

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            values = dict(bound.arguments)
            if wants_run:
                values["run"] = _run_inputs(values)
            try:
                return fn(**values)
            except Exception as err:
                if checks.dry() and isinstance(err, ValueError):
                    raise  # a validator shows bad input at the input it names
                raise user_error(err, fn.__name__) from None

        wrapper.__signature__ = signature
        wrapper.__doc__ = with_shared_args(fn.__doc__, signature.parameters)  # the API's and MCP's description
        hints = {p.name: p.annotation for p in signature.parameters.values() if p.annotation is not p.empty}
        wrapper.__annotations__ = {**hints, "return": signature.return_annotation}
        return wrapper

    return wrap


def preview(fn: Callable[..., str]) -> Callable[..., str]:
    """A prompt preview: shows input problems in the box itself instead of raising on every keystroke."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ValueError as err:  # InputError included
            return preview_warning(err)

    return wrapper


def run_task(host: ModelHost, spec: TaskSpec, run: RunInputs, options: RunOptions | None = None) -> Generation:
    """``host.generate`` with ``host.options(run)`` (or ``options``); each image it returns carries its
    settings (prompt as sent, seed, steps, guidance, size, task, model) into the PNG served."""
    options = options or host.options(run)
    result = host.generate(spec, options, run.progress, run.session)
    settings = ResultSettings(
        prompt=result.prompt,
        seed=result.seed,
        steps=options.steps,
        guidance=options.guidance,
        width=result.width,
        height=result.height,
        negative_prompt=options.negative_prompt,
        task=spec.task,
        model=host.info.name,
    )
    result.images = [out.carrying(image, settings) for image in result.images]
    return result


def gallery(images: Sequence[Image.Image], captions: Sequence[str]) -> list[tuple[Image.Image, str]]:
    return list(zip(images, captions))


def numbered(images: Sequence[Image.Image], what: str, seed: int) -> list[tuple[Image.Image, str]]:
    """Gallery items captioned '<what> 1 · seed 5', '<what> 2 · seed 5', ..."""
    return gallery(images, [f"{what} {i + 1} · seed {seed}" for i in range(len(images))])
