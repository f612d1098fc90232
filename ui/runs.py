"""Runs in flight: one model turn at a time, and a stop token per session so Stop ends the caller's run.

Gradio cancels an event by cancelling its task (the Stop button, a client's ``job.cancel()``, a closed
tab); ``Runs.cancellable`` turns that into a stop token the pipeline checks after every step, so a
cancelled run ends at once instead of finishing, unseen, while the queue waits.

On ZeroGPU Spaces the model runs in a worker process that ``spaces`` forks, where a ``threading.Event`` set
in the app's process is never seen. So each running model turn also holds a slot in a flag array; Stop raises
the slot's flag, and the step callback, given only the slot number, reads it in whichever process it runs.
The array is this process's own bytes until ZeroGPU asks for it shared (``share_stop_flags``, from
``ui.zerogpu.gpu_decorator`` when the host is built, before any fork): then it is shared memory that parent
and every forked worker map alike. Nothing is made at import, so the app imports where there is no fork
(Windows, macOS's default).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import logging
import multiprocessing
import threading
from collections.abc import Callable, Iterator
from typing import Any

import gradio as gr

STOPPED = "Stopped before the end: nothing was generated."
STOP_SLOTS = 64  # model turns are one at a time per host: a few hosts in tests at most
_flags: bytearray | Any = bytearray(STOP_SLOTS)  # a fork-shared RawArray once share_stop_flags has run
_free_slots = list(range(STOP_SLOTS))
_slots_lock = threading.Lock()
logger = logging.getLogger("onediffusion.studio")


def share_stop_flags() -> None:
    """Make the stop flags shared memory that forked workers see (ZeroGPU); call before the first fork. Flags
    raised so far are kept."""
    global _flags
    if isinstance(_flags, bytearray):
        shared = multiprocessing.get_context("fork").RawArray("b", STOP_SLOTS)
        shared[:] = list(_flags)
        _flags = shared


def stop_requested(slot: int) -> bool:
    """Whether Stop was pressed for the run holding ``slot``; valid in the app's process and in a forked worker
    (a slot of -1, none held, is never stopped)."""
    return slot >= 0 and bool(_flags[slot])


class StopToken:
    """A run's stop token, set by Stop or a cancelled event: ``set``/``is_set`` as a ``threading.Event``; while
    the run holds a shared slot (``shared``, during its model turn) setting it also raises the slot's flag."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._set = False
        self.slot = -1

    def set(self) -> None:
        with self._lock:
            self._set = True
            if self.slot >= 0:
                _flags[self.slot] = 1

    def is_set(self) -> bool:
        return self._set or stop_requested(self.slot)

    @contextlib.contextmanager
    def shared(self) -> Iterator[int]:
        """Hold a slot of the shared flag array for the model turn; yields its number (-1 if all are taken:
        then only this process sees Stop)."""
        with _slots_lock:
            slot = _free_slots.pop() if _free_slots else -1
        if slot < 0:
            logger.warning("All %d stop slots are in use: Stop reaches only this process for this run.", STOP_SLOTS)
        with self._lock:
            if slot >= 0:
                _flags[slot] = int(self._set)
            self.slot = slot
        try:
            yield slot
        finally:
            with self._lock:
                self.slot = -1
            if slot >= 0:
                with _slots_lock:
                    _free_slots.append(slot)


_STOP: contextvars.ContextVar[StopToken | None] = contextvars.ContextVar("onediffusion_stop", default=None)


class Runs:
    """The model's turn lock and the stop tokens of the runs in flight, by session."""

    def __init__(self) -> None:
        self._turn = threading.Lock()
        self._tokens_lock = threading.Lock()
        self._tokens: dict[str | None, StopToken] = {}

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
            stop = StopToken()
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
    def stop_token(self, session: str | None) -> Iterator[StopToken]:
        """This run's stop token (from ``cancellable`` or ``holding``, or a fresh one), findable by its session
        until the outermost use of it ends."""
        stop = _STOP.get() or StopToken()
        with self._tokens_lock:
            outer = self._tokens.get(session) is not stop
            self._tokens[session] = stop
        try:
            yield stop
        finally:
            with self._tokens_lock:
                if outer and self._tokens.get(session) is stop:
                    del self._tokens[session]

    @contextlib.contextmanager
    def holding(self, session: str | None) -> Iterator[StopToken]:
        """One stop token over several model turns (a grid's cells): Stop between two turns is seen too, and
        every turn inside uses it."""
        with self.stop_token(session) as stop:
            reset = _STOP.set(stop)
            try:
                yield stop
            finally:
                _STOP.reset(reset)

    @contextlib.contextmanager
    def turn(self, stop: StopToken) -> Iterator[int]:
        """Hold the model for one run; a run cancelled while it waits gives up at once. Yields the run's
        shared stop slot (see ``StopToken.shared``)."""
        while not self._turn.acquire(timeout=0.1):
            if stop.is_set():
                raise gr.Error(STOPPED, print_exception=False)
        try:
            if stop.is_set():
                raise gr.Error(STOPPED, print_exception=False)
            with stop.shared() as slot:
                yield slot
        finally:
            self._turn.release()


def step_callback(progress, total: int, slot: int) -> Callable:
    """The pipeline's per-step callback: report progress, and interrupt once Stop raised ``slot``'s flag.
    Built where the model runs (a forked ZeroGPU worker, or this process) from picklable arguments only."""

    def on_step(pipe, step: int, timestep, values: dict) -> dict:
        if stop_requested(slot):
            pipe._interrupt = True  # the pipeline stops before its next step
        if progress is not None:
            progress((step + 1, total), desc="Denoising", unit="steps")
        return {}

    return on_step


def window_callback(pipe, progress, slot: int) -> Callable:
    """The pipeline's per-window callback of a tiled run: progress in windows x steps, and Stop between windows."""

    def on_window(done: int, total: int) -> None:
        if stop_requested(slot):
            pipe._interrupt = True  # the pipeline stops before its next window
        if progress is not None:
            progress((done, total), desc="Windows x steps", unit="windows")

    return on_window
