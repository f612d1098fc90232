import sys

import numpy as np
import torch

from onediffusion.cameras import rotation_angle_deg
from onediffusion.pipeline import OneDiffusionPipeline
from onediffusion.tasks import build_task
from onediffusion.training.data import make_record

pipe = OneDiffusionPipeline.from_pretrained(sys.argv[1])
start = int(sys.argv[2]) if len(sys.argv) > 2 else 0
ours, ident = [], []
for i in range(start, start + 16):
    r = make_record(i)
    out = pipe(
        **{
            **build_task("camera_estimation", images=[r.images["rgb"][v] for v in range(3)]).kwargs(),
            "guidance_scale": 1.0,
        },
        negative_prompt="",
        num_inference_steps=30,
        height=32,
        width=32,
        output_type="np",
        generator=torch.Generator().manual_seed(i),
    )
    frame = np.linalg.inv(r.cameras[0].c2w)
    for est, cam in zip(out.cameras[0][1:], r.cameras[1:3]):
        rel = (frame @ cam.c2w)[:3, :3]
        ours.append(rotation_angle_deg(est.c2w[:3, :3], rel))
        ident.append(rotation_angle_deg(np.eye(3), rel))
print("median ours", np.median(ours), "identity", np.median(ident))
print(np.round(ours, 0))
print(np.round(ident, 0))
