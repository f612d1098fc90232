"""Hugging Face ZeroGPU Spaces: a GPU attached only while a ``spaces.GPU`` function runs, in a forked worker.

``spaces.GPU`` (the ``spaces`` package, 0.51.3) leaves the function unchanged unless ``SPACES_ZERO_GPU`` is
set; there it forks a worker per GPU, pickles the arguments into it and the result back, and schedules the
call for the duration it is told. So the app asks for a duration computed from the request (``gpu_seconds``:
steps, size, views, images, guidance) rather than a fixed two minutes that would either cut long multiview
runs short or hold the queue for a quick one.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from onediffusion.tasks import TaskSpec

from .runs import share_stop_flags

# The full-size transformer's FLOPs per call at batch 1 (benchmarks/flops.py, 1024x1024 text to image:
# 44.4 TFLOP at batch 2, of which 9.9 the soft-capped self-attention, quadratic in tokens).
FLOP_PER_TOKEN = 17.25e12 / 4096
FLOP_PER_TOKEN_PAIR = 4.95e12 / 4096**2
PIXELS_PER_TOKEN = 16 * 16  # VAE factor 8, patch 2
# Not measured (no GPU was lent to this project yet): a ZeroGPU slot is an H200 MIG 3g.71gb (60 of 132 SMs,
# about 450 TFLOP/s dense bf16); eager "chunked" attention and no compile reach perhaps a third of that.
EFFECTIVE_FLOPS = 150e12
FIXED_SECONDS = 20  # moving the weights onto a freshly attached GPU, the text encoder, the VAE decode
MIN_SECONDS, MAX_SECONDS = 30, 600


def request_flop(views: int, height: int, width: int, steps: int, batch: int) -> float:
    """FLOPs of the transformer over a whole request: ``views`` slots of ``height`` x ``width`` px."""
    tokens = views * (height * width) / PIXELS_PER_TOKEN
    return steps * batch * (FLOP_PER_TOKEN * tokens + FLOP_PER_TOKEN_PAIR * tokens**2)


def gpu_seconds(spec: TaskSpec, options, height: int, width: int, *_rest) -> int:
    """Seconds of GPU to ask ZeroGPU for one generation: ``spaces.GPU(duration=gpu_seconds)`` calls it with the
    GPU function's own arguments (the task, its ``RunOptions``, the size; the progress tracker and stop slot
    after them are not needed)."""
    batch = (2 if options.guidance > 1.0 else 1) * options.num_images  # guidance doubles the batch
    flop = request_flop(len(spec.views), height, width, options.steps, batch)
    return int(min(MAX_SECONDS, max(MIN_SECONDS, FIXED_SECONDS + flop / EFFECTIVE_FLOPS)))


def gpu_decorator(duration: int | Callable = gpu_seconds) -> Callable[[Callable], Callable]:
    """``spaces.GPU`` on Hugging Face ZeroGPU Spaces (a GPU is attached only while the decorated function
    runs); elsewhere, where ``spaces`` is not installed, a decorator that changes nothing. (``spaces`` itself
    also changes nothing unless ``SPACES_ZERO_GPU`` is set.)"""
    try:
        import spaces
    except ImportError:
        return lambda fn: fn
    if os.environ.get("SPACES_ZERO_GPU"):  # calls will run in forked workers: Stop must reach them
        share_stop_flags()
    return spaces.GPU(duration=duration)
