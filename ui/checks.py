"""Input checks before the queue: every run button's Gradio validator (``validator=``, answered with
``gr.validate``) runs its endpoint *dry*.

A dry run is the endpoint itself, up to the model: its inputs read, its task built, its settings parsed,
exactly as a real run does, until ``ModelHost.generate`` raises ``ChecksPassed`` instead of taking a model
turn. So the checks and their words are the endpoint's own, never a second copy. The first problem found is
shown at the input at fault (``InputError.field``, a parameter name), no queue slot is taken, and the
outputs keep what they show: Gradio clears their status without an "Error" badge. Problems met during a run
(out of memory, Stop) still come back as the run's plain-words ``gr.Error``.
"""

from __future__ import annotations

import contextlib
import contextvars
import inspect
from collections.abc import Callable, Iterator, Sequence

import gradio as gr

from .errors import plain_words
from .inputs import InputError

_DRY: contextvars.ContextVar[bool] = contextvars.ContextVar("onediffusion_dry_run", default=False)


class ChecksPassed(BaseException):
    """Raised by ``ModelHost.generate`` in a dry run: every check before the model passed. A ``BaseException``,
    so that no endpoint's error handling turns it into an error."""


def dry() -> bool:
    """Whether this is a dry run (a validator's): nothing may reach the model, and notes are not shown."""
    return _DRY.get()


def reached_the_model() -> None:
    """Where a run would take its model turn: a dry run ends here, its checks passed."""
    if _DRY.get():
        raise ChecksPassed


@contextlib.contextmanager
def dry_run() -> Iterator[None]:
    token = _DRY.set(True)
    try:
        yield
    finally:
        _DRY.reset(token)


@contextlib.contextmanager
def about(field: str) -> Iterator[None]:
    """An ``InputError`` raised inside names ``field`` as the input at fault, unless it names one already."""
    try:
        yield
    except InputError as err:
        if err.field is None:
            err.field = field
        raise


def problem(fn: Callable, args: Sequence, kwargs: dict | None = None) -> tuple[str | None, str] | None:
    """``fn(*args, **kwargs)`` run dry: None when its checks pass, else (the input at fault or None, the
    message in plain words). A failure that is not bad input is left for the real run to report."""
    try:
        with dry_run():
            fn(*args, **(kwargs or {}))
    except ChecksPassed:
        return None
    except ValueError as err:  # InputError included: bad input, in the endpoint's own words
        return getattr(err, "field", None), plain_words(str(err))
    except Exception:
        return None
    return None  # an endpoint that never reaches the model (a computed condition) ran whole: nothing to say


def validator(fn: Callable, count: int, check: Callable | None = None) -> Callable:
    """The Gradio validator of an event running ``fn`` on ``count`` inputs: ``fn`` (or ``check``, taking the
    same values) run dry; one ``gr.validate`` per input, the problem at the input it names (its parameter
    name in ``fn``'s signature), or at the first input when it names none."""
    names = [name for name in inspect.signature(fn).parameters][:count]

    def validate(*values):
        found = problem(check or fn, values)
        field, message = found or (None, "")
        at = (names.index(field) if field in names else 0) if found else -1
        answers = [gr.validate(i != at, message if i == at else "") for i in range(len(values))]
        return answers[0] if len(answers) == 1 else answers  # Gradio wraps a lone input's answer itself

    return validate
