"""Diagnostic: train the Mini transformer on ONE task, with the shipped Mini's VAE, tokenizer and T5.

    PYTHONPATH=. python docs/experiments/camera-estimation/single_task.py TASK STEPS OUT [SCENES] [MICRO_BATCH]

Apply trainer.patch (in a copy of the tree) for the CAMERA_SHIFT / CAMERA_PURE variants.
"""

import shutil
import sys
import time
from pathlib import Path

import torch
from common import MINI, single_task_trainer

task, steps, out = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
scenes = int(sys.argv[4]) if len(sys.argv) > 4 else 3000
micro_batch = int(sys.argv[5]) if len(sys.argv) > 5 else 16
torch.manual_seed(0)
t0 = time.time()
trainer = single_task_trainer(task, scenes, steps=steps, micro_batch=micro_batch)
print("rendered and encoded", time.time() - t0, flush=True)


def checkpoint(trainer):
    """The shipped Mini's folder with this transformer."""
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(MINI, out)
    shutil.rmtree(out / "transformer")
    trainer.ema.save_pretrained(out / "transformer")


trainer.run(log=lambda m: print(m, flush=True), checkpoint=checkpoint, every=500)
checkpoint(trainer)
print("done", time.time() - t0, flush=True)
