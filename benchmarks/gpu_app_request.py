"""Two helpers of ``benchmarks/gpu_check.sh``:

    python -m benchmarks.gpu_app_request --device cuda --json OUT/app-request.json   # one app request
    python -m benchmarks.gpu_app_request --summary OUT                                 # the targets, met or not

The app request goes through the studio as the page calls it (load with the fit check, the model turn, the
GPU call, progress, images back) on the tiny checkpoint: it checks the app's path on the device, not speed.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

GB = 1e9
GIB = 2**30
TARGETS = {"floor_ratio": 1.25, "speedup": 1.5, "offload_peak_gb": 16.0}


def app_request(device: str) -> dict:
    from onediffusion.tiny import build_tiny_checkpoint
    from ui.loader import Settings
    from ui.service import Studio

    folder = build_tiny_checkpoint(Path(tempfile.mkdtemp()) / "tiny")
    started = time.perf_counter()
    studio = Studio(Settings(model=str(folder), device=device))
    info = studio.load()
    loaded = time.perf_counter()
    gallery, seed, _ = studio.text_to_image(prompt="a cube", size="64x64", steps=2, seed=1, randomize_seed=False)
    done = time.perf_counter()
    return {
        "model_info": info.as_dict(),
        "load_s": loaded - started,
        "request_s": done - loaded,
        "image_size": list(gallery[0][0].size),
        "seed": seed,
    }


def _read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())["results"][0]
    except (OSError, ValueError, KeyError, IndexError):
        return None


def _verdict(value: float | None, target: float, below: bool) -> str:
    if value is None:
        return "not measured"
    met = value <= target if below else value >= target
    return f"{value:.2f} ({'met' if met else 'MISSED'}; target {'<=' if below else '>='} {target})"


def summary(out: Path) -> str:
    """The three GPU targets from the step's JSON files, and the other figures the check collects."""
    flex, eager, compiled = (_read(out / f"t2i1024-{n}.json") for n in ("flex", "eager", "compiled"))
    ratio = flex["floor"]["pipeline_ratio"] if flex else None
    speedup = flex["pipeline"]["speedup"] if flex else None
    offload = flex.get("offload", {}).get("peak_memory_gib") if flex else None
    lines = [
        f"1024x1024, 50 steps, guidance, full size, bf16: ours / compute floor = {_verdict(ratio, 1.25, True)}",
        f"ours against plain attention: speedup = {_verdict(speedup, 1.5, False)}",
        f"peak GPU memory with offload, GB = {_verdict(offload * GIB / GB if offload else None, 16.0, True)}",
    ]
    if flex:
        lines.append(
            f"seconds per request: ours {flex['pipeline']['ours']['median_s']:.2f}, "
            f"plain {flex['pipeline']['reference']['median_s']:.2f}; peak GiB without offload "
            f"{flex['pipeline'].get('peak_memory_gib')}"
        )
    if eager:
        lines.append(f"eager chunked attention (the ZeroGPU path): {eager['pipeline']['ours']['median_s']:.2f} s")
    if compiled:
        lines.append(f"first-call compile (blocks): {compiled['compile_s']:.1f} s")
    app = out / "app-request.json"
    if app.is_file():
        lines.append(f"app request: {json.loads(app.read_text())}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.gpu_app_request", description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--json", type=Path, help="write the app request's figures here")
    parser.add_argument("--summary", type=Path, metavar="OUT", help="print the targets from OUT's JSON files")
    args = parser.parse_args(argv)
    if args.summary:
        print(summary(args.summary))
        return
    result = app_request(args.device)
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
