"""What the loaded model asks the app to default to: its checkpoint's ``studio.json`` (read by the engine
into ``pipe.studio``; empty for the published model), with the published model's value for every key it
leaves out."""

from __future__ import annotations

from dataclasses import dataclass

from .camera_presets import PUBLISHED_CAMERA, CameraDefaults
from .prompts import DEFAULT_GUIDANCE, DEFAULT_STEPS, EDITING_GUIDANCE


@dataclass(frozen=True)
class ModelDefaults:
    """Sampling and camera defaults of one model, and the tasks it was trained for (None: every task)."""

    negative_prompt: str | None = None  # None: the authors' one, when the model's tokenizer can take it
    steps: int = DEFAULT_STEPS
    guidance: float = DEFAULT_GUIDANCE
    editing_guidance: float = EDITING_GUIDANCE
    camera: CameraDefaults = PUBLISHED_CAMERA
    tasks: frozenset[str] | None = None

    @classmethod
    def from_studio(cls, studio: dict | None) -> ModelDefaults:
        """From ``pipe.studio``. A model that names its guidance uses it for editing too: the lower
        editing guidance is the authors' advice for their model only."""
        studio = studio or {}
        guidance = float(studio.get("guidance_scale", DEFAULT_GUIDANCE))
        tasks = studio.get("tasks")
        return cls(
            negative_prompt=studio.get("negative_prompt"),
            steps=int(studio.get("num_inference_steps", DEFAULT_STEPS)),
            guidance=guidance,
            editing_guidance=guidance if "guidance_scale" in studio else EDITING_GUIDANCE,
            camera=CameraDefaults.from_studio(studio.get("camera")),
            tasks=None if tasks is None else frozenset(tasks),
        )

    def guidance_for(self, task: str | None = None) -> float:
        """The guidance a task starts at: editing's own, every other task the model's."""
        return self.editing_guidance if task == "editing" else self.guidance

    def trained_for(self, task: str) -> bool:
        return self.tasks is None or task in self.tasks

    def steps_hint(self) -> str:
        return f"{self.steps} recommended for this model; fewer is faster."

    def guidance_hint(self) -> str:
        editing = f", {self.editing_guidance:g} for editing" if self.editing_guidance != self.guidance else ""
        return f"How strictly to follow the prompt ({self.guidance:g} recommended{editing})."
