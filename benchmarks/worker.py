"""One benchmark case in one process: ours against the plain-attention reference, same weights.

    python -m benchmarks.worker --size tiny --case t2i1024 --device cpu --out result.json

``benchmarks.run`` starts one of these per (size, case), so every case starts from a clean
allocator and peak-memory counters; on CPU it starts two more per case with ``--memory-only``
(one per backend), because a process's peak RSS cannot be reset.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time
import warnings
from dataclasses import asdict, dataclass

import torch
from diffusers.utils import logging as diffusers_logging

from onediffusion.attention import flex_failure, resolve_backend
from onediffusion.speed import COMPILE_MODES, compile_transformer

from .build import build_pipeline, vae_dtype
from .flops import TransformerShape, counted_flops, transformer_flops
from .measure import interleaved, matmul_rate, peak_rss_bytes, rss_bytes, synchronize, timed
from .presets import CASES, SIZES, CasePreset, SizePreset

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
GIB = 1 << 30


@dataclass
class CaseConfig:
    size: str
    case: str
    device: str = "cpu"
    dtype: str = "float32"
    steps: int = 2
    repeats: int = 3
    step_repeats: int = 5
    ours: str = "auto"
    reference: str = "math"
    compile: str | None = None
    compile_mode: str | None = None  # torch.compile's mode, e.g. "max-autotune-no-cudagraphs"
    offload: bool = False
    memory_only: str | None = None  # a backend: run it once and report this process's peak RSS


def capture_step_inputs(pipe, kwargs: dict) -> tuple[float, dict]:
    """Run the pipeline for one step and keep exactly what the transformer was called with."""
    captured: dict = {}

    def hook(module, args, inputs):
        captured.setdefault("inputs", dict(inputs))

    handle = pipe.transformer.register_forward_pre_hook(hook, with_kwargs=True)
    try:
        seconds, _ = timed(lambda: run_pipeline(pipe, {**kwargs, "num_inference_steps": 1}), pipe.device)
    finally:
        handle.remove()
    return seconds, captured["inputs"]


def run_pipeline(pipe, kwargs: dict):
    """A whole request: prompt encoding (cache cleared first), denoising, decoding to PIL."""
    pipe.clear_prompt_cache()
    with warnings.catch_warnings():
        # The stand-in tokenizer splits the default negative prompt past 300 tokens; the encoder
        # reads 300 padded tokens whatever the text, so the cut changes no timing.
        warnings.filterwarnings("ignore", "The prompt is", UserWarning)
        return pipe(**kwargs, generator=torch.Generator().manual_seed(0), output_type="pil")


@contextlib.contextmanager
def attention(pipe, backend: str, eager: bool = False):
    """Run with this self-attention backend; ``eager`` bypasses any torch.compile wrapping."""
    pipe.transformer.set_attention_backend(backend)
    stance = torch.compiler.set_stance("force_eager") if eager else contextlib.nullcontext()
    with stance:
        yield


def relative_error(a, b) -> float:
    """||a - b|| / ||b|| in float64; tensors or arrays."""
    a, b = (torch.as_tensor(x).double().cpu() for x in (a, b))
    return float((a - b).norm() / b.norm())


def token_count(pipe, samples: torch.Tensor) -> int:
    """Image tokens per sample: every slot's latent patches."""
    return samples[0].numel() // samples.shape[2] // TransformerShape.from_config(pipe.transformer.config).patch


def step_flops(pipe, inputs: dict) -> dict:
    """FLOPs of the captured transformer call, by formula (modulation per token or per view)."""
    samples, timesteps = inputs["samples"], inputs["timesteps"]
    B, N = samples.shape[:2]
    shape = TransformerShape.from_config(pipe.transformer.config)
    tokens = token_count(pipe, samples)
    rows = tokens if timesteps.shape == samples.shape else N
    caption = inputs["encoder_hidden_states"].shape[1]
    return transformer_flops(shape, tokens, caption, B, modulation_rows=rows).as_dict()


def side_flops(size: SizePreset, case: CasePreset, texts: int, caption: int) -> dict:
    """FLOPs of the text encoder (once per request) and the VAE (encode conditions, decode targets)."""
    from diffusers import AutoencoderKL
    from transformers import T5Config, T5EncoderModel

    from onediffusion.pipeline import SlotLayout

    layout = SlotLayout.from_slots(case.spec().views)
    h, w = case.height, case.width
    t5 = counted_flops(
        lambda: T5EncoderModel(T5Config(**{"vocab_size": 256, **size.t5})),
        lambda m: m(torch.zeros(texts, caption, dtype=torch.long), attention_mask=torch.ones(texts, caption)),
    )
    decode = counted_flops(
        lambda: AutoencoderKL(**size.vae),
        lambda m: m.decode(torch.zeros(len(layout.image_targets), 16, h // 8, w // 8)),
    )
    n_cond = len(layout.image_conditions)
    encode = (
        counted_flops(lambda: AutoencoderKL(**size.vae), lambda m: m.encode(torch.zeros(n_cond, 3, h, w)))
        if n_cond
        else 0
    )
    return {"text_encoder": t5, "vae_decode": decode, "vae_encode": encode}


def floor_report(flops: dict, steps: int, rate_tflops: float) -> dict:
    """The compute floor: every counted FLOP at the measured matmul rate."""
    step = flops["step"]["total"]
    pipeline = steps * step + sum(flops["side"].values())
    return {
        "matmul_tflops": rate_tflops,
        "step_floor_s": step / (rate_tflops * 1e12),
        "pipeline_flops": pipeline,
        "pipeline_floor_s": pipeline / (rate_tflops * 1e12),
    }


def peak_memory(device: torch.device) -> int:
    return torch.cuda.max_memory_allocated(device) if device.type == "cuda" else peak_rss_bytes()


def reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        synchronize(device)
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def time_steps(pipe, cfg: CaseConfig, inputs: dict, device) -> dict:
    """Transformer-step medians, ours and reference interleaved, and their outputs' difference."""
    outs: dict = {}

    def step(name: str, backend: str, eager: bool):
        def call():
            with attention(pipe, backend, eager), torch.no_grad():
                outs[name] = pipe.transformer(**inputs)

        return call

    fns = {"ours": step("ours", cfg.ours, False), "reference": step("reference", cfg.reference, True)}
    warm = {name: timed(fn, device)[0] for name, fn in fns.items()}  # compiles ours if compiled
    times = interleaved(fns, cfg.step_repeats, device)
    return {
        "first_call_s": warm,
        "ours": times["ours"].as_dict(),
        "reference": times["reference"].as_dict(),
        "speedup": times["reference"].median / times["ours"].median,
        "relative_error": relative_error(outs["ours"], outs["reference"]),
    }


def time_pipeline(pipe, cfg: CaseConfig, kwargs: dict, device) -> dict:
    """Whole-request medians, ours and reference interleaved; peak GPU memory of each."""
    peaks = {"ours": 0, "reference": 0}

    def run(name: str, backend: str, eager: bool):
        def call():
            reset_peak(device)
            with attention(pipe, backend, eager):
                run_pipeline(pipe, kwargs)
            peaks[name] = max(peaks[name], peak_memory(device))

        return call

    times = interleaved(
        {"ours": run("ours", cfg.ours, False), "reference": run("reference", cfg.reference, True)},
        cfg.repeats,
        device,
    )
    result = {name: times[name].as_dict() for name in times}
    result["speedup"] = times["reference"].median / times["ours"].median
    if device.type == "cuda":
        result["peak_memory_gib"] = {name: peak / GIB for name, peak in peaks.items()}
    return result


def time_offload(pipe, cfg: CaseConfig, kwargs: dict, device) -> dict:
    """One request with model CPU offload: its time and peak GPU memory (run last: it moves the models)."""
    pipe.enable_model_cpu_offload(device=device)
    reset_peak(device)
    with attention(pipe, cfg.ours):
        seconds, _ = timed(lambda: run_pipeline(pipe, kwargs), device)
    return {"seconds": seconds, "peak_memory_gib": peak_memory(device) / GIB if device.type == "cuda" else None}


def memory_only(cfg: CaseConfig) -> dict:
    """CPU: this process's peak RSS over one 1-step request with one backend, and the RSS of the
    built models before it (the difference is what the request itself needed)."""
    pipe = build_pipeline(SIZES[cfg.size], cfg.device, DTYPES[cfg.dtype])
    baseline = rss_bytes()
    with attention(pipe, cfg.memory_only):
        run_pipeline(pipe, CASES[cfg.case].pipe_kwargs(1))
    peak = peak_rss_bytes()
    return {"backend": cfg.memory_only, "models_rss_gib": baseline / GIB, "peak_rss_gib": peak / GIB}


def measure_case(cfg: CaseConfig) -> dict:
    """Everything for one (size, case): step and pipeline timings, memory, FLOPs and floor."""
    if cfg.memory_only:
        return {"config": asdict(cfg), "memory": memory_only(cfg)}
    device, dtype = torch.device(cfg.device), DTYPES[cfg.dtype]
    size, case = SIZES[cfg.size], CASES[cfg.case]
    build_s, pipe = timed(lambda: build_pipeline(size, cfg.device, dtype), device)
    kwargs = case.pipe_kwargs(cfg.steps)
    with attention(pipe, cfg.ours):
        first_request_s, inputs = capture_step_inputs(pipe, kwargs)
    compile_s = None
    if cfg.compile:
        compile_transformer(pipe, cfg.compile, **({"mode": cfg.compile_mode} if cfg.compile_mode else {}))
        with torch.no_grad():  # as the pipeline calls it: a graph traced with grad would be traced again
            compile_s, _ = timed(lambda: pipe.transformer(**inputs), device)
    result = {
        "config": asdict(cfg),
        "ours_backend": resolve_backend(cfg.ours, device),
        "vae_dtype": str(vae_dtype(dtype)).removeprefix("torch."),
        "tokens": token_count(pipe, inputs["samples"]),
        "batch": inputs["samples"].shape[0],
        "build_s": build_s,
        "first_request_s": first_request_s,
        "compile_s": compile_s,
        "step": time_steps(pipe, cfg, inputs, device),
        "pipeline": time_pipeline(pipe, cfg, kwargs, device),
    }
    texts, caption = inputs["encoder_hidden_states"].shape[:2]
    result["flops"] = {"step": step_flops(pipe, inputs), "side": side_flops(size, case, texts, caption)}
    result["floor"] = floor_report(result["flops"], cfg.steps, matmul_rate(device, dtype).tflops)
    result["floor"]["pipeline_ratio"] = result["pipeline"]["ours"]["median_s"] / result["floor"]["pipeline_floor_s"]
    result["floor"]["step_ratio"] = result["step"]["ours"]["median_s"] / result["floor"]["step_floor_s"]
    if cfg.offload:
        result["offload"] = time_offload(pipe, cfg, kwargs, device)
    result["flex_failure"] = flex_failure()
    return result


def parse_args(argv: list[str] | None = None) -> tuple[CaseConfig, str]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", required=True, choices=sorted(SIZES))
    p.add_argument("--case", required=True, choices=sorted(CASES))
    p.add_argument("--device", default="cpu")
    p.add_argument("--dtype", default="float32", choices=sorted(DTYPES))
    p.add_argument("--steps", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--step-repeats", type=int, default=5)
    p.add_argument("--ours", default="auto")
    p.add_argument("--reference", default="math")
    p.add_argument("--compile", choices=COMPILE_MODES, default=None)
    p.add_argument("--compile-mode", default=None)
    p.add_argument("--offload", action="store_true")
    p.add_argument("--memory-only", default=None, metavar="BACKEND")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: all cores)")
    p.add_argument("--out", required=True, help="write the result JSON here")
    args = vars(p.parse_args(argv))
    out, threads = args.pop("out"), args.pop("threads")
    if threads:
        torch.set_num_threads(threads)
    return CaseConfig(**args), out


def main(argv: list[str] | None = None) -> None:
    cfg, out = parse_args(argv)
    diffusers_logging.set_verbosity_error()
    start = time.perf_counter()
    result = measure_case(cfg)
    result["wall_s"] = time.perf_counter() - start
    with open(out, "w") as f:
        json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
