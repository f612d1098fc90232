"""benchmarks/gpu_check.sh, checked without a GPU: the plan, every step starting up to its first CUDA call,
the benchmark arguments it passes, and a summary that says what was not measured."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

from benchmarks import gpu_app_request
from benchmarks.run import parse_args

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHON": sys.executable, "CUDA_VISIBLE_DEVICES": ""}
    return subprocess.run(
        ["bash", "benchmarks/gpu_check.sh", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def test_the_dry_run_prints_the_plan_and_every_step_starts(tmp_path):
    done = _run("--dry-run", str(tmp_path / "out"))
    assert done.returncode == 0, done.stdout + done.stderr
    names = ["gpu-tests", "t2i1024-flex", "t2i1024-eager", "t2i1024-compiled", "app-request"]
    assert [line.split()[1] for line in done.stdout.splitlines() if line.startswith("ok")] == names
    limits = [int(line.split("(")[1].split("s)")[0]) for line in done.stdout.splitlines() if "s): " in line]
    assert len(limits) == 5 and sum(limits) <= 8 * 60  # the whole check fits in 8 minutes
    plans = [line.split("): ", 1)[1] for line in done.stdout.splitlines() if "-m benchmarks.run " in line]
    parsed = [parse_args(shlex.split(cmd.split("-m benchmarks.run ", 1)[1])) for cmd in plans]
    assert {(a.device, a.steps, *a.cases, *a.sizes) for a in parsed} == {("cuda", 50, "t2i1024", "full")}
    assert [a.ours for a in parsed] == ["auto", "chunked", "auto"] and parsed[0].offload and parsed[2].compile
    assert not (tmp_path / "out").exists()  # a dry run writes nothing


def test_without_a_gpu_the_real_run_stops_at_once_saying_so(tmp_path):
    done = _run(str(tmp_path / "out"))
    assert done.returncode == 2 and "no CUDA GPU here: run with --dry-run" in done.stderr


def test_the_summary_says_what_was_not_measured(tmp_path):
    lines = gpu_app_request.summary(tmp_path).splitlines()
    assert len(lines) == 3 and all(line.endswith("not measured") for line in lines)
    assert "compute floor" in lines[0] and "plain attention" in lines[1] and "offload" in lines[2]
