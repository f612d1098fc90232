"""The model host: the app's one pipeline, loaded once, and one model turn at a time over it.

``ModelHost`` loads the model (with the demo fallback), knows its defaults and sizes, turns the
sampling widgets' values into checked run options, and runs a task: waiting its turn, reporting
progress per step, stopping when cancelled, on the GPU that ZeroGPU Spaces attach for the call.
Endpoints (``ui.endpoints``) build a task from what people give and hand it to ``generate``.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import gradio as gr
import numpy as np
import torch
from PIL import Image

from onediffusion.cameras import Camera
from onediffusion.defaults import ModelDefaults
from onediffusion.grid import say_seconds
from onediffusion.prompts import DEFAULT_GUIDANCE, DEFAULT_STEPS, MAX_PROMPT_TOKENS, fallback_negative_prompt, truncated
from onediffusion.slots import CameraSlot
from onediffusion.tasks import TaskSpec
from onediffusion.tiling import Tiling
from onediffusion.trajectory import PathProgress, PathResult, make_path

from . import checks, inputs
from . import outputs as out
from .captioner import Captioner
from .cost import CostModel, forward_flop, tokens_of
from .loader import ModelInfo, Settings, load_pipeline
from .runs import STOPPED, Runs, StopToken, step_callback, window_callback
from .zerogpu import gpu_decorator


@contextlib.contextmanager
def sampling_mode(pipe, fast: bool) -> Iterator[None]:
    """Step caching (``pipe.enable_cache()``, the default preset) for one run when ``fast``, exact sampling
    otherwise. A cache this model or machine cannot take falls back to exact sampling with a note, rather
    than failing the run."""
    if not fast or not hasattr(pipe, "enable_cache"):
        if hasattr(pipe, "disable_cache"):
            pipe.disable_cache()
        yield
        return
    try:
        pipe.enable_cache()
    except (ValueError, RuntimeError) as err:
        pipe.disable_cache()
        gr.Warning(f"Faster sampling is not available for this model ({err}); this run used exact sampling.")
        yield
        return
    try:
        yield
    finally:
        pipe.disable_cache()


@dataclass(frozen=True)
class RunInputs:
    """The sampling widgets' values as an endpoint receives them (None: the model's default), and who
    asked: the caller's progress tracker and session. A setting an endpoint does not offer keeps the
    value here: no negative prompt, the task's size, a fixed seed, one image."""

    negative_prompt: str | None = ""
    size: str | None = None
    steps: int | None = None
    guidance: float | None = None
    seed: int = 0
    randomize_seed: bool = False
    num_images: int = 1
    fast: bool | None = None  # step caching; None: the app's default (``--fast``)
    progress: Callable | None = None
    session: str | None = None


@dataclass(frozen=True)
class RunOptions:
    """Sampling settings shared by every task; ``size`` None lets the task pick (see ``ModelHost.size_for``)."""

    steps: int = DEFAULT_STEPS
    guidance: float = DEFAULT_GUIDANCE
    seed: int = 0
    negative_prompt: str = ""
    size: tuple[int, int] | None = None
    num_images: int = 1
    engine: tuple[tuple[str, float], ...] = ()  # extra pipeline arguments (multiview's rotary and noise scales)
    tiling: Tiling | None = None  # windows for sizes above a tile (onediffusion.tiling); None: one pass
    fast: bool = False  # step caching (onediffusion.caching), else exact sampling

    @classmethod
    def parse(
        cls, steps, guidance, seed, randomize_seed, negative_prompt="", size=None, num_images=1, fast=False
    ) -> RunOptions:
        """Widget values -> checked options (raises InputError in plain words, naming the setting at fault)."""
        with checks.about("steps"):
            steps = inputs.steps(steps)
        with checks.about("guidance"):
            guidance = inputs.guidance(guidance)
        with checks.about("seed"):
            seed = inputs.seed(seed, bool(randomize_seed))
        with checks.about("size"):
            size = inputs.parse_size(size)
        with checks.about("num_images"):
            num_images = inputs.num_images(num_images)
        negative = (negative_prompt or "").strip()
        return cls(
            steps=steps,
            guidance=guidance,
            seed=seed,
            negative_prompt=negative,
            size=size,
            num_images=num_images,
            fast=bool(fast),
        )


@dataclass
class Generation:
    """One pipeline run: decoded target images (floats and PIL), cameras of sample 0, and what was used."""

    arrays: np.ndarray
    images: list[Image.Image]
    cameras: list[Camera] | None
    prompt: str
    seed: int
    height: int
    width: int


class ModelHost:
    """The app's single pipeline and one model turn at a time over it.

    Build with ``ModelHost(Settings(model=...))`` and call ``load()`` once (the app does it at start-up),
    or wrap an already loaded pipeline with ``for_pipeline`` (tests). Model turns are serialised by a
    lock, whatever the queue does, so a cancelled run still finishing cannot overlap the next one.
    """

    def __init__(self, settings: Settings | None = None, pipe=None, info: ModelInfo | None = None):
        self.settings = settings or Settings()
        self._pipe, self._info = pipe, info
        self._load_lock = threading.Lock()
        self.runs = Runs()
        self.costs = CostModel()
        self._call_on_gpu = gpu_decorator()(self._call_pipeline)

    @classmethod
    def for_pipeline(cls, pipe, name: str = "test model", description: str = "a model for tests."):
        info = ModelInfo(
            name, name, description, pipe.native_side, str(pipe.device), str(pipe.dtype).removeprefix("torch.")
        )
        pipe.set_progress_bar_config(disable=True)
        return cls(Settings(model=name), pipe, info)

    # The model ---------------------------------------------------------------------------------

    def load(self) -> ModelInfo:
        """Load the model once (falling back to the demo model); later calls return the cached one."""
        with self._load_lock:
            if self._pipe is None:
                self._pipe, self._info = load_pipeline(self.settings)
        return self._info

    @property
    def pipe(self):
        if self._pipe is None:
            self.load()
        return self._pipe

    @property
    def info(self) -> ModelInfo:
        return self._info if self._info is not None else self.load()

    @property
    def native_side(self) -> int:
        return self.info.native_side

    def model_info(self) -> dict:
        """The model in use, why a fallback happened (if it did), its native size and device."""
        return self.info.as_dict()

    @functools.cached_property
    def captioner(self) -> Captioner:
        """The photo captioner of ``settings.captioner``, on the model's device and precision; it loads its
        weights on its first ``describe`` (see ``ui.captioner``)."""
        return Captioner(self.settings.captioner, self.info.device, self.pipe.dtype)

    @functools.cached_property
    def defaults(self) -> ModelDefaults:
        """What the model's studio.json asks for (steps, guidance, negative prompt, camera, trained
        tasks), the published model's values where it says nothing."""
        return ModelDefaults.from_studio(getattr(self.pipe, "studio", None))

    @functools.cached_property
    def default_negative_prompt(self) -> str:
        """The model's own negative prompt if it names one; else the authors', unless this model's
        tokenizer reads it as more than the 300 tokens it can take (tiny demo tokenizers do): then none,
        rather than a warning on every run."""
        if self.defaults.negative_prompt is not None:
            return self.defaults.negative_prompt
        return fallback_negative_prompt(self.pipe.tokenizer)

    # Options and sizes -------------------------------------------------------------------------

    def options(self, given: RunInputs, task: str | None = None) -> RunOptions:
        """Checked run options; None for the negative prompt, steps or guidance means the model's default
        (for ``task``: editing may have its own guidance)."""
        negative = self.default_negative_prompt if given.negative_prompt is None else given.negative_prompt
        steps = self.defaults.steps if given.steps is None else given.steps
        guidance = self.defaults.guidance_for(task) if given.guidance is None else given.guidance
        seed, randomize, size, count = given.seed, given.randomize_seed, given.size, given.num_images
        fast = self.settings.fast if given.fast is None else given.fast
        return RunOptions.parse(steps, guidance, seed, randomize, negative, size, count, fast)

    def size_choices(self, auto: bool = False, large: bool = False, square_only: bool = False) -> list:
        """Dropdown choices: the aspect-ratio table at the model's native side (and twice it when ``large``)."""
        choices = inputs.size_presets(self.native_side, (1.0, 2.0) if large else (1.0,))
        if square_only:
            choices = [(label, value) for label, value in choices if "square" in label]
        first = [("Auto (from the input image)", inputs.AUTO_SIZE)] if auto else []
        return first + choices

    def default_size(self) -> str:
        return f"{self.native_side}x{self.native_side}"

    def size_for(self, spec: TaskSpec, size: tuple[int, int] | None) -> tuple[int, int]:
        """Explicit size, else the aspect-ratio entry nearest the first given image at the native side."""
        return spec.size(self.native_side, size)

    @property
    def view_step_seconds(self) -> float | None:
        """Seconds of one view-step at the native size, guided, once a run here has measured this device's
        speed (``costs``); None before (what a grid's cost estimate multiplies)."""
        if not self.costs.measured:
            return None
        return self.costs.seconds(self.view_step_flop(), self.pipe)

    def view_step_flop(self) -> float:
        """Transformer FLOPs of one guided step of one view at the native size, the prompt's tokens included."""
        side, text = self.native_side, self.pipe.transformer.config.model_max_length
        return forward_flop(self.pipe.transformer, tokens_of(self.pipe, 1, side, side, text), batch=2)

    # Model turns -------------------------------------------------------------------------------

    def cancel(self, request: gr.Request | None = None) -> None:
        """Stop the caller's generation after its current step (without a request: every one in flight)."""
        self.runs.cancel(getattr(request, "session_hash", None))

    def cancellable(self, fn: Callable) -> Callable:
        """``fn`` as a coroutine for Gradio whose cancelling stops the model (see ``Runs.cancellable``)."""
        return self.runs.cancellable(fn)

    @contextlib.contextmanager
    def model_turn(self, progress=None, session: str | None = None) -> Iterator[StopToken]:
        """Hold the model for one use (a generation, and later a caption): wait for the run in flight,
        saying so; yields the stop token that Stop (``cancel``) sets for ``session``, holding its shared
        slot (``stop.slot``) for the turn."""
        if progress is not None:
            progress(0.0, desc="Waiting for the model" if self.runs.busy else "Preparing")
        with self.runs.stop_token(session) as stop, self.runs.turn(stop):
            yield stop

    def _call_pipeline(
        self, spec: TaskSpec, options: RunOptions, height: int, width: int, progress, slot: int
    ) -> tuple[np.ndarray, list[Camera] | None]:
        """One pipeline run; on ZeroGPU it runs in a forked worker, so it takes and returns only what pickles:
        the progress tracker and the stop slot number (not a callback), images as arrays and NumPy cameras."""
        generator = torch.Generator("cpu").manual_seed(options.seed)  # CPU noise: same seed, same image anywhere
        tiled = options.tiling is not None  # progress in windows x steps then, not steps
        with sampling_mode(self.pipe, options.fast):
            result = self.pipe(
                prompt=spec.prompt,
                views=spec.views,
                height=height,
                width=width,
                num_inference_steps=options.steps,
                guidance_scale=options.guidance,
                negative_prompt=options.negative_prompt or None,
                num_images_per_prompt=options.num_images,
                generator=generator,
                output_type="np",
                callback_on_step_end=step_callback(None if tiled else progress, options.steps, slot),
                tiling=options.tiling,
                callback_on_window=window_callback(self.pipe, progress, slot) if tiled else None,
                **dict(options.engine),
            )
        return np.asarray(result.images), (result.cameras[0] if result.cameras else None)

    def run_flop(self, spec: TaskSpec, options: RunOptions, height: int, width: int) -> float:
        """Transformer FLOPs of a run: its forwards (steps, or windows x steps) over what each one sees."""
        windows, (h, w) = 1, (height, width)
        if options.tiling is not None:
            scale = self.pipe.vae_scale_factor
            spans = options.tiling.windows(height, width, scale)
            windows = len(spans)
            rows, cols = spans[0]
            h, w = (rows.stop - rows.start) * scale, (cols.stop - cols.start) * scale
        batch = (2 if options.guidance > 1.0 else 1) * options.num_images
        tokens = tokens_of(self.pipe, len(spec.views), h, w, self.pipe.transformer.config.model_max_length)
        return windows * options.steps * forward_flop(self.pipe.transformer, tokens, batch)

    def estimate_seconds(self, spec: TaskSpec, options: RunOptions, height: int, width: int) -> tuple[float, bool]:
        """Seconds the run would take on this device, and whether that rests on runs done here (else a guess)."""
        return self.costs.seconds(self.run_flop(spec, options, height, width), self.pipe), self.costs.measured

    def _warn_long_prompt(self, prompt: str, negative_prompt: str) -> None:
        for name, text in (("prompt", prompt), ("negative prompt", negative_prompt)):
            if (found := truncated(self.pipe.tokenizer, text)) is not None:
                count, cut = found
                gr.Warning(
                    f"The {name} is {count} tokens long; the model reads only the first {MAX_PROMPT_TOKENS}, "
                    f"so this end is ignored: “{cut[:200]}”"
                )

    def tiled(self, spec: TaskSpec, options: RunOptions, height: int, width: int) -> RunOptions:
        """Above the native side, image-only tasks run in overlapping windows of the native side (the memory
        of one window, no seams; ``onediffusion.tiling``), and the page is told what that costs first."""
        big = max(height, width) > self.native_side
        if options.tiling is not None or not big or any(isinstance(s, CameraSlot) for s in spec.views):
            return options
        tiled = replace(options, tiling=Tiling.for_model(self.native_side))
        seconds, measured = self.estimate_seconds(spec, tiled, height, width)
        windows = len(tiled.tiling.windows(height, width, self.pipe.vae_scale_factor))
        basis = "as measured here" if measured else "a first guess for this device"
        gr.Info(
            f"{width} × {height} is above the model's native {self.native_side} px: it is made in {windows} "
            f"overlapping windows × {options.steps} steps, {say_seconds(seconds)} ({basis})."
        )
        return tiled

    def generate(self, spec: TaskSpec, options: RunOptions, progress=None, session: str | None = None) -> Generation:
        """Run one task: progress per step, cancellable, the seed and size it used returned with the images. In a
        dry run (``ui.checks``: a validator's) the checks made so far passed, and it stops here."""
        checks.reached_the_model()
        height, width = self.size_for(spec, options.size)
        options = self.tiled(spec, options, height, width)
        self._warn_long_prompt(spec.prompt, options.negative_prompt)
        with self.model_turn(progress, session) as stop:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", UserWarning)
                started = time.perf_counter()
                arrays, cameras = self._call_on_gpu(spec, options, height, width, progress, stop.slot)
            if stop.is_set() or self.pipe.interrupt:
                raise gr.Error(STOPPED, print_exception=False)
            self.costs.record(self.run_flop(spec, options, height, width), time.perf_counter() - started)
        for warning in caught:
            if not str(warning.message).startswith("The prompt is"):  # already reported, in plain words
                gr.Warning(str(warning.message))
        images = [out.to_pil(a) for a in arrays]
        return Generation(arrays, images, cameras, spec.prompt, options.seed, height, width)

    def generate_path(
        self,
        image: Image.Image | None,
        cameras: Sequence[Camera],
        input_camera: Camera | None,
        caption: str,
        options: RunOptions,
        path: dict,
        folder: Path,
        progress=None,
        session: str | None = None,
    ) -> PathResult:
        """A long camera path (``onediffusion.trajectory``) in one model turn, each batch one GPU call (on
        ZeroGPU, each its own): progress in views done of the total; Stop (or a closed page) ends it after the
        batch's current step, keeping every frame already made. ``path``: anchors, batch_size, anchored, fps."""
        checks.reached_the_model()
        side = (options.size or (self.native_side, self.native_side))[0]
        with self.model_turn(progress, session) as stop:

            def batch(prompt: str, views: list, seed: int) -> list[Image.Image] | None:
                if stop.is_set():
                    return None
                spec = TaskSpec("orbit", prompt, views)
                arrays, _ = self._call_on_gpu(spec, replace(options, seed=seed), side, side, None, stop.slot)
                return None if stop.is_set() or self.pipe.interrupt else [out.to_pil(a) for a in arrays]

            def report(done: PathProgress) -> None:
                if progress is not None:
                    progress((done.done, done.total), desc="Views", unit="views")

            if progress is not None:
                progress(0.0, desc=f"Views (0 of {len(cameras)})")
            return make_path(
                self.pipe, image, cameras, folder, input_camera, caption, options.seed,
                num_inference_steps=options.steps, guidance_scale=options.guidance,
                negative_prompt=options.negative_prompt or None, size=side, model=self.info.name,
                on_progress=report, generate=batch, **path,
            )  # fmt: skip
