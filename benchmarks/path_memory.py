"""Peak memory of long camera paths on OneDiffusion-Mini: frames go to disk as they are made, so a path of 160
views should need no more memory than one of 24 (issue 29's target: within 10% of each other).

    python -m benchmarks.path_memory --json benchmarks/results-path-memory.json

Each view count runs in a fresh process (``--one N``): the Mini loaded, an orbit of N views made with the
paper's anchored sampling (``onediffusion.trajectory.make_path``: frames, MP4, GIF, zip), then the process's
peak resident memory (``ru_maxrss``) and its wall time are printed as JSON.
"""

from __future__ import annotations

import argparse
import datetime
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COUNTS = (24, 80, 160)


def one(views: int, steps: int) -> dict:
    """Make one orbit of ``views`` in this process; its peak RSS and time."""
    import torch

    from onediffusion import OneDiffusionPipeline, camera_paths
    from onediffusion.cameras import Camera
    from onediffusion.mini import MINI_MODEL
    from onediffusion.trajectory import make_path

    torch.set_num_threads(1)
    pipe = OneDiffusionPipeline.from_pretrained(MINI_MODEL)
    pipe.set_progress_bar_config(disable=True)
    loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cameras = camera_paths.orbit(views, 25.0, 2.1, 1.3887)
    photo = ROOT / "assets" / "examples" / "scene_az000.png"
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        result = make_path(
            pipe, photo, cameras, folder, Camera.orbit(0, 25.0, 2.1, 1.3887), "toys", num_inference_steps=steps,
            guidance_scale=1.0,
        )  # fmt: skip
        made = len(result.frames)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "views": views,
        "made": made,
        "steps": steps,
        "seconds": round(time.perf_counter() - start, 1),
        "peak_rss_mib": round(peak / 1024, 1),
        "rss_after_loading_mib": round(loaded / 1024, 1),
    }


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--views", default=",".join(map(str, COUNTS)), help="view counts, comma-separated")
    p.add_argument("--steps", type=int, default=4, help="denoising steps per batch (memory does not depend on it)")
    p.add_argument("--one", type=int, help=argparse.SUPPRESS)  # one count, in this process
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    if args.one:
        print(json.dumps(one(args.one, args.steps)))
        return {}
    runs = []
    for views in (int(v) for v in args.views.split(",")):
        command = [sys.executable, "-m", "benchmarks.path_memory", "--one", str(views), "--steps", str(args.steps)]
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(f"{views} views: peak RSS {runs[-1]['peak_rss_mib']} MiB in {runs[-1]['seconds']} s", flush=True)
    peaks = [r["peak_rss_mib"] for r in runs]
    report = {
        "command": "python -m benchmarks.path_memory " + " ".join(argv if argv is not None else sys.argv[1:]),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "runs": runs,
        "spread": round(max(peaks) / min(peaks) - 1, 4),
    }
    print(f"largest peak over smallest: {100 * report['spread']:+.1f}% (target: within 10%)")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    main()
