"""Clocks, memory gauges and the device's matrix-multiply rate."""

from __future__ import annotations

import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn: Callable[[], object], device: torch.device) -> tuple[float, object]:
    """Wall-clock seconds of ``fn()`` with the device drained before and after; and its result."""
    synchronize(device)
    start = time.perf_counter()
    result = fn()
    synchronize(device)
    return time.perf_counter() - start, result


@dataclass
class Timings:
    """Repeated wall-clock measurements of one thing, in seconds."""

    seconds: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds) if self.seconds else float("nan")

    def as_dict(self) -> dict:
        s = self.seconds
        return {"median_s": self.median, "min_s": min(s, default=float("nan")), "n": len(s), "all_s": s}


def interleaved(fns: dict[str, Callable[[], object]], repeats: int, device: torch.device) -> dict[str, Timings]:
    """Time each function ``repeats`` times, taking turns (A B A B ...), so that load from other
    processes falls on all of them alike; medians are then comparable."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            times[name].append(timed(fn, device)[0])
    return {name: Timings(ts) for name, ts in times.items()}


def rss_bytes() -> int:
    """This process's resident memory now (Linux)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def peak_rss_bytes() -> int:
    """This process's peak resident memory so far (``ru_maxrss`` is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


@dataclass
class MatmulRate:
    dtype: str
    n: int
    tflops: float

    def as_dict(self) -> dict:
        return asdict(self)


def matmul_rate(device: torch.device, dtype: torch.dtype, n: int | None = None, repeats: int = 5) -> MatmulRate:
    """The device's measured dense matmul rate: the median of ``repeats`` n x n x n products
    (n = 8192 on CUDA, 2048 on CPU), after a warm-up."""
    n = n or (8192 if device.type == "cuda" else 2048)
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    timed(lambda: a @ b, device)
    times = Timings([timed(lambda: a @ b, device)[0] for _ in range(repeats)])
    return MatmulRate(str(dtype).removeprefix("torch."), n, 2 * n**3 / times.median / 1e12)
