"""ZeroGPU Spaces: the model call runs in a forked worker that ``spaces`` (0.51.3, installed) feeds through
pickling queues. Checked here without a GPU: the duration asked for follows the request; what crosses the
boundary pickles, through ``spaces``' own queue; Stop and progress reach a real forked child; the attention
path needs no compiler there. Not run: ``spaces.zero.wrappers`` (the forking wrapper and ``static_duration``)
does not import with a CPU-only torch (it reads ``torch.version.cuda``), and scheduling needs the ZeroGPU
service."""

from __future__ import annotations

import functools
import inspect
import multiprocessing
import pickle
import threading
import time
from types import SimpleNamespace

import gradio as gr
import numpy as np
import pytest
import spaces
import torch
from PIL import Image
from spaces.utils import SimpleQueue
from spaces.zero.gradio import GradioPartialContext
from spaces.zero.types import OkResult

from onediffusion import attention
from onediffusion.tasks import TaskSpec
from ui import runs
from ui.host import RunOptions
from ui.runs import STOPPED, StopToken, stop_requested
from ui.zerogpu import MAX_SECONDS, MIN_SECONDS, gpu_decorator, gpu_seconds, request_flop

_FORK = multiprocessing.get_context("fork")
STEPS_SEEN = _FORK.RawValue("i", 0)  # made at import, before any fork: the child's progress shows here


def count_step(*args, **kwargs) -> None:
    """A progress tracker that pickles (by name) and counts denoising steps in shared memory."""
    if kwargs.get("desc") == "Denoising":
        STEPS_SEEN.value += 1


def _spec(views: int) -> TaskSpec:
    return SimpleNamespace(views=[None] * views)


# ---- the duration asked for --------------------------------------------------------------------------------


def test_the_duration_follows_steps_size_views_and_guidance():
    base = gpu_seconds(_spec(1), RunOptions(steps=50, guidance=4.0), 1024, 1024)
    assert MIN_SECONDS <= base < 60  # the 1024 px 50-step image: well under the old fixed 120 s
    assert gpu_seconds(_spec(8), RunOptions(steps=50, guidance=4.0), 1024, 1024) > 4 * base  # multiview, 8 slots
    assert gpu_seconds(_spec(1), RunOptions(steps=4, guidance=1.0), 512, 512) == MIN_SECONDS
    assert gpu_seconds(_spec(16), RunOptions(steps=100, num_images=4), 2048, 2048) == MAX_SECONDS
    # Guidance runs the batch twice; attention grows with the square of the tokens.
    assert request_flop(1, 1024, 1024, 50, 2) == 2 * request_flop(1, 1024, 1024, 50, 1)
    assert request_flop(2, 512, 512, 1, 1) > 2 * request_flop(1, 512, 512, 1, 1)
    assert request_flop(1, 1024, 1024, 1, 2) == pytest.approx(44.4e12, rel=1e-3)  # benchmarks/flops.py's count


def test_the_duration_takes_the_gpu_functions_own_arguments(studio, monkeypatch):
    calls, real = [], studio._call_on_gpu

    def recording(*args):
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(studio, "_call_on_gpu", recording)
    studio.text_to_image(prompt="a cube", size="64x64", steps=3, guidance=2.0, seed=1, randomize_seed=False)
    (args,) = calls
    # spaces calls ``duration(*args, **kwargs)`` with the decorated function's arguments (static_duration).
    assert gpu_seconds(*args) == MIN_SECONDS
    assert [type(a).__name__ for a in args[1:4]] == ["RunOptions", "int", "int"]
    bound = inspect.signature(studio._call_pipeline).bind(*args)
    assert set(bound.arguments) == {"spec", "options", "height", "width", "progress", "slot"}


def test_spaces_gets_our_duration_and_leaves_the_function_alone_off_zerogpu(studio):
    decorator = spaces.GPU(duration=gpu_seconds)  # the real package: a partial of its _GPU
    assert isinstance(decorator, functools.partial) and decorator.keywords["duration"] is gpu_seconds
    assert gpu_decorator()(studio._call_pipeline) == studio._call_pipeline  # SPACES_ZERO_GPU unset: unchanged
    assert list(inspect.signature(studio._call_on_gpu).parameters)[-2:] == ["progress", "slot"]


# ---- what crosses the worker boundary pickles --------------------------------------------------------------


def _through_spaces_queue(value):
    """``value`` sent the way spaces sends arguments and results between the app and its worker."""
    queue = SimpleQueue()
    writer = threading.Thread(target=queue.put, args=(OkResult(value),))  # a pipe: someone must read meanwhile
    writer.start()
    received = queue.get().value
    writer.join()
    return received


def test_the_gpu_calls_arguments_and_result_pass_through_spaces_queue(studio, monkeypatch):
    calls, real = [], studio._call_on_gpu
    monkeypatch.setattr(studio, "_call_on_gpu", lambda *a: calls.append(a) or real(*a))
    studio.multiview(caption="a cube", cameras=[[0, 0, 1.7], [90, 0, 1.7]], steps=1, seed=1, randomize_seed=False)
    args = calls[0]
    spec, options, *_ = _through_spaces_queue((args, GradioPartialContext.get()))[0]
    assert spec.prompt == args[0].prompt and options == args[1]
    arrays, cameras = _through_spaces_queue(real(*args))
    assert arrays.shape[0] == 2 and len(cameras) == 2 and cameras[1].c2w.shape == (4, 4)


def _every_endpoint(studio, photo, fast) -> dict:
    small = {**fast, "steps": 1, "size": "64x64"}
    photos = [(photo, None), (photo.transpose(Image.Transpose.FLIP_LEFT_RIGHT), None)]
    return {
        "text_to_image": studio.text_to_image(prompt="a cube", **small),
        "control": studio.control(condition="depth", condition_image=photo, caption="a cube", **small),
        "make_condition": studio.make_condition(condition="canny", photo=photo),
        "understand": studio.understand(photo=photo, target="depth", **{**fast, "steps": 1}),
        "identity": studio.identity(mode="identity", reference_1=photo, target_caption="a man", **small),
        "multiview": studio.multiview(caption="a cube", cameras=[[0, 0, 1.7], [90, 0, 1.7]], **small),
        "estimate_cameras": studio.estimate_cameras(photos=photos, **{**fast, "steps": 1}),
        "slots": studio.slots(prompt="[[text2image]] a cube", slots=[["image", "target"]], **small),
        "camera_preset": studio.camera_preset(preset=studio.camera_preset_names()[0]),
        "model_info": studio.model_info(),
    }


def _same(a, b) -> bool:
    """Equal values, looking inside images, arrays, figures and containers."""
    if type(a) is not type(b):
        return False
    if isinstance(a, Image.Image):
        return a.size == b.size and a.mode == b.mode and a.tobytes() == b.tobytes()
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b)
    if hasattr(a, "to_dict"):  # a plotly figure (its layout fills empty defaults on first read: compare traces)
        return _same(a.to_dict()["data"], b.to_dict()["data"])
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


def test_every_endpoints_return_value_pickles(studio, photo, fast):
    for name, value in _every_endpoint(studio, photo, fast).items():
        assert _same(pickle.loads(pickle.dumps(value)), value), name


# ---- Stop and progress in a forked worker ------------------------------------------------------------------


def _worker(studio, arg_queue: SimpleQueue, res_queue: SimpleQueue) -> None:
    """What spaces' worker does: take pickled arguments, run the GPU function, send back its pickled result."""
    torch.set_num_threads(1)
    (args, kwargs), context = arg_queue.get()
    GradioPartialContext.apply(context)
    res_queue.put(OkResult(studio._call_pipeline(*args, **kwargs)))


def _forked_gpu_call(studio, children: list):
    """``studio._call_on_gpu`` as ZeroGPU runs it: in a forked child, arguments and result pickled."""

    def call(*args):
        arg_queue, res_queue = SimpleQueue(), SimpleQueue()
        child = _FORK.Process(target=_worker, args=(studio, arg_queue, res_queue), daemon=True)
        child.start()
        children.append(child)
        arg_queue.put(((args, {}), GradioPartialContext.get()))
        return res_queue.get().value

    return call


def test_zero_gpu_shares_the_stop_flags_before_any_fork(monkeypatch):
    monkeypatch.setattr(runs, "_flags", bytearray(runs.STOP_SLOTS))  # as imported: this process's own bytes
    gpu_decorator()
    assert isinstance(runs._flags, bytearray)  # off ZeroGPU nothing forks: nothing shared is made
    monkeypatch.setenv("SPACES_ZERO_GPU", "true")
    runs._flags[5] = 1
    gpu_decorator()
    assert not isinstance(runs._flags, bytearray) and runs._flags[5] == 1  # shared now, raised flags kept


def test_stop_reaches_the_model_in_a_forked_child(studio, monkeypatch):
    runs.share_stop_flags()  # what gpu_decorator does on ZeroGPU
    children: list = []
    monkeypatch.setattr(studio, "_call_on_gpu", _forked_gpu_call(studio, children))
    STEPS_SEEN.value = 0
    result: dict = {}

    def work():
        try:
            request = SimpleNamespace(session_hash="alice")
            studio.text_to_image(
                prompt="a cube",
                size="64x64",
                steps=200,
                guidance=1.0,
                seed=1,
                randomize_seed=False,
                progress=count_step,
                request=request,
            )
        except gr.Error as err:
            result["error"] = err.message

    thread = threading.Thread(target=work)
    thread.start()
    deadline = time.monotonic() + 60
    while STEPS_SEEN.value < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert STEPS_SEEN.value >= 3, result  # the child's progress reached the parent
    studio.cancel(SimpleNamespace(session_hash="alice"))
    thread.join(120)
    children[0].join(30)
    assert result["error"] == STOPPED and children[0].exitcode == 0
    assert 3 <= STEPS_SEEN.value < 150  # the child stopped long before its 200th step


def test_a_stop_token_shares_its_flag_only_while_it_holds_a_slot():
    token = StopToken()
    with token.shared() as slot:
        assert slot >= 0 and not stop_requested(slot)
        token.set()
        assert stop_requested(slot) and token.is_set()
    assert not stop_requested(-1) and token.is_set() and token.slot == -1
    fresh = StopToken()
    with fresh.shared() as reused:
        assert not stop_requested(reused)  # a slot is cleared when it is taken again


# ---- attention without a compiler on ZeroGPU ---------------------------------------------------------------


def test_zero_gpu_uses_the_eager_attention_path(monkeypatch):
    cuda = torch.device("cuda")
    assert attention.jit_available() and attention.resolve_backend("auto", cuda) == "flex"
    monkeypatch.setenv("SPACES_ZERO_GPU", "true")
    assert not attention.jit_available()
    assert attention.resolve_backend("auto", cuda) == "chunked"
    assert attention.resolve_backend("flex", cuda) == "flex"  # an explicit choice stays
    assert attention.resolve_backend("auto", torch.device("cpu")) == "chunked"
