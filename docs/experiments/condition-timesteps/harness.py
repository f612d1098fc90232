"""Train a variant of the Mini transformer on the shipped Mini's 3000 encoded training scenes (its VAE,
tokenizer and T5), probing it on 64 validation scenes every ``--every`` steps; write the EMA transformer
into a copy of the shipped Mini's folder at /tmp/ckpt-NAME for ``python -m onediffusion.mini.evaluate``.

    PYTHONPATH=. python docs/experiments/condition-timesteps/harness.py NAME [--steps 2000] [--lr 4e-4]
        [--tasks mv|all|a,b] [--init default|zero] [--camera-pure 0.5] [--threads 1]

Probes (one network call, targets at sigma 1, conditions clean at t = 2):
- nv / nv_swap: latent MSE of the novel view's one-step estimate with the true / another view's camera
  (nv_copy: the input view's latent; nv_mean: the mean latent of the validation views);
- cam / cam_id: median rotation error of cameras read from the one-step ray estimate / of the identity.
"""

import argparse
import json
import shutil
import time
from pathlib import Path

import numpy as np
import torch
from common import text_components, training_scenes, validation_scenes

from onediffusion.cameras import Camera, cameras_from_ray_maps, latent_to_rays, rays_for_cameras, rays_to_latent
from onediffusion.mini import MINI_MODEL as MINI
from onediffusion.mini.evaluate import relative_rotation_errors
from onediffusion.mini.training.trainer import TrainConfig, Trainer
from onediffusion.prompts import task_prompt

MV = ("image2multiview", "text2multiview", "camera_estimation", "multiview")


def zero_init(model):
    """Lumina-Next / DiT initialisation: xavier linears, adaLN-Zero modulations, zero final layer."""
    for m in model.modules():
        if isinstance(m, torch.nn.Linear):
            torch.nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                torch.nn.init.zeros_(m.bias)
    for m in model.t_embedder.mlp:
        if isinstance(m, torch.nn.Linear):
            torch.nn.init.normal_(m.weight, std=0.02)
    for block in model.layers:
        torch.nn.init.zeros_(block.adaLN_modulation[1].weight)
        torch.nn.init.zeros_(block.adaLN_modulation[1].bias)
    for lin in (model.final_layer.adaLN_modulation[1], model.final_layer.linear):
        torch.nn.init.zeros_(lin.weight)
        torch.nn.init.zeros_(lin.bias)


class XTrainer(Trainer):
    camera_pure = 0.0

    def target_sigmas(self, batch):
        sigma = super().target_sigmas(batch)
        if not self.camera_pure:
            return sigma
        B, N = batch.targets.shape
        is_cam = torch.zeros(B, N, dtype=torch.bool)
        # camera slots: odd positions in multiview prompts
        if batch.prompts and N >= 4:
            is_cam[:, 1::2] = True
        pure = (torch.rand(B, N, generator=self.gen) < self.camera_pure) & is_cam & batch.targets
        return torch.where(pure, torch.ones_like(sigma), sigma)


# ---------------------------------------------------------------- probes
def val():
    return validation_scenes()


@torch.no_grad()
def forward_x0(model, tr, x0, targets, prompt, gen):
    B, N = targets.shape
    sigma = torch.where(targets, torch.ones(B, N), torch.full((B, N), 0.002))
    noise = torch.randn(x0.shape, generator=gen)
    s = sigma[:, :, None, None, None]
    xt = (1 - s) * x0 + s * noise
    states, mask = tr.encode_prompts([prompt] * B)
    v = model(samples=xt, timesteps=sigma * 1000, encoder_hidden_states=states, encoder_attention_mask=mask)
    return xt - s * v


@torch.no_grad()
def probes(tr, n=64):
    model = tr.ema
    records, store = val()
    gen = torch.Generator().manual_seed(123)
    mean = store.view["rgb"][:, :, 0].mean(dim=(0, 1))
    rgb = store.view["rgb"][:n, :, 0]  # (n, V, C, h, w) means
    C, h = rgb.shape[2], rgb.shape[-1]
    out = {}

    # novel view: [rgb0 c, cam0 c, rgb1 t, cam1 c]
    def nv(swap):
        x0 = torch.zeros(n, 4, C, h, h)
        x0[:, 0], x0[:, 2] = rgb[:, 0], rgb[:, 1]
        for b in range(n):
            cams = records[b].cameras
            other = cams[2] if swap else cams[1]
            x0[b, [1, 3]] = rays_to_latent(rays_for_cameras([cams[0], other], h), C)
        targets = torch.tensor([[False, False, True, False]] * n)
        pred = forward_x0(model, tr, x0, targets, task_prompt("multiview", ""), gen)
        return (pred[:, 2] - rgb[:, 1]).pow(2).mean().item()

    out["nv"] = nv(False)
    out["nv_swap"] = nv(True)
    out["nv_copy"] = (rgb[:, 0] - rgb[:, 1]).pow(2).mean().item()
    out["nv_mean"] = (mean - rgb[:, 1]).pow(2).mean().item()
    # cameras: [rgb0 c, cam0 t, rgb1 c, cam1 t, rgb2 c, cam2 t]
    x0 = torch.zeros(n, 6, C, h, h)
    for j in range(3):
        x0[:, 2 * j] = rgb[:, j]
    for b in range(n):
        x0[b, 1::2] = rays_to_latent(rays_for_cameras(records[b].cameras[:3], h), C)
    targets = torch.tensor([[False, True] * 3] * n)
    pred = forward_x0(model, tr, x0, targets, task_prompt("multiview", ""), gen)
    errs, ids = [], []
    for b in range(n):
        est = cameras_from_ray_maps(latent_to_rays(pred[b, 1::2]))
        frame = np.linalg.inv(est[0].c2w)
        est = [Camera(frame @ c.c2w, c.focal_length) for c in est]
        e, i = relative_rotation_errors(est, records[b].cameras[:3])
        errs += e
        ids += i
    out["cam"] = float(np.median(errs))
    out["cam_id"] = float(np.median(ids))
    return {k: round(v, 4) for k, v in out.items()}


def save(tr, out):
    out = Path(out)
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(MINI, out)
    shutil.rmtree(out / "transformer")
    tr.ema.save_pretrained(out / "transformer")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("name")
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--lr", type=float, default=4e-4)
    p.add_argument("--init", default="default")
    p.add_argument("--tasks", default="mv")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--camera-pure", type=float, default=0.0)
    p.add_argument("--micro-batch", type=int, default=16)
    p.add_argument("--micro-batches", type=int, default=2)
    p.add_argument("--every", type=int, default=500)
    p.add_argument("--ema", type=float, default=0.998)
    p.add_argument("--transformer", default="{}")
    p.add_argument("--warmup", type=int, default=100)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    records, store = training_scenes()
    tok, enc = text_components()
    tasks = MV if a.tasks == "mv" else (None if a.tasks == "all" else tuple(a.tasks.split(",")))
    cfg = TrainConfig(
        steps=a.steps,
        lr=a.lr,
        tasks=tasks,
        micro_batch=a.micro_batch,
        micro_batches=a.micro_batches,
        ema=a.ema,
        warmup=a.warmup,
    )
    cfg.transformer.update(json.loads(a.transformer))
    tr = XTrainer(cfg, records, store, tok, enc)
    tr.camera_pure = a.camera_pure
    if a.init == "zero":
        torch.manual_seed(0)
        zero_init(tr.model)
        tr.ema.load_state_dict(tr.model.state_dict())
    print(json.dumps(vars(a)), flush=True)
    log = open(f"/tmp/{a.name}.log", "w")

    def emit(msg):
        print(msg, flush=True)
        log.write(msg + "\n")
        log.flush()

    start = time.time()
    running = {}
    while tr.step < a.steps:
        for t, v in tr.train_step().items():
            running.setdefault(t, []).append(v)
        if tr.step % a.every == 0 or tr.step == a.steps:
            pr = probes(tr)
            means = " ".join(f"{t}={np.mean(v):.3f}" for t, v in sorted(running.items()))
            emit(f"step {tr.step} {time.time() - start:.0f}s | {means} | {json.dumps(pr)}")
            running = {}
    save(tr, f"/tmp/ckpt-{a.name}")
    emit("done")


if __name__ == "__main__":
    main()
