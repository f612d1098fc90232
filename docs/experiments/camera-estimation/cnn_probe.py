"""Is the relative camera readable from two 32-px views at all? A small CNN regresses the rotation of
view v relative to view 0 (6-D: two orthonormalised columns) from the two views stacked as channels,
on the training scenes' (view 0, view v) pairs; median geodesic error on held-out scenes against the
identity guess.

    PYTHONPATH=. python docs/experiments/camera-estimation/cnn_probe.py SCENES SECONDS [--latents]

``--latents``: from the shipped Mini VAE's 8x8x16 latents (what the transformer sees) instead of pixels.
"""

import sys
import time

import numpy as np
import torch
import torch.nn as nn

from onediffusion.cameras import rotation_angle_deg
from onediffusion.mini import MINI_MODEL
from onediffusion.mini.evaluate import HELD_OUT
from onediffusion.mini.training.data import encode_images, make_record


def pairs(seeds, vae=None) -> tuple[torch.Tensor, torch.Tensor]:
    """(view 0, view v) stacked as channels, and the rotation of v relative to 0, for v = 1..3 of each scene;
    from the VAE's latents when ``vae`` is given, else from pixels in [-1, 1]."""
    records = [make_record(s) for s in seeds]
    rgb = np.stack([r.images["rgb"] for r in records])  # (S, 4, H, W, 3)
    if vae is not None:
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


def probe_net(latents: bool) -> nn.Sequential:
    if latents:  # 8x8 inputs: one downsampling
        channels, strides = (32, 128, 128, 128), (1, 1, 2)
    else:  # 32x32 inputs: three
        channels, strides = (6, 32, 64, 128, 128), (1, 2, 2, 2)
    layers = []
    for c_in, c_out, stride in zip(channels, channels[1:], strides):
        layers += [nn.Conv2d(c_in, c_out, 3 if stride == 1 else 4, stride, 1), nn.GELU()]
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(128 * 16, 256), nn.GELU(), nn.Linear(256, 6))


def to_rot(o: torch.Tensor) -> torch.Tensor:
    """(B, 6) -> (B, 3, 3): two columns orthonormalised (Gram-Schmidt), the third their cross product."""
    a, b = o[:, :3], o[:, 3:]
    a = a / a.norm(dim=1, keepdim=True)
    b = b - (a * b).sum(1, keepdim=True) * a
    b = b / b.norm(dim=1, keepdim=True)
    return torch.stack([a, b, torch.cross(a, b, dim=1)], -1)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    scenes, seconds, latents = int(argv[0]), float(argv[1]), "--latents" in argv[2:]
    torch.manual_seed(0)
    vae = None
    if latents:
        from diffusers import AutoencoderKL

        vae = AutoencoderKL.from_pretrained(MINI_MODEL / "vae").eval()
    Xtr, Ytr = pairs(range(scenes), vae)
    Xte, Yte = pairs(range(HELD_OUT, HELD_OUT + 200), vae)
    net = probe_net(latents)
    opt = torch.optim.AdamW(net.parameters(), 1e-3)
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


if __name__ == "__main__":
    main()
