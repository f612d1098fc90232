"""The model host on the tiny checkpoint: progress per step, warnings in plain words, one model turn at a
time, Stop and cancelled events, and failures that leave the app serving."""

from __future__ import annotations

import asyncio
import threading
import time
from types import SimpleNamespace

import gradio as gr
import pytest

from ui.host import RunInputs
from ui.runs import STOPPED

QUICK = {
    "prompt": "a cube",
    "negative_prompt": "",
    "size": "64x64",
    "guidance": 1.0,
    "seed": 1,
    "randomize_seed": False,
}


def test_progress_is_reported_per_step(studio):
    calls = []
    studio.text_to_image(**QUICK, steps=3, progress=lambda *a, **k: calls.append((a, k)))
    steps = [a[0] for a, k in calls if k.get("desc") == "Denoising"]
    assert steps == [(1, 3), (2, 3), (3, 3)]


def test_long_prompts_warn_in_plain_words(studio):
    with pytest.warns(UserWarning, match=r"tokens long; the model reads only the first 300"):
        studio.text_to_image(**{**QUICK, "prompt": "a red cube on a table " * 80}, steps=1)


def test_options_take_the_models_defaults_for_what_is_left_out(studio):
    options = studio.options(RunInputs(negative_prompt=None, seed=4))
    assert (options.steps, options.guidance, options.seed) == (studio.defaults.steps, studio.defaults.guidance, 4)
    assert options.negative_prompt == studio.default_negative_prompt and options.size is None
    assert studio.options(RunInputs(size="64x32", num_images=2)).size == (32, 64)


def _run_in_thread(studio, steps: int, session: str, progress) -> dict:
    result: dict = {}

    def work():
        try:
            request = SimpleNamespace(session_hash=session)
            result["out"] = studio.text_to_image(**QUICK, steps=steps, progress=progress, request=request)
        except gr.Error as err:
            result["error"] = err.message

    thread = threading.Thread(target=work)
    thread.start()
    result["thread"] = thread
    return result


def _wait_for(condition, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)


def test_stop_interrupts_the_callers_run_only(studio):
    seen: list = []
    run = _run_in_thread(studio, 200, "alice", lambda *a, **k: seen.append(a))
    _wait_for(lambda: len(seen) >= 3)
    studio.cancel(SimpleNamespace(session_hash="bob"))  # someone else's Stop: no effect
    count = len(seen)
    _wait_for(lambda: len(seen) >= count + 2)
    studio.cancel(SimpleNamespace(session_hash="alice"))
    run["thread"].join(60)
    assert run["error"] == STOPPED == "Stopped before the end: nothing was generated."
    assert len(seen) < 150  # stopped long before the 200th step
    gallery, _, _ = studio.text_to_image(**QUICK, steps=1)  # and the next run works
    assert gallery[0][0].size == (64, 64)


def test_a_cancelled_event_interrupts_the_pipeline(studio):
    """What Gradio does on Stop, a client's job.cancel() or a closed tab: cancel the event's task."""
    seen: list = []
    run = studio.cancellable(studio.text_to_image)

    async def cancel_mid_run():
        task = asyncio.ensure_future(run(**QUICK, steps=200, progress=lambda *a, **k: seen.append(a)))
        while len(seen) < 3:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        started = time.monotonic()
        gallery, _, _ = await studio.cancellable(studio.text_to_image)(**QUICK, steps=1)
        return time.monotonic() - started, gallery

    result = {}  # on a thread of its own: a session-wide Playwright may own this thread's event loop
    worker = threading.Thread(target=lambda: result.update(out=asyncio.run(cancel_mid_run())))
    worker.start()
    worker.join(120)
    waited, gallery = result["out"]
    assert gallery[0][0].size == (64, 64) and len(seen) < 150
    assert waited < 20  # the next run did not wait for 200 steps


def test_unexpected_failures_keep_the_service_up(studio, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("the GPU caught fire")

    monkeypatch.setattr(studio, "_call_on_gpu", broken)
    with pytest.raises(gr.Error, match="Something went wrong on our side .RuntimeError: the GPU caught fire.") as err:
        studio.text_to_image(**QUICK, steps=1)
    assert "Traceback" not in str(err.value)
    monkeypatch.undo()
    assert studio.text_to_image(**QUICK, steps=1)[0]
