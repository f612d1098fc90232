"""Ours against the authors' code, side by side: the same checkpoint, cases and seeds, runs taking turns.

    python -m onediffusion.tiny /tmp/medium --preset medium          # the medium checkpoint, once
    python -m benchmarks.compare_reference --checkpoint /tmp/medium --reference ~/src/OneDiffusion \\
        --steps 30 --repeats 5 --json benchmarks/results-compare-reference-cpu.json

``--reference`` is a checkout of the authors' repository (its ``onediffusion`` package, whose
``onediffusion.diffusion.pipelines.onediffusion.OneDiffusionPipeline`` their ``inference.py`` uses);
``--reference-python`` the interpreter of an environment with its requirements, if it needs one
(default: this one). Without ``--reference`` the stand-in is our pipeline with the plain "math"
attention, the authors' numerics (as ``benchmarks.run`` compares), and the report says so.

One process tree: this process starts one child per implementation (``benchmarks/reference_worker.py``),
each holding its pipeline loaded once, and asks them in turns, case by case: reference, ours exact
(``pipe`` as loaded), ours cached (``pipe.enable_cache()``, the default preset), rotating which goes first
each round, after one untimed warm-up run each. Cases at 256 px, guidance 4: ``t2i256`` text to image,
``depth256`` depth to image (one target, one condition), ``mv3x256`` three-view multiview (one given
view, two generated: six slots with cameras). Printed: medians and the ratios reference / ours.
Targets (issue 31): cached at least 1.5x faster than the reference on every case, exact at parity or better.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from .run import machine

ROOT = Path(__file__).resolve().parent.parent
WORKER = Path(__file__).resolve().parent / "reference_worker.py"
CASES = ("t2i256", "depth256", "mv3x256")
RUNS = ("reference", "exact", "cached")


class Child:
    """A worker process holding one pipeline; ``time(case, steps, cached)`` is one timed request."""

    def __init__(self, impl: str, args: argparse.Namespace):
        python, path = sys.executable, str(ROOT)
        if impl == "reference":
            python, path = args.reference_python or sys.executable, str(Path(args.reference).resolve())
        command = [python, str(WORKER), "--impl", impl, "--checkpoint", str(args.checkpoint)]
        command += ["--device", args.device, "--dtype", args.dtype]
        if args.threads:
            command += ["--threads", str(args.threads)]
        env = {**os.environ, "PYTHONPATH": path, "HF_HUB_OFFLINE": "1", "PYTHONWARNINGS": "ignore"}
        self.impl = impl
        self.process = subprocess.Popen(
            command, cwd=path, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self._answer()  # {"ready": impl} once loaded

    def _answer(self) -> dict:
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the {self.impl} worker exited with code {self.process.wait()} (its stderr is above)")
        return json.loads(line)

    def time(self, case: str, steps: int, cached: bool = False) -> float:
        self.process.stdin.write(json.dumps({"case": case, "steps": steps, "cached": cached}) + "\n")
        self.process.stdin.flush()
        return self._answer()["seconds"]

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=60)


def compare(children: dict[str, Child], cases: list[str], steps: int, repeats: int) -> dict:
    """Per case: every run's times (warm-up first, untimed), in turns whose order rotates each round."""
    results = {}
    calls = {
        "reference": lambda case: children["reference"].time(case, steps),
        "exact": lambda case: children["ours"].time(case, steps),
        "cached": lambda case: children["ours"].time(case, steps, cached=True),
    }
    for case in cases:
        print(f"[{case}] warm-up ...", file=sys.stderr, flush=True)
        for run in RUNS:
            calls[run](case)
        times: dict[str, list[float]] = {run: [] for run in RUNS}
        for round_ in range(repeats):
            order = RUNS[round_ % 3 :] + RUNS[: round_ % 3]
            for run in order:
                times[run].append(calls[run](case))
            print(f"[{case}] round {round_ + 1}/{repeats}: {times}", file=sys.stderr, flush=True)
        medians = {run: statistics.median(ts) for run, ts in times.items()}
        results[case] = {
            "seconds": times,
            "median_s": medians,
            "exact_speedup": medians["reference"] / medians["exact"],
            "cached_speedup": medians["reference"] / medians["cached"],
        }
    return results


def table(results: dict, reference: str) -> str:
    rows = [
        f"reference: {reference}",
        "| case | reference s | ours exact s | ours cached s | reference / exact | reference / cached |",
        "|---|---|---|---|---|---|",
    ]
    for case, r in results.items():
        m = r["median_s"]
        rows.append(
            f"| {case} | {m['reference']:.2f} | {m['exact']:.2f} | {m['cached']:.2f} "
            f"| {r['exact_speedup']:.2f} | {r['cached_speedup']:.2f} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", type=Path, required=True, help="a checkpoint folder in the published layout")
    parser.add_argument(
        "--reference", type=Path, help="a checkout of the authors' repository (default: 'math' stand-in)"
    )
    parser.add_argument("--reference-python", help="the interpreter for the reference (default: this one)")
    parser.add_argument("--cases", default=",".join(CASES), help=f"comma-separated, from {CASES}")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds per case (after one warm-up)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="float32", choices=("float32", "bfloat16", "float16"))
    parser.add_argument("--threads", type=int, help="torch CPU threads in each worker")
    parser.add_argument("--json", type=Path, help="write all results here")
    args = parser.parse_args(argv)
    cases = args.cases.split(",")
    if unknown := [c for c in cases if c not in CASES]:
        parser.error(f"--cases: unknown {unknown}; choose from {CASES}")
    if args.reference is not None and not (args.reference / "onediffusion").is_dir():
        parser.error(
            f"--reference {args.reference}: no onediffusion/ package there; give a checkout of the authors' code"
        )
    reference = str(args.reference.resolve()) if args.reference else "ours with 'math' attention (no --reference)"
    children = {"reference": Child("reference" if args.reference else "math", args), "ours": Child("ours", args)}
    try:
        results = compare(children, cases, args.steps, args.repeats)
    finally:
        for child in children.values():
            child.close()
    report = {
        "command": "python -m benchmarks.compare_reference " + " ".join(argv if argv is not None else sys.argv[1:]),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "reference": reference,
        "settings": {k: str(v) for k, v in vars(args).items()},
        "results": results,
    }
    print(table(results, reference))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    main()
