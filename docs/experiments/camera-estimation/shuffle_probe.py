"""Does the camera-only model use the images? Loss with true images vs images of other scenes."""

import sys

import numpy as np
import torch
from diffusers import AutoencoderKL
from transformers import T5EncoderModel, T5Tokenizer

import onediffusion.training.trainer as T
from onediffusion.model import NextDiT
from onediffusion.training.data import build_store, make_record
from onediffusion.training.tasks import TRAIN_TASKS

m = sys.argv[1]
task = sys.argv[2] if len(sys.argv) > 2 else "camera_estimation"
records = [make_record(i) for i in range(256)]
vae = AutoencoderKL.from_pretrained(m + "/vae").eval()
store = build_store(vae, records)
tok = T5Tokenizer.from_pretrained(m + "/tokenizer")
enc = T5EncoderModel.from_pretrained(m + "/text_encoder").float()
T.TRAIN_TASKS = {task: TRAIN_TASKS[task]}
tr = T.Trainer(T.TrainConfig(micro_batches=1, micro_batch=64), records, store, tok, enc)
tr.model = NextDiT.from_pretrained(m + "/transformer").eval()
torch.manual_seed(0)
res = {"true": [], "shuffled": [], "zero_images": []}
with torch.no_grad():
    for k in range(6):
        b = tr.sample_batch(task)
        for mode in res:
            x0 = b.x0.clone()
            img = ~b.targets[0]
            if mode == "shuffled":
                x0[:, img] = x0[torch.roll(torch.arange(len(x0)), 1)][:, img]
            if mode == "zero_images":
                x0[:, img] = 0
            tr.gen.manual_seed(k)
            res[mode].append(tr.loss(T.Batch(x0, b.targets, b.prompts)).item())
print({k: round(float(np.mean(v)), 4) for k, v in res.items()})
