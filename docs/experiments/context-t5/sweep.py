"""Guidance sweep on the validation split: every chosen task at each guidance value, the model
loaded once; writes {task: {metric, baseline, baseline_name, ours_by_guidance}} as JSON.

    PYTHONPATH=. python docs/experiments/context-t5/sweep.py OUT.json [--model M] [--tasks a,b] [--values 1,1.5,...]
"""

import argparse
import json
from pathlib import Path

from onediffusion.evaluate import GUIDANCE, Evaluator
from onediffusion.loading import MINI_MODEL
from onediffusion.pipeline import OneDiffusionPipeline

parser = argparse.ArgumentParser()
parser.add_argument("out")
parser.add_argument("--model", default=None)
parser.add_argument("--tasks", default=None, help="comma-separated subset (default: all)")
parser.add_argument("--values", default="1,1.5,2,3,4.5,6,8")
args = parser.parse_args()
pipe = OneDiffusionPipeline.from_pretrained(Path(args.model) if args.model else MINI_MODEL)
pipe.set_progress_bar_config(disable=True)
chosen = set(args.tasks.split(",")) if args.tasks else None
results = {}
for g in [float(v) for v in args.values.split(",")]:
    evaluator = Evaluator(pipe, split="validation", guidance=dict.fromkeys(GUIDANCE, g))  # every task at g
    for run in evaluator.all():
        if chosen is None or run.__name__ in chosen:
            r = run()
            entry = results.setdefault(r.task, {"metric": r.metric, "baseline": r.baseline,
                                                "baseline_name": r.baseline_name, "ours_by_guidance": {}})  # fmt: skip
            entry["ours_by_guidance"][str(g)] = r.ours
            print(f"guidance {g}: {r.task} {r.ours:.3f} (baseline {r.baseline:.3f})", flush=True)
command = "python docs/experiments/context-t5/sweep.py " + " ".join(
    f"--{k} {v}" for k, v in vars(args).items() if k != "out" and v is not None
)
Path(args.out).write_text(json.dumps({"model": args.model or "shipped OneDiffusion-Mini", "split": "validation",
                                      "command": command, "results": results}, indent=1))  # fmt: skip
