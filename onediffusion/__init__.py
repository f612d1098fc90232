"""OneDiffusion: one diffusion transformer for every image task, driven by a sequence of view slots.

from onediffusion import OneDiffusionPipeline, build_task
pipe = OneDiffusionPipeline.from_pretrained("lehduong/OneDiffusion", torch_dtype=torch.bfloat16)
image = pipe(**build_task("text2image", caption="a red fox in the snow").kwargs()).images[0]
"""

from .cameras import Camera, cameras_from_rays, orbit_c2w, plucker_rays
from .loading import ModelLoadError
from .model import NextDiT
from .pipeline import OneDiffusionPipeline, OneDiffusionPipelineOutput
from .prompts import DEFAULT_NEGATIVE_PROMPT, PALETTE, TASK_TOKENS, Label
from .slots import CameraSlot, ImageSlot, multiview_slots
from .tasks import TASKS, TaskSpec, build_task

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
]
