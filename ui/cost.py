"""What a run will cost on this device, said before it starts: transformer forwards and the seconds they take.

Seconds come from FLOPs (the NextDiT forward's matrix products: twice its parameters per token, plus the
attention's tokens squared) at the rate this device reached on the runs it has done (``CostModel.record``);
before its first run, at the rate of a matrix product of the model's precision measured once, halved (a model
forward reaches about half a bare product's rate on this project's CPU: benchmarks/RESULTS.md).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import torch

FIRST_GUESS_EFFICIENCY = 0.5
MEMORY = 0.7  # weight of the runs before the last one, in the measured rate


def forward_flop(transformer, tokens: int, batch: int) -> float:
    """FLOPs of one transformer forward over ``batch`` samples of ``tokens`` tokens (text tokens included)."""
    config = transformer.config
    params = sum(p.numel() for p in transformer.parameters())
    linear = 2.0 * params * tokens * batch
    attention = 4.0 * config.depth * config.hidden_size * tokens * tokens * batch  # scores and their product
    return linear + attention


def matmul_rate(device: torch.device, dtype: torch.dtype, side: int = 512) -> float:
    """FLOP/s of a ``side``-square matrix product on ``device`` in ``dtype`` (best of three)."""
    a = torch.randn(side, side, device=device).to(dtype)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        (a @ a).sum().item()
        best = min(best, time.perf_counter() - start)
    return 2.0 * side**3 / max(best, 1e-9)


@dataclass
class CostModel:
    """Seconds per FLOP on this device: measured from runs once there are some, else guessed."""

    seconds_per_flop: float | None = None
    measured: bool = False

    def __post_init__(self):
        self._lock = threading.Lock()

    def record(self, flop: float, seconds: float) -> None:
        """A finished run: its transformer FLOPs and its wall-clock seconds."""
        if flop <= 0 or seconds <= 0:
            return
        rate = seconds / flop
        with self._lock:
            if not self.measured or self.seconds_per_flop is None:
                self.seconds_per_flop, self.measured = rate, True
            else:
                self.seconds_per_flop = MEMORY * self.seconds_per_flop + (1 - MEMORY) * rate

    def seconds(self, flop: float, pipe) -> float:
        if self.seconds_per_flop is None:
            rate = matmul_rate(pipe.transformer.device, pipe.transformer.dtype) * FIRST_GUESS_EFFICIENCY
            self.seconds_per_flop = 1.0 / rate
        return flop * self.seconds_per_flop


def tokens_of(pipe, views: int, height: int, width: int, text_tokens: int = 0) -> int:
    """Image tokens of ``views`` slots of ``height`` x ``width`` px, plus the prompt's."""
    _, ph, pw = pipe.transformer.config.patch_size
    scale = pipe.vae_scale_factor
    return views * (height // scale // ph) * (width // scale // pw) + text_tokens
