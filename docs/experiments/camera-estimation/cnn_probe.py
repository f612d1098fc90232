"""Is relative camera rotation readable from two 32-px views at all? A small CNN regresses the
relative rotation (as 6D: two columns) from (view 0, view v) of training scenes; median geodesic
error on held-out scenes vs the identity guess."""

import sys
import time

import numpy as np
import torch
import torch.nn as nn

from onediffusion.cameras import rotation_angle_deg
from onediffusion.training.data import make_record

torch.manual_seed(0)


def data(seeds):
    X, Y = [], []
    for s in seeds:
        r = make_record(s)
        f = np.linalg.inv(r.cameras[0].c2w)
        for v in range(1, 4):
            X.append(np.concatenate([r.images["rgb"][0], r.images["rgb"][v]], -1))
            Y.append((f @ r.cameras[v].c2w)[:3, :3])
    return torch.tensor(np.stack(X)).permute(0, 3, 1, 2).float() / 127.5 - 1, torch.tensor(np.stack(Y)).float()


n = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
Xtr, Ytr = data(range(n))
Xte, Yte = data(range(5_000_000, 5_000_200))
net = nn.Sequential(
    nn.Conv2d(6, 32, 3, 1, 1),
    nn.GELU(),
    nn.Conv2d(32, 64, 4, 2, 1),
    nn.GELU(),
    nn.Conv2d(64, 128, 4, 2, 1),
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
while time.time() - t0 < float(sys.argv[2] if len(sys.argv) > 2 else 180):
    i = torch.randint(len(Xtr), (128,))
    loss = (to_rot(net(Xtr[i])) - Ytr[i]).pow(2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    step += 1
with torch.no_grad():
    for name, X, Y in (("train", Xtr[:600], Ytr[:600]), ("held-out", Xte, Yte)):
        R = to_rot(net(X)).numpy()
        e = [rotation_angle_deg(a, b) for a, b in zip(R, Y.numpy())]
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
