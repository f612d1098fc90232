"""Is the relative camera readable from two 32-px views at all? A small CNN regresses the rotation of
view v relative to view 0 (6-D: two orthonormalised columns) from the two views stacked as channels,
on the training scenes' (view 0, view v) pairs; median geodesic error on held-out scenes against the
identity guess.

    PYTHONPATH=. python docs/experiments/camera-estimation/cnn_probe.py SCENES SECONDS [--latents]

``--latents``: from the shipped Mini VAE's 8x8x16 latents (what the transformer sees) instead of pixels.
"""

import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from onediffusion.cameras import rotation_angle_deg
from onediffusion.training.data import encode_images, make_record

torch.manual_seed(0)
scenes, seconds, latents = int(sys.argv[1]), float(sys.argv[2]), "--latents" in sys.argv[3:]
if latents:
    from diffusers import AutoencoderKL

    vae = AutoencoderKL.from_pretrained(Path(__file__).resolve().parents[3] / "assets/onediffusion-mini/vae").eval()


def data(seeds):
    records = [make_record(s) for s in seeds]
    rgb = np.stack([r.images["rgb"] for r in records])  # (S, 4, H, W, 3)
    if latents:
        views = encode_images(vae, rgb.reshape(-1, *rgb.shape[2:]))[:, 0].unflatten(0, rgb.shape[:2])
    else:
        views = torch.from_numpy(rgb).permute(0, 1, 4, 2, 3).float() / 127.5 - 1
    X, Y = [], []
    for k, r in enumerate(records):
        frame = np.linalg.inv(r.cameras[0].c2w)
        for v in range(1, 4):
            X.append(torch.cat([views[k, 0], views[k, v]], 0))
            Y.append((frame @ r.cameras[v].c2w)[:3, :3])
    return torch.stack(X), torch.tensor(np.stack(Y)).float()


Xtr, Ytr = data(range(scenes))
Xte, Yte = data(range(5_000_000, 5_000_200))
if latents:  # 8x8 inputs: one downsampling
    convs = [
        nn.Conv2d(32, 128, 3, 1, 1),
        nn.GELU(),
        nn.Conv2d(128, 128, 3, 1, 1),
        nn.GELU(),
        nn.Conv2d(128, 128, 4, 2, 1),
    ]
else:  # 32x32 inputs: three
    convs = [nn.Conv2d(6, 32, 3, 1, 1), nn.GELU(), nn.Conv2d(32, 64, 4, 2, 1), nn.GELU(), nn.Conv2d(64, 128, 4, 2, 1),
             nn.GELU(), nn.Conv2d(128, 128, 4, 2, 1)]  # fmt: skip
net = nn.Sequential(*convs, nn.GELU(), nn.Flatten(), nn.Linear(128 * 16, 256), nn.GELU(), nn.Linear(256, 6))
opt = torch.optim.AdamW(net.parameters(), 1e-3)


def to_rot(o):
    a, b = o[:, :3], o[:, 3:]
    a = a / a.norm(dim=1, keepdim=True)
    b = b - (a * b).sum(1, keepdim=True) * a
    b = b / b.norm(dim=1, keepdim=True)
    return torch.stack([a, b, torch.cross(a, b, dim=1)], -1)


t0, step = time.time(), 0
while time.time() - t0 < seconds:
    i = torch.randint(len(Xtr), (128,))
    loss = (to_rot(net(Xtr[i])) - Ytr[i]).pow(2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    step += 1
with torch.no_grad():
    for name, X, Y in (("train", Xtr[:600], Ytr[:600]), ("held-out", Xte, Yte)):
        errors = [rotation_angle_deg(a, b) for a, b in zip(to_rot(net(X)).numpy(), Y.numpy())]
        identity = [rotation_angle_deg(np.eye(3), b) for b in Y.numpy()]
        print(f"{name}: {step} steps, median error {np.median(errors):.1f}, identity {np.median(identity):.1f}")
