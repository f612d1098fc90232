"""The model at full size on CPU: writing, loading and serving a random checkpoint of the published shapes.

    python -m benchmarks.full_size /tmp/onediffusion-full --json benchmarks/results-full-size.json [--keep]

Three fresh processes, one after another, so that each peak RSS is that process's own:
1. write: ``build_checkpoint(OUT, "full")`` (``python -m onediffusion.tiny OUT --preset full``);
2. load: ``OneDiffusionPipeline.from_pretrained(OUT, torch_dtype=torch.bfloat16)``, its wall time and
   peak RSS against the bytes of the weights on disk, then one 256x256 text-to-image request with one
   step (guidance 4, so one transformer call on a batch of 2) in bfloat16, timed;
3. app: ``python app.py --model OUT --device cpu --dtype bfloat16``, asked through ``gradio_client``
   which model it serves (``/model_info``) and for one 256x256 one-step image (``/text_to_image``).
The folder (about 8 GB) is deleted at the end unless ``--keep``. Never write it inside the repository.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from .measure import peak_rss_bytes

ROOT = Path(__file__).resolve().parent.parent
GIB = 2**30


def _rss(field: str = "VmRSS", pid: str = "self") -> int:
    """Bytes of a /proc status field: VmRSS (now) or VmHWM (the peak so far)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def weights_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*.safetensors"))


def stage_write(out: Path, preset: str) -> dict:
    from onediffusion.tiny import build_checkpoint

    start = time.perf_counter()
    build_checkpoint(out, preset)
    return {"write_s": time.perf_counter() - start, "peak_rss": peak_rss_bytes(), "weights_bytes": weights_bytes(out)}


def stage_load(out: Path, preset: str) -> dict:
    import torch

    from onediffusion import OneDiffusionPipeline
    from onediffusion.prompts import DEFAULT_NEGATIVE_PROMPT, task_prompt

    from .presets import CAPTION

    result = {"runtime_rss": _rss(), "weights_bytes": weights_bytes(out)}
    start = time.perf_counter()
    pipe = OneDiffusionPipeline.from_pretrained(out, torch_dtype=torch.bfloat16)
    result |= {"load_s": time.perf_counter() - start, "peak_rss_load": peak_rss_bytes(), "rss_loaded": _rss()}
    result["dtypes"] = sorted(
        {str(p.dtype) for part in (pipe.transformer, pipe.vae, pipe.text_encoder) for p in part.parameters()}
    )
    pipe.set_progress_bar_config(disable=True)
    start = time.perf_counter()
    image = pipe(
        prompt=task_prompt("text2image", CAPTION),
        negative_prompt=DEFAULT_NEGATIVE_PROMPT,
        height=256,
        width=256,
        num_inference_steps=1,
        guidance_scale=4.0,
        generator=torch.Generator().manual_seed(0),
        output_type="np",
    ).images[0]
    result |= {"step_request_s": time.perf_counter() - start, "peak_rss_step": peak_rss_bytes()}
    result["image"] = {"shape": list(image.shape), "finite": bool((image == image).all()), "mean": float(image.mean())}
    return result


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_up(url: str, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the app exited with code {process.returncode} before answering")
        try:
            urllib.request.urlopen(url, timeout=5).close()
            return
        except OSError:
            time.sleep(2)
    raise TimeoutError(f"the app did not answer within {timeout:.0f} s")


def stage_app(out: Path, log: Path, timeout: float = 1200) -> dict:
    """``python app.py --model OUT`` as a user starts it, then one request through gradio_client."""
    from gradio_client import Client

    from .presets import CAPTION

    port = _free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONUNBUFFERED": "1"}
    command = [
        sys.executable,
        "app.py",
        "--model",
        str(out),
        "--device",
        "cpu",
        "--dtype",
        "bfloat16",
        "--port",
        str(port),
    ]
    start = time.perf_counter()
    with log.open("w") as handle:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}/"
        _wait_up(url, process, timeout)
        result = {"command": " ".join(command[1:]), "startup_s": time.perf_counter() - start}
        client = Client(url, verbose=False)
        info = client.predict(api_name="/model_info")
        result["model_info"] = info
        start = time.perf_counter()
        gallery, seed, _ = client.predict(CAPTION, "", "256x256", 1, 4.0, 0, False, 1, api_name="/text_to_image")
        result |= {"request_s": time.perf_counter() - start, "images": len(gallery), "seed": seed}
        result["peak_rss_app"] = _rss("VmHWM", str(process.pid))
        return result
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def _child(stage: str, out: Path, preset: str) -> dict:
    """Run one stage in a fresh Python process; its last stdout line is the stage's JSON."""
    command = [sys.executable, "-m", "benchmarks.full_size", str(out), "--stage", stage, "--preset", preset]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    if done.returncode:
        raise RuntimeError(f"stage {stage} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _report(results: dict) -> None:
    write, load, app = results["write"], results["load"], results["app"]
    weights = load["weights_bytes"]
    print(f"weights on disk: {weights / GIB:.2f} GiB ({weights:,} bytes)")
    print(f"write: {write['write_s']:.0f} s, peak RSS {write['peak_rss'] / GIB:.2f} GiB")
    print(
        f"load:  {load['load_s']:.1f} s, peak RSS {load['peak_rss_load'] / GIB:.2f} GiB = "
        f"{load['peak_rss_load'] / weights:.2f}x the weights (runtime alone {load['runtime_rss'] / GIB:.2f} GiB)"
    )
    print(f"1-step 256x256 request: {load['step_request_s']:.1f} s, peak RSS {load['peak_rss_step'] / GIB:.2f} GiB")
    print(
        f"app: up in {app['startup_s']:.0f} s, serving {app['model_info'].get('model')} "
        f"(fallback: {app['model_info'].get('fallback_reason')}); request {app['request_s']:.1f} s, "
        f"peak RSS {app['peak_rss_app'] / GIB:.2f} GiB"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="folder for the ~8 GB checkpoint (outside the repository)")
    parser.add_argument("--stage", choices=("write", "load"), help=argparse.SUPPRESS)
    parser.add_argument("--preset", default="full", help="the size (onediffusion/sizes.py); tiny to try the script")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--keep", action="store_true", help="keep the checkpoint folder afterwards")
    args = parser.parse_args(argv)
    if args.stage:
        print(json.dumps({"write": stage_write, "load": stage_load}[args.stage](args.out, args.preset)))
        return
    if args.out.resolve().is_relative_to(ROOT):
        parser.error(f"write the checkpoint outside the repository, not in {args.out}")
    try:
        results = {stage: _child(stage, args.out, args.preset) for stage in ("write", "load")}
        results["app"] = stage_app(args.out, args.out.parent / "full-size-app.log")
    finally:
        if not args.keep:
            shutil.rmtree(args.out, ignore_errors=True)
    _report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
