"""Weight-only int8 against bfloat16: peak memory and step time at full size, error on the medium checkpoint.

    python -m onediffusion.tiny /tmp/full --preset full        # once: the 8 GB stand-in of the published model
    python -m benchmarks.quantization memory /tmp/full --rounds 2 --json benchmarks/results-int8-full-cpu.json
    python -m onediffusion.tiny /tmp/medium --preset medium
    python -m benchmarks.quantization error /tmp/medium --steps 30 --json benchmarks/results-int8-error-medium.json

``memory``: fresh processes taking turns (bfloat16, int8, bfloat16, int8, ...), each loading the checkpoint
(``quantize="int8"`` or not) and running one 256x256 text-to-image request of one step with guidance (the
first, which also reads the weights from disk), then ``--requests`` more, timed. Reported per process: its peak
RSS (``ru_maxrss``: the weights, the runtime and the request), the load time, the first request and the median
of the others; then int8 over bfloat16 (targets of issue 31: peak RSS at most 0.6x, steps not slower).

``error``: one process, the same checkpoint loaded in bfloat16 and in int8, the three cases of
``benchmarks.compare_reference`` (text to image, depth to image, three-view multiview at 256 px, guidance 4,
seed 0), ``||int8 - bf16|| / ||bf16||`` for the decoded images and the final latents, as the golden tests
measure ours against the authors'.
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

GIB = 2**30
MODES = ("bfloat16", "int8")


def rel_err(a, b) -> float:
    import numpy as np

    a, b = (np.asarray(x.float().cpu() if hasattr(x, "float") else x, dtype=np.float64) for x in (a, b))
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def load(folder: Path, mode: str):
    import torch

    from onediffusion import OneDiffusionPipeline

    pipe = OneDiffusionPipeline.from_pretrained(
        folder, torch_dtype=torch.bfloat16, quantize="int8" if mode == "int8" else None
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe


def stage_memory(folder: Path, mode: str, requests: int) -> dict:
    """One process: load, a first request (reads the weights), ``requests`` more; its peak RSS."""
    start = time.perf_counter()
    pipe = load(folder, mode)
    result = {"mode": mode, "load_s": time.perf_counter() - start}
    times = []
    for _ in range(requests + 1):
        start = time.perf_counter()
        case_call(pipe, "t2i256", 1)
        times.append(time.perf_counter() - start)
    result |= {"first_request_s": times[0], "request_s": times[1:], "peak_rss": peak_rss_bytes()}
    result["request_median_s"] = statistics.median(times[1:]) if requests else None
    return result


def memory(folder: Path, rounds: int, requests: int) -> dict:
    runs = []
    for round_ in range(rounds):
        for mode in MODES if round_ % 2 == 0 else MODES[::-1]:
            print(f"[memory] round {round_ + 1}: {mode} ...", file=sys.stderr, flush=True)
            command = [sys.executable, "-m", "benchmarks.quantization", "stage", str(folder), "--mode", mode]
            command += ["--requests", str(requests)]
            done = subprocess.run(command, capture_output=True, text=True)
            if done.returncode:
                raise RuntimeError(f"the {mode} stage failed:\n{done.stderr[-3000:]}")
            runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    by_mode = {mode: [r for r in runs if r["mode"] == mode] for mode in MODES}
    peak = {mode: max(r["peak_rss"] for r in rs) for mode, rs in by_mode.items()}
    step = {mode: statistics.median(t for r in rs for t in r["request_s"]) for mode, rs in by_mode.items() if requests}
    summary = {"peak_rss_gib": {m: p / GIB for m, p in peak.items()}, "peak_ratio": peak["int8"] / peak["bfloat16"]}
    if requests:
        summary |= {"request_median_s": step, "step_ratio": step["int8"] / step["bfloat16"]}
    return {"runs": runs, "summary": summary}


def error(folder: Path, steps: int) -> dict:
    pipes = {mode: load(folder, mode) for mode in MODES}
    results = {}
    for case in ("t2i256", "depth256", "mv3x256"):
        out = {mode: case_call(pipe, case, steps) for mode, pipe in pipes.items()}
        results[case] = {
            "images": rel_err(out["int8"].images, out["bfloat16"].images),
            "latents": rel_err(out["int8"].latents, out["bfloat16"].latents),
        }
        print(f"[error] {case}: {results[case]}", file=sys.stderr, flush=True)
    return results


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("memory", "error", "stage"))
    parser.add_argument("checkpoint", type=Path, help="a checkpoint folder (python -m onediffusion.tiny OUT --preset)")
    parser.add_argument("--rounds", type=int, default=2, help="memory: processes per mode, taking turns")
    parser.add_argument("--requests", type=int, default=2, help="memory: timed 1-step requests after the first")
    parser.add_argument("--steps", type=int, default=30, help="error: denoising steps")
    parser.add_argument("--mode", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)
    if args.what == "stage":
        print(json.dumps(stage_memory(args.checkpoint, args.mode, args.requests)))
        return {}
    if args.what == "memory":
        report = memory(args.checkpoint, args.rounds, args.requests)
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
