"""Diagnostic: train the Mini transformer on ONE task, with the shipped Mini's VAE, tokenizer and T5.

    PYTHONPATH=. python docs/experiments/camera-estimation/single_task.py TASK STEPS OUT [SCENES] [MICRO_BATCH]

Run from a copy of the tree with trainer.patch applied for the CAMERA_SHIFT / CAMERA_PURE variants.
"""

import shutil
import sys
import time
from pathlib import Path

import torch
from diffusers import AutoencoderKL
from transformers import T5EncoderModel, T5Tokenizer

import onediffusion.training.trainer as T
from onediffusion.training.data import build_store, make_record
from onediffusion.training.tasks import TRAIN_TASKS

task, steps, out = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
scenes = int(sys.argv[4]) if len(sys.argv) > 4 else 3000
micro_batch = int(sys.argv[5]) if len(sys.argv) > 5 else 16
mini = Path(__file__).resolve().parents[3] / "assets/onediffusion-mini"  # its VAE, tokenizer, T5
torch.manual_seed(0)
t0 = time.time()
records = [make_record(i) for i in range(scenes)]
print("rendered", time.time() - t0, flush=True)
vae = AutoencoderKL.from_pretrained(mini / "vae").eval()
tok = T5Tokenizer.from_pretrained(mini / "tokenizer")
enc = T5EncoderModel.from_pretrained(mini / "text_encoder").float()
store = build_store(vae, records)
print("encoded", time.time() - t0, flush=True)
T.TRAIN_TASKS = {task: TRAIN_TASKS[task]}
cfg = T.TrainConfig(steps=steps, micro_batches=1, micro_batch=micro_batch)
tr = T.Trainer(cfg, records, store, tok, enc)


def ckpt(trainer):
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(mini, out)
    shutil.rmtree(out / "transformer")
    trainer.ema.save_pretrained(out / "transformer")


tr.run(log=lambda m: print(m, flush=True), checkpoint=ckpt, every=500)
ckpt(tr)
print("done", time.time() - t0, flush=True)
