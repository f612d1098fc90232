"""One-step x0 prediction of the camera slots at several sigmas, with true images; rotation error of
cameras recovered from it, vs from the true rays (roundtrip) and the identity."""

import sys

import numpy as np
import torch
from diffusers import AutoencoderKL
from transformers import T5EncoderModel, T5Tokenizer

import onediffusion.training.trainer as T
from onediffusion.cameras import cameras_from_rays, latent_to_rays, rotation_angle_deg
from onediffusion.model import NextDiT
from onediffusion.training.data import build_store, make_record
from onediffusion.training.tasks import TRAIN_TASKS

m = sys.argv[1]
records = [make_record(i) for i in range(64)]
vae = AutoencoderKL.from_pretrained(m + "/vae").eval()
store = build_store(vae, records)
tok = T5Tokenizer.from_pretrained(m + "/tokenizer")
enc = T5EncoderModel.from_pretrained(m + "/text_encoder").float()
T.TRAIN_TASKS = {"camera_estimation": TRAIN_TASKS["camera_estimation"]}
tr = T.Trainer(T.TrainConfig(micro_batches=1, micro_batch=64), records, store, tok, enc)
model = NextDiT.from_pretrained(m + "/transformer").eval()
torch.manual_seed(0)
b = tr.sample_batch("camera_estimation")
N = b.x0.shape[1]
cams = [j for j in range(N) if j % 2 == 1]


def rot_errors(x0):
    errs = []
    for i in range(len(x0)):
        rays = latent_to_rays(x0[i, cams])
        c2w, _ = cameras_from_rays(rays.double())
        true, _ = cameras_from_rays(latent_to_rays(b.x0[i, cams]).double())
        for v in range(1, len(cams)):
            errs.append(rotation_angle_deg(c2w[v, :3, :3].numpy(), true[v, :3, :3].numpy()))
    return np.median(errs)


ident = []
for i in range(len(b.x0)):
    true, _ = cameras_from_rays(latent_to_rays(b.x0[i, cams]).double())
    for v in range(1, len(cams)):
        ident.append(rotation_angle_deg(np.eye(3), true[v, :3, :3].numpy()))
print("views", N // 2, "identity median", np.median(ident))
states, mask = tr.encode_prompts(b.prompts)
with torch.no_grad():
    for sig in (0.3, 0.6, 0.9, 1.0):
        sigma = torch.where(b.targets, torch.full(b.targets.shape, sig), torch.zeros(b.targets.shape))
        noise = torch.randn(b.x0.shape)
        s = sigma[:, :, None, None, None]
        xt = (1 - s) * b.x0 + s * noise
        v = model(samples=xt, timesteps=sigma * 1000, encoder_hidden_states=states, encoder_attention_mask=mask)
        x0hat = xt - s * v
        print("sigma", sig, "median rot err of x0-hat", rot_errors(x0hat))
