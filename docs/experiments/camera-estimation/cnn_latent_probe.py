"""As cnn_probe, but from the shipped VAE's latents (8x8x16 per view) instead of pixels."""

import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
from diffusers import AutoencoderKL

from onediffusion.cameras import rotation_angle_deg
from onediffusion.training.data import encode_images, make_record

torch.manual_seed(0)
vae = AutoencoderKL.from_pretrained(str(Path(__file__).resolve().parents[3] / "assets/onediffusion-mini/vae")).eval()


def data(seeds):
    recs = [make_record(s) for s in seeds]
    lat = encode_images(vae, np.concatenate([r.images["rgb"] for r in recs]))[:, 0].unflatten(0, (len(recs), 4))
    X, Y = [], []
    for k, r in enumerate(recs):
        f = np.linalg.inv(r.cameras[0].c2w)
        for v in range(1, 4):
            X.append(torch.cat([lat[k, 0], lat[k, v]], 0))
            Y.append((f @ r.cameras[v].c2w)[:3, :3])
    return torch.stack(X), torch.tensor(np.stack(Y)).float()


Xtr, Ytr = data(range(int(sys.argv[1])))
Xte, Yte = data(range(5_000_000, 5_000_200))
net = nn.Sequential(
    nn.Conv2d(32, 128, 3, 1, 1),
    nn.GELU(),
    nn.Conv2d(128, 128, 3, 1, 1),
    nn.GELU(),
    nn.Conv2d(128, 128, 4, 2, 1),
    nn.GELU(),
    nn.Flatten(),
    nn.Linear(128 * 16, 256),
    nn.GELU(),
    nn.Linear(256, 6),
)
opt = torch.optim.AdamW(net.parameters(), 1e-3)


def to_rot(o):
    a, b = o[:, :3], o[:, 3:]
    a = a / a.norm(dim=1, keepdim=True)
    b = b - (a * b).sum(1, keepdim=True) * a
    b = b / b.norm(dim=1, keepdim=True)
    return torch.stack([a, b, torch.cross(a, b, dim=1)], -1)


t0 = time.time()
step = 0
while time.time() - t0 < float(sys.argv[2]):
    i = torch.randint(len(Xtr), (128,))
    loss = (to_rot(net(Xtr[i])) - Ytr[i]).pow(2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    step += 1
with torch.no_grad():
    for name, X, Y in (("train", Xtr[:600], Ytr[:600]), ("held-out", Xte, Yte)):
        e = [rotation_angle_deg(a, b) for a, b in zip(to_rot(net(X)).numpy(), Y.numpy())]
        ident = [rotation_angle_deg(np.eye(3), b) for b in Y.numpy()]
        print(
            name,
            "steps",
            step,
            "median err",
            round(float(np.median(e)), 1),
            "identity",
            round(float(np.median(ident)), 1),
        )
