"""The loss on a task's target at a fixed noise level, with the true condition images and with another
scene's, the conditions given a chosen timestep (clean latents, as the pipeline gives them).

    PYTHONPATH=. python docs/experiments/condition-timesteps/cond_probe.py TRANSFORMER_DIR TASKS CONDITION_T

A network that uses its conditions has a much lower loss with the true ones; one that reads the
condition's timestep as noise does not.
"""

import sys

import numpy as np
import torch
from common import text_components, validation_scenes

from onediffusion.mini.training.trainer import Batch, TrainConfig, Trainer
from onediffusion.model import NextDiT

MULTIVIEW = {"image2multiview", "text2multiview", "camera_estimation", "multiview"}


def other_scenes_conditions(batch: Batch, task: str) -> torch.Tensor:
    """The batch's latents with each sample's condition images taken from the next sample (camera slots kept)."""
    B, N = batch.targets.shape
    shuffled = batch.x0.clone()
    for j in range(N):
        if not batch.targets[0, j] and not (task in MULTIVIEW and j % 2):
            shuffled[:, j] = batch.x0[torch.roll(torch.arange(B), 1), j]
    return shuffled


def probe_row(model, trainer: Trainer, task: str, t_condition: float) -> str:
    """Target losses at four noise levels, true conditions / another scene's."""
    trainer.rng, _ = np.random.default_rng(0), trainer.gen.manual_seed(0)
    batch = trainer.sample_batch(task)
    shuffled = other_scenes_conditions(batch, task)
    states, mask = trainer.encode_prompts(batch.prompts)
    row = []
    for sigma in (0.5, 0.8, 0.95, 1.0):
        noise = torch.randn(batch.x0.shape, generator=torch.Generator().manual_seed(1))
        s = torch.where(batch.targets, sigma, 0.0)[:, :, None, None, None]
        timesteps = torch.where(batch.targets, sigma * 1000, t_condition)
        losses = []
        for x0 in (batch.x0, shuffled):
            with torch.no_grad():
                v = model(
                    samples=(1 - s) * x0 + s * noise,
                    timesteps=timesteps,
                    encoder_hidden_states=states,
                    encoder_attention_mask=mask,
                )
            losses.append((v - (noise - batch.x0)).pow(2).mean(dim=(2, 3, 4))[batch.targets].mean().item())
        row.append(f"sigma {sigma}: {losses[0]:.3f} / {losses[1]:.3f}")
    return "  ".join(row)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    folder, tasks, t_condition = argv[0], argv[1].split(","), float(argv[2])
    records, store = validation_scenes()
    trainer = Trainer(TrainConfig(micro_batch=64), records, store, *text_components())
    model = NextDiT.from_pretrained(folder).eval()
    for task in tasks:
        print(f"{task:18s}", probe_row(model, trainer, task, t_condition), flush=True)


if __name__ == "__main__":
    main()
