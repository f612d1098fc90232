"""OneDiffusionPipeline: one denoising loop over a sequence of view slots.

Every task is a list of slots (``slots.py``): targets start as noise and carry the current
timestep, conditions stay clean and carry the schedule's last timestep. Text to image is a
single image target; the authors' ``img2img`` (``reference.py``) and the task presets
(``tasks.py``) are thin layers that build slot lists. The numerics follow the authors'
implementation exactly (see the golden tests).
"""

from __future__ import annotations

import warnings
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import PIL.Image
import torch
from diffusers import AutoencoderKL, FlowMatchEulerDiscreteScheduler
from diffusers.pipelines.pipeline_utils import DiffusionPipeline
from diffusers.utils import BaseOutput, logging
from diffusers.utils.torch_utils import randn_tensor
from transformers import T5EncoderModel, T5Tokenizer

from . import caching
from .cameras import Camera, cameras_from_ray_maps, latent_to_rays, rays_for_cameras, rays_to_latent
from .images import image_to_tensor, numpy_to_pil, tensor_to_numpy
from .loading import load_components, read_studio, resolve_folder
from .model import NextDiT
from .prompts import DEFAULT_GUIDANCE, DEFAULT_STEPS, MAX_PROMPT_TOKENS, scaled_size, truncated
from .reference import ReferenceAPIMixin
from .slots import CameraSlot, ImageSlot, Slot, check_slots
from .tiling import Blender, Tiling

logger = logging.get_logger(__name__)

MAX_SIDE = 2048
OUTPUT_TYPES = ("pil", "np", "pt", "latent")
_PROMPT_CACHE_SIZE = 32


@dataclass
class OneDiffusionPipelineOutput(BaseOutput):
    """images: the decoded target image slots, batch-major (for each sample, each target in slot
    order). latents: the final latents of every slot, (B, N, C, h, w). cameras: for each sample,
    one :class:`Camera` per camera slot in the frame of camera 0 (estimated ones for targets)."""

    images: list[PIL.Image.Image] | np.ndarray | torch.Tensor
    latents: torch.Tensor | None = None
    cameras: list[list[Camera]] | None = None


@dataclass
class SlotLayout:
    """Slot indices by kind and role, and the given inputs, resolved once per call."""

    image_conditions: list[int]
    camera_conditions: list[int]
    image_targets: list[int]
    camera_targets: list[int]
    camera_slots: list[int]
    images: list[PIL.Image.Image]
    cameras: list[Camera]  # the frame camera first, then the condition cameras

    @classmethod
    def from_slots(cls, slots: Sequence[Slot]) -> SlotLayout:
        def where(kind, target):
            return [i for i, s in enumerate(slots) if isinstance(s, kind) and s.is_target == target]

        camera_slots = [i for i, s in enumerate(slots) if isinstance(s, CameraSlot)]
        conditions = where(CameraSlot, False)
        cameras = [slots[camera_slots[0]].camera] + [slots[i].camera for i in conditions] if conditions else []
        return cls(
            image_conditions=where(ImageSlot, False),
            camera_conditions=conditions,
            image_targets=where(ImageSlot, True),
            camera_targets=where(CameraSlot, True),
            camera_slots=camera_slots,
            images=[slots[i].image for i in where(ImageSlot, False)],
            cameras=cameras,
        )

    @property
    def conditions(self) -> list[int]:
        return sorted(self.image_conditions + self.camera_conditions)

    @property
    def num_targets(self) -> int:
        return len(self.image_targets) + len(self.camera_targets)


def calculate_shift(seq_len: float, base_seq_len: int, max_seq_len: int, base_shift: float, max_shift: float) -> float:
    """The schedule's shift mu, linear in the number of target tokens."""
    m = (max_shift - base_shift) / (max_seq_len - base_seq_len)
    return seq_len * m + (base_shift - m * base_seq_len)


def schedule_timesteps(scheduler, num_inference_steps: int, target_tokens: float, device=None) -> torch.Tensor:
    """Set ``scheduler`` to the reference's schedule and return its timesteps: sigmas
    linspace(1, 1/S, S), shifted by mu for ``target_tokens`` (all target slots' tokens, times any
    ``noise_scale``). Condition slots carry the last of them; the trainer draws from the same."""
    sigmas = np.linspace(1.0, 1 / num_inference_steps, num_inference_steps)
    cfg = scheduler.config
    mu = calculate_shift(target_tokens, cfg.base_image_seq_len, cfg.max_image_seq_len, cfg.base_shift, cfg.max_shift)
    scheduler.set_timesteps(sigmas=sigmas, mu=mu, device=device)
    return scheduler.timesteps


def warn_if_truncated(tokenizer, text: str, max_length: int) -> None:
    """Say (log and ``UserWarning``) which words of ``text`` fall beyond ``max_length`` tokens."""
    if (found := truncated(tokenizer, text, max_length)) is not None:
        count, cut = found
        message = f"The prompt is {count} tokens long; only {max_length} are read, so this was cut: {cut!r}"
        logger.warning(message)
        warnings.warn(message, UserWarning, stacklevel=4)


class PromptCache:
    """Encoder states and masks by (text, max_length), the least recently used dropped beyond
    ``size``: a prompt sent again (and the negative prompt, sent every time) skips the encoder."""

    def __init__(self, size: int = _PROMPT_CACHE_SIZE):
        self.size = size
        self._entries: OrderedDict[tuple[str, int], tuple[torch.Tensor, torch.Tensor]] = OrderedDict()

    def encode(
        self, tokenizer, text_encoder, texts: list[str], device, max_length: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """T5 states (float32) and masks for texts, padded to ``max_length``; only texts not cached
        yet go through ``text_encoder``, in one batch."""
        for text in dict.fromkeys(texts):  # every call, cached or not: the user should hear it each time
            warn_if_truncated(tokenizer, text, max_length)
        missing = [t for t in dict.fromkeys(texts) if (t, max_length) not in self._entries]
        if missing:
            tokens = tokenizer(
                missing, padding="max_length", max_length=max_length, truncation=True, return_tensors="pt"
            )
            ids, mask = tokens.input_ids.to(device), tokens.attention_mask.to(device)
            states = text_encoder(ids, attention_mask=mask)[0].to(torch.float32)
            for text, s, m in zip(missing, states, mask):
                self._entries[(text, max_length)] = (s, m)
                while len(self._entries) > self.size:
                    self._entries.popitem(last=False)
        pairs = [self._entries[(t, max_length)] for t in texts]
        for t in texts:
            self._entries.move_to_end((t, max_length))
        return torch.stack([s for s, _ in pairs]).to(device), torch.stack([m for _, m in pairs]).to(device)

    def clear(self) -> None:
        self._entries.clear()


def decode_cameras(latents: torch.Tensor, layout: SlotLayout) -> list[list[Camera]] | None:
    """For each sample, one :class:`Camera` per camera slot in the frame of camera 0: given cameras
    re-expressed in it, target cameras estimated from their denoised ray maps."""
    if not layout.camera_slots:
        return None
    frame = torch.linalg.inv(torch.from_numpy(layout.cameras[0].c2w)) if layout.cameras else None
    given = {
        i: Camera((frame @ torch.from_numpy(cam.c2w)).numpy(), cam.focal_length)
        for i, cam in zip(layout.camera_conditions, layout.cameras[1:])
    }
    # The rays live in the frame of camera 0; when that camera is itself estimated, its own small
    # error is taken out, so camera 0 is exactly the frame.
    first_is_frame = bool(layout.camera_targets) and layout.camera_targets[0] == layout.camera_slots[0]
    results = []
    for sample in latents:
        estimated = {}
        if layout.camera_targets:
            rays = latent_to_rays(sample[layout.camera_targets].float().cpu())
            estimated = dict(zip(layout.camera_targets, cameras_from_ray_maps(rays, first_is_frame)))
        results.append([{**given, **estimated}[i] for i in layout.camera_slots])
    return results


@dataclass
class WindowCount:
    """Windows denoised so far in a tiled call, reported to ``callback`` as (done, total)."""

    callback: Callable[[int, int], None] | None
    total: int
    done: int = 0

    def one_more(self) -> None:
        self.done += 1
        if self.callback is not None:
            self.callback(self.done, self.total)


def no_images(output_type: str, like: torch.Tensor):
    """The ``images`` of a call without image targets (camera-pose estimation), per output type."""
    if output_type == "pil":
        return []
    if output_type == "pt":
        return like.new_zeros((0, 3, 0, 0))
    return np.zeros((0, 0, 0, 3), np.float32)


def split_legacy_arguments(legacy: dict) -> tuple[dict, Callable | None, int]:
    """The authors' extra arguments: ``forward_kwargs`` for the network, and the old-style
    ``callback(step, timestep, latents)`` every ``callback_steps`` steps. Anything else is an error."""
    forward_kwargs = legacy.pop("forward_kwargs", {})
    callback, callback_steps = legacy.pop("callback", None), legacy.pop("callback_steps", 1)
    if legacy:
        raise TypeError(f"Unexpected arguments: {sorted(legacy)}.")
    return forward_kwargs, callback, callback_steps


class OneDiffusionPipeline(ReferenceAPIMixin, DiffusionPipeline):
    """Generate any mix of image and camera views from a prompt and given views.

    Components: ``transformer`` (:class:`NextDiT`), ``vae`` (AutoencoderKL, 16 latent channels),
    ``text_encoder`` (T5EncoderModel), ``tokenizer`` (T5Tokenizer), ``scheduler``
    (FlowMatchEulerDiscreteScheduler with dynamic shifting). The authors' ``img2img`` comes from
    :class:`ReferenceAPIMixin`. ``__call__`` runs numbered steps, one helper each: 1 check inputs
    (``default_size``, ``check_inputs``), 2 encode the prompt (``encode_prompt``), 3 prepare latents
    (``prepare_latents``), 4 prepare timesteps (``prepare_timesteps``), 5 the denoising loop
    (``denoise_step``), 6 decode (``decode_images``, :func:`decode_cameras`).
    """

    model_cpu_offload_seq = "text_encoder->transformer->vae"
    _callback_tensor_inputs = ["latents"]

    def __init__(
        self,
        transformer: NextDiT,
        vae: AutoencoderKL,
        text_encoder: T5EncoderModel,
        tokenizer: T5Tokenizer,
        scheduler: FlowMatchEulerDiscreteScheduler,
    ):
        super().__init__()
        self.register_modules(
            transformer=transformer, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, scheduler=scheduler
        )
        self.vae_scale_factor = 2 ** (len(self.vae.config.block_out_channels) - 1)
        self._prompt_cache = PromptCache()
        self._interrupt = False
        self.auto_vae_tiling = True
        self.studio: dict = {}
        self.cache_setting: str | None = None  # the step cache in use (``enable_cache``); None: exact sampling
        self.quantize: str | None = None  # weights quantized at load (``from_pretrained(..., quantize=)``)

    def enable_cache(self, config: str | caching.CacheConfig | None = None) -> None:
        """Step caching (``onediffusion.caching``): with no argument the default preset
        (``caching.DEFAULT_CACHE``), else a preset name or a diffusers cache config. Replaces a cache
        already on. Faster, and no longer exact: ``disable_cache()`` restores exact sampling."""
        resolved = caching.resolve_cache(config, len(self.transformer.layers))
        self.disable_cache()
        self.transformer.enable_cache(resolved)
        self.cache_setting = caching.setting_name(config)

    def disable_cache(self) -> None:
        """Exact sampling again: every cache hook removed (a no-op when no cache is on)."""
        if self.transformer.is_cache_enabled:
            self.transformer.disable_cache()
        self.cache_setting = None

    @property
    def native_side(self) -> int:
        """The side, in pixels, of the square images the transformer was configured for."""
        return int(self.transformer.config.input_size[-1] * self.vae_scale_factor)

    @classmethod
    def from_pretrained(
        cls,
        pretrained_model_name_or_path: str,
        torch_dtype: torch.dtype | None = None,
        quantize: str | None = None,
        **kwargs,
    ):
        """Load the published folder layout (a hub id or a local folder), each part by subfolder.
        ``quantize="int8"``: weight-only int8 transformer and text encoder (``onediffusion.quantize``)."""
        folder = resolve_folder(pretrained_model_name_or_path, **kwargs)
        pipe = cls(**load_components(folder, torch_dtype=torch_dtype, quantize=quantize))
        pipe.studio = read_studio(folder)
        pipe.quantize = quantize
        return pipe

    @property
    def image_side(self) -> int:
        """The side image tasks default to: 512 for the published model (its aspect-ratio table)."""
        return int(self.studio.get("image_side", 512))

    @property
    def interrupt(self) -> bool:
        return self._interrupt

    def default_size(self, layout: SlotLayout, height: int | None, width: int | None) -> tuple[int, int]:
        if height is not None and width is not None:
            return height, width
        if layout.images:
            h, w = scaled_size(layout.images[0].height, layout.images[0].width, self.image_side)
        else:
            side = self.transformer.config.input_size
            h, w = side[-2] * self.vae_scale_factor, side[-1] * self.vae_scale_factor
        return height or h, width or w

    def check_inputs(
        self,
        prompt: str | list[str],
        negative_prompt: str | list[str] | None,
        height: int,
        width: int,
        num_inference_steps: int,
        guidance_scale: float,
        num_images_per_prompt: int,
        output_type: str,
        generator: torch.Generator | list[torch.Generator] | None,
        callback_on_step_end_tensor_inputs: Sequence[str],
    ) -> None:
        """Refuse bad arguments of ``__call__`` with a ``ValueError`` naming the argument and its value."""
        if not isinstance(prompt, str) and not (
            isinstance(prompt, list) and prompt and all(isinstance(p, str) for p in prompt)
        ):
            raise ValueError(f"`prompt` must be a string or a non-empty list of strings, got {prompt!r}.")
        if negative_prompt is not None and not isinstance(negative_prompt, (str, list)):
            raise ValueError(f"`negative_prompt` must be a string or a list of strings, got {negative_prompt!r}.")
        if isinstance(negative_prompt, list) and len(negative_prompt) != (
            len(prompt) if isinstance(prompt, list) else 1
        ):
            raise ValueError(f"`negative_prompt` needs one entry per prompt, got {len(negative_prompt)}.")
        for name, value in (("height", height), ("width", width)):
            if not isinstance(value, (int, np.integer)) or value % 16 or not 16 <= value <= MAX_SIDE:
                raise ValueError(f"`{name}` must be a multiple of 16 between 16 and {MAX_SIDE}, got {value!r}.")
        if not isinstance(num_inference_steps, (int, np.integer)) or num_inference_steps < 1:
            raise ValueError(f"`num_inference_steps` must be at least 1, got {num_inference_steps!r}.")
        if not np.isfinite(guidance_scale) or guidance_scale < 0:
            raise ValueError(f"`guidance_scale` must be 0 or more, got {guidance_scale!r}.")
        if not isinstance(num_images_per_prompt, (int, np.integer)) or num_images_per_prompt < 1:
            raise ValueError(f"`num_images_per_prompt` must be at least 1, got {num_images_per_prompt!r}.")
        if output_type not in OUTPUT_TYPES:
            raise ValueError(f"`output_type` must be one of {OUTPUT_TYPES}, got {output_type!r}.")
        if generator is not None and not isinstance(generator, (torch.Generator, list)):
            raise ValueError(
                f"`generator` must be a torch.Generator or a list of them, got {type(generator).__name__}."
            )
        bad_keys = set(callback_on_step_end_tensor_inputs) - set(self._callback_tensor_inputs)
        if bad_keys:
            raise ValueError(
                f"`callback_on_step_end_tensor_inputs` may only name {self._callback_tensor_inputs}, "
                f"got {sorted(bad_keys)}."
            )
        batch = (1 if isinstance(prompt, str) else len(prompt)) * num_images_per_prompt
        if isinstance(generator, list) and len(generator) != batch:
            raise ValueError(f"`generator` holds {len(generator)} generators for a batch of {batch}.")

    def encode_prompt(
        self,
        prompt: str | list[str],
        device: torch.device,
        num_images_per_prompt: int = 1,
        do_classifier_free_guidance: bool = True,
        negative_prompt: str | list[str] | None = None,
        max_length: int = MAX_PROMPT_TOKENS,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Encoder states (B, max_length, Y) and attention masks; with guidance the negative
        prompts come first in the batch, then the prompts."""
        prompts = [prompt] if isinstance(prompt, str) else list(prompt)
        texts = [p for p in prompts for _ in range(num_images_per_prompt)]
        if do_classifier_free_guidance:
            negatives = negative_prompt if isinstance(negative_prompt, list) else [negative_prompt or ""] * len(prompts)
            texts = [n for n in negatives for _ in range(num_images_per_prompt)] + texts
        return self._prompt_cache.encode(self.tokenizer, self.text_encoder, texts, device, max_length)

    def clear_prompt_cache(self) -> None:
        self._prompt_cache.clear()

    def encode_images(self, images: list[PIL.Image.Image], height: int, width: int, device, generator) -> torch.Tensor:
        """Condition images -> scaled posterior samples (n, C, h, w), one batched encode."""
        pixels = torch.stack([image_to_tensor(img, height, width) for img in images])
        self._maybe_tile_vae(height, width)
        posterior = self.vae.encode(pixels.to(device, self.vae.dtype)).latent_dist
        first = generator[0] if isinstance(generator, list) else generator
        return (posterior.sample(first) * self.vae.config.scaling_factor).float()

    def prepare_latents(self, layout: SlotLayout, batch: int, n_slots: int, height: int, width: int, device, generator):
        """Initial latents (B, N, C, h, w): noise in targets, clean latents in conditions."""
        h, w = height // self.vae_scale_factor, width // self.vae_scale_factor
        channels = self.transformer.config.in_channels
        image_latents = None
        if layout.images:
            # The reference draws one (B, C, h, w) noise tensor it never uses before encoding the
            # conditions; drawing it too keeps every seed's result identical to theirs.
            randn_tensor((batch, channels, h, w), generator=generator, device=device, dtype=torch.float32)
            image_latents = self.encode_images(layout.images, height, width, device, generator)
        latents = randn_tensor(
            (batch, n_slots, channels, h, w), generator=generator, device=device, dtype=torch.float32
        )
        if image_latents is not None:
            latents[:, layout.image_conditions] = image_latents
        if layout.camera_conditions:
            rays = rays_for_cameras(layout.cameras, (h, w))[1:]
            latents[:, layout.camera_conditions] = rays_to_latent(rays, channels).to(device)
        return latents

    def prepare_timesteps(
        self, num_inference_steps: int, num_targets: int, height: int, width: int, device, noise_scale: float = 1.0
    ) -> torch.Tensor:
        _, ph, pw = self.transformer.config.patch_size
        tokens = (height // self.vae_scale_factor) * (width // self.vae_scale_factor) / (ph * pw)
        return schedule_timesteps(self.scheduler, num_inference_steps, noise_scale * num_targets * tokens, device)

    def denoise_step(self, latents, t, t_condition, conditions, embeds, mask, guidance_scale, forward_kwargs):
        """One velocity prediction (guided in one batched forward) and one Euler step over all slots."""
        velocity = self.predict_velocity(
            latents, t, t_condition, conditions, embeds, mask, guidance_scale, forward_kwargs
        )
        return self.scheduler.step(velocity, t, latents).prev_sample

    def denoise_tiled_step(self, latents, blender: Blender, on_window: Callable[[], None], *args):
        """One step window by window (see ``tiling``): each window's crop of every slot denoised as a whole
        image, the velocities blended, one Euler step over all. None when Stop came between windows."""
        for index, (rows, cols) in enumerate(blender.windows):
            if self.interrupt:
                return None
            blender.add(index, self.predict_velocity(latents[..., rows, cols], *args, context=f"window{index}"))
            on_window()
        return self.scheduler.step(blender.result(), args[0], latents).prev_sample

    def predict_velocity(
        self, latents, t, t_condition, conditions, embeds, mask, guidance_scale, forward_kwargs, context="cond"
    ):
        """The network's velocity for every slot, guided (negative and positive in one batched forward).
        ``context`` names the step cache's state (one per tiling window), used only with a cache on."""
        cfg = guidance_scale > 1.0
        model_in = torch.cat([latents] * 2) if cfg else latents
        timesteps = torch.full(model_in.shape[:2], float(t), device=latents.device)
        timesteps[:, conditions] = float(t_condition)
        dtype = self.transformer.dtype
        with caching.cache_context(self.transformer, context, timestep=t):
            velocity = self.transformer(
                samples=model_in.to(dtype),
                timesteps=timesteps,  # one per view: the network's fast path, same numbers
                encoder_hidden_states=embeds.to(dtype),
                encoder_attention_mask=mask,
                **forward_kwargs,
            ).float()
        if cfg:
            negative, positive = velocity.chunk(2)
            velocity = negative + guidance_scale * (positive - negative)
        return velocity

    def blender(self, tiling: Tiling | None, layout: SlotLayout, height: int, width: int) -> Blender | None:
        """The windows of ``tiling`` over the image's latents, or None untiled."""
        if tiling is None:
            return None
        if not isinstance(tiling, Tiling):
            raise ValueError(f"`tiling` must be a Tiling, got {type(tiling).__name__}.")
        if layout.camera_slots:
            raise ValueError("`tiling` works on image slots only: camera slots describe the whole image.")
        scale = self.vae_scale_factor
        return Blender(tiling.windows(height, width, scale), height // scale, width // scale)

    def window_px(self, blender: Blender | None, height: int, width: int) -> tuple[int, int]:
        """The size in pixels of what the network sees at once: the image, or a window of it."""
        if blender is None:
            return height, width
        rows, cols = blender.windows[0]
        return (rows.stop - rows.start) * self.vae_scale_factor, (cols.stop - cols.start) * self.vae_scale_factor

    def _maybe_tile_vae(self, height: int, width: int) -> None:
        if self.auto_vae_tiling and max(height, width) > 1024:
            self.vae.enable_tiling()

    def decode_images(self, latents: torch.Tensor, output_type: str):
        if output_type == "latent":
            return latents
        if latents.shape[1] == 0:
            return no_images(output_type, latents)
        flat = latents.flatten(0, 1) / self.vae.config.scaling_factor
        self._maybe_tile_vae(flat.shape[-2] * self.vae_scale_factor, flat.shape[-1] * self.vae_scale_factor)
        pixels = self.vae.decode(flat.to(self.vae.dtype)).sample
        if output_type == "pt":
            return (pixels / 2 + 0.5).clamp(0, 1).float()
        arrays = tensor_to_numpy(pixels)
        return arrays if output_type == "np" else numpy_to_pil(arrays)

    @torch.no_grad()
    def __call__(
        self,
        prompt: str | list[str] = "",
        views: Sequence[Slot] | None = None,
        height: int | None = None,
        width: int | None = None,
        num_inference_steps: int = DEFAULT_STEPS,
        guidance_scale: float = DEFAULT_GUIDANCE,
        negative_prompt: str | list[str] | None = None,
        num_images_per_prompt: int = 1,
        generator: torch.Generator | list[torch.Generator] | None = None,
        output_type: str = "pil",
        return_dict: bool = True,
        callback_on_step_end: Callable[[DiffusionPipeline, int, torch.Tensor, dict], dict] | None = None,
        callback_on_step_end_tensor_inputs: Sequence[str] = ("latents",),
        scale_factor: float = 1.0,
        scale_watershed: float = 1.0,
        noise_scale: float = 1.0,
        max_sequence_length: int = MAX_PROMPT_TOKENS,
        tiling: Tiling | None = None,
        callback_on_window: Callable[[int, int], None] | None = None,
        **legacy,
    ) -> OneDiffusionPipelineOutput | tuple:
        """Denoise a sequence of view slots; without ``views``, one image target (text to image).

        Args:
            prompt: the prompt, task token first (see ``tasks.build_task``); or a list for a batch.
            views: the slot sequence (``ImageSlot`` / ``CameraSlot``, at most 16).
            height, width: image size in pixels, multiples of 16 up to 2048. Defaults: with given
                images, the 512-pixel aspect-ratio entry nearest the first; else the model's size.
            guidance_scale: classifier-free guidance, on above 1.
            callback_on_step_end: ``fn(pipe, step, timestep, {"latents": ...}) -> dict``; set
                ``pipe._interrupt = True`` inside it to stop early.
            scale_factor, scale_watershed: rotary scaling for sizes beyond training.
            tiling: denoise in overlapping windows of ``tiling.tile_px`` (image slots only), for sizes beyond
                the native one at the memory of one window (``onediffusion.tiling``); one window covering the
                image gives exactly the untiled result.
            callback_on_window: ``fn(done, total)`` after each window's forward when tiled (total: windows x steps).
        """
        extra_forward_kwargs, legacy_callback, callback_steps = split_legacy_arguments(legacy)
        forward_kwargs = {"scale_factor": scale_factor, "scale_watershed": scale_watershed, **extra_forward_kwargs}

        # 1. Check inputs
        slots = check_slots(views if views is not None else [ImageSlot.target()])
        layout = SlotLayout.from_slots(slots)
        height, width = self.default_size(layout, height, width)
        self.check_inputs(
            prompt,
            negative_prompt,
            height,
            width,
            num_inference_steps,
            guidance_scale,
            num_images_per_prompt,
            output_type,
            generator,
            callback_on_step_end_tensor_inputs,
        )
        device = self._execution_device
        batch = (1 if isinstance(prompt, str) else len(prompt)) * num_images_per_prompt
        self._interrupt = False

        # 2. Encode the prompt (in the transformer's dtype once, so its caption keys and values are reused)
        embeds, mask = self.encode_prompt(
            prompt, device, num_images_per_prompt, guidance_scale > 1.0, negative_prompt, max_sequence_length
        )
        embeds = embeds.to(self.transformer.dtype)

        # 3. Prepare latents: conditions encoded first, then the noise, from one generator (as the reference)
        latents = self.prepare_latents(layout, batch, len(slots), height, width, device, generator)
        conditions = layout.conditions
        clean = latents[:, conditions].clone()

        # 4. Prepare timesteps: the schedule of what the network sees at once, the image or one window
        blender = self.blender(tiling, layout, height, width)
        step_h, step_w = self.window_px(blender, height, width)
        timesteps = self.prepare_timesteps(num_inference_steps, layout.num_targets, step_h, step_w, device, noise_scale)

        # 5. Denoising loop (window by window when tiled), from an empty step cache when one is on
        windows = WindowCount(callback_on_window, len(blender.windows) * len(timesteps) if blender else 0)
        if self.transformer.is_cache_enabled:
            caching.prepare_call(self.transformer, len(timesteps))
        with self.progress_bar(total=len(timesteps)) as progress_bar, self.transformer.reuse_caption():
            for i, t in enumerate(timesteps):
                if self.interrupt:
                    break
                args = (t, timesteps[-1], conditions, embeds, mask, guidance_scale, forward_kwargs)
                if blender is None:
                    latents = self.denoise_step(latents, *args)
                elif (stepped := self.denoise_tiled_step(latents, blender, windows.one_more, *args)) is not None:
                    latents = stepped
                else:
                    break  # stopped between windows
                latents[:, conditions] = clean
                if callback_on_step_end is not None:
                    values = {"latents": latents} if "latents" in callback_on_step_end_tensor_inputs else {}
                    latents = callback_on_step_end(self, i, t, values).pop("latents", latents)
                if legacy_callback is not None and i % callback_steps == 0:
                    legacy_callback(i, t, latents)
                progress_bar.update()

        # 6. Decode target images; turn target ray maps into cameras
        images = self.decode_images(latents[:, layout.image_targets], output_type)
        cameras = decode_cameras(latents, layout)
        self.maybe_free_model_hooks()
        if not return_dict:
            return images, latents
        return OneDiffusionPipelineOutput(images=images, latents=latents, cameras=cameras)
