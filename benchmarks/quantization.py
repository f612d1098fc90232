"""Weight-only int8 against bfloat16: peak memory and step time at full size, error on the medium checkpoint.

    python -m onediffusion.tiny /tmp/full --preset full        # once: the 8 GB stand-in of the published model
    python -m benchmarks.quantization memory /tmp/full --rounds 2 --json benchmarks/results-int8-full-cpu.json
    python -m onediffusion.tiny /tmp/medium --preset medium
    python -m benchmarks.quantization error /tmp/medium --steps 30 --json benchmarks/results-int8-error-medium.json

Modes: ``bfloat16`` (the unquantized weights in bfloat16), ``int8`` (``quantize="int8"`` in its default dtype
on this machine: float32 on a CPU, bfloat16 on a GPU) and ``int8-bfloat16`` (int8 computing in bfloat16, the
GPU's default, on whatever this runs on).

``memory``: fresh processes taking turns (bfloat16, int8, int8, bfloat16, ...), each loading the checkpoint
and running one 256x256 text-to-image request of one step with guidance (the first, which also reads the
weights from disk), then ``--requests`` more. Reported per process: its peak RSS (``ru_maxrss``: the weights,
the runtime, loading and the requests), the load time, and per request its time and the transformer's
(the step: one forward with guidance batched), the text encoder's and the VAE decoder's; then int8 over
bfloat16 (targets of issue 31: peak RSS at most 0.6x, steps not slower), steps compared over the requests
after the first.

``error``: one process, the three cases of ``benchmarks.compare_reference`` (text to image, depth to image,
three-view multiview at 256 px, guidance 4, seed 0), ``||int8 - ref|| / ||ref||`` for the decoded images and
the final latents, as the golden tests measure ours against the authors': int8 in bfloat16 against bfloat16
(the quantization's own error, a GPU's setting) and int8 in float32 against float32 (a CPU's setting).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from .measure import peak_rss_bytes
from .reference_worker import case_call
from .worker import relative_error

GIB = 2**30
MODES = ("bfloat16", "int8", "int8-bfloat16")


def load(folder: Path, mode: str, dtype=None):
    import torch

    from onediffusion import OneDiffusionPipeline

    quantize = "int8" if mode.startswith("int8") else None
    if dtype is None:
        dtype = None if mode == "int8" else torch.bfloat16  # int8: its default on this machine
    pipe = OneDiffusionPipeline.from_pretrained(folder, torch_dtype=dtype, quantize=quantize)
    pipe.set_progress_bar_config(disable=True)
    return pipe


class Timers:
    """Seconds spent in each network's forward calls, by forward hooks."""

    def __init__(self, networks: dict):
        self.spent: dict[str, float] = {}
        for name, module in networks.items():
            module.register_forward_pre_hook(lambda _m, _a, name=name: self._start(name))
            module.register_forward_hook(lambda _m, _a, _o, name=name: self._stop(name))
        self._started: dict[str, float] = {}

    def _start(self, name):
        self._started[name] = time.perf_counter()

    def _stop(self, name):
        self.spent[name] = self.spent.get(name, 0.0) + time.perf_counter() - self._started.pop(name)

    def take(self) -> dict[str, float]:
        spent, self.spent = self.spent, {}
        return spent


def stage_memory(folder: Path, mode: str, requests: int) -> dict:
    """One process: load, a first request (reads the weights), ``requests`` more; its peak RSS."""
    start = time.perf_counter()
    pipe = load(folder, mode)
    result = {"mode": mode, "dtype": str(pipe.transformer.dtype), "load_s": time.perf_counter() - start}
    timers = Timers({"step": pipe.transformer, "text_encoder": pipe.text_encoder, "vae_decode": pipe.vae.decoder})
    runs = []
    for _ in range(requests + 1):
        start = time.perf_counter()
        case_call(pipe, "t2i256", 1)
        runs.append({"request_s": time.perf_counter() - start, **timers.take()})
    return result | {"requests": runs, "peak_rss": peak_rss_bytes()}


def memory(folder: Path, rounds: int, requests: int, modes: list[str]) -> dict:
    runs = []
    for round_ in range(rounds):
        for mode in modes if round_ % 2 == 0 else modes[::-1]:
            print(f"[memory] round {round_ + 1}: {mode} ...", file=sys.stderr, flush=True)
            command = [sys.executable, "-m", "benchmarks.quantization", "stage", str(folder), "--mode", mode]
            command += ["--requests", str(requests)]
            done = subprocess.run(command, capture_output=True, text=True)
            if done.returncode:
                raise RuntimeError(f"the {mode} stage failed:\n{done.stderr[-3000:]}")
            runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    by_mode = {mode: [r for r in runs if r["mode"] == mode] for mode in modes}
    summary: dict = {"peak_rss_gib": {m: max(r["peak_rss"] for r in rs) / GIB for m, rs in by_mode.items()}}
    if requests:
        for key, name in (("step", "step_median_s"), ("request_s", "request_median_s")):
            summary[name] = {
                m: statistics.median(q[key] for r in rs for q in r["requests"][1:]) for m, rs in by_mode.items()
            }
    for mode in modes[1:]:
        summary[f"{mode}_over_{modes[0]}"] = {
            "peak_rss": summary["peak_rss_gib"][mode] / summary["peak_rss_gib"][modes[0]],
            **({"step": summary["step_median_s"][mode] / summary["step_median_s"][modes[0]]} if requests else {}),
        }
    return {"runs": runs, "summary": summary}


def error(folder: Path, steps: int) -> dict:
    import torch

    pairs = {  # (int8 in a dtype, the same weights unquantized in that dtype)
        "bfloat16": (("int8-bfloat16", torch.bfloat16), ("bfloat16", torch.bfloat16)),
        "float32": (("int8", torch.float32), ("float32", torch.float32)),
    }
    results = {}
    for dtype_name, pair in pairs.items():
        pipes = [load(folder, mode, dtype) for mode, dtype in pair]
        for case in ("t2i256", "depth256", "mv3x256"):
            ours, ref = (case_call(pipe, case, steps) for pipe in pipes)
            row = {
                "images": relative_error(ours.images, ref.images),
                "latents": relative_error(ours.latents, ref.latents),
            }
            results.setdefault(dtype_name, {})[case] = row
            print(f"[error] int8 in {dtype_name}, {case}: {row}", file=sys.stderr, flush=True)
        del pipes
    return results


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("memory", "error", "stage"))
    parser.add_argument("checkpoint", type=Path, help="a checkpoint folder (python -m onediffusion.tiny OUT --preset)")
    parser.add_argument("--rounds", type=int, default=2, help="memory: processes per mode, taking turns")
    parser.add_argument("--requests", type=int, default=2, help="memory: timed 1-step requests after the first")
    parser.add_argument("--steps", type=int, default=30, help="error: denoising steps")
    parser.add_argument("--modes", default="bfloat16,int8", help="memory: the modes, the first the baseline")
    parser.add_argument("--mode", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)
    if args.what == "stage":
        print(json.dumps(stage_memory(args.checkpoint, args.mode, args.requests)))
        return {}
    if args.what == "memory":
        modes = args.modes.split(",")
        if not set(modes) <= set(MODES) or len(modes) < 2:
            parser.error(f"--modes: two or more of {', '.join(MODES)}, comma-separated")
        report = memory(args.checkpoint, args.rounds, args.requests, modes)
        print(json.dumps(report["summary"], indent=1))
    else:
        report = error(args.checkpoint, args.steps)
        print(json.dumps(report, indent=1))
    report = {"command": "python -m benchmarks.quantization " + " ".join(argv or sys.argv[1:]), **report}
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")
    return report


if __name__ == "__main__":
    main()
