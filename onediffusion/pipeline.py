"""OneDiffusionPipeline: one denoising loop over a sequence of view slots.

Every task is a list of slots (``slots.py``): targets start as noise and carry the current
timestep, conditions stay clean and carry the schedule's last timestep. Text to image is a
single image target; ``img2img`` and the task presets (``tasks.py``) are thin layers that build
slot lists. The numerics follow the authors' implementation exactly (see the golden tests).
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

from .cameras import DEFAULT_FOCAL, Camera, cameras_from_rays, latent_to_rays, rays_for_cameras, rays_to_latent
from .images import image_to_tensor, numpy_to_pil, tensor_to_numpy
from .loading import load_components, read_studio, resolve_folder
from .model import NextDiT
from .prompts import DEFAULT_GUIDANCE, DEFAULT_STEPS, MAX_PROMPT_TOKENS, scaled_size
from .slots import CameraSlot, ImageSlot, Slot, check_slots

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
    images: list[PIL.Image.Image]
    cameras: list[Camera]  # the frame camera first, then the condition cameras

    @classmethod
    def from_slots(cls, slots: Sequence[Slot]) -> SlotLayout:
        def where(kind, target):
            return [i for i, s in enumerate(slots) if isinstance(s, kind) and s.is_target == target]

        camera_slots = [s for s in slots if isinstance(s, CameraSlot)]
        conditions = where(CameraSlot, False)
        cameras = [camera_slots[0].camera] + [slots[i].camera for i in conditions] if conditions else []
        return cls(
            image_conditions=where(ImageSlot, False),
            camera_conditions=conditions,
            image_targets=where(ImageSlot, True),
            camera_targets=where(CameraSlot, True),
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


class OneDiffusionPipeline(DiffusionPipeline):
    """Generate any mix of image and camera views from a prompt and given views.

    Components: ``transformer`` (:class:`NextDiT`), ``vae`` (AutoencoderKL, 16 latent channels),
    ``text_encoder`` (T5EncoderModel), ``tokenizer`` (T5Tokenizer), ``scheduler``
    (FlowMatchEulerDiscreteScheduler with dynamic shifting).
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
        self._prompt_cache: OrderedDict = OrderedDict()
        self._interrupt = False
        self._num_timesteps = 0
        self.auto_vae_tiling = True
        self.studio: dict = {}

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str, torch_dtype: torch.dtype | None = None, **kwargs):
        """Load the published folder layout (a hub id or a local folder), each part by subfolder."""
        folder = resolve_folder(pretrained_model_name_or_path, **kwargs)
        pipe = cls(**load_components(folder, torch_dtype=torch_dtype))
        pipe.studio = read_studio(folder)
        return pipe

    @property
    def image_side(self) -> int:
        """The side image tasks default to: 512 for the published model (its aspect-ratio table)."""
        return int(self.studio.get("image_side", 512))

    @property
    def interrupt(self) -> bool:
        return self._interrupt

    @property
    def num_timesteps(self) -> int:
        return self._num_timesteps

    # 1. Inputs ---------------------------------------------------------------------------------

    def default_size(self, layout: SlotLayout, height: int | None, width: int | None) -> tuple[int, int]:
        if height is not None and width is not None:
            return height, width
        if layout.images:
            h, w = scaled_size(layout.images[0].height, layout.images[0].width, self.image_side)
        else:
            side = self.transformer.config.input_size
            h, w = side[-2] * self.vae_scale_factor, side[-1] * self.vae_scale_factor
        return height or h, width or w

    @staticmethod
    def check_inputs(prompt, negative_prompt, height, width, num_inference_steps, guidance_scale,
                     num_images_per_prompt, output_type, generator) -> None:  # fmt: skip
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

    # 2. Prompt ---------------------------------------------------------------------------------

    def _warn_truncated(self, text: str, max_length: int) -> None:
        ids = self.tokenizer(text, add_special_tokens=True).input_ids
        if len(ids) > max_length:
            cut = self.tokenizer.decode(ids[max_length - 1 : -1], skip_special_tokens=True)
            message = f"The prompt is {len(ids)} tokens long; only {max_length} are read, so this was cut: {cut!r}"
            logger.warning(message)
            warnings.warn(message, UserWarning, stacklevel=4)

    def _encode_texts(self, texts: list[str], device, max_length: int) -> tuple[torch.Tensor, torch.Tensor]:
        """T5 states (float32) and masks for texts, padded to ``max_length``; cached per text."""
        for text in dict.fromkeys(texts):  # every call, cached or not: the user should hear it each time
            self._warn_truncated(text, max_length)
        missing = [t for t in dict.fromkeys(texts) if (t, max_length) not in self._prompt_cache]
        if missing:
            tokens = self.tokenizer(
                missing, padding="max_length", max_length=max_length, truncation=True, return_tensors="pt"
            )
            ids, mask = tokens.input_ids.to(device), tokens.attention_mask.to(device)
            states = self.text_encoder(ids, attention_mask=mask)[0].to(torch.float32)
            for text, s, m in zip(missing, states, mask):
                self._prompt_cache[(text, max_length)] = (s, m)
                while len(self._prompt_cache) > _PROMPT_CACHE_SIZE:
                    self._prompt_cache.popitem(last=False)
        pairs = [self._prompt_cache[(t, max_length)] for t in texts]
        for t in texts:
            self._prompt_cache.move_to_end((t, max_length))
        return torch.stack([s for s, _ in pairs]).to(device), torch.stack([m for _, m in pairs]).to(device)

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
        return self._encode_texts(texts, device, max_length)

    def clear_prompt_cache(self) -> None:
        self._prompt_cache.clear()

    # 3. Latents --------------------------------------------------------------------------------

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

    def prepare_timesteps(self, num_inference_steps: int, num_targets: int, height: int, width: int,
                          device, noise_scale: float = 1.0) -> torch.Tensor:  # fmt: skip
        _, ph, pw = self.transformer.config.patch_size
        tokens = (height // self.vae_scale_factor) * (width // self.vae_scale_factor) / (ph * pw)
        return schedule_timesteps(self.scheduler, num_inference_steps, noise_scale * num_targets * tokens, device)

    # 4. Denoising ------------------------------------------------------------------------------

    def denoise_step(self, latents, t, t_condition, conditions, embeds, mask, guidance_scale, forward_kwargs):
        """One velocity prediction (guided in one batched forward) and one Euler step over all slots."""
        cfg = guidance_scale > 1.0
        model_in = torch.cat([latents] * 2) if cfg else latents
        timesteps = torch.full(model_in.shape[:2], float(t), device=latents.device)
        timesteps[:, conditions] = float(t_condition)
        dtype = self.transformer.dtype
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
        return self.scheduler.step(velocity, t, latents).prev_sample

    # 5. Outputs --------------------------------------------------------------------------------

    def _maybe_tile_vae(self, height: int, width: int) -> None:
        if self.auto_vae_tiling and max(height, width) > 1024:
            self.vae.enable_tiling()

    def decode_images(self, latents: torch.Tensor, output_type: str):
        if output_type == "latent":
            return latents
        if latents.shape[1] == 0:  # no image targets (camera-pose estimation)
            return (
                []
                if output_type == "pil"
                else latents.new_zeros((0, 3, 0, 0))
                if output_type == "pt"
                else np.zeros((0, 0, 0, 3), np.float32)
            )
        flat = latents.flatten(0, 1) / self.vae.config.scaling_factor
        self._maybe_tile_vae(flat.shape[-2] * self.vae_scale_factor, flat.shape[-1] * self.vae_scale_factor)
        pixels = self.vae.decode(flat.to(self.vae.dtype)).sample
        if output_type == "pt":
            return (pixels / 2 + 0.5).clamp(0, 1).float()
        arrays = tensor_to_numpy(pixels)
        return arrays if output_type == "np" else numpy_to_pil(arrays)

    @staticmethod
    def decode_cameras(latents: torch.Tensor, slots: Sequence[Slot], layout: SlotLayout) -> list[list[Camera]] | None:
        camera_slots = [i for i, s in enumerate(slots) if isinstance(s, CameraSlot)]
        if not camera_slots:
            return None
        given = dict(zip(layout.camera_conditions, layout.cameras[1:]))
        frame = torch.linalg.inv(torch.from_numpy(layout.cameras[0].c2w)) if layout.cameras else None
        results = []
        for sample in latents:
            estimated = {}
            if layout.camera_targets:
                c2w, focal = cameras_from_rays(latent_to_rays(sample[layout.camera_targets].float().cpu()))
                if layout.camera_targets[0] == camera_slots[0]:
                    # The rays live in the frame of camera 0; when that camera is itself estimated,
                    # its own small error is taken out, so camera 0 is exactly the frame.
                    c2w = torch.linalg.inv(c2w[0]) @ c2w
                estimated = {i: Camera(m.numpy(), float(f)) for i, m, f in zip(layout.camera_targets, c2w, focal)}
            relative = {
                i: Camera((frame @ torch.from_numpy(cam.c2w)).numpy(), cam.focal_length) for i, cam in given.items()
            }
            results.append([estimated.get(i) or relative[i] for i in camera_slots])
        return results

    # 6. The call -------------------------------------------------------------------------------

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
        """
        forward_kwargs = {
            "scale_factor": scale_factor,
            "scale_watershed": scale_watershed,
            **legacy.pop("forward_kwargs", {}),
        }
        legacy_callback, callback_steps = legacy.pop("callback", None), legacy.pop("callback_steps", 1)
        if legacy:
            raise TypeError(f"Unexpected arguments: {sorted(legacy)}.")

        # 1. Check inputs
        slots = check_slots(views if views is not None else [ImageSlot.target()])
        layout = SlotLayout.from_slots(slots)
        height, width = self.default_size(layout, height, width)
        self.check_inputs(prompt, negative_prompt, height, width, num_inference_steps, guidance_scale,
                          num_images_per_prompt, output_type, generator)  # fmt: skip
        bad_keys = set(callback_on_step_end_tensor_inputs) - set(self._callback_tensor_inputs)
        if bad_keys:
            raise ValueError(
                f"`callback_on_step_end_tensor_inputs` may only name {self._callback_tensor_inputs}, got {sorted(bad_keys)}."
            )
        device = self._execution_device
        batch = (1 if isinstance(prompt, str) else len(prompt)) * num_images_per_prompt
        if isinstance(generator, list) and len(generator) != batch:
            raise ValueError(f"`generator` holds {len(generator)} generators for a batch of {batch}.")
        self._interrupt = False

        # 2. Encode the prompt
        embeds, mask = self.encode_prompt(
            prompt, device, num_images_per_prompt, guidance_scale > 1.0, negative_prompt, max_sequence_length
        )

        # 3. Prepare latents: conditions encoded first, then the noise, from one generator (as the reference)
        latents = self.prepare_latents(layout, batch, len(slots), height, width, device, generator)
        conditions = layout.conditions
        clean = latents[:, conditions].clone()

        # 4. Prepare timesteps
        timesteps = self.prepare_timesteps(num_inference_steps, layout.num_targets, height, width, device, noise_scale)
        self._num_timesteps = len(timesteps)

        # 5. Denoising loop
        with self.progress_bar(total=len(timesteps)) as progress_bar:
            for i, t in enumerate(timesteps):
                if self.interrupt:
                    break
                latents = self.denoise_step(
                    latents, t, timesteps[-1], conditions, embeds, mask, guidance_scale, forward_kwargs
                )
                latents[:, conditions] = clean
                if callback_on_step_end is not None:
                    values = {"latents": latents} if "latents" in callback_on_step_end_tensor_inputs else {}
                    latents = callback_on_step_end(self, i, t, values).pop("latents", latents)
                if legacy_callback is not None and i % callback_steps == 0:
                    legacy_callback(i, t, latents)
                progress_bar.update()

        # 6. Decode target images; turn target ray maps into cameras
        images = self.decode_images(latents[:, layout.image_targets], output_type)
        cameras = self.decode_cameras(latents, slots, layout)
        self.maybe_free_model_hooks()
        if not return_dict:
            return images, latents
        return OneDiffusionPipelineOutput(images=images, latents=latents, cameras=cameras)

    # 7. The authors' API -----------------------------------------------------------------------

    @torch.no_grad()
    def img2img(
        self,
        image: PIL.Image.Image | list[PIL.Image.Image] | None = None,
        prompt: str | list[str] = "",
        denoise_mask: Sequence[int] = (1, 0),
        height: int | None = None,
        width: int | None = None,
        is_multiview: bool = False,
        multiview_azimuths: Sequence[float | None] = (0, 30, 60, 90),
        multiview_elevations: Sequence[float | None] = (0, 0, 0, 0),
        multiview_distances: float | Sequence[float | None] = 1.7,
        multiview_c2ws: Sequence | None = None,
        multiview_intrinsics: Sequence | None = None,
        multiview_focal_length: float = DEFAULT_FOCAL,
        forward_kwargs: dict | None = None,
        **kwargs,
    ) -> OneDiffusionPipelineOutput | tuple:
        """The authors' ``img2img``: ``denoise_mask`` marks each slot 1 (target) or 0 (condition);
        ``image`` fills the condition image slots in order. With ``is_multiview`` the slots
        interleave [image_0, camera_0, image_1, ...] and cameras come from the azimuth, elevation
        and distance lists (or ``multiview_c2ws`` in the authors' OpenGL-style convention).
        ``.latents`` are returned divided by 1.658, as theirs are."""
        images = [image] if isinstance(image, PIL.Image.Image) else list(image or [])
        mask = [int(m) for m in denoise_mask]
        if any(m not in (0, 1) for m in mask):
            raise ValueError(f"`denoise_mask` must hold only 0 (condition) and 1 (target), got {list(denoise_mask)!r}.")
        if is_multiview:
            cameras = _reference_cameras(len(mask), multiview_azimuths, multiview_elevations, multiview_distances,
                                         multiview_c2ws, multiview_intrinsics, multiview_focal_length)  # fmt: skip
            slots = _mask_to_slots(mask, images, cameras)
        else:
            slots = _mask_to_slots(mask, images, None)
        kwargs.update(forward_kwargs or {})
        out = self(prompt=prompt, views=slots, height=height, width=width, **kwargs)
        if isinstance(out, tuple):
            return out[0], out[1] / 1.658
        out.latents = out.latents / 1.658
        return out


def _mask_to_slots(mask: list[int], images: list, cameras: list[Camera] | None) -> list[Slot]:
    image_positions = [i for i in range(len(mask)) if cameras is None or i % 2 == 0]
    expected = sum(1 for i in image_positions if mask[i] == 0)
    if len(images) != expected:
        raise ValueError(
            f"`image` holds {len(images)} images but `denoise_mask` {mask} has {expected} condition image slots."
        )
    pending = iter(images)
    slots: list[Slot] = []
    for i, m in enumerate(mask):
        if cameras is not None and i % 2 == 1:
            camera = cameras[i // 2]
            slots.append(CameraSlot.target(camera) if m else CameraSlot.condition(camera))
        else:
            slots.append(ImageSlot.target() if m else ImageSlot.condition(next(pending)))
    return slots


def _reference_cameras(n_slots, azimuths, elevations, distances, c2ws, intrinsics, focal_length) -> list[Camera]:
    """Cameras from the authors' multiview arguments (None entries are dropped, as theirs are)."""
    if n_slots % 2:
        raise ValueError(
            f"A multiview `denoise_mask` interleaves image and camera slots, so its length must be even, got {n_slots}."
        )
    views = n_slots // 2
    if intrinsics is not None:
        focals = [float(np.asarray(k)[0, 0]) for k in np.asarray(intrinsics, dtype=np.float64).reshape(-1, 3, 3)]
    else:
        focals = [focal_length] * views
    if c2ws is not None:
        mats = np.asarray(c2ws, dtype=np.float64).reshape(-1, 4, 4).copy()
        mats[:, :3, 1:3] *= -1  # the authors' OpenGL-style axes -> OpenCV
        cams = [Camera(m, f) for m, f in zip(mats, focals)]
    else:
        az = [a for a in azimuths if a is not None]
        el = [e for e in elevations if e is not None]
        if not isinstance(distances, (list, tuple)):
            distances = [distances] * len(az)
        dist = [d for d in distances if d is not None]
        if not len(az) == len(el) == len(dist):
            raise ValueError(
                f"`multiview_azimuths`, `multiview_elevations` and `multiview_distances` differ in length: {len(az)}, {len(el)}, {len(dist)}."
            )
        cams = [Camera.orbit(a, e, d, f) for a, e, d, f in zip(az, el, dist, focals)]
    if len(cams) != views:
        raise ValueError(f"`denoise_mask` has {views} views but {len(cams)} cameras were given.")
    return cams
