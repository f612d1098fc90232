"""The flow-matching trainer: every view its own noise level, tasks with equal probability.

Objective (the paper's, in the pipeline's conventions): for clean latents x0 of every slot, a
noise level per view sigma = sigmoid(n), n ~ N(0, 1) (the logit-normal "LogNorm(0, 1)"), noise
eps, the network sees x = (1 - sigma) x0 + sigma eps with timestep 1000 sigma (the scheduler's
scale) and predicts the velocity eps - x0 (FlowMatchEulerDiscreteScheduler steps x by
(sigma_next - sigma) v). Condition slots of the sampled task are given exactly as the pipeline
gives them: clean, carrying the last timestep of its schedule, drawn over the step counts
``TrainConfig.condition_steps`` (from about 16 at 100 steps to 184 at 8 steps; 52 at Mini's 30).
Their loss is left out. Captions are dropped at a small rate so guidance has an unconditional
branch; the dropped prompt is "", the negative prompt used at inference.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from diffusers import FlowMatchEulerDiscreteScheduler

from ...cameras import rays_for_cameras, rays_to_latent
from ...model import NextDiT
from ...pipeline import schedule_timesteps
from ...tiny import SCHEDULER_CONFIG
from .data import LatentStore, SceneRecord
from .tasks import ALL_TASKS, LATER_TASKS, TRAIN_TASKS, VIEW_COUNTS, Sample

MINI_TRANSFORMER = {
    "input_size": (1, 8, 8), "patch_size": (1, 2, 2), "in_channels": 16, "hidden_size": 192, "depth": 6,
    "num_heads": 4, "num_kv_heads": 4, "multiple_of": 32, "caption_channels": 64, "qk_norm": True,
    "model_max_length": 120, "rotary_max_length": 32,
}  # fmt: skip


@dataclass
class TrainConfig:
    seed: int = 0
    steps: int = 12000  # the length of the learning-rate schedule
    stop_at: int | None = None  # stop after this many steps (None: at ``steps``), the schedule unchanged
    micro_batch: int = 16
    micro_batches: int = 2  # tasks per optimiser step, each its own micro-batch
    lr: float = 2e-3
    warmup: int = 100
    ema: float = 0.998
    caption_drop: float = 0.1
    camera_pure: float = 0.0  # this share of target camera slots is drawn at sigma = 1 (pure noise), see target_sigmas
    condition_steps: tuple[int, int] = (8, 100)  # conditions carry the last timestep of these schedules
    tasks: tuple[str, ...] | None = None  # the tasks to draw from (None: TRAIN_TASKS and the weighted LATER_TASKS)
    task_weights: dict[str, float] | None = None  # relative draw weights, 1 where unnamed (None: all alike)
    transformer: dict = field(default_factory=lambda: dict(MINI_TRANSFORMER))

    @property
    def end(self) -> int:
        """The step training stops at: ``stop_at`` if given, within the schedule's ``steps``."""
        return self.steps if self.stop_at is None else min(self.stop_at, self.steps)

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        """The inverse of ``dataclasses.asdict`` after a JSON round trip (which turns tuples into lists)."""
        values = dict(values)
        values["condition_steps"] = tuple(values["condition_steps"])
        values["tasks"] = None if values["tasks"] is None else tuple(values["tasks"])
        values["transformer"] = {k: tuple(v) if isinstance(v, list) else v for k, v in values["transformer"].items()}
        return cls(**values)


@dataclass
class Batch:
    x0: torch.Tensor  # (B, N, C, h, w)
    targets: torch.Tensor  # (B, N) bool
    prompts: list[str]
    cameras: torch.Tensor | None = None  # (N,) bool: which slots hold ray maps


def condition_timesteps(steps: tuple[int, int], transformer: dict) -> torch.Tensor:
    """(max_slots + 1, S) table: the timestep the pipeline gives condition slots (its schedule's
    last) at each step count in ``steps`` (inclusive), by the number of target slots (row 0 unused).
    The schedule's shift depends on the target tokens, so the table follows the model's token grid.
    ``max_slots``: the most slots a training sample has, an image and a camera per view."""
    max_slots = 2 * max(hi for _, hi in VIEW_COUNTS.values())
    lo, hi = steps
    if not 1 <= lo <= hi:
        raise ValueError(f"`condition_steps` must be a (low, high) range of step counts, got {steps!r}.")
    scheduler = FlowMatchEulerDiscreteScheduler(**SCHEDULER_CONFIG)
    (_, h, w), (_, ph, pw) = transformer["input_size"], transformer["patch_size"]
    tokens = (h // ph) * (w // pw)
    table = [
        [float(schedule_timesteps(scheduler, s, max(n, 1) * tokens)[-1]) for s in range(lo, hi + 1)]
        for n in range(max_slots + 1)
    ]
    return torch.tensor(table)


def default_tasks(weights: dict[str, float] | None) -> list[str]:
    """The recipe's tasks, and the later ones the weights name above 0."""
    return list(TRAIN_TASKS) + [task for task in LATER_TASKS if (weights or {}).get(task, 0) > 0]


def task_probabilities(tasks: list[str], config: TrainConfig) -> np.ndarray | None:
    """Each task's draw probability from ``config.task_weights`` (None: all alike, numpy's uniform draw)."""
    unknown = [t for t in tasks if t not in ALL_TASKS]
    if unknown or len(tasks) < config.micro_batches:
        raise ValueError(
            f"`tasks` must name at least `micro_batches` ({config.micro_batches}) of {sorted(ALL_TASKS)}, "
            f"got {config.tasks!r}."
        )
    if config.task_weights is None:
        return None
    weights = np.array([float(config.task_weights.get(t, 1.0)) for t in tasks])
    stray = sorted(set(config.task_weights) - set(tasks))
    if stray or (weights < 0).any() or (weights > 0).sum() < config.micro_batches:
        raise ValueError(
            f"`task_weights` must give tasks of {tasks} weights >= 0, at least {config.micro_batches} of them "
            f"above 0, got {config.task_weights!r}."
        )
    return weights / weights.sum()


class Trainer:
    def __init__(self, config: TrainConfig, records: list[SceneRecord], store: LatentStore, tokenizer, text_encoder):
        self.config, self.records, self.store = config, records, store
        self.tasks = list(config.tasks or default_tasks(config.task_weights))
        self.task_p = task_probabilities(self.tasks, config)
        self.tokenizer, self.text_encoder = tokenizer, text_encoder.eval().requires_grad_(False)
        torch.manual_seed(config.seed)
        self.model = NextDiT(**config.transformer).train()
        self.ema = copy.deepcopy(self.model).eval().requires_grad_(False)
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=config.lr, betas=(0.9, 0.99), weight_decay=0.01)
        self.rng = np.random.default_rng(config.seed)
        self.gen = torch.Generator().manual_seed(config.seed)
        self.step = 0
        self.condition_t = condition_timesteps(config.condition_steps, config.transformer)

    # Data ------------------------------------------------------------------------------------

    def sample_batch(self, task: str) -> Batch:
        counts = VIEW_COUNTS.get(task, (1, 1))
        n = int(self.rng.integers(counts[0], counts[1] + 1))
        index = self.rng.integers(len(self.records), size=self.config.micro_batch)
        samples = [ALL_TASKS[task](self.records[i], self.rng, n) for i in index]
        x0 = torch.stack([self._slot_latents(samples, index, j) for j in range(len(samples[0].sources))], dim=1)
        for b, (i, sample) in enumerate(zip(index, samples)):
            cameras = [(j, s.view) for j, s in enumerate(sample.sources) if s.kind == "camera"]
            if cameras:
                rays = rays_for_cameras([self.records[i].cameras[v] for _, v in cameras], x0.shape[-1])
                x0[b, [j for j, _ in cameras]] = rays_to_latent(rays, x0.shape[2])
        prompts = ["" if self.rng.random() < self.config.caption_drop else s.prompt for s in samples]
        cameras = torch.tensor([s.kind == "camera" for s in samples[0].sources])
        return Batch(x0, torch.tensor([s.targets for s in samples]), prompts, cameras)

    def _slot_latents(self, samples: list[Sample], index: np.ndarray, j: int) -> torch.Tensor:
        kind = samples[0].sources[j].kind
        if kind == "camera":  # filled per sample afterwards
            return torch.zeros_like(self.store.view["rgb"][:1, 0, 0]).expand(len(samples), -1, -1, -1).clone()
        views = [s.sources[j].view for s in samples]
        view_index = None if views[0] is None else torch.tensor(views)
        return self.store.sample(kind, torch.from_numpy(index), view_index, self.gen)

    @torch.no_grad()
    def encode_prompts(self, prompts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        tokens = self.tokenizer(prompts, padding="longest", max_length=300, truncation=True, return_tensors="pt")
        return self.text_encoder(tokens.input_ids, attention_mask=tokens.attention_mask)[
            0
        ].float(), tokens.attention_mask

    # Objective -------------------------------------------------------------------------------

    def loss(self, batch: Batch) -> torch.Tensor:
        return self.flow_loss(batch, self.target_sigmas(batch))

    def target_sigmas(self, batch: Batch) -> torch.Tensor:
        """(B, N): a noise level per view, sigmoid(N(0, 1)); only the target views' are used.

        With ``camera_pure`` > 0 that share of camera slots is drawn at sigma = 1. LogNorm(0, 1) puts 1.4% of
        its draws above 0.9, so the network learns to denoise rays rather than to read a camera from the
        images, yet the sampler decides the camera in its first steps, from pure noise
        (docs/experiments/camera-estimation: "half the camera targets at sigma = 1")."""
        sigma = torch.sigmoid(torch.randn(*batch.targets.shape, generator=self.gen))
        if self.config.camera_pure > 0 and batch.cameras is not None and batch.cameras.any():
            pure = (torch.rand(batch.targets.shape, generator=self.gen) < self.config.camera_pure) & batch.cameras
            sigma = torch.where(pure, 1.0, sigma)
        return sigma

    def flow_loss(self, batch: Batch, sigma: torch.Tensor) -> torch.Tensor:
        """The flow-matching loss over the target views at noise levels ``sigma`` (B, N); conditions clean."""
        B, N = batch.targets.shape
        noise = torch.randn(batch.x0.shape, generator=self.gen)
        steps = torch.randint(self.condition_t.shape[1], (B,), generator=self.gen)
        t_condition = self.condition_t[batch.targets.sum(1), steps][:, None].expand(B, N)
        timesteps = torch.where(batch.targets, sigma * 1000, t_condition)
        s = torch.where(batch.targets, sigma, 0.0)[:, :, None, None, None]  # conditions stay clean
        states, mask = self.encode_prompts(batch.prompts)
        velocity = self.model(
            samples=(1 - s) * batch.x0 + s * noise,
            timesteps=timesteps,
            encoder_hidden_states=states,
            encoder_attention_mask=mask,
        )
        per_view = (velocity - (noise - batch.x0)).pow(2).mean(dim=(2, 3, 4))
        return per_view[batch.targets].mean()

    def lr_at(self, step: int) -> float:
        warm = min(1.0, (step + 1) / self.config.warmup)
        progress = step / max(1, self.config.steps)
        return self.config.lr * warm * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))

    def train_step(self) -> dict[str, float]:
        for group in self.opt.param_groups:
            group["lr"] = self.lr_at(self.step)
        tasks = self.draw_tasks()
        losses = {}
        for task in tasks:
            loss = self.loss(self.sample_batch(task))
            (loss / len(tasks)).backward()
            losses[task] = loss.item()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.opt.step()
        self.opt.zero_grad(set_to_none=True)
        self._update_ema()
        self.step += 1
        return losses

    def draw_tasks(self) -> list[str]:
        """The step's ``micro_batches`` distinct tasks, drawn with ``task_p`` (uniform when None)."""
        chosen = self.rng.choice(self.tasks, size=self.config.micro_batches, replace=False, p=self.task_p)
        return [str(task) for task in chosen]

    @torch.no_grad()
    def _update_ema(self) -> None:
        decay = min(self.config.ema, (1 + self.step) / (10 + self.step))
        for e, p in zip(self.ema.parameters(), self.model.parameters()):
            e.lerp_(p, 1 - decay)

    def state_dict(self) -> dict:
        """Everything that changes as training goes: weights, EMA, optimiser, step and both generators
        (the data sampler's position is its generators' state: scenes and tasks are drawn, not iterated)."""
        return {
            "model": self.model.state_dict(),
            "ema": self.ema.state_dict(),
            "optimizer": self.opt.state_dict(),
            "step": self.step,
            "rng": self.rng.bit_generator.state,
            "gen": self.gen.get_state(),
        }

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.ema.load_state_dict(state["ema"])
        self.opt.load_state_dict(state["optimizer"])
        self.step = state["step"]
        self.rng.bit_generator.state = state["rng"]
        self.gen.set_state(state["gen"])

    def run(
        self,
        log=print,
        checkpoint=None,
        every: int = 500,
        save=None,
        save_every: int = 0,
        stop=None,
        log_every: int = 50,
    ) -> str | None:
        """Train to ``config.end``: ``checkpoint(self)`` every ``every`` steps, ``save(self)`` every
        ``save_every`` (0: never). ``stop()``, asked before each step, returns a reason to stop early or
        None. Returns that reason, None when training reached its end."""
        start, first, running = time.time(), self.step, {}
        while self.step < self.config.end:
            if stop is not None and (reason := stop()):
                return reason
            for task, value in self.train_step().items():
                running.setdefault(task, []).append(value)
            if self.step % log_every == 0 or self.step == self.config.end:
                self._log_progress(log, time.time() - start, self.step - first, running)
                running = {}
            if checkpoint is not None and self.step % every == 0:
                checkpoint(self)
            if save is not None and save_every and self.step % save_every == 0:
                save(self)
        return None

    def _log_progress(self, log, elapsed: float, done: int, running: dict[str, list[float]]) -> None:
        eta = elapsed / done * (self.config.end - self.step)
        means = " ".join(f"{t}={np.mean(v):.3f}" for t, v in sorted(running.items()))
        log(
            f"step {self.step}/{self.config.steps} {elapsed:.0f}s eta {eta:.0f}s lr {self.lr_at(self.step):.2e} | {means}"
        )
