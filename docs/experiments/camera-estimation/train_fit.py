"""The camera_estimation preset (30 steps, guidance 1) on training scenes: does the model fit them?

PYTHONPATH=. python docs/experiments/camera-estimation/train_fit.py MODEL [FIRST_SCENE]
"""

import sys

import numpy as np
import torch

from onediffusion.mini.evaluate import relative_rotation_errors
from onediffusion.mini.training.data import make_record
from onediffusion.pipeline import OneDiffusionPipeline
from onediffusion.tasks import build_task


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    pipe = OneDiffusionPipeline.from_pretrained(argv[0])
    start = int(argv[1]) if len(argv) > 1 else 0
    ours, identity = [], []
    for i in range(start, start + 16):
        record = make_record(i)
        spec = build_task("camera_estimation", images=[record.images["rgb"][v] for v in range(3)])
        settings = {"guidance_scale": 1.0, "negative_prompt": "", "num_inference_steps": 30, "output_type": "np"}
        out = pipe(**{**spec.kwargs(), **settings}, height=32, width=32, generator=torch.Generator().manual_seed(i))
        errors, guesses = relative_rotation_errors(out.cameras[0], record.cameras[:3])
        ours += errors
        identity += guesses
    print("median ours", np.median(ours), "identity", np.median(identity))
    print(np.round(ours, 0))
    print(np.round(identity, 0))


if __name__ == "__main__":
    main()
