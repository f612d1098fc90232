"""Batch runs at scale: items per second, batched against one at a time, and memory over many items.

    python -m benchmarks.batch_throughput --sizes tiny,medium --json benchmarks/results-batch-throughput.json

Everything runs through ``onediffusion.batch``'s own code: its parser (``--batch-size``, ``--steps``,
``--size``), ``load_run`` (the app's loading) and its runner ``process`` (grouping by shape, one pipeline
call per group, PNGs with their settings written). Each measurement is a fresh process on a random
checkpoint of the size preset (``onediffusion.tiny.build_checkpoint``), text to image of N different
prompts of one shape:

- throughput: N = 1, 4, 16 items with ``--batch-size N`` (one call) and ``--batch-size 1`` (N calls);
  after one warm-up item, the runner is timed ``--repeats`` times into fresh folders (the median counts);
  loading is reported apart.
- memory: 200 tiny items one at a time; a thread samples the process's RSS every 2 ms and the runner's
  progress bar (which ``process`` updates after each item) closes each item's window, so every item has
  its peak RSS. Flat memory: the first 20 items' mean equals the last 20's, and the slope is about zero.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

SIZES = {"tiny": "64x64", "medium": "128x128"}  # one shape per size: the tiny's native side, a small medium
COUNTS = (1, 4, 16)
MEMORY_ITEMS = 200
EDGE = 20  # items averaged at each end of the memory run
COLOURS = ("red", "blue", "green", "yellow", "orange", "purple", "pink", "teal")
SHAPES = ("cube", "sphere", "cone", "cylinder")


def prompts(count: int) -> str:
    """``count`` different captions of the tiny tokenizer's world, one per line."""
    lines = [f"a {COLOURS[i % 8]} {SHAPES[i // 8 % 4]} on a grey floor, view {i}" for i in range(count)]
    return "\n".join(lines) + "\n"


# In the measuring process ----------------------------------------------------------------------------


def load(config: dict, folder: Path, count: int):
    """``onediffusion.batch``'s run and items for ``count`` prompts, as its command line would make them."""
    from onediffusion import batch

    (folder / "prompts.txt").write_text(prompts(count), encoding="utf-8")
    (folder / "out").mkdir()
    argv = [
        "text2image",
        "--input",
        str(folder / "prompts.txt"),
        "--output",
        str(folder / "out"),
        "--model",
        config["model"],
        "--steps",
        str(config["steps"]),
        "--size",
        config["size"],
        "--batch-size",
        str(config["batch_size"]),
    ]
    parser = batch.build_parser()
    args = parser.parse_args(argv)
    items = batch.read_items(args.input, args.task, batch._task_options(args, parser), args.seed)
    return batch.load_run(args, config["device"]), items


class Bar:
    """The runner's progress bar (``process`` calls ``update`` after each group, ``write`` on failures),
    closing one memory window per item: the peak RSS a 2 ms sampling thread saw since the last one."""

    def __init__(self, sample_every: float = 0.002):
        self.process = psutil.Process()
        self.peak, self.peaks, self.errors = 0, [], []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, args=(sample_every,), daemon=True)
        self._thread.start()

    def _sample(self, every: float) -> None:
        while not self._stop.wait(every):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def update(self, n: int = 1) -> None:
        rss = self.process.memory_info().rss
        self.peaks += [max(self.peak, rss)] * n
        self.peak = 0

    def write(self, text: str, file=None) -> None:
        self.errors.append(text)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


def throughput(config: dict) -> dict:
    """Load, one warm-up item, then the runner over ``count`` items ``repeats`` times (fresh folders)."""
    from onediffusion import batch

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        run, items = load(config, Path(tmp), config["count"])
        loaded = time.perf_counter() - start
        seconds, bar = [], Bar()
        for repeat in range(config["repeats"] + 1):
            run.output = Path(tmp) / f"out-{repeat}"
            run.output.mkdir()
            start = time.perf_counter()
            lines = batch.process(items[:1] if repeat == 0 else items, run, bar)
            seconds += [time.perf_counter() - start] if repeat else []
            if any(line["status"] != "done" for line in lines):
                raise RuntimeError(f"items failed: {bar.errors}")
        bar.close()
    median = statistics.median(seconds)
    return {**config, "load_s": loaded, "seconds": seconds, "median_s": median, "items_per_s": config["count"] / median}


def memory(config: dict) -> dict:
    """Peak RSS of each of ``count`` items run one at a time: first and last ``EDGE`` means, the slope."""
    from onediffusion import batch

    with tempfile.TemporaryDirectory() as tmp:
        run, items = load({**config, "batch_size": 1}, Path(tmp), config["count"])
        bar = Bar()
        lines = batch.process(items, run, bar)
        bar.close()
    if any(line["status"] != "done" for line in lines):
        raise RuntimeError(f"items failed: {bar.errors}")
    mib = [peak / 2**20 for peak in bar.peaks]
    edge = min(EDGE, len(mib) // 2)
    slope = statistics.linear_regression(range(len(mib)), mib).slope if len(mib) > 1 else 0.0
    return {
        **config,
        "peak_rss_mib": mib,
        "first_mean_mib": statistics.mean(mib[:edge]),
        "last_mean_mib": statistics.mean(mib[-edge:]),
        "edge": edge,
        "slope_kib_per_item": slope * 1024,
        "max_rss_mib": max(mib),
    }


# The command -----------------------------------------------------------------------------------------


def in_fresh_process(kind: str, config: dict, threads: int, timeout: float = 900) -> dict:
    """``kind`` (throughput or memory) of ``config`` in a new Python process with ``threads`` CPU threads;
    its result or its error."""
    code = f"import json, sys; from benchmarks import batch_throughput as b; print(json.dumps(b.{kind}(json.loads(sys.argv[1]))))"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONWARNINGS": "ignore", "OMP_NUM_THREADS": str(threads)}
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run(
        [sys.executable, "-c", code, json.dumps(config)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=root,
    )
    if proc.returncode:
        return {**config, "error": proc.stderr[-3000:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def plan(sizes: list[str], counts: list[int]) -> list[tuple[str, int, int]]:
    """(size, items, batch size): each count batched and one at a time (once for a single item)."""
    return [(size, n, b) for size in sizes for n in counts for b in sorted({n, 1}, reverse=True)]


def measure(args: argparse.Namespace, models: dict[str, str]) -> dict:
    base = {"steps": args.steps, "device": args.device}
    results = []
    for size, count, batch_size in plan(args.sizes, args.counts):
        config = {
            **base,
            "model": models[size],
            "size": SIZES[size],
            "preset": size,
            "count": count,
            "batch_size": batch_size,
            "repeats": args.repeats,
        }
        results.append(in_fresh_process("throughput", config, args.threads))
        print(row(results[-1]), file=sys.stderr, flush=True)
    mem = {**base, "model": models["tiny"], "size": SIZES["tiny"], "preset": "tiny", "count": args.memory_items}
    memory = in_fresh_process("memory", mem, args.threads) if args.memory_items else None
    return {"threads": args.threads, "throughput": results, "memory": memory}


def row(result: dict) -> str:
    if "error" in result:
        return f"| {result['preset']} | {result['count']} | {result['batch_size']} | error: {result['error'][-200:]} |"
    return (
        f"| {result['preset']} | {result['size']} | {result['count']} | {result['batch_size']} | "
        f"{result['median_s']:.2f} | {result['items_per_s']:.2f} | {result['load_s']:.1f} |"
    )


def report(results: dict) -> None:
    print("\n| size | shape | items | --batch-size | runner s (median) | items/s | load s |")
    print("|---|---|---|---|---|---|---|")
    for result in results["throughput"]:
        print(row(result))
    mem = results["memory"]
    if mem and "error" not in mem:
        print(
            f"\nmemory over {mem['count']} tiny items: peak RSS first {mem['edge']} {mem['first_mean_mib']:.1f} MiB, "
            f"last {mem['edge']} {mem['last_mean_mib']:.1f} MiB, slope {mem['slope_kib_per_item']:+.2f} KiB/item, "
            f"max {mem['max_rss_mib']:.1f} MiB"
        )
    elif mem:
        print(f"\nmemory: error: {mem['error'][-500:]}")


def _commit() -> str:
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=root)
    return proc.stdout.strip() or "unknown"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="tiny,medium", type=lambda s: s.split(","), help="of: tiny, medium")
    parser.add_argument("--counts", default=",".join(map(str, COUNTS)), type=lambda s: [int(n) for n in s.split(",")])
    parser.add_argument("--memory-items", type=int, default=MEMORY_ITEMS, help="tiny items of the memory run (0: none)")
    parser.add_argument("--steps", type=int, default=4, help="denoising steps per item")
    parser.add_argument("--repeats", type=int, default=2, help="timed runs per measurement (the median counts)")
    parser.add_argument("--device", default="cpu")
    # One thread by default: on a few shared cores, a second OpenMP thread spins waiting for a busy core
    # (on this 2-core machine under load, 2 threads made a tiny item 15 times slower than 1).
    parser.add_argument("--threads", type=int, default=1, help="CPU threads per measuring process (default: 1)")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args(argv)
    if unknown := set(args.sizes) - set(SIZES):
        parser.error(f"--sizes: {', '.join(sorted(unknown))} is not one of {', '.join(SIZES)}.")
    return args


def main(argv: list[str] | None = None) -> dict:
    from benchmarks.run import machine
    from onediffusion.tiny import build_checkpoint

    args = parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        models = {size: str(build_checkpoint(Path(tmp) / size, size)) for size in {*args.sizes, "tiny"}}
        results = measure(args, models)
    command = "python -m benchmarks.batch_throughput " + " ".join(argv if argv is not None else sys.argv[1:])
    results = {
        "command": command,
        "commit": _commit(),
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": machine(),
        "sizes": {size: SIZES[size] for size in args.sizes},
        **results,
    }
    report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    main()
