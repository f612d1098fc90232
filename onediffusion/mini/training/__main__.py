"""Train OneDiffusion-Mini from scratch, reproducibly, on a CPU.

    python -m onediffusion.mini.training --out assets/onediffusion-mini

Stages: render the scenes, train the tokenizer, pretrain the text encoder, train the VAE, encode
every image once, train the transformer, write the checkpoint in the published folder layout
(plus ``studio.json``: the settings the app should default to and how the model was made).
"""

from __future__ import annotations

import argparse
import copy
import json
import shutil
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from diffusers import FlowMatchEulerDiscreteScheduler

from ...tiny import MODEL_INDEX, SCHEDULER_CONFIG
from .components import build_text_encoder, build_tokenizer, pretrain_text_encoder, train_vae
from .data import IMAGE_SIZE, SCENE_KINDS, VIEW_KINDS, build_store, make_record
from .tasks import TRAIN_TASKS, VIEW_COUNTS
from .trainer import TrainConfig, Trainer

DESCRIPTION = (
    "OneDiffusion-Mini: a 4M-parameter OneDiffusion trained by this project in 63 minutes on two CPU cores, "
    "on a procedural world of coloured spheres, cubes, cylinders and cones. It knows that world only, at "
    "32 pixels: it follows captions and semantic maps, estimates depth, segments named objects and redraws "
    "given photos; novel-view geometry and camera azimuths are beyond it (README, OneDiffusion-Mini)."
)


def corpus(records, rng: np.random.Generator, per_task: int = 400) -> list[str]:
    prompts = []
    for task, recipe in TRAIN_TASKS.items():
        lo, hi = VIEW_COUNTS.get(task, (1, 1))
        for i in rng.integers(len(records), size=per_task):
            prompts.append(recipe(records[i], rng, int(rng.integers(lo, hi + 1))).prompt)
    return prompts


def vae_pool(records, count: int) -> np.ndarray:
    parts = [np.concatenate([r.images[k] for r in records[:count]]) for k in VIEW_KINDS]
    parts += [np.stack([r.images[k] for r in records[:count]]) for k in SCENE_KINDS]
    return np.concatenate(parts)


def save(out: Path, trainer: Trainer, vae, text_encoder, meta: dict) -> None:
    """The published layout: transformer/, vae/, text_encoder/ (float16), tokenizer/, scheduler/."""
    trainer.ema.save_pretrained(out / "transformer")
    vae.save_pretrained(out / "vae")
    copy.deepcopy(text_encoder).to(torch.float16).save_pretrained(out / "text_encoder")  # the live one stays fp32
    FlowMatchEulerDiscreteScheduler(**SCHEDULER_CONFIG).save_pretrained(out / "scheduler")
    (out / "model_index.json").write_text(json.dumps(MODEL_INDEX, indent=1))
    (out / "studio.json").write_text(json.dumps({**meta, "trained_steps": trainer.step}, indent=1))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m onediffusion.mini.training",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", default="assets/onediffusion-mini")
    parser.add_argument("--scenes", type=int, default=3000)
    parser.add_argument("--vae-steps", type=int, default=1500)
    parser.add_argument("--text-steps", type=int, default=1500)
    parser.add_argument("--steps", type=int, default=TrainConfig.steps, help="the learning-rate schedule's length")
    parser.add_argument("--stop-at", type=int, default=TrainConfig.stop_at, help="stop after this many steps")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def studio_meta(args: argparse.Namespace, config: TrainConfig, argv: list[str] | None) -> dict:
    """``studio.json``: the app's defaults for Mini, and the command and settings that made it."""
    return {
        "name": "OneDiffusion-Mini",
        "description": DESCRIPTION,
        "image_side": IMAGE_SIZE,
        "negative_prompt": "",
        "num_inference_steps": 30,
        "guidance_scale": 3.0,
        "tasks": sorted(TRAIN_TASKS),
        "camera": {"distance": 2.1, "elevation": 25.0, "focal_length": 1.3887},
        "command": "python -m onediffusion.mini.training " + " ".join(argv if argv is not None else sys.argv[1:]),
        "config": {**asdict(config), "scenes": args.scenes, "vae_steps": args.vae_steps, "text_steps": args.text_steps},
    }


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    log = lambda msg: print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)  # noqa: E731
    torch.manual_seed(args.seed)
    out, stage = Path(args.out), Path(args.out + ".partial")
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    timings, t0 = {}, time.time()

    records = [make_record(args.seed * 1_000_000 + i) for i in range(args.scenes)]
    timings["render_s"] = round(time.time() - t0)
    log(f"rendered {len(records)} scenes in {timings['render_s']}s")
    prompts = corpus(records, np.random.default_rng(args.seed))
    tokenizer = build_tokenizer(stage / "tokenizer", prompts)
    t = time.time()
    text_encoder, _ = pretrain_text_encoder(
        build_text_encoder(len(tokenizer), args.seed), tokenizer, prompts, args.text_steps, args.seed, log=log
    )
    timings["text_s"] = round(time.time() - t)
    t = time.time()
    vae = train_vae(vae_pool(records, min(1200, len(records))), args.vae_steps, args.seed, log=log)
    timings["vae_s"] = round(time.time() - t)
    t = time.time()
    store = build_store(vae, records)
    timings["encode_s"] = round(time.time() - t)
    log(f"encoded every image in {timings['encode_s']}s")

    config = TrainConfig(seed=args.seed, steps=args.steps, stop_at=args.stop_at)
    meta = studio_meta(args, config, argv)
    trainer = Trainer(config, records, store, tokenizer, text_encoder)
    t = time.time()
    trainer.run(log=log, checkpoint=lambda tr: save(stage, tr, vae, text_encoder, {**meta, "timings": timings}))
    timings["transformer_s"] = round(time.time() - t)
    timings["total_s"] = round(time.time() - t0)
    save(stage, trainer, vae, text_encoder, {**meta, "timings": timings})
    shutil.rmtree(out, ignore_errors=True)
    stage.rename(out)
    log(
        f"wrote {out} ({sum(f.stat().st_size for f in out.rglob('*') if f.is_file()) / 1e6:.1f} MB) in {timings['total_s']}s"
    )


if __name__ == "__main__":
    main()
