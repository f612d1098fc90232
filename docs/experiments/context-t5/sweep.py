"""Guidance sweep on the validation split: every chosen task at each guidance value, the model
loaded once; writes {task: {metric, baseline, baseline_name, ours_by_guidance}} as JSON.

    PYTHONPATH=. python docs/experiments/context-t5/sweep.py OUT.json [--model M] [--tasks a,b] [--values 1,1.5,...]
"""

import argparse
import json
from pathlib import Path

from onediffusion.mini import MINI_MODEL
from onediffusion.mini.evaluate import GUIDANCE, Evaluator
from onediffusion.pipeline import OneDiffusionPipeline


def sweep(pipe, values: list[float], chosen: set[str] | None) -> dict:
    """{task: {metric, baseline, baseline_name, ours_by_guidance}}, every task at each guidance value."""
    results = {}
    for g in values:
        evaluator = Evaluator(pipe, split="validation", guidance=dict.fromkeys(GUIDANCE, g))  # every task at g
        for run in evaluator.all():
            if chosen is None or run.__name__ in chosen:
                r = run()
                entry = {"metric": r.metric, "baseline": r.baseline, "baseline_name": r.baseline_name}
                results.setdefault(r.task, {**entry, "ours_by_guidance": {}})["ours_by_guidance"][str(g)] = r.ours
                print(f"guidance {g}: {r.task} {r.ours:.3f} (baseline {r.baseline:.3f})", flush=True)
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--model", default=None)
    parser.add_argument("--tasks", default=None, help="comma-separated subset (default: all)")
    parser.add_argument("--values", default="1,1.5,2,3,4.5,6,8")
    args = parser.parse_args(argv)
    pipe = OneDiffusionPipeline.from_pretrained(Path(args.model) if args.model else MINI_MODEL)
    pipe.set_progress_bar_config(disable=True)
    chosen = set(args.tasks.split(",")) if args.tasks else None
    results = sweep(pipe, [float(v) for v in args.values.split(",")], chosen)
    options = " ".join(f"--{k} {v}" for k, v in vars(args).items() if k != "out" and v is not None)
    report = {"model": args.model or "shipped OneDiffusion-Mini", "split": "validation"}
    report |= {"command": "python docs/experiments/context-t5/sweep.py " + options, "results": results}
    Path(args.out).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
