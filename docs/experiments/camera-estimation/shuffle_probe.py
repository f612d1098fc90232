"""Does a single-task model use the images? Its loss with the true images, with other scenes'
images and with zeroed images.

    PYTHONPATH=. python docs/experiments/camera-estimation/shuffle_probe.py MODEL [TASK]
"""

import sys

import numpy as np
import torch
from common import single_task_trainer

from onediffusion.mini.training.trainer import Batch


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    task = argv[1] if len(argv) > 1 else "camera_estimation"
    trainer = single_task_trainer(task, 256, argv[0], load_transformer=True, micro_batch=64)
    torch.manual_seed(0)
    losses = {"true": [], "shuffled": [], "zero_images": []}
    with torch.no_grad():
        for k in range(6):
            batch = trainer.sample_batch(task)
            images = ~batch.targets[0]
            for mode in losses:
                x0 = batch.x0.clone()
                if mode == "shuffled":
                    x0[:, images] = x0[torch.roll(torch.arange(len(x0)), 1)][:, images]
                if mode == "zero_images":
                    x0[:, images] = 0
                trainer.gen.manual_seed(k)
                losses[mode].append(trainer.loss(Batch(x0, batch.targets, batch.prompts)).item())
    print({k: round(float(np.mean(v)), 4) for k, v in losses.items()})


if __name__ == "__main__":
    main()
