"""The camera_estimation preset (30 steps, guidance 1) on training scenes: does the model fit them?

PYTHONPATH=. python docs/experiments/camera-estimation/train_fit.py MODEL [FIRST_SCENE]
"""

import sys

import numpy as np
import torch

from onediffusion.evaluate import relative_rotation_errors
from onediffusion.pipeline import OneDiffusionPipeline
from onediffusion.tasks import build_task
from onediffusion.training.data import make_record

pipe = OneDiffusionPipeline.from_pretrained(sys.argv[1])
start = int(sys.argv[2]) if len(sys.argv) > 2 else 0
ours, identity = [], []
for i in range(start, start + 16):
    record = make_record(i)
    spec = build_task("camera_estimation", images=[record.images["rgb"][v] for v in range(3)])
    out = pipe(**{**spec.kwargs(), "guidance_scale": 1.0}, negative_prompt="", num_inference_steps=30, height=32,
               width=32, output_type="np", generator=torch.Generator().manual_seed(i))  # fmt: skip
    errors, guesses = relative_rotation_errors(out.cameras[0], record.cameras[:3])
    ours += errors
    identity += guesses
print("median ours", np.median(ours), "identity", np.median(identity))
print(np.round(ours, 0))
print(np.round(identity, 0))
