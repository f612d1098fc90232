"""The model to serve: the one asked for when it fits this machine and can be read, else the bundled demo model.

What the app and the batch command load, and say about it (``ModelInfo``). The hub is probed first with a
short timeout, so an offline machine falls back in seconds instead of waiting on download retries; the model
is weighed against the machine first (``onediffusion.fit``).
"""

from __future__ import annotations

import logging
import os
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import torch

from .fit import FitDecision, Need, folder_need, free_gpu, free_ram, hub_model_info, hub_need, plan_fit
from .hub import hub_offline, is_hub_id
from .loading import PUBLISHED_MODEL, ModelLoadError, read_studio
from .paths import MINI_MODEL
from .pipeline import OneDiffusionPipeline
from .quantize import int8_dtype

logger = logging.getLogger("onediffusion.studio")

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
HUB_PROBE_SECONDS = 3.0
PUBLISHED_NOTE = "the published OneDiffusion weights (CC BY-NC 4.0: non-commercial use only)."
CACHE = Path(os.environ.get("ONEDIFFUSION_CACHE", Path.home() / ".cache" / "onediffusion"))  # the random demo model


@dataclass(frozen=True)
class Settings:
    """How to load the model: a hub id or a local folder, the device, the precision, offloading, weight
    quantization (``quantize="int8"``), and whether runs use step caching by default (``fast``)."""

    model: str = PUBLISHED_MODEL
    device: str | None = None
    dtype: str | None = None
    offload: bool = False
    quantize: str | None = None
    fast: bool = False

    @property
    def explicit(self) -> bool:
        """Whether the user named the model or the device: then a slow CPU run is honoured (see ``onediffusion.fit``)."""
        return self.device is not None or self.model != PUBLISHED_MODEL

    def resolved_device(self) -> str:
        if self.device:
            return self.device
        if os.environ.get("SPACES_ZERO_GPU") or torch.cuda.is_available():  # ZeroGPU attaches CUDA per call
            return "cuda"
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return "mps"
        return "cpu"

    def resolved_dtype(self, device: str) -> torch.dtype:
        if self.quantize and not self.dtype:
            return int8_dtype(device)  # bfloat16 on a GPU, float32 on a CPU (onediffusion.quantize)
        if self.dtype:
            if self.dtype not in DTYPES:
                raise ValueError(f"`dtype` must be one of {sorted(DTYPES)}, got {self.dtype!r}.")
            return DTYPES[self.dtype]
        if device.startswith("cuda"):
            zero_gpu = bool(os.environ.get("SPACES_ZERO_GPU"))  # no GPU to ask until a call; theirs take bf16
            return torch.bfloat16 if zero_gpu or torch.cuda.is_bf16_supported() else torch.float16
        return torch.float16 if device == "mps" else torch.float32


@dataclass(frozen=True)
class ModelInfo:
    """What is loaded, and what its outputs are worth: the banner's content."""

    requested: str
    name: str
    description: str
    native_side: int
    device: str
    dtype: str
    fallback_reason: str | None = None
    advice: str | None = None  # what to run instead, or what this choice costs (offload, a slow CPU run)

    @property
    def is_fallback(self) -> bool:
        return self.fallback_reason is not None

    @property
    def is_demo(self) -> bool:
        """Whether the model in use is the bundled demo model (asked for, or fallen back to)."""
        return Path(self.name).expanduser().resolve() in _demo_folders()

    def banner(self) -> str:
        """Markdown for the top of the page."""
        model = f"**Model in use:** `{self.name}`: {self.description}"
        where = f"Running on {self.device} in {self.dtype}; native size {self.native_side} × {self.native_side} px."
        advice = f"  \n{self.advice}" if self.advice else ""
        if not self.is_fallback:
            return f"{model}  \n{where}{advice}"
        return (
            f"⚠️ **Could not load `{self.requested}`**: {self.fallback_reason}  \n"
            f"Using the bundled demo model instead. {model}  \n{where}{advice}"
        )

    def headline(self) -> str:
        """The banner in one line of plain text: the model in use, and why (a phone shows this, the rest folded)."""
        if self.is_fallback:  # the reason's first clause: "offline mode is on", "no GPU", ...
            why = re.split(r" \(|, |; |: ", self.fallback_reason, maxsplit=1)[0].rstrip(".")
            return f"⚠️ Demo model: {why}; {self.requested} not loaded"
        name = Path(self.name).name if Path(self.name).is_absolute() else self.name
        return f"Model in use: {name}: {self.description}"

    def as_dict(self) -> dict:
        return {
            "requested": self.requested,
            "model": self.name,
            "description": self.description,
            "fallback_reason": self.fallback_reason,
            "advice": self.advice,
            "native_side": self.native_side,
            "device": self.device,
            "dtype": self.dtype,
        }


def hub_reachable(timeout: float = HUB_PROBE_SECONDS) -> bool:
    """Whether a TCP connection to the hub opens within ``timeout`` seconds."""
    endpoint = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    port = endpoint.port or (443 if endpoint.scheme == "https" else 80)
    try:
        with socket.create_connection((endpoint.hostname or "huggingface.co", port), timeout=timeout):
            return True
    except OSError:
        return False


def _hub_access(name: str) -> tuple[dict, str | None]:
    """Download options for ``name`` and, when the hub cannot be used, why: offline mode reads only the
    local cache; a probe that fails in seconds avoids minutes of download retries."""
    if not is_hub_id(name):
        return {}, None
    if hub_offline():
        return {"local_files_only": True}, "offline mode is on (HF_HUB_OFFLINE)"
    if not hub_reachable():
        return {"local_files_only": True}, "the Hugging Face hub cannot be reached from this machine"
    return {"etag_timeout": 5}, None


def _short_reason(err: Exception, offline: str | None) -> str:
    if offline:
        return f"{offline}, and the model is not in the local cache."
    first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return first_line[:300]


def demo_checkpoint() -> tuple[Path, str]:
    """The bundled offline model and a line on what its outputs are worth.

    OneDiffusion-Mini (trained by this project, shipped in ``assets/``) when present; otherwise a
    random tiny checkpoint, written once to the cache folder.
    """
    if (MINI_MODEL / "transformer").is_dir():
        return MINI_MODEL, read_studio(MINI_MODEL).get("description", "OneDiffusion-Mini")
    folder = CACHE / "tiny-random"
    if not (folder / "scheduler").is_dir():
        import shutil
        import tempfile

        from onediffusion.tiny import build_tiny_checkpoint

        CACHE.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=CACHE, prefix=".tiny-"))
        build_tiny_checkpoint(staging)
        try:
            staging.rename(folder)  # atomic: concurrent builders cannot leave a half-written folder
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
    return folder, "a tiny model with random weights: its outputs are noise, useful only to try the interface."


def _demo_folders() -> tuple[Path, Path]:
    return MINI_MODEL.resolve(), (CACHE / "tiny-random").resolve()


def _describe(name: str) -> str:
    if name == PUBLISHED_MODEL:
        return PUBLISHED_NOTE
    if Path(name).expanduser().resolve() in _demo_folders():
        return demo_checkpoint()[1]  # the demo model asked for by name: say what it is worth
    return "a model loaded from " + ("the Hugging Face hub." if is_hub_id(name) else "a local folder.")


def _place(pipe: OneDiffusionPipeline, device: str, offload: bool) -> OneDiffusionPipeline:
    if offload and device.startswith("cuda"):
        pipe.enable_model_cpu_offload(device=device)
    else:
        pipe.to(device)
    pipe.set_progress_bar_config(disable=True)  # the app reports progress itself
    return pipe


def model_need(settings: Settings, dtype: torch.dtype, offline: str | None, beside: int = 0) -> Need | None:
    """What the requested model needs in ``dtype`` (see ``onediffusion.fit``), with ``beside`` bytes of other
    models loaded next to it (the app's captioner); None when unknown (a hub model while offline, a missing
    folder): then loading decides, and the demo fallback applies."""
    if not is_hub_id(settings.model):
        folder = Path(settings.model).expanduser()
        return folder_need(folder, dtype, beside, settings.quantize) if folder.is_dir() else None
    if offline:
        return None
    info = hub_model_info(settings.model, HUB_PROBE_SECONDS)
    return hub_need(info, dtype, beside, settings.quantize) if info is not None else None


def _load_requested(settings: Settings, dtype: torch.dtype, hub_kwargs: dict) -> OneDiffusionPipeline:
    if not is_hub_id(settings.model) and not Path(settings.model).expanduser().exists():
        raise ModelLoadError(f"there is no folder {settings.model} (and it is not a hub id like 'owner/name').")
    return OneDiffusionPipeline.from_pretrained(
        settings.model, torch_dtype=dtype, quantize=settings.quantize, **hub_kwargs
    )


def load_pipeline(settings: Settings, beside: int = 0) -> tuple[OneDiffusionPipeline, ModelInfo]:
    """The requested model when it fits this machine (with model CPU offload if only so), else the demo
    checkpoint with the reason and what to run instead; a model that cannot be read also falls back.
    ``beside``: bytes of other models the caller loads next to it, counted in the fit."""
    device = settings.resolved_device()
    dtype = settings.resolved_dtype(device)
    name, description = settings.model, _describe(settings.model)
    hub_kwargs, offline = _hub_access(settings.model)
    need = model_need(settings, dtype, offline, beside)
    fit = plan_fit(need, device, free_ram(), free_gpu(device), settings.offload, settings.explicit)
    reason = fit.reason if fit.action == "demo" else None
    logger.info("Loading %s on %s (%s): %s", settings.model, device, dtype, fit)
    try:
        if reason is None:
            pipe = _load_requested(settings, dtype, hub_kwargs)
    except (ModelLoadError, OSError, ValueError, RuntimeError) as err:
        reason, fit = _short_reason(err, offline), FitDecision("demo")
    if reason is not None:
        logger.warning("Not loading %s: %s Falling back to the demo model.", settings.model, reason)
        folder, description = demo_checkpoint()
        name = str(folder)
        pipe = OneDiffusionPipeline.from_pretrained(folder, torch_dtype=dtype)
    pipe = _place(pipe, device, fit.action == "offload")
    description = pipe.studio.get("description", description)  # a checkpoint may say what it is (studio.json)
    info = ModelInfo(
        settings.model,
        name,
        description,
        pipe.native_side,
        device,
        str(dtype).removeprefix("torch."),
        reason,
        fit.advice,
    )
    return pipe, info
