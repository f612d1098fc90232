"""Runs in flight: one model turn at a time, and a stop token per session so Stop ends the caller's run.

Gradio cancels an event by cancelling its task (the Stop button, a client's ``job.cancel()``, a closed
tab); ``Runs.cancellable`` turns that into a stop token the pipeline checks after every step, so a
cancelled run ends at once instead of finishing, unseen, while the queue waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import threading
from collections.abc import Callable, Iterator

import gradio as gr

STOPPED = "Stopped before the end: nothing was generated."
_STOP: contextvars.ContextVar[threading.Event | None] = contextvars.ContextVar("onediffusion_stop", default=None)


class Runs:
    """The model's turn lock and the stop tokens of the runs in flight, by session."""

    def __init__(self) -> None:
        self._turn = threading.Lock()
        self._tokens_lock = threading.Lock()
        self._tokens: dict[str | None, threading.Event] = {}

    @property
    def busy(self) -> bool:
        """Whether a run holds the model now (a new one waits for it)."""
        return self._turn.locked()

    def cancel(self, session: str | None = None) -> None:
        """Stop the session's run after its current step (``None``: every run in flight)."""
        with self._tokens_lock:
            tokens = list(self._tokens.values()) if session is None else [self._tokens.get(session)]
        for token in tokens:
            if token is not None:
                token.set()

    @staticmethod
    def cancellable(fn: Callable) -> Callable:
        """``fn`` as a coroutine on a worker thread, for Gradio: cancelling the coroutine sets the run's
        stop token."""

        # Not ``fn.__dict__``: a bound endpoint's would bring its function's unbound ``__signature__``
        # (``host`` first), and Gradio would read the coroutine's parameters from it.
        @functools.wraps(fn, updated=())
        async def run(*args, **kwargs):
            stop = threading.Event()
            context = contextvars.copy_context()  # Gradio's context (progress, warnings) goes along
            context.run(_STOP.set, stop)
            call = functools.partial(context.run, fn, *args, **kwargs)
            try:
                return await asyncio.get_running_loop().run_in_executor(None, call)
            except asyncio.CancelledError:
                stop.set()
                raise

        return run

    @contextlib.contextmanager
    def stop_token(self, session: str | None) -> Iterator[threading.Event]:
        """This run's stop token (from ``cancellable``, or a fresh one), findable by its session."""
        stop = _STOP.get() or threading.Event()
        with self._tokens_lock:
            self._tokens[session] = stop
        try:
            yield stop
        finally:
            with self._tokens_lock:
                if self._tokens.get(session) is stop:
                    del self._tokens[session]

    @contextlib.contextmanager
    def turn(self, stop: threading.Event) -> Iterator[None]:
        """Hold the model for one run; a run cancelled while it waits gives up at once."""
        while not self._turn.acquire(timeout=0.1):
            if stop.is_set():
                raise gr.Error(STOPPED, print_exception=False)
        try:
            if stop.is_set():
                raise gr.Error(STOPPED, print_exception=False)
            yield
        finally:
            self._turn.release()


def step_callback(progress, total: int, stop: threading.Event) -> Callable:
    """The pipeline's per-step callback: report progress, and interrupt once ``stop`` is set."""

    def on_step(pipe, step: int, timestep, values: dict) -> dict:
        if stop.is_set():
            pipe._interrupt = True  # the pipeline stops before its next step
        if progress is not None:
            progress((step + 1, total), desc="Denoising", unit="steps")
        return {}

    return on_step
