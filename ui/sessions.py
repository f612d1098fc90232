"""What the server keeps for each visitor, and letting it go when they leave.

Gradio keeps a ``SessionState`` per session (``gradio/state_holder.py``): at a session's first event it copies
the config of every component on the page, about 0.4 MiB on this app's six tabs (tracemalloc over 100 new
``gradio_client`` sessions of one call each: 37.9 of the 38.2 MB that grew were made in
``SessionState.__init__``). It keeps that copy until 10,000 newer sessions push it out, and a session whose
page closes loses only its ``gr.State`` values; so every visitor left about half a MiB behind for good.
Nothing of the app's own (stop tokens, run folders) outlived a session.

Two fixes, both on Gradio's own hooks:

- When a visitor leaves (their page or ``gradio_client`` closes its heartbeat connection, Gradio's
  ``demo.unload``), their run in flight stops after its current step, so the next visitor does not wait
  for a result nobody will see, and their session state is dropped at once (``leave``).
- The sessions held at any time are capped to what the machine affords (``session_capacity``, Gradio's
  ``state_session_capacity``), oldest first, for callers that never open a heartbeat (plain HTTP calls to
  ``/gradio_api/call/...``): a session pushed out only loses server-side copies of its shown/hidden
  toggles, which this app's events never read back.

Large uploads left memory behind too, below Python: a session that uploads a 2048-pixel photo grew the app by
about 0.45 MiB for good, and now and then by 31 MiB at once (glibc's allocator: after a large buffer is freed
its mmap threshold rises, so later image buffers of 1 to 32 MiB come from per-thread heaps that fragment and
are never given back; ``malloc_trim`` after each run did not help, nor did fewer arenas). A fixed 1 MiB
threshold stops it (30 large uploads: +0.45 MiB each with the dynamic threshold, a plateau after the first 30
with the fixed one), at a cost in the model's own step on a CPU, whose temporaries of that size are then
mapped afresh each time: +5% a step for the demo model at 32 px, +18% for the medium test preset at 256 px
(benchmarks/RESULTS.md). So ``steady_allocator`` fixes it where the model runs on a GPU or is the demo
model, and leaves it on a CPU running anything larger, or where the host set ``MALLOC_MMAP_THRESHOLD_``.

Files expire on one clock: Gradio's cache (``delete_cache``) and the app's own run folders
(``ui.outputs.OUTPUT_ROOT``) are both cleared of what is older than ``keep_files`` seconds (one hour by
default; ``--keep-files`` or ``ONEDIFFUSION_KEEP_FILES``).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path

import gradio as gr

from onediffusion.allocator import fix_mmap_threshold

from . import outputs

logger = logging.getLogger(__name__)

SESSION_BYTES = 512 * 1024  # one session's SessionState on this page, measured (above), rounded up
SESSION_SHARE = 1 / 32  # of the RAM free at start, at most, for sessions
MIN_SESSIONS, MAX_SESSIONS = 100, 10_000  # Gradio's default is the most
KEEP_FILES_SECONDS = outputs.KEEP_SECONDS  # the launcher's default too (ui.cli.KEEP_FILES)


def session_capacity(free_bytes: int | None) -> int:
    """How many sessions Gradio may keep: ``SESSION_SHARE`` of the free RAM at ``SESSION_BYTES`` each, from
    ``MIN_SESSIONS`` (a small machine still serves a busy page) to ``MAX_SESSIONS`` (unknown memory too)."""
    if free_bytes is None:
        return MAX_SESSIONS
    return max(MIN_SESSIONS, min(MAX_SESSIONS, int(free_bytes * SESSION_SHARE) // SESSION_BYTES))


def forget(blocks: gr.Blocks, session: str | None) -> bool:
    """Drop what Gradio keeps for ``session`` (its component configs and ``gr.State`` values); whether it
    held any. The app must be running (``blocks.state_holder`` is made at launch)."""
    holder = getattr(blocks, "state_holder", None)
    if holder is None or session is None:
        return False
    with holder.lock:
        state = holder.session_data.pop(session, None)
        holder.time_last_used.pop(session, None)
    if state is not None:
        for component, value, _ in state.state_components:  # as Gradio does for expired state
            component.delete_callback(value)
    queue = getattr(blocks, "_queue", None)  # its message queue: bounded (2,000 sessions), but no use now
    if queue is not None:
        queue.pending_messages_per_session.pop(session, None)
    return state is not None


def leave(blocks: gr.Blocks, cancel: Callable[[str | None], None]) -> Callable:
    """The ``demo.unload`` handler: a visitor has gone, so stop their run and forget their session."""

    def on_leave(request: gr.Request) -> None:
        session = getattr(request, "session_hash", None)
        if session is None:
            return
        cancel(session)
        forget(blocks, session)

    return on_leave


def sweep_every(seconds: float, keep_seconds: float, root: Path = outputs.OUTPUT_ROOT) -> threading.Event:
    """Clear the app's run folders older than ``keep_seconds`` every ``seconds``, in a daemon thread, as
    Gradio's ``delete_cache`` clears its own copies; set the returned event to stop."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(seconds):
            try:
                outputs.clear_old_runs(root, keep_seconds)
            except OSError as err:  # a folder removed under us, a full disk: try again next time
                logger.warning("Could not clear old run folders in %s: %s", root, err)

    threading.Thread(target=loop, name="onediffusion-sweep", daemon=True).start()
    return stop


MMAP_THRESHOLD_BYTES = 1 << 20


def wants_steady_allocator(device: str, demo_model: bool, env: Mapping[str, str] = os.environ) -> bool:
    """Whether to fix the allocator's mmap threshold (see the module's note): on a GPU, or for the demo model,
    unless the host chose a threshold itself."""
    return "MALLOC_MMAP_THRESHOLD_" not in env and (not device.startswith("cpu") or demo_model)


def steady_allocator() -> bool:
    """Fix glibc's mmap threshold at ``MMAP_THRESHOLD_BYTES``, so freed image buffers go back to the system;
    whether it was done (not on other C libraries: musl, macOS and Windows keep theirs)."""
    return fix_mmap_threshold(MMAP_THRESHOLD_BYTES)
