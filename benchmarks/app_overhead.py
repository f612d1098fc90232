"""The app's per-request overhead: the service's text-to-image endpoint against a bare pipeline call.

    python -m benchmarks.app_overhead --json benchmarks/results-app-overhead.json

Both run on the same pipeline object with the same settings (prompt, negative prompt, size,
steps, guidance, seed), taking turns, several times; the overhead is the median of the
endpoint over the median of the bare call, minus one. The endpoint is
``ui.service.Studio.text_to_image``: input checks, the long-prompt check, the run lock and stop
token, a callback per step, then PIL images for the gallery. The model is the tiny random
checkpoint (written to a temporary folder) unless ``--model`` names another folder.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import torch

from onediffusion import OneDiffusionPipeline
from onediffusion.prompts import task_prompt
from onediffusion.tiny import build_tiny_checkpoint

from .measure import Timings, interleaved
from .presets import CAPTION

CONFIGS = {"native": (None, 50), "256px": (256, 20)}  # name: (side, steps); None = the model's native side


def load(model: str | None) -> OneDiffusionPipeline:
    folder = Path(model) if model else build_tiny_checkpoint(Path(tempfile.mkdtemp()) / "tiny")
    pipe = OneDiffusionPipeline.from_pretrained(folder)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def contenders(studio, side: int, steps: int) -> dict:
    """The bare call and the endpoint, doing the same work."""
    pipe, negative = studio.pipe, studio.default_negative_prompt

    def bare():
        generator = torch.Generator("cpu").manual_seed(0)
        return pipe(
            prompt=task_prompt("text2image", CAPTION),
            height=side,
            width=side,
            num_inference_steps=steps,
            guidance_scale=4.0,
            negative_prompt=negative or None,
            generator=generator,
            output_type="pil",
        )

    def app(progress=None):
        return studio.text_to_image(CAPTION, None, f"{side}x{side}", steps, 4.0, 0, False, 1, progress=progress)

    return {"bare pipeline": bare, "app endpoint": app}


def _cpu_seconds(fn) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def measure(studio, side: int, steps: int, repeats: int) -> dict:
    """Wall-clock and CPU-time medians of both, in turns. CPU time (all threads of this process)
    does not count time lost to other processes, so it is the steadier figure on a shared machine."""
    fns = contenders(studio, side, steps)
    for fn in fns.values():
        fn()  # warm-up: prompt encodings cached for both alike
    wall = interleaved(fns, repeats, torch.device("cpu"))
    cpu = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            cpu[name].append(_cpu_seconds(fn))
    result = {"side": side, "steps": steps}
    for key, name in (("bare", "bare pipeline"), ("app", "app endpoint")):
        result[key] = {"wall": wall[name].as_dict(), "cpu": Timings(cpu[name]).as_dict()}
    for clock in ("wall", "cpu"):
        result[f"overhead_{clock}"] = result["app"][clock]["median_s"] / result["bare"][clock]["median_s"] - 1
    return result


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", help="a model folder (default: the tiny random checkpoint)")
    p.add_argument("--repeats", type=int, default=9)
    p.add_argument("--configs", default=",".join(CONFIGS), help=f"from {sorted(CONFIGS)}")
    p.add_argument("--threads", type=int, help="torch CPU threads (1 makes CPU time exact: no spin-waiting)")
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    from ui.service import Studio  # the app is optional for the rest of the benchmarks

    warnings.filterwarnings("ignore", category=UserWarning)
    studio = Studio.for_pipeline(load(args.model))
    report = {
        "command": "python -m benchmarks.app_overhead " + " ".join(argv if argv is not None else sys.argv[1:]),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "load_average": os.getloadavg(),
        "model": args.model or "tiny random checkpoint",
        "threads": torch.get_num_threads(),
        "runs": {},
    }
    print(
        "| config | size | steps | bare wall s | app wall s | overhead (wall) | bare CPU s | app CPU s "
        "| overhead (CPU) |\n|---|---|---|---|---|---|---|---|---|"
    )
    for name in args.configs.split(","):
        side, steps = CONFIGS[name]
        r = measure(studio, side or studio.native_side, steps, args.repeats)
        report["runs"][name] = r
        b, a = r["bare"], r["app"]
        print(
            f"| {name} | {r['side']} | {steps} | {b['wall']['median_s']:.3f} | {a['wall']['median_s']:.3f} "
            f"| {100 * r['overhead_wall']:+.1f}% | {b['cpu']['median_s']:.3f} | {a['cpu']['median_s']:.3f} "
            f"| {100 * r['overhead_cpu']:+.1f}% |"
        )
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    main()
