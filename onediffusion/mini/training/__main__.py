"""Train OneDiffusion-Mini from scratch, reproducibly, on a CPU.

    python -m onediffusion.mini.training --out assets/onediffusion-mini

Steps: render the scenes, train the tokenizer, pretrain the text encoder, train the VAE, encode
every image once, train the transformer, write the checkpoint in the published folder layout
(plus ``studio.json``: the settings the app should default to and how the model was made).

Resumable stages: the full training state goes to OUT.state every --save-every steps, at the end, on
SIGTERM or SIGINT and when --max-minutes runs out (then the command exits with status 75);
--resume OUT.state continues bit for bit. A next stage starts from a finished one's weights:

    python -m onediffusion.mini.training --out runs/stage1 --max-minutes 115
    python -m onediffusion.mini.training --resume runs/stage1.state --max-minutes 115   # if it exited with 75
    python -m onediffusion.mini.training --init-from runs/stage1.state --stage views --steps 4000 --out X

--init-from also takes a published checkpoint folder (the shipped assets/onediffusion-mini, or a run's --out):
its tokenizer, text encoder and VAE are the frozen parts and its transformer starts the stage.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from diffusers import FlowMatchEulerDiscreteScheduler

from ...tiny import MODEL_INDEX, SCHEDULER_CONFIG
from .components import build_text_encoder, build_tokenizer, pretrain_text_encoder, train_vae
from .data import IMAGE_SIZE, SCENE_KINDS, VIEW_KINDS, build_store
from .published import (
    is_published,
    load_published_parts,
    previous_record,
    start_from_published,
    studio_record,
    transformer_mismatch,
)
from .state import (
    Parts,
    StopRequest,
    find_state,
    load_parts,
    load_trainer_state,
    read_info,
    records_digest,
    render_records,
    restore,
    save_state,
    start_from,
)
from .tasks import ALL_TASKS, STAGES, TRAIN_TASKS, VIEW_COUNTS
from .trainer import TrainConfig, Trainer, default_tasks

DESCRIPTION = (
    "OneDiffusion-Mini: a 4M-parameter OneDiffusion trained by this project in four stages (5.9 hours) on two "
    "CPU cores, on a procedural world of coloured spheres, cubes, cylinders and cones. It knows that world only, "
    "at 32 pixels: it follows captions and semantic maps, estimates depth, segments named objects, redraws given "
    "photos and estimates camera poses from photos (about 20 degrees off); its novel views are only a little "
    "better than the input view and mix up left and right (README, OneDiffusion-Mini)."
)
DEFAULT_OUT = "assets/onediffusion-mini"
STOPPED_EARLY = 75  # EX_TEMPFAIL: the stage stopped before its end; --resume continues it
SAVE_RESERVE_S = 60  # --max-minutes stops this long before the budget ends, to write the state and checkpoint
RESUME_FLAGS = {"resume", "out", "stop_at", "save_every", "max_minutes"}  # what --resume may be given
FROZEN_FLAGS = {"scenes", "vae_steps", "text_steps"}  # fixed by the state a stage starts from


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


def save_fixed(out: Path, vae, text_encoder) -> None:
    """The published layout's parts training does not change: vae/, text_encoder/ (float16), scheduler/,
    model_index.json (tokenizer/ is written there when it is made or copied)."""
    vae.save_pretrained(out / "vae")
    copy.deepcopy(text_encoder).to(torch.float16).save_pretrained(out / "text_encoder")  # the live one stays fp32
    FlowMatchEulerDiscreteScheduler(**SCHEDULER_CONFIG).save_pretrained(out / "scheduler")
    (out / "model_index.json").write_text(json.dumps(MODEL_INDEX, indent=1))


def save_trained(out: Path, trainer: Trainer, meta: dict) -> None:
    """The parts each checkpoint changes: transformer/ (the EMA) and studio.json."""
    trainer.ema.save_pretrained(out / "transformer")
    (out / "studio.json").write_text(json.dumps({**meta, "trained_steps": trainer.step}, indent=1))


def task_weights(text: str) -> dict[str, float]:
    """``"image2multiview=3,camera_estimation=3"`` -> {task: weight}, for training tasks, weights >= 0."""
    weights = {}
    for item in text.split(","):
        name, _, number = (part.strip() for part in item.partition("="))
        if name not in ALL_TASKS:
            raise argparse.ArgumentTypeError(f"expected task=weight with a task of {sorted(ALL_TASKS)}, got {item!r}")
        try:
            weights[name] = float(number)
        except ValueError:
            weights[name] = math.nan
        if not weights[name] >= 0:
            raise argparse.ArgumentTypeError(f"the weight of {name} must be a number >= 0, got {number!r}")
    return weights


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m onediffusion.mini.training",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,  # ``given_flags`` reads the flags as typed
    )
    parser.add_argument(
        "--out", default=None, help=f"the checkpoint folder (default {DEFAULT_OUT}; on --resume, the run's)"
    )
    parser.add_argument("--scenes", type=int, default=3000)
    parser.add_argument("--vae-steps", type=int, default=1500)
    parser.add_argument("--text-steps", type=int, default=1500)
    parser.add_argument("--steps", type=int, default=TrainConfig.steps, help="the learning-rate schedule's length")
    parser.add_argument("--stop-at", type=int, default=TrainConfig.stop_at, help="stop after this many steps")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lr", type=float, default=TrainConfig.lr, help="the peak learning rate")
    parser.add_argument("--micro-batch", type=int, default=TrainConfig.micro_batch, help="samples per task and step")
    parser.add_argument(
        "--camera-pure",
        type=float,
        default=TrainConfig.camera_pure,
        help="the share of target camera slots trained from pure noise (sigma = 1), 0 to 1",
    )
    stages = parser.add_argument_group("resumable stages")
    stages.add_argument("--state", default=None, help="the state root (default: OUT.state)")
    stages.add_argument(
        "--save-every", type=int, default=1000, help="save the state every N steps (0: only at the end or a stop)"
    )
    stages.add_argument(
        "--max-minutes",
        type=float,
        default=None,
        help="wall-clock budget: save and exit with 75 a minute before it ends",
    )
    stages.add_argument(
        "--resume", default=None, metavar="DIR", help="continue the stopped run whose state is in DIR, bit for bit"
    )
    stages.add_argument(
        "--init-from",
        default=None,
        metavar="DIR",
        help="start a new stage from a finished state's weights and frozen parts, or from a published checkpoint's",
    )
    stages.add_argument("--stage", choices=sorted(STAGES), default=None, help=f"task weights of a preset: {STAGES}")
    stages.add_argument(
        "--task-weights", type=task_weights, default=None, help="task=weight,... (others 1; over --stage's)"
    )
    return parser


def given_flags(argv: list[str]) -> set[str]:
    return {a[2:].split("=")[0].replace("-", "_") for a in argv if a.startswith("--")}


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    given = given_flags(argv)
    if args.resume and args.init_from:
        parser.error("--resume continues a run and --init-from starts a new stage: give one of them.")
    if args.resume and given - RESUME_FLAGS:
        flags = ", ".join("--" + f.replace("_", "-") for f in sorted(given - RESUME_FLAGS))
        parser.error(
            f"--resume continues a run exactly as it was started, so {flags} cannot be given; "
            "a new stage with other settings starts with --init-from."
        )
    frozen = given & (FROZEN_FLAGS - {"scenes"} if args.init_from and is_published(args.init_from) else FROZEN_FLAGS)
    if args.init_from and frozen:
        flags = ", ".join("--" + f.replace("_", "-") for f in sorted(frozen))
        parser.error(
            f"--init-from keeps the scenes, VAE and text encoder of the state it starts from: {flags} cannot be given."
        )
    if args.save_every < 0 or (args.max_minutes is not None and args.max_minutes < 0):
        parser.error("--save-every and --max-minutes must be >= 0.")
    if not 0 <= args.camera_pure <= 1:
        parser.error(f"--camera-pure is a share of the camera slots, 0 to 1, got {args.camera_pure}.")
    args.out = args.out or DEFAULT_OUT
    weights = STAGES[args.stage] if args.stage else None
    if args.task_weights is not None:
        weights = {**(weights or {}), **args.task_weights}
    args.weights, args.given = weights, given
    return args


def command_line(argv: list[str]) -> str:
    return "python -m onediffusion.mini.training " + " ".join(argv)


def studio_meta(args: argparse.Namespace, config: TrainConfig, argv: list[str]) -> dict:
    """``studio.json``: the app's defaults for Mini, and the command and settings that made it."""
    return {
        "name": "OneDiffusion-Mini",
        "description": DESCRIPTION,
        "image_side": IMAGE_SIZE,
        "negative_prompt": "",
        "num_inference_steps": 30,
        "guidance_scale": 3.0,
        "tasks": sorted(default_tasks(config.task_weights)),
        "camera": {"distance": 2.1, "elevation": 25.0, "focal_length": 1.3887},
        "command": command_line(argv),
        "config": {**asdict(config), "scenes": args.scenes, "vae_steps": args.vae_steps, "text_steps": args.text_steps},
    }


@dataclass
class Run:
    """A stage about to train: its trainer, the frozen parts, studio.json's record and where it writes."""

    trainer: Trainer
    parts: Parts
    meta: dict  # studio.json's record of the run; ``meta["timings"]`` is filled in as it goes
    out: Path
    root: Path  # the state root
    fixed_written: bool = False  # the checkpoint's unchanging parts are written by its first save only

    @property
    def partial(self) -> Path:
        return Path(f"{self.out}.partial")

    def save_state(self, trainer: Trainer) -> Path:
        return save_state(self.root, trainer, self.parts, {"out": str(self.out), "meta": self.meta})

    def checkpoint(self, trainer: Trainer) -> None:
        if not self.fixed_written:
            save_fixed(self.partial, self.parts.vae, self.parts.text_encoder)
            self.fixed_written = True
        save_trained(self.partial, trainer, self.meta)

    def before_end(self, write: Callable[[Trainer], object]) -> Callable[[Trainer], None]:
        """``write`` at the training's intervals but not at its end, which ``train`` writes once, with the timings."""

        def interval(trainer: Trainer) -> None:
            if trainer.step < trainer.config.end:
                write(trainer)

        return interval


def reset(folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def prepare_parts(args: argparse.Namespace, partial: Path, timings: dict, log) -> Parts:
    """Render the scenes, train the tokenizer, the text encoder and the VAE, encode every image."""
    t0 = time.time()
    records = render_records(args.seed, args.scenes)
    timings["render_s"] = round(time.time() - t0)
    log(f"rendered {len(records)} scenes in {timings['render_s']}s")
    prompts = corpus(records, np.random.default_rng(args.seed))
    tokenizer = build_tokenizer(partial / "tokenizer", prompts)
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
    data = {"seed": args.seed, "scenes": args.scenes, "digest": records_digest(records)}
    return Parts(records, partial / "tokenizer", tokenizer, text_encoder, vae, store, data)


def from_state(args: argparse.Namespace, root: Path, partial: Path, log) -> tuple[Parts, Callable]:
    """A finished state's frozen parts, and what starts the trainer from its weights and records it."""
    source = find_state(args.init_from)
    previous = read_info(source)
    earlier = previous["run"]["meta"]
    if root.resolve() == source.parent.resolve():
        raise SystemExit(f"--init-from {args.init_from} is this stage's own state root: give another --out.")
    if not previous["finished"]:
        raise SystemExit(f"{source} stopped at step {previous['step']} before its end: finish it with --resume first.")
    args.scenes, args.vae_steps, args.text_steps = (earlier["config"][k] for k in ("scenes", "vae_steps", "text_steps"))

    def begin(trainer: Trainer, meta: dict) -> None:
        state = load_trainer_state(source)
        start_from(trainer, state["model"], state["ema"])
        record = {"command": earlier["command"], "config": earlier["config"], "trained_steps": previous["step"]}
        meta["previous_stages"] = earlier.get("previous_stages", []) + [record]
        log(f"new stage from {source} (step {previous['step']}), task weights {args.weights}")

    return load_parts(source, partial / "tokenizer"), begin


def from_checkpoint(args: argparse.Namespace, partial: Path, log) -> tuple[Parts, Callable]:
    """A published checkpoint's frozen parts, and what starts the trainer from its transformer and records it."""
    source = Path(args.init_from)
    earlier = studio_record(source).get("config") or {}
    if "scenes" not in args.given:
        args.scenes = earlier.get("scenes", args.scenes)
    args.vae_steps, args.text_steps = earlier.get("vae_steps"), earlier.get("text_steps")  # not trained here

    def begin(trainer: Trainer, meta: dict) -> None:
        start_from_published(trainer, source)
        stages, record = previous_record(source)
        meta["previous_stages"] = stages + [record]
        log(f"new stage from the checkpoint {source}, task weights {args.weights}")

    return load_published_parts(source, partial / "tokenizer", args.seed, args.scenes, log), begin


def start_run(args: argparse.Namespace, argv: list[str], log) -> Run:
    """A fresh run, or with --init-from a new stage from a finished state's (or a published checkpoint's)
    weights and frozen parts."""
    out, root = Path(args.out), Path(args.state or f"{args.out}.state")
    published = args.init_from and is_published(args.init_from)
    if published and (problem := transformer_mismatch(Path(args.init_from), TrainConfig().transformer)):
        print(problem, file=sys.stderr)  # before anything is written
        raise SystemExit(2)
    partial, timings, begin = reset(Path(f"{out}.partial")), {}, None
    if published:
        parts, begin = from_checkpoint(args, partial, log)
    elif args.init_from:
        parts, begin = from_state(args, root, partial, log)
    else:
        parts = prepare_parts(args, partial, timings, log)
    config = TrainConfig(
        seed=args.seed,
        steps=args.steps,
        stop_at=args.stop_at,
        lr=args.lr,
        micro_batch=args.micro_batch,
        camera_pure=args.camera_pure,
        task_weights=args.weights,
    )
    meta = studio_meta(args, config, argv)
    trainer = Trainer(config, parts.records, parts.store, parts.tokenizer, parts.text_encoder)
    if begin is not None:
        begin(trainer, meta)
    meta["timings"] = timings
    return Run(trainer, parts, meta, out, root)


def resume_run(args: argparse.Namespace, argv: list[str], log) -> Run:
    """The run whose state is in --resume, exactly where it stopped (a later --stop-at may extend it)."""
    folder = find_state(args.resume)
    info = read_info(folder)
    out = Path(args.out if "out" in args.given else info["run"]["out"])
    parts = load_parts(folder, reset(Path(f"{out}.partial")) / "tokenizer")
    config = TrainConfig.from_dict(info["config"])
    meta = info["run"]["meta"]
    if args.stop_at is not None:
        config.stop_at = meta["config"]["stop_at"] = args.stop_at
    trainer = Trainer(config, parts.records, parts.store, parts.tokenizer, parts.text_encoder)
    restore(trainer, load_trainer_state(folder))
    meta.setdefault("resumed", []).append({"step": trainer.step, "command": command_line(argv)})
    log(f"resumed {folder} at step {trainer.step}")
    return Run(trainer, parts, meta, out, folder.parent)


def train(run: Run, args: argparse.Namespace, t0: float, log) -> int:
    """Train the transformer; write the state and, at the end, the checkpoint. Returns the exit status."""
    trainer, timings = run.trainer, run.meta["timings"]
    deadline = None if args.max_minutes is None else t0 + 60 * args.max_minutes - SAVE_RESERVE_S
    t = time.time()
    with StopRequest(deadline) as stop:  # from here on SIGTERM and SIGINT save the state
        log(
            f"transformer from step {trainer.step} to {trainer.config.end} of {trainer.config.steps}; state in {run.root}"
        )
        reason = trainer.run(
            log=log,
            checkpoint=run.before_end(run.checkpoint),
            save=run.before_end(run.save_state),
            save_every=args.save_every,
            stop=stop,
        )
    timings["transformer_s"] = timings.get("transformer_s", 0) + round(time.time() - t)
    timings["total_s"] = timings.get("total_s", 0) + round(time.time() - t0)
    folder = run.save_state(trainer)
    run.checkpoint(trainer)
    if reason is not None:
        log(
            f"stopped at step {trainer.step} by {reason}: state in {folder}, checkpoint so far in {run.partial}; "
            f"continue with --resume {run.root}"
        )
        return STOPPED_EARLY
    shutil.rmtree(run.out, ignore_errors=True)
    run.partial.rename(run.out)
    size = sum(f.stat().st_size for f in run.out.rglob("*") if f.is_file()) / 1e6
    log(f"wrote {run.out} ({size:.1f} MB) and its state {folder} in {timings['total_s']}s")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    log = lambda msg: print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)  # noqa: E731
    t0 = time.time()
    if args.resume:
        run = resume_run(args, argv, log)
    else:
        torch.manual_seed(args.seed)
        run = start_run(args, argv, log)
    return train(run, args, t0, log)


if __name__ == "__main__":
    sys.exit(main())
