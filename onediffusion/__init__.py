"""OneDiffusion: one diffusion transformer for every image task, driven by a sequence of view slots.

from onediffusion import OneDiffusionPipeline, build_task
pipe = OneDiffusionPipeline.from_pretrained("lehduong/OneDiffusion", torch_dtype=torch.bfloat16)
image = pipe(**build_task("text2image", caption="a red fox in the snow").kwargs()).images[0]
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING

from .version import __version__


class _ImportNoise(logging.Filter):
    """Drops what importing torchao logs (diffusers imports it, when installed, with every model class; it is
    installed for ``quantize="int8"``): notes on CUDA extensions it cannot load on this machine, deprecated
    pytree registrations of its enums, and older torchao tensor classes diffusers looks for. None concerns this
    package, and one-line errors must stay one line."""

    NOISE = ("Failed to load", "is an Enum subclass", "Unable to import `torchao` Tensor objects", "Detected no triton")

    def filter(self, record: logging.LogRecord) -> bool:
        return not any(part in str(record.msg) for part in self.NOISE)


for _name in (
    "torchao",
    "torchao.kernel.intmm",
    "torch.utils._pytree",
    "diffusers.quantizers.torchao.torchao_quantizer",
):
    logging.getLogger(_name).addFilter(_ImportNoise())

if TYPE_CHECKING:
    from .cameras import Camera, cameras_from_rays, orbit_c2w, plucker_rays
    from .loading import ModelLoadError
    from .model import NextDiT
    from .pipeline import OneDiffusionPipeline, OneDiffusionPipelineOutput
    from .prompts import DEFAULT_NEGATIVE_PROMPT, PALETTE, TASK_TOKENS, Label
    from .slots import CameraSlot, ImageSlot, multiview_slots
    from .tasks import TASKS, TaskSpec, build_task

# Imported on first use, so that `import onediffusion.version` (the launcher, packaging) does not load torch.
_EXPORTS = {
    "Camera": ".cameras", "cameras_from_rays": ".cameras", "orbit_c2w": ".cameras", "plucker_rays": ".cameras",
    "ModelLoadError": ".loading", "NextDiT": ".model",
    "OneDiffusionPipeline": ".pipeline", "OneDiffusionPipelineOutput": ".pipeline",
    "DEFAULT_NEGATIVE_PROMPT": ".prompts", "PALETTE": ".prompts", "TASK_TOKENS": ".prompts", "Label": ".prompts",
    "CameraSlot": ".slots", "ImageSlot": ".slots", "multiview_slots": ".slots",
    "TASKS": ".tasks", "TaskSpec": ".tasks", "build_task": ".tasks",
}  # fmt: skip
__all__ = [
    "DEFAULT_NEGATIVE_PROMPT",
    "PALETTE",
    "TASKS",
    "TASK_TOKENS",
    "Camera",
    "CameraSlot",
    "ImageSlot",
    "Label",
    "ModelLoadError",
    "NextDiT",
    "OneDiffusionPipeline",
    "OneDiffusionPipelineOutput",
    "TaskSpec",
    "build_task",
    "cameras_from_rays",
    "multiview_slots",
    "orbit_c2w",
    "plucker_rays",
    "__version__",
]


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
