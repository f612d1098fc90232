"""The service layer: one cached pipeline behind every tab and every API endpoint.

``Studio`` owns the pipeline (loaded once, with the demo fallback), sizes, seeds, progress, cancelling
and error handling. Its public methods are the app's endpoints: they take what the widgets (or
``gradio_client``) send, and return what the widgets show, so tests drive them without a browser.
Bad input becomes a ``gr.Error`` in plain words; notices (a prompt too long) become ``gr.Warning``.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import logging
import re
import threading
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import gradio as gr
import numpy as np
import torch
from PIL import Image

from onediffusion import DEFAULT_NEGATIVE_PROMPT, CameraSlot, ImageSlot, Label, ModelLoadError, build_task
from onediffusion.cameras import Camera
from onediffusion.conditions import blur, canny_edges
from onediffusion.images import center_crop_resize
from onediffusion.prompts import DEFAULT_GUIDANCE, DEFAULT_STEPS, MAX_PROMPT_TOKENS, scaled_size, task_prompt
from onediffusion.tasks import LABELLED, TaskSpec

from . import camera_presets as cams
from . import inputs
from . import outputs as out
from .defaults import ModelDefaults
from .figures import camera_figure
from .inputs import InputError
from .loader import ModelInfo, Settings, load_pipeline

logger = logging.getLogger("onediffusion.studio")


def gpu_decorator(duration: int = 120) -> Callable[[Callable], Callable]:
    """``spaces.GPU`` on Hugging Face ZeroGPU Spaces (a GPU is attached only while the decorated
    function runs); elsewhere, where ``spaces`` is not installed, a decorator that changes nothing."""
    try:
        import spaces
    except ImportError:
        return lambda fn: fn
    return spaces.GPU(duration=duration)


# What each tab offers, keyed as the engine's task registry names them; values are what people read.
CONTROL_CONDITIONS = {
    "depth": "Depth map", "canny": "Canny edges", "hed": "HED soft edges", "pose": "Human pose",
    "semanticmap": "Semantic map (class and colour rows)", "boundingbox": "Bounding boxes (class and colour rows)",
    "inpainting": "Inpainting (paint a mask on the photo)", "deblurring": "Deblurring", "editing": "Instruction editing",
}  # fmt: skip
UNDERSTANDING_TARGETS = {
    "depth": "Depth", "pose": "Human pose", "hed": "HED soft edges", "canny": "Canny edges",
    "semanticmap": "Segmentation (class and colour rows)", "boundingbox": "Bounding boxes (class and colour rows)",
}  # fmt: skip
LABELLED_CONDITIONS = tuple(LABELLED)
# The engine task behind each option of each tab (keyed by the tab's title): what a model's ``tasks`` list
# is checked against, to say which options it was not trained for.
_RESTORATION = {"inpainting": "inpainting", "deblurring": "deblurring", "editing": "editing"}
TAB_TASKS: dict[str, dict[str, str]] = {
    "Text to image": {"text to image": "text2image"},
    "Control": {label.split(" (")[0]: _RESTORATION.get(key, f"{key}2image") for key, label in CONTROL_CONDITIONS.items()},
    "Understanding": {label.split(" (")[0]: f"image2{key}" for key, label in UNDERSTANDING_TARGETS.items()},
    "Identity": {"identity": "identity", "subject-driven": "subject_driven"},
    "Multiview": {"novel views of a photo": "image2multiview", "novel views from a caption": "text2multiview",
                  "camera poses": "camera_estimation"},
}  # fmt: skip
SLOT_HEADERS = ["kind", "role", "image #", "azimuth (°)", "elevation (°)", "distance"]
STOPPED = "Stopped before the end: nothing was generated."
_STOP: contextvars.ContextVar[threading.Event | None] = contextvars.ContextVar("onediffusion_stop", default=None)
PROGRESS = gr.Progress()  # the marker Gradio looks for; it hands each call its own tracker

_ENGINE_NAMES = {
    "height": "Height", "width": "Width", "num_inference_steps": "Steps", "guidance_scale": "Guidance",
    "num_images_per_prompt": "Number of images", "prompt": "Prompt", "negative_prompt": "Negative prompt",
    "instruction": "Instruction", "item": "Subject name", "mask": "Mask", "image": "Image", "views": "Slots",
    "labels": "Classes", "caption": "Caption", "cameras": "Cameras", "camera": "Camera",
}  # fmt: skip
_DUMMY = Image.new("RGB", (16, 16), "white")


def plain_words(message: str) -> str:
    """An engine message with its `argument` names turned into the labels people see."""

    def label(match: re.Match) -> str:
        text = _ENGINE_NAMES.get(match[1], match[1].replace("_", " "))
        at_start = match.start() == 0 or message[: match.start()].rstrip().endswith((".", ":"))
        return text[0].upper() + text[1:] if at_start else text[0].lower() + text[1:]

    return re.sub(r"`([^`]+)`", label, message)


def endpoint(fn: Callable) -> Callable:
    """Run ``fn`` with every failure turned into a plain-words ``gr.Error``; the app keeps serving."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except (InputError, ValueError) as err:
            raise gr.Error(plain_words(str(err)), print_exception=False) from None
        except torch.OutOfMemoryError:
            raise gr.Error("Out of GPU memory: try a smaller size, fewer images or fewer views.") from None
        except ModelLoadError as err:
            raise gr.Error(str(err)) from None
        except Exception as err:
            logger.exception("Unexpected failure in %s", fn.__name__)
            raise gr.Error(
                f"Something went wrong on our side ({type(err).__name__}: {err}). The app is still running: "
                "try again, perhaps with other settings."
            ) from None

    return wrapper


def preview(fn: Callable[..., str]) -> Callable[..., str]:
    """A prompt preview: shows input problems in the box itself instead of raising on every keystroke."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (InputError, ValueError) as err:
            return f"⚠️ {plain_words(str(err))}"

    return wrapper


@dataclass(frozen=True)
class RunOptions:
    """Sampling settings shared by every task; ``size`` None lets the task pick (see ``Studio.size_for``)."""

    steps: int = DEFAULT_STEPS
    guidance: float = DEFAULT_GUIDANCE
    seed: int = 0
    negative_prompt: str = ""
    size: tuple[int, int] | None = None
    num_images: int = 1

    @classmethod
    def parse(cls, steps, guidance, seed, randomize_seed, negative_prompt="", size=None, num_images=1) -> RunOptions:
        """Widget values -> checked options (raises InputError in plain words)."""
        return cls(
            steps=inputs.steps(steps),
            guidance=inputs.guidance(guidance),
            seed=inputs.seed(seed, bool(randomize_seed)),
            negative_prompt=(negative_prompt or "").strip(),
            size=inputs.parse_size(size),
            num_images=inputs.num_images(num_images),
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


class Studio:
    """The app's single pipeline and everything done with it.

    Build with ``Studio(Settings(model=...))`` and call ``load()`` once (the app does it at start-up), or
    wrap an already loaded pipeline with ``Studio.for_pipeline`` (tests). Pipeline calls are serialised
    by a lock, whatever the queue does, so a cancelled run still finishing cannot overlap the next one.
    """

    def __init__(self, settings: Settings | None = None, pipe=None, info: ModelInfo | None = None):
        self.settings = settings or Settings()
        self._pipe, self._info = pipe, info
        self._load_lock = threading.Lock()
        self._run_lock = threading.Lock()
        self._runs_lock = threading.Lock()
        self._runs: dict[str | None, threading.Event] = {}  # the stop token of each session's run in flight
        self._call_on_gpu = gpu_decorator()(self._call_pipeline)

    @classmethod
    def for_pipeline(cls, pipe, name: str = "test model", description: str = "a model for tests.") -> Studio:
        side = int(pipe.transformer.config.input_size[-1] * pipe.vae_scale_factor)
        info = ModelInfo(name, name, description, side, str(pipe.device), str(pipe.dtype).removeprefix("torch."))
        pipe.set_progress_bar_config(disable=True)
        return cls(Settings(model=name), pipe, info)

    # Model -------------------------------------------------------------------------------------

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

    def size_choices(self, auto: bool = False, large: bool = False, square_only: bool = False) -> list:
        """Dropdown choices: the aspect-ratio table at the model's native side (and twice it when ``large``)."""
        choices = inputs.size_presets(self.native_side, (1.0, 2.0) if large else (1.0,))
        if square_only:
            choices = [(label, value) for label, value in choices if "square" in label]
        first = [("Auto (from the input image)", inputs.AUTO_SIZE)] if auto else []
        return first + choices

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
        return DEFAULT_NEGATIVE_PROMPT if self._token_count(DEFAULT_NEGATIVE_PROMPT) <= MAX_PROMPT_TOKENS else ""

    def _token_count(self, text: str) -> int:
        return len(self.pipe.tokenizer(text, add_special_tokens=True).input_ids)

    def _options(self, steps, guidance, seed, randomize_seed, negative_prompt=None, size=None, num_images=1,
                 task: str | None = None) -> RunOptions:  # fmt: skip
        """Checked run options; None for the negative prompt, steps or guidance means the model's default
        (for ``task``: editing may have its own guidance)."""
        negative = self.default_negative_prompt if negative_prompt is None else negative_prompt
        steps = self.defaults.steps if steps is None else steps
        guidance = self.defaults.guidance_for(task) if guidance is None else guidance
        return RunOptions.parse(steps, guidance, seed, randomize_seed, negative, size, num_images)

    def untrained(self, tab: str) -> list[str]:
        """The options of ``tab`` (a title in ``TAB_TASKS``) that the model's ``tasks`` list leaves out."""
        return [name for name, task in TAB_TASKS.get(tab, {}).items() if not self.defaults.trained_for(task)]

    def untrained_note(self, tab: str) -> str:
        """A how-to line naming the options of ``tab`` this model was not trained for ("" when none)."""
        names = self.untrained(tab)
        if not names:
            return ""
        return f"\n\n⚠️ **Not trained for {', '.join(names)}**: this model gives noise there."

    def banner(self) -> str:
        """The model banner, plus the options the model was not trained for, tab by tab."""
        missing = [f"{tab}: {', '.join(names)}" for tab in TAB_TASKS if (names := self.untrained(tab))]
        note = f"  \nNot trained for (expect noise): {'; '.join(missing)}." if missing else ""
        return self.info.banner() + note

    def camera_preset_names(self) -> list[str]:
        return list(cams.presets(self.defaults.camera))

    def default_camera_rows(self) -> list[list[float]]:
        return cams.preset_rows(cams.DEFAULT_PRESET, self.defaults.camera)

    def _views(self, rows, least: int = 1) -> list[cams.Row]:
        return cams.rows_to_views(rows, least, distance=self.defaults.camera.distance)

    def _cameras(self, views: Sequence[cams.Row]) -> list[Camera]:
        return cams.views_to_cameras(views, self.defaults.camera.focal_length)

    def default_size(self) -> str:
        return f"{self.native_side}x{self.native_side}"

    def size_for(self, spec: TaskSpec, size: tuple[int, int] | None) -> tuple[int, int]:
        """Explicit size, else the aspect-ratio entry nearest the first given image at the native side."""
        if size is not None:
            return size
        first = next((s.image for s in spec.views if isinstance(s, ImageSlot) and not s.is_target), None)
        if first is None:
            return self.native_side, self.native_side
        return scaled_size(first.height, first.width, self.native_side)

    # Running -----------------------------------------------------------------------------------

    def cancel(self, request: gr.Request | None = None) -> None:
        """Stop the caller's generation after its current step (without a request: every one in flight)."""
        session = getattr(request, "session_hash", None)
        with self._runs_lock:
            tokens = list(self._runs.values()) if session is None else [self._runs.get(session)]
        for token in tokens:
            if token is not None:
                token.set()

    def cancellable(self, fn: Callable) -> Callable:
        """``fn`` as a coroutine on a worker thread, for Gradio. When Gradio cancels the event (the Stop
        button, a client's ``job.cancel()``, a closed tab), the run's stop token is set, so the pipeline
        stops at its next step instead of finishing, unseen, while the queue waits."""

        @functools.wraps(fn)
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
    def _stop_token(self, session: str | None):
        """This run's stop token (from ``cancellable``, or a fresh one), findable by its session."""
        stop = _STOP.get() or threading.Event()
        with self._runs_lock:
            self._runs[session] = stop
        try:
            yield stop
        finally:
            with self._runs_lock:
                if self._runs.get(session) is stop:
                    del self._runs[session]

    @contextlib.contextmanager
    def _model_turn(self, stop: threading.Event):
        """Hold the pipeline for one run; a run cancelled while it waits gives up at once."""
        while not self._run_lock.acquire(timeout=0.1):
            if stop.is_set():
                raise gr.Error(STOPPED, print_exception=False)
        try:
            if stop.is_set():
                raise gr.Error(STOPPED, print_exception=False)
            yield
        finally:
            self._run_lock.release()

    @staticmethod
    def _step_callback(progress, total: int, stop: threading.Event):
        def on_step(pipe, step: int, timestep, values: dict) -> dict:
            if stop.is_set():
                pipe._interrupt = True  # the pipeline stops before its next step
            if progress is not None:
                progress((step + 1, total), desc="Denoising", unit="steps")
            return {}

        return on_step

    def _call_pipeline(self, spec: TaskSpec, options: RunOptions, height: int, width: int, on_step):
        generator = torch.Generator("cpu").manual_seed(options.seed)  # CPU noise: same seed, same image anywhere
        return self.pipe(
            prompt=spec.prompt, views=spec.views, height=height, width=width,
            num_inference_steps=options.steps, guidance_scale=options.guidance,
            negative_prompt=options.negative_prompt or None, num_images_per_prompt=options.num_images,
            generator=generator, output_type="np", callback_on_step_end=on_step,
        )  # fmt: skip

    def _warn_long_prompt(self, prompt: str, negative_prompt: str) -> None:
        for name, text in (("prompt", prompt), ("negative prompt", negative_prompt)):
            ids = self.pipe.tokenizer(text, add_special_tokens=True).input_ids if text else []
            if len(ids) > MAX_PROMPT_TOKENS:
                cut = self.pipe.tokenizer.decode(ids[MAX_PROMPT_TOKENS - 1 : -1], skip_special_tokens=True)
                gr.Warning(
                    f"The {name} is {len(ids)} tokens long; the model reads only the first {MAX_PROMPT_TOKENS}, "
                    f"so this end is ignored: “{cut[:200]}”"
                )

    def generate(self, spec: TaskSpec, options: RunOptions, progress=None, session: str | None = None) -> Generation:
        """Run one task: progress per step, cancellable, the seed and size it used returned with the images."""
        height, width = self.size_for(spec, options.size)
        self._warn_long_prompt(spec.prompt, options.negative_prompt)
        if progress is not None:
            progress(0.0, desc="Waiting for the model" if self._run_lock.locked() else "Preparing")
        with self._stop_token(session) as stop, self._model_turn(stop):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", UserWarning)
                on_step = self._step_callback(progress, options.steps, stop)
                result = self._call_on_gpu(spec, options, height, width, on_step)
            if stop.is_set() or self.pipe.interrupt:
                raise gr.Error(STOPPED, print_exception=False)
        for warning in caught:
            if not str(warning.message).startswith("The prompt is"):  # already reported, in plain words
                gr.Warning(str(warning.message))
        images = [out.to_pil(a) for a in result.images]
        cameras = result.cameras[0] if result.cameras else None
        return Generation(result.images, images, cameras, spec.prompt, options.seed, height, width)

    # Endpoints ---------------------------------------------------------------------------------
    # Each returns, in order, what its tab shows; the tab modules only lay out and wire them.

    @endpoint
    def text_to_image(
        self,
        prompt: str,
        negative_prompt: str | None = None,
        size: str = "auto",
        steps: int | None = None,
        guidance: float | None = None,
        seed: int = 0,
        randomize_seed: bool = True,
        num_images: int = 1,
        progress=PROGRESS,
        request: gr.Request | None = None,
    ) -> tuple[list[tuple[Image.Image, str]], int, str]:
        """Images from a caption. Returns (gallery of (image, caption), seed used, assembled prompt)."""
        if not (prompt or "").strip():
            raise InputError("Describe the image to generate in the Prompt box first.")
        options = self._options(steps, guidance, seed, randomize_seed, negative_prompt, size, num_images)
        run = self.generate(build_task("text2image", caption=prompt), options, progress, _session(request))
        return (
            _gallery(run.images, [f"image {i + 1} · seed {run.seed}" for i in range(len(run.images))]),
            run.seed,
            run.prompt,
        )

    @preview
    def text_to_image_prompt(self, prompt: str = "") -> str:
        return task_prompt("text2image", prompt or "")

    def _control_spec(self, condition: str, image: Image.Image, mask, caption: str, labels: list[Label]) -> TaskSpec:
        if condition not in CONTROL_CONDITIONS:
            raise InputError(f"Pick a condition from the list; {condition!r} is not one.")
        if condition == "inpainting":
            return build_task("inpainting", image=image, mask=mask, caption=caption)
        if condition == "deblurring":
            return build_task("deblurring", image=image, caption=caption)
        if condition == "editing":
            if not caption.strip():
                raise InputError("Write the instruction first: say what to change, e.g. 'make the sky purple'.")
            return build_task("editing", image=image, instruction=caption)
        extra = {"labels": labels} if condition in LABELLED_CONDITIONS else {}
        return build_task(f"{condition}2image", condition=image, caption=caption, **extra)

    @endpoint
    def make_condition(
        self,
        condition: str,
        photo,
        labels=None,
        steps: int | None = None,
        seed: int = 0,
        progress=PROGRESS,
        request: gr.Request | None = None,
    ) -> Image.Image:
        """A condition made from a photo: Canny edges and blur computed here, depth, HED, pose,
        segmentation and boxes by the model's understanding direction; editing takes the photo as is."""
        image = inputs.image(photo, "photo")
        if condition == "canny":
            return canny_edges(image)
        if condition == "deblurring":
            return blur(image)
        if condition in ("editing", "inpainting"):
            return image
        if condition not in UNDERSTANDING_TARGETS:
            raise InputError(f"Pick a condition from the list; {condition!r} is not one.")
        options = self._options(steps, None, seed, False, negative_prompt="")
        return self._estimate(image, condition, inputs.labels(labels), "", options, progress, request).images[0]

    @endpoint
    def control(
        self,
        condition: str,
        condition_image,
        inpainting=None,
        caption: str = "",
        labels=None,
        negative_prompt: str | None = None,
        size: str = "auto",
        steps: int | None = None,
        guidance: float | None = None,
        seed: int = 0,
        randomize_seed: bool = True,
        num_images: int = 1,
        progress=PROGRESS,
        request: gr.Request | None = None,
    ) -> tuple[Image.Image, list[tuple[Image.Image, str]], int, str]:
        """Images that follow a condition. For inpainting, ``inpainting`` is an image-editor value (the
        photo as background, the mask painted in its layers) and ``condition_image`` is ignored.
        Returns (condition as the model saw it, gallery, seed used, assembled prompt)."""
        if condition == "inpainting":
            image, mask = inputs.editor_photo_and_mask(inpainting)
        else:
            image, mask = inputs.image(condition_image, "condition image"), None
        spec = self._control_spec(condition, image, mask, caption or "", inputs.labels(labels))
        options = self._options(steps, guidance, seed, randomize_seed, negative_prompt, size, num_images, condition)
        run = self.generate(spec, options, progress, _session(request))
        shown = center_crop_resize(spec.views[1].image, run.height, run.width)
        captions = [f"generated {i + 1} · seed {run.seed}" for i in range(len(run.images))]
        return shown, _gallery(run.images, captions), run.seed, run.prompt

    @preview
    def control_prompt(self, condition: str, caption: str = "", labels=None) -> str:
        """The prompt a control run would use, assembled without running the model."""
        mask = Image.new("L", _DUMMY.size, 255)
        return self._control_spec(condition, _DUMMY, mask, caption or "", inputs.labels(labels)).prompt

    def _estimate(self, photo, target, labels, caption, options, progress, request) -> Generation:
        """A photo through the model's understanding direction (image2depth, image2pose, ...)."""
        if target not in UNDERSTANDING_TARGETS:
            raise InputError(f"Pick what to estimate from the list; {target!r} is not one.")
        extra = {"labels": labels} if target in LABELLED_CONDITIONS else {}
        spec = build_task(f"image2{target}", image=photo, caption=caption or "", **extra)
        return self.generate(spec, options, progress, _session(request))

    @endpoint
    def understand(
        self,
        photo,
        target: str = "depth",
        labels=None,
        caption: str = "",
        steps: int | None = None,
        guidance: float | None = None,
        seed: int = 0,
        randomize_seed: bool = True,
        progress=PROGRESS,
        request: gr.Request | None = None,
    ) -> tuple[Image.Image, Image.Image, str | None, list[str], list[dict], int, str]:
        """Depth, pose, HED, Canny, segmentation or boxes of a photo. Returns (the result to look at:
        colourised depth or an overlay on the photo, the model's raw output, a GLB relief mesh for depth
        or None, downloadable files, regions found per class, seed used, assembled prompt)."""
        image = inputs.image(photo, "photo")
        label_list = inputs.labels(labels)
        if target in LABELLED_CONDITIONS and not label_list:
            raise InputError("Name at least one class in the class-and-colour table (e.g. 'sky', 'person').")
        options = self._options(steps, guidance, seed, randomize_seed, negative_prompt="")
        run = self._estimate(image, target, label_list, caption, options, progress, request)
        photo_used = center_crop_resize(image, run.height, run.width)
        folder = out.run_folder()
        raw = run.images[0]
        raw.save(folder / f"{target}.png")
        if target == "depth":
            return self._depth_outputs(run.arrays[0], photo_used, folder) + ([], run.seed, run.prompt)
        regions = out.label_regions(raw, label_list) if target in LABELLED_CONDITIONS else []
        shown = out.overlay_drawing(photo_used, raw)
        if target == "boundingbox":
            shown = out.draw_boxes(shown, regions)
        shown.save(folder / f"{target}_overlay.png")
        files = [str(folder / f"{target}.png"), str(folder / f"{target}_overlay.png")]
        return shown, raw, None, files, regions, run.seed, run.prompt

    @staticmethod
    def _depth_outputs(array: np.ndarray, photo: Image.Image, folder) -> tuple:
        depth = out.depth_values(array)
        coloured = out.colourise_depth(depth)
        coloured.save(folder / "depth_colour.png")
        png16 = out.save_depth_png16(depth, folder / "depth_16bit.png")
        glb = out.save_glb(out.depth_mesh(depth, photo), folder / "depth_mesh.glb")
        files = [str(png16), str(folder / "depth_colour.png"), str(glb)]
        return coloured, out.to_pil(array), str(glb), files

    @preview
    def understand_prompt(self, target: str, labels=None, caption: str = "") -> str:
        extra = {"labels": inputs.labels(labels)} if target in LABELLED_CONDITIONS else {}
        return build_task(f"image2{target}", image=_DUMMY, caption=caption or "", **extra).prompt

    def _identity_spec(self, mode: str, references: list, captions: list[str], target_caption: str, subject: str):
        if mode == "subject_driven":
            if len(references) != 1:
                raise InputError("Subject-driven mode uses exactly one reference photo: put it in slot 1.")
            return build_task("subject_driven", image=references[0], item=subject or "", target_caption=target_caption,
                              source_caption=captions[0])  # fmt: skip
        if mode != "identity":
            raise InputError(f"Mode must be 'identity' or 'subject_driven', not {mode!r}.")
        if not references:
            raise InputError("Add at least one reference photo (up to 4).")
        return build_task("identity", references=references, reference_captions=captions, target_caption=target_caption)

    @staticmethod
    def _references(pairs: Sequence) -> tuple[list[Image.Image], list[str]]:
        """(photo, caption) pairs -> the given photos and their captions, in slot order."""
        photos, captions = [], []
        for i, (photo, caption) in enumerate(pairs, start=1):
            image = inputs.image(photo, f"reference photo {i}", required=False)
            if image is not None:
                photos.append(image)
                captions.append((caption or "").strip())
        return photos, captions

    @endpoint
    def identity(
        self,
        mode: str,
        reference_1,
        caption_1: str = "",
        reference_2=None,
        caption_2: str = "",
        reference_3=None,
        caption_3: str = "",
        reference_4=None,
        caption_4: str = "",
        target_caption: str = "",
        subject_name: str = "",
        negative_prompt: str | None = None,
        size: str = "auto",
        steps: int | None = None,
        guidance: float | None = None,
        seed: int = 0,
        randomize_seed: bool = True,
        num_images: int = 1,
        progress=PROGRESS,
        request: gr.Request | None = None,
    ) -> tuple[list[tuple[Image.Image, str]], int, str]:
        """New photos of the person (mode 'identity', 1-4 references) or of the object (mode
        'subject_driven', reference 1 only, named by ``subject_name``) described by ``target_caption``.
        Returns (gallery, seed used, assembled [[imgN]] prompt)."""
        pairs = [(reference_1, caption_1), (reference_2, caption_2), (reference_3, caption_3), (reference_4, caption_4)]
        photos, captions = self._references(pairs)
        if not (target_caption or "").strip():
            raise InputError("Describe the new photo in 'Target caption' first.")
        spec = self._identity_spec(mode, photos, captions, target_caption, subject_name)
        options = self._options(steps, guidance, seed, randomize_seed, negative_prompt, size, num_images)
        run = self.generate(spec, options, progress, _session(request))
        return (
            _gallery(run.images, [f"generated {i + 1} · seed {run.seed}" for i in range(len(run.images))]),
            run.seed,
            run.prompt,
        )

    @preview
    def identity_prompt(self, mode: str, has_1, caption_1, has_2, caption_2, has_3, caption_3, has_4, caption_4,
                        target_caption: str = "", subject_name: str = "") -> str:  # fmt: skip
        """The assembled prompt for the references present (only whether each is given matters)."""
        given = [(_DUMMY if has else None, c) for has, c in
                 [(has_1, caption_1), (has_2, caption_2), (has_3, caption_3), (has_4, caption_4)]]  # fmt: skip
        photos, captions = self._references(given)
        return self._identity_spec(mode, photos, captions, target_caption or "", subject_name).prompt

    @endpoint
    def camera_preset(self, preset: str) -> list[list[float]]:
        """The camera table rows of a named preset, at the model's camera (``ui.camera_presets.presets``)."""
        return cams.preset_rows(preset, self.defaults.camera)

    @endpoint
    def camera_preview(self, cameras, image=None):
        """The 3D figure of a camera table; the first view is drawn as given (blue) when a photo is
        given (only whether ``image`` is set matters)."""
        views = self._views(cameras)
        from_image = image is not None and image is not False
        roles = ["condition" if from_image and i == 0 else "generated" for i in range(len(views))]
        names = [f"view {i + 1}" for i in range(len(views))]
        return camera_figure(self._cameras(views), names, roles)

    @endpoint
    def multiview(
        self,
        image=None,
        caption: str = "",
        cameras=None,
        negative_prompt: str | None = None,
        size: str = "auto",
        steps: int | None = None,
        guidance: float | None = None,
        seed: int = 0,
        randomize_seed: bool = True,
        progress=PROGRESS,
        request: gr.Request | None = None,
    ) -> tuple[list[tuple[Image.Image, str]], str, str, object, int, str]:
        """Views of an object from the cameras' rows (azimuth, elevation, distance). With ``image`` the
        first row is that photo's camera and the others are generated; without, every view comes from
        ``caption``. Returns (gallery of all views, turntable GIF, zip of the run, 3D camera figure,
        seed used, assembled prompt)."""
        photo = inputs.image(image, "photo", required=False)
        views = self._views(cameras if cameras is not None else self.default_camera_rows(),
                            least=2 if photo is not None else 1)  # fmt: skip
        cameras_ = self._cameras(views)
        if photo is None and not (caption or "").strip():
            raise InputError("Add a photo, or describe the object in the caption, to make views of it.")
        if photo is not None:
            spec = build_task("image2multiview", image=photo, cameras=cameras_, caption=caption or "")
        else:
            spec = build_task("text2multiview", cameras=cameras_, caption=caption)
        size_ = inputs.parse_size(size) or (self.native_side, self.native_side)  # the model was trained on squares
        options = self._options(steps, guidance, seed, randomize_seed, negative_prompt, f"{size_[1]}x{size_[0]}")
        run = self.generate(spec, options, progress, _session(request))
        frames = ([center_crop_resize(photo, run.height, run.width)] if photo is not None else []) + run.images
        return self._multiview_outputs(frames, views, photo is not None, run, options)

    def _multiview_outputs(self, frames, views, from_image: bool, run: Generation, options: RunOptions) -> tuple:
        roles = ["condition" if from_image and i == 0 else "generated" for i in range(len(views))]
        captions = [
            f"view {i + 1} · azimuth {a:g}°, elevation {e:g}° · "
            + ("your photo (condition)" if role == "condition" else "generated")
            for i, ((a, e, _), role) in enumerate(zip(views, roles))
        ]
        folder = out.run_folder()
        gif = out.save_gif(frames, folder / "turntable.gif")
        metadata = {
            "prompt": run.prompt, "seed": run.seed, "steps": options.steps, "guidance": options.guidance,
            "negative_prompt": options.negative_prompt, "width": run.width, "height": run.height,
            "views": [{"file": f"view_{i + 1:02d}.png", "azimuth": a, "elevation": e, "distance": d, "role": role}
                      for i, ((a, e, d), role) in enumerate(zip(views, roles))],
        }  # fmt: skip
        named = {view["file"]: frame for view, frame in zip(metadata["views"], frames)}
        archive = out.save_zip(folder / "multiview.zip", named, metadata)
        figure = camera_figure(self._cameras(views), [f"view {i + 1}" for i in range(len(views))], roles)
        return _gallery(frames, captions), str(gif), str(archive), figure, run.seed, run.prompt

    @preview
    def multiview_prompt(self, caption: str = "") -> str:
        return task_prompt("multiview", caption or "")

    @endpoint
    def estimate_cameras(
        self,
        photos,
        caption: str = "",
        steps: int | None = None,
        guidance: float | None = None,
        seed: int = 0,
        randomize_seed: bool = True,
        progress=PROGRESS,
        request: gr.Request | None = None,
    ) -> tuple[object, list[list], int, str]:
        """Camera poses of 2-4 photos of the same object. Returns (3D figure of the estimated cameras,
        rows of photo number, azimuth, elevation, distance and focal length, seed used, assembled prompt).
        Cameras are relative to photo 1, drawn with photo 1 at the model's first view (azimuth 0, its
        default elevation and distance)."""
        images = inputs.gallery_images(photos, "photo", 2, 4)
        options = self._options(steps, guidance, seed, randomize_seed, negative_prompt="")
        run = self.generate(build_task("camera_estimation", images=images, caption=caption or ""), options,
                            progress, _session(request))  # fmt: skip
        placed = cams.place_around_object(run.cameras, self.defaults.camera.front)
        names = [f"photo {i + 1}" for i in range(len(placed))]
        figure = camera_figure(placed, names, ["estimated"] * len(placed), aspect=run.height / run.width)
        rows = [[i + 1, *row] for i, row in enumerate(cams.camera_rows(placed))]
        return figure, rows, run.seed, run.prompt

    @endpoint
    def slots(
        self,
        prompt: str,
        slots=None,
        images=None,
        negative_prompt: str = "",
        size: str = "auto",
        steps: int | None = None,
        guidance: float | None = None,
        seed: int = 0,
        randomize_seed: bool = True,
        num_images: int = 1,
        progress=PROGRESS,
        request: gr.Request | None = None,
    ) -> tuple[list[tuple[Image.Image, str]], list[list], object, int, str]:
        """Any slot sequence with a raw prompt. ``slots`` rows: kind ('image'/'camera'), role
        ('condition'/'target'), image number (1-based, into ``images``; blank takes the next one),
        azimuth, elevation, distance (for camera conditions). Returns (gallery of every image slot,
        camera rows, 3D camera figure, seed used, the prompt)."""
        if not (prompt or "").strip():
            raise InputError("Write the raw prompt first, task token included, e.g. '[[multiview]] a red cube'.")
        if "[[" not in prompt:
            gr.Warning("The prompt has no task token such as [[text2image]] or [[multiview]]; the model may not "
                       "know which task to do.")  # fmt: skip
        photos = inputs.gallery_images(images, "image", 0, 16) if images else []
        views, given = _slots_from_rows(slots, photos, self.defaults.camera)
        options = self._options(steps, guidance, seed, randomize_seed, negative_prompt, size, num_images)
        run = self.generate(TaskSpec("slots", prompt.strip(), views), options, progress, _session(request))
        gallery = _slot_gallery(views, run)
        rows, figure = _slot_cameras(views, given, run, self.defaults.camera.front)
        return gallery, rows, figure, run.seed, run.prompt


def _session(request: gr.Request | None) -> str | None:
    return getattr(request, "session_hash", None)


def _gallery(images: Sequence[Image.Image], captions: Sequence[str]) -> list[tuple[Image.Image, str]]:
    return list(zip(images, captions))


def _cell(row: list, index: int):
    return row[index] if index < len(row) and row[index] not in (None, "") else None


def _slots_from_rows(rows, photos: list[Image.Image], camera: cams.CameraDefaults) -> tuple[list, dict[int, Camera]]:
    """Slot-table rows -> slots, and the cameras given for camera conditions by slot index (a blank
    distance, and the focal length, are ``camera``'s)."""
    views, given, unused = [], {}, list(range(len(photos)))
    for i, row in enumerate(inputs.table_rows(rows)):
        kind, role = (str(_cell(row, c) or "").strip().lower() for c in (0, 1))
        if kind not in ("image", "camera") or role not in ("condition", "target"):
            raise InputError(f"Slot {i}: kind must be 'image' or 'camera' and role 'condition' or 'target', "
                             f"not {kind or 'blank'!r} and {role or 'blank'!r}.")  # fmt: skip
        if role == "target":
            views.append(ImageSlot.target() if kind == "image" else CameraSlot.target())
        elif kind == "camera":
            view = [_cell(row, 3) or 0, _cell(row, 4) or 0, _cell(row, 5)]
            a, e, d = cams.rows_to_views([view], distance=camera.distance)[0]
            given[i] = Camera.orbit(a, e, d, camera.focal_length)
            views.append(CameraSlot.condition(given[i]))
        else:
            number = _cell(row, 2)
            if number is None and not unused:
                raise InputError(f"Slot {i} is an image condition but no image is left for it: add one below.")
            index = int(inputs.number_cell(number, "image #", i)) - 1 if number is not None else unused[0]
            if not 0 <= index < len(photos):
                raise InputError(f"Slot {i} asks for image {index + 1}, but only {len(photos)} were added below.")
            unused = [u for u in unused if u != index]
            views.append(ImageSlot.condition(photos[index]))
    return views, given


def _slot_gallery(views: list, run: Generation) -> list[tuple[Image.Image, str]]:
    """Every image slot in order: conditions once, then each sample's generated targets."""
    image_slots = [i for i, v in enumerate(views) if isinstance(v, ImageSlot)]
    targets = [i for i in image_slots if views[i].is_target]
    items = [(center_crop_resize(views[i].image, run.height, run.width), f"slot {i} · condition")
             for i in image_slots if not views[i].is_target]  # fmt: skip
    for n, image in enumerate(run.images):
        sample, slot = divmod(n, max(len(targets), 1))
        items.append((image, f"slot {targets[slot]} · generated · image {sample + 1} · seed {run.seed}"))
    return items


def _slot_cameras(views: list, given: dict[int, Camera], run: Generation, front: Camera) -> tuple[list[list], object]:
    """Camera rows and figure: given cameras as given, estimated ones placed relative to the first camera
    (at ``front`` when it is not given)."""
    indices = [i for i, v in enumerate(views) if isinstance(v, CameraSlot)]
    if not indices or not run.cameras:
        return [], None
    placed = cams.place_around_object(run.cameras, given.get(indices[0], front))
    roles = ["estimated" if views[i].is_target else "condition" for i in indices]
    rows = [[i, role, *row] for i, role, row in zip(indices, roles, cams.camera_rows(placed))]
    figure = camera_figure(placed, [f"slot {i}" for i in indices], roles, aspect=run.height / run.width)
    return rows, figure
