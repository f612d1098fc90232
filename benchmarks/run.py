"""Time the transformer step, the whole pipeline and peak memory: ours against the plain reference.

    python -m benchmarks.run --device cpu --sizes tiny,medium --cases t2i1024,cond512,mv4x512 \\
        --json benchmarks/results-cpu.json
    python -m benchmarks.run --device cuda --sizes full --cases t2i1024,cond512,mv4x512 \\
        --steps 50 --offload --json benchmarks/results-gpu.json

Each (size, case) runs in a fresh process (``benchmarks.worker``) holding one random-weight
pipeline; in it "ours" (the default attention backend, optionally compiled) and the reference
(the "math" backend: soft-capped scores materialised, the authors' path) take turns on the same
weights and inputs. Printed: a table; written: JSON with every measurement, the FLOP counts, the
compute floor (all counted FLOPs at the measured matmul rate), the machine and the command.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

from .presets import CASES, ISSUE_CASES, SIZES
from .worker import DTYPES

DEFAULTS = {  # per device: dtype, denoising steps, pipeline repeats, step repeats
    "cpu": ("float32", 2, 3, 5),
    "cuda": ("bfloat16", 50, 3, 10),
}


def machine() -> dict:
    info = {
        "host": platform.node(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "load_average": os.getloadavg(),
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name()
        info["gpu_memory_gib"] = torch.cuda.get_device_properties(0).total_memory / (1 << 30)
    return info


def _cpu_model() -> str:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        return next(line.split(":", 1)[1].strip() for line in lines if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor()


def run_worker(args: list[str], timeout: float | None) -> dict:
    """One ``benchmarks.worker`` process; its JSON result, or the error it died with."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        cmd = [sys.executable, "-m", "benchmarks.worker", *args, "--out", str(out)]
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONWARNINGS": "ignore"}
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
        except subprocess.TimeoutExpired:
            return {"error": f"timed out after {timeout} s", "command": cmd}
        if proc.returncode or not out.exists():
            return {"error": proc.stderr[-4000:], "returncode": proc.returncode, "command": cmd}
        return json.loads(out.read_text())


def worker_args(args: argparse.Namespace, size: str, case: str) -> list[str]:
    out = ["--size", size, "--case", case, "--device", args.device, "--dtype", args.dtype]
    out += ["--steps", str(args.steps), "--repeats", str(args.repeats), "--step-repeats", str(args.step_repeats)]
    out += ["--ours", args.ours]
    if args.threads:
        out += ["--threads", str(args.threads)]
    if args.compile:
        out += ["--compile", args.compile]
    if args.compile_mode:
        out += ["--compile-mode", args.compile_mode]
    if args.offload and args.device.startswith("cuda") and case == "t2i1024":
        out += ["--offload"]
    return out


def run_case(args: argparse.Namespace, size: str, case: str) -> dict:
    base = worker_args(args, size, case)
    print(f"[{size}/{case}] timing ...", file=sys.stderr, flush=True)
    result = run_worker(base, args.timeout)
    if args.device == "cpu" and not args.no_memory and "error" not in result:
        result["memory"] = {}
        for name, backend in (("ours", args.ours), ("reference", "math")):
            print(f"[{size}/{case}] peak RSS, {name} ...", file=sys.stderr, flush=True)
            mem = run_worker(base + ["--memory-only", backend], args.timeout)
            result["memory"][name] = mem.get("memory", mem)
    return result


def _fmt(value, spec: str) -> str:
    return "-" if value is None or value != value else format(value, spec)


def table(results: list[dict]) -> str:
    """A markdown table: medians, the reference over ours, memory, the compute floor."""
    head = (
        "| size | case | tokens | step ours ms | step ref ms | step x | pipe ours s | pipe ref s | pipe x "
        "| peak ours GiB | peak ref GiB | floor s | ours/floor | rel err |"
    )
    rows = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in results:
        if "error" in r:
            rows.append(f"| {r['size']} | {r['case']} | error: {r['error'].strip().splitlines()[-1][:80]} |")
            continue
        step, pipe, floor = r["step"], r["pipeline"], r["floor"]
        peaks = _peaks(r)
        rows.append(
            f"| {r['size']} | {r['case']} | {r['tokens']} x{r['batch']} "
            f"| {_fmt(step['ours']['median_s'] * 1e3, '.1f')} | {_fmt(step['reference']['median_s'] * 1e3, '.1f')} "
            f"| {_fmt(step['speedup'], '.2f')} | {_fmt(pipe['ours']['median_s'], '.2f')} "
            f"| {_fmt(pipe['reference']['median_s'], '.2f')} | {_fmt(pipe['speedup'], '.2f')} "
            f"| {_fmt(peaks[0], '.2f')} | {_fmt(peaks[1], '.2f')} | {_fmt(floor['pipeline_floor_s'], '.3f')} "
            f"| {_fmt(floor['pipeline_ratio'], '.2f')} | {_fmt(step['relative_error'], '.1e')} |"
        )
    rows += [_offload_line(r) for r in results if r.get("offload")]
    return "\n".join(rows)


def _offload_line(r: dict) -> str:
    off = r["offload"]
    return (
        f"\n{r['size']}/{r['case']} with model CPU offload: {off['seconds']:.2f} s, "
        f"peak GPU memory {_fmt(off['peak_memory_gib'], '.2f')} GiB"
    )


def _peaks(r: dict) -> tuple[float | None, float | None]:
    if "peak_memory_gib" in r["pipeline"]:
        p = r["pipeline"]["peak_memory_gib"]
        return p["ours"], p["reference"]
    mem = r.get("memory", {})
    return tuple(mem.get(k, {}).get("peak_rss_gib") for k in ("ours", "reference"))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--sizes", default="tiny,medium", help=f"comma-separated, from {sorted(SIZES)}")
    p.add_argument("--cases", default=",".join(ISSUE_CASES), help=f"comma-separated, from {sorted(CASES)}")
    p.add_argument("--dtype", choices=sorted(DTYPES), help="default: float32 on CPU, bfloat16 on CUDA")
    p.add_argument("--steps", type=int, help="denoising steps per request (default: 2 on CPU, 50 on CUDA)")
    p.add_argument("--repeats", type=int, help="timed requests per backend (default 3)")
    p.add_argument("--step-repeats", type=int, help="timed transformer steps per backend (CPU 5, CUDA 10)")
    p.add_argument("--ours", default="auto", help="our attention backend (default: auto)")
    p.add_argument("--compile", choices=("blocks", "full"), help="torch.compile the transformer")
    p.add_argument("--compile-mode", help="torch.compile mode, e.g. max-autotune-no-cudagraphs")
    p.add_argument("--offload", action="store_true", help="CUDA: also one t2i1024 request with model CPU offload")
    p.add_argument("--threads", type=int, help="torch CPU threads in the workers")
    p.add_argument("--no-memory", action="store_true", help="CPU: skip the peak-RSS processes")
    p.add_argument("--timeout", type=float, default=None, help="seconds per worker process")
    p.add_argument("--json", type=Path, help="write all results here")
    args = p.parse_args(argv)
    device = "cuda" if args.device.startswith("cuda") else "cpu"
    dtype, steps, repeats, step_repeats = DEFAULTS[device]
    args.dtype = args.dtype or dtype
    args.steps = args.steps or steps
    args.repeats = args.repeats or repeats
    args.step_repeats = args.step_repeats or step_repeats
    for name, choices in (("sizes", SIZES), ("cases", CASES)):
        values = getattr(args, name).split(",")
        unknown = [v for v in values if v not in choices]
        if unknown:
            p.error(f"--{name}: unknown {unknown}; choose from {sorted(choices)}")
        setattr(args, name, values)
    return args


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    started = datetime.datetime.now(datetime.UTC)
    report = {
        "command": "python -m benchmarks.run " + " ".join(argv if argv is not None else sys.argv[1:]),
        "date": started.isoformat(timespec="seconds"),
        "machine": machine(),
        "settings": {k: v for k, v in vars(args).items() if k != "json" and not callable(v)},
        "results": [],
    }
    for size in args.sizes:
        for case in args.cases:
            result = run_case(args, size, case)
            report["results"].append({"size": size, "case": case, **result})
            if args.json:  # written after every case, so a long run can be read while it goes
                args.json.write_text(json.dumps(report, indent=1, default=str))
    report["minutes"] = (datetime.datetime.now(datetime.UTC) - started).total_seconds() / 60
    print(table(report["results"]))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, default=str))
    return report


if __name__ == "__main__":
    main()
