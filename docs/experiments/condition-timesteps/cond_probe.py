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

from onediffusion.model import NextDiT
from onediffusion.training.trainer import TrainConfig, Trainer

MULTIVIEW = {"image2multiview", "text2multiview", "camera_estimation", "multiview"}
folder, tasks, t_condition = sys.argv[1], sys.argv[2].split(","), float(sys.argv[3])
records, store = validation_scenes()
trainer = Trainer(TrainConfig(micro_batch=64), records, store, *text_components())
model = NextDiT.from_pretrained(folder).eval()
for task in tasks:
    trainer.rng, _ = np.random.default_rng(0), trainer.gen.manual_seed(0)
    batch = trainer.sample_batch(task)
    B, N = batch.targets.shape
    shuffled = batch.x0.clone()
    for j in range(N):  # another scene's condition images (camera slots kept)
        if not batch.targets[0, j] and not (task in MULTIVIEW and j % 2):
            shuffled[:, j] = batch.x0[torch.roll(torch.arange(B), 1), j]
    states, mask = trainer.encode_prompts(batch.prompts)
    row = []
    for sigma in (0.5, 0.8, 0.95, 1.0):
        noise = torch.randn(batch.x0.shape, generator=torch.Generator().manual_seed(1))
        s = torch.where(batch.targets, sigma, 0.0)[:, :, None, None, None]
        timesteps = torch.where(batch.targets, sigma * 1000, t_condition)
        losses = []
        for x0 in (batch.x0, shuffled):
            with torch.no_grad():
                v = model(samples=(1 - s) * x0 + s * noise, timesteps=timesteps, encoder_hidden_states=states,
                          encoder_attention_mask=mask)  # fmt: skip
            losses.append((v - (noise - batch.x0)).pow(2).mean(dim=(2, 3, 4))[batch.targets].mean().item())
        row.append(f"sigma {sigma}: {losses[0]:.3f} / {losses[1]:.3f}")
    print(f"{task:18s}", "  ".join(row), flush=True)
