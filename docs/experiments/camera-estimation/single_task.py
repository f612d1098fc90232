"""Diagnostic: train the Mini transformer on ONE task, with the shipped Mini's VAE, tokenizer and T5.

    PYTHONPATH=. python docs/experiments/camera-estimation/single_task.py TASK STEPS OUT [SCENES] [MICRO_BATCH]

The CAMERA_SHIFT / CAMERA_PURE variants need the trainer patched as at 97707b8 (the patch is in the
history: see the README's "Reproduce").
"""

import shutil
import sys
import time
from pathlib import Path

import torch
from common import MINI, single_task_trainer


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    task, steps, out = argv[0], int(argv[1]), Path(argv[2])
    scenes = int(argv[3]) if len(argv) > 3 else 3000
    micro_batch = int(argv[4]) if len(argv) > 4 else 16
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


if __name__ == "__main__":
    main()
