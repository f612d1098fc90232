"""Soft-capped attention kernels alone: speed and exactness against the plain "math" path.

    python -m benchmarks.attention --shapes 2x4x4096x24,2x4x2048x96 --block-mib 0.25,1,4,16 --flex

Shapes are B x H x L x d. Every kernel runs in turns with the others (A B C A B C ...) and the
medians are printed with the relative error against a float64 evaluation of the same maths.
``--flex`` adds compiled FlexAttention and reports its compile time separately.
"""

from __future__ import annotations

import argparse
import functools
import json
from pathlib import Path

import torch

from onediffusion.attention import chunked_attention, flex_attention, math_attention

from .measure import interleaved, timed
from .worker import DTYPES


def parse_shape(text: str) -> tuple[int, int, int, int]:
    B, H, L, d = (int(x) for x in text.lower().split("x"))
    return B, H, L, d


def kernels(block_mib: list[float], flex: bool) -> dict:
    fns = {"math": math_attention}
    for mib in block_mib:
        fns[f"chunked {mib:g} MiB"] = functools.partial(chunked_attention, block_bytes=int(mib * (1 << 20)))
    if flex:
        fns["flex (compiled)"] = flex_attention
    return fns


def bench_shape(shape, dtype, device, block_mib: list[float], flex: bool, repeats: int) -> dict:
    g = torch.Generator(device).manual_seed(0)
    q, k, v = (torch.randn(shape, generator=g, device=device).to(dtype) for _ in range(3))
    exact = math_attention(q.double(), k.double(), v.double())
    fns = kernels(block_mib, flex)
    first, errors = {}, {}
    for name, fn in fns.items():
        first[name], out = timed(lambda fn=fn: fn(q, k, v), device)  # flex compiles here
        errors[name] = float((out.double() - exact).norm() / exact.norm())
    times = interleaved({name: functools.partial(fn, q, k, v) for name, fn in fns.items()}, repeats, device)
    base = times["math"].median
    return {
        name: {
            "median_ms": times[name].median * 1e3,
            "min_ms": min(times[name].seconds) * 1e3,
            "speedup_vs_math": base / times[name].median,
            "first_call_s": first[name],
            "relative_error": errors[name],
        }
        for name in fns
    }


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shapes", default="2x4x4096x24,2x4x2048x96")
    p.add_argument("--block-mib", default="0.25,1,4,16")
    p.add_argument("--dtype", default="float32", choices=sorted(DTYPES))
    p.add_argument("--device", default="cpu")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--flex", action="store_true", help="also compiled FlexAttention (slow to compile on CPU)")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: all cores)")
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    blocks = [float(x) for x in args.block_mib.split(",")]
    report = {}
    for text in args.shapes.split(","):
        rows = bench_shape(
            parse_shape(text), DTYPES[args.dtype], torch.device(args.device), blocks, args.flex, args.repeats
        )
        report[text] = rows
        print(f"\n{text} ({args.dtype}, {args.device}, {torch.get_num_threads()} threads, median of {args.repeats})")
        print("| kernel | median ms | min ms | vs math | first call s | rel err |\n|---|---|---|---|---|---|")
        for name, r in rows.items():
            print(
                f"| {name} | {r['median_ms']:.1f} | {r['min_ms']:.1f} | {r['speedup_vs_math']:.2f} "
                f"| {r['first_call_s']:.2f} | {r['relative_error']:.1e} |"
            )
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    main()
