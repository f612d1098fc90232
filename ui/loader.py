"""The app's model: the engine's choice of what to serve (``onediffusion.serving``), with room made for the
photo captioner the app loads beside it."""

from __future__ import annotations

from dataclasses import dataclass

from onediffusion import serving
from onediffusion.serving import ModelInfo

from .captioner import DEFAULT_CAPTIONER, captioner_bytes

__all__ = ["ModelInfo", "Settings", "load_pipeline"]


@dataclass(frozen=True)
class Settings(serving.Settings):
    """How the app loads its model (see ``onediffusion.serving.Settings``), and the captioner that describes
    input photos (a hub id, a folder, or None/"none": off), loaded on first use."""

    captioner: str | None = DEFAULT_CAPTIONER


def load_pipeline(settings: Settings):
    """The model to serve, weighed with the captioner beside it (nothing when it is switched off)."""
    dtype = settings.resolved_dtype(settings.resolved_device())
    return serving.load_pipeline(settings, beside=captioner_bytes(settings.captioner, dtype))
