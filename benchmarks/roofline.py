"""The transformer step against the machine's own limit: FLOPs, achieved FLOP/s, peak FLOP/s, and where the rest goes.

    python -m benchmarks.roofline --device cpu --sizes medium,full --px 256,512 --dtypes bfloat16,float32 \\
        --repeats 3 --profile --json benchmarks/results-roofline-cpu.json
    python -m benchmarks.roofline --device cuda --sizes medium,full --px 256,512 --dtypes bfloat16,float32 \\
        --repeats 10 --profile --json benchmarks/results-roofline-gpu.json

For each (size, px, dtype) one random-weight NextDiT of the size preset runs the step the pipeline runs
for text to image at px x px with guidance (a batch of 2: negative and positive prompt; a 300-token
caption), inside ``reuse_caption`` as the pipeline does. Reported per step: FLOPs (the project's
counter, ``benchmarks.flops``, without the caption projections that the loop computes once), the
median time, achieved TFLOP/s, and the peak measured in the same run: the median of dense n x n x n
matmuls of the same dtype on the same device (n = 4096 on CPU, 8192 on CUDA). achieved / peak is the
figure that matters. ``--profile`` adds one profiled step (PyTorch profiler) split into labelled
parts: linear layers, self-attention, caption attention, norms (RMS and layer norms), RoPE, adaLN
modulate/gate, and the rest (layout copies, residual adds, embedders); plus the time of every copy op
(``aten::copy_``, ``clone``, ``cat``, ``repeat_interleave``...) wherever it happens.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import functools
import json
import sys
from pathlib import Path

import torch

from onediffusion import model as model_module
from onediffusion.model import NextDiT, RMSNorm
from onediffusion.sizes import SIZES

from .flops import TransformerShape, transformer_flops
from .measure import Timings, matmul_rate, synchronize, timed
from .run import machine
from .worker import DTYPES

CAPTION_TOKENS = 300
PARTS = ("linear", "self_attention", "caption_attention", "norms", "rope", "modulate")
COPY_OPS = ("aten::copy_", "aten::clone", "aten::contiguous", "aten::cat", "aten::stack", "aten::repeat_interleave")


def step_inputs(transformer: NextDiT, px: int, device: torch.device, dtype: torch.dtype, batch: int = 2) -> dict:
    """What the pipeline hands the transformer at one text-to-image step of px x px with guidance."""
    g = torch.Generator().manual_seed(0)
    side = px // 8
    channels, caption = transformer.config.in_channels, transformer.config.caption_channels
    return {
        "samples": torch.randn(batch, 1, channels, side, side, generator=g).to(device, dtype),
        "timesteps": torch.full((batch, 1), 500.0, device=device),
        "encoder_hidden_states": torch.randn(batch, CAPTION_TOKENS, caption, generator=g).to(device, dtype),
        "encoder_attention_mask": torch.ones(batch, CAPTION_TOKENS, dtype=torch.long, device=device),
    }


def step_flops(transformer: NextDiT, inputs: dict) -> int:
    samples = inputs["samples"]
    shape = TransformerShape.from_config(transformer.config)
    tokens = samples[0].numel() // samples.shape[2] // shape.patch
    return transformer_flops(shape, tokens, CAPTION_TOKENS, samples.shape[0], samples.shape[1], caption_kv=False).total


@contextlib.contextmanager
def labelled(transformer: NextDiT):
    """Profiler labels around every part of a step: module hooks for linear layers and norms, wrappers for the
    attention, RoPE and modulation functions the blocks call (restored afterwards)."""
    open_ranges: list = []

    def enter(label):
        def hook(module, args):
            scope = torch.profiler.record_function(label)
            scope.__enter__()
            open_ranges.append(scope)

        return hook

    def leave(module, args, output):
        open_ranges.pop().__exit__(None, None, None)

    handles = []
    for module in transformer.modules():
        label = "linear" if isinstance(module, torch.nn.Linear) else None
        label = "norms" if isinstance(module, (RMSNorm, torch.nn.LayerNorm)) else label
        if label:
            handles += [module.register_forward_pre_hook(enter(label)), module.register_forward_hook(leave)]

    def wrap(fn, label):
        @functools.wraps(fn)
        def run(*args, **kwargs):
            with torch.profiler.record_function(label):
                return fn(*args, **kwargs)

        return run

    functions = {
        "softcapped_attention": "self_attention",
        "caption_attention": "caption_attention",
        "apply_rope": "rope",
        "modulate": "modulate",
        "gated": "modulate",
    }
    saved = {name: getattr(model_module, name) for name in functions}
    for name, label in functions.items():
        setattr(model_module, name, wrap(saved[name], label))
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()
        for name, fn in saved.items():
            setattr(model_module, name, fn)


def profile_step(transformer: NextDiT, inputs: dict, device: torch.device) -> dict:
    """One labelled step under the PyTorch profiler: milliseconds per part, the rest, and all copy ops."""
    activities = [torch.profiler.ProfilerActivity.CPU]
    if device.type == "cuda":
        activities.append(torch.profiler.ProfilerActivity.CUDA)
    with labelled(transformer), torch.profiler.profile(activities=activities) as prof:
        with torch.profiler.record_function("step"):
            transformer(**inputs)
        synchronize(device)
    events = prof.key_averages()

    def total_ms(event) -> float:
        if device.type == "cuda":
            return getattr(event, "device_time_total", 0.0) / 1e3
        return event.cpu_time_total / 1e3

    by_key = {event.key: event for event in events}
    parts = {part: total_ms(by_key[part]) if part in by_key else 0.0 for part in PARTS}
    step = total_ms(by_key["step"]) if "step" in by_key else float("nan")
    copies = {
        op: by_key[op].self_cpu_time_total / 1e3 if device.type == "cpu" else total_ms(by_key[op])
        for op in COPY_OPS
        if op in by_key
    }
    return {"step_ms": step, "parts_ms": parts, "rest_ms": step - sum(parts.values()), "copy_ops_ms": copies}


def measure(
    size: str, px: int, dtype_name: str, device: torch.device, repeats: int, profile: bool, peak_n: int | None = None
) -> dict:
    dtype = DTYPES[dtype_name]
    torch.manual_seed(0)
    with torch.device(device):
        transformer = NextDiT(**SIZES[size].transformer).to(dtype).eval()
    inputs = step_inputs(transformer, px, device, dtype)
    flops = step_flops(transformer, inputs)
    with torch.no_grad(), transformer.reuse_caption():
        first_s, _ = timed(lambda: transformer(**inputs), device)  # also computes the caption's keys and values
        times = Timings([timed(lambda: transformer(**inputs), device)[0] for _ in range(repeats)])
        breakdown = profile_step(transformer, inputs, device) if profile else None
    peak = matmul_rate(device, dtype, n=peak_n or (8192 if device.type == "cuda" else 4096))
    achieved = flops / times.median / 1e12
    return {
        "size": size,
        "px": px,
        "dtype": dtype_name,
        "tokens": (px // 16) ** 2,
        "batch": 2,
        "step_flops": flops,
        "first_step_s": first_s,
        "step": times.as_dict(),
        "achieved_tflops": achieved,
        "peak": peak.as_dict(),
        "achieved_over_peak": achieved / peak.tflops,
        "profile": breakdown,
    }


def table(results: list[dict]) -> str:
    head = "| size | px | dtype | GFLOP/step | step ms | achieved TFLOP/s | peak TFLOP/s | achieved/peak |"
    rows = [head, "|" + "---|" * 8]
    for r in results:
        rows.append(
            f"| {r['size']} | {r['px']} | {r['dtype']} | {r['step_flops'] / 1e9:.1f} | {r['step']['median_s'] * 1e3:.1f} "
            f"| {r['achieved_tflops']:.3f} | {r['peak']['tflops']:.3f} | {r['achieved_over_peak']:.2f} |"
        )
    profiled = [r for r in results if r["profile"]]
    if profiled:
        rows += ["", "| size | px | dtype | step ms (profiled) | " + " | ".join(PARTS) + " | rest | copy ops |"]
        rows.append("|" + "---|" * (len(PARTS) + 6))
        for r in profiled:
            p = r["profile"]
            shares = " | ".join(f"{p['parts_ms'][part] / p['step_ms']:.0%}" for part in PARTS)
            copies = sum(p["copy_ops_ms"].values()) / p["step_ms"]
            rows.append(
                f"| {r['size']} | {r['px']} | {r['dtype']} | {p['step_ms']:.1f} | {shares} "
                f"| {p['rest_ms'] / p['step_ms']:.0%} | {copies:.0%} |"
            )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--sizes", default="medium,full", help=f"comma-separated, from {sorted(SIZES)}")
    parser.add_argument("--px", default="256,512", help="image sides in pixels, comma-separated")
    parser.add_argument("--dtypes", default="bfloat16,float32", help=f"comma-separated, from {sorted(DTYPES)}")
    parser.add_argument("--repeats", type=int, default=3, help="timed steps per case (after one untimed)")
    parser.add_argument("--profile", action="store_true", help="also one profiled step per case, split into parts")
    parser.add_argument("--peak-n", type=int, help="side of the peak-rate matmuls (default: 4096 on CPU, 8192 on CUDA)")
    parser.add_argument("--threads", type=int, help="torch CPU threads")
    parser.add_argument("--json", type=Path, help="write all results here")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    report = {
        "command": "python -m benchmarks.roofline " + " ".join(argv if argv is not None else sys.argv[1:]),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "results": [],
    }
    for size in args.sizes.split(","):
        for px in (int(p) for p in args.px.split(",")):
            for dtype in args.dtypes.split(","):
                print(f"[{size}/{px}/{dtype}] ...", file=sys.stderr, flush=True)
                result = measure(size, px, dtype, device, args.repeats, args.profile, args.peak_n)
                report["results"].append(result)
                if args.json:
                    args.json.write_text(json.dumps(report, indent=1))
    print(table(report["results"]))
    return report


if __name__ == "__main__":
    main()
