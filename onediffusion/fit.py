"""Will the model fit? What it needs (from its weight files' sizes) against what the machine has free.

``plan_fit`` is a pure function: bytes in, a decision out (load it, load it with model CPU offload, or
serve the demo model instead), with the reason and what to run instead in plain words for the banner.
The probes beside it measure the inputs: the weights from a local folder's safetensors files or from the
hub's file listing (a short timeout; unknown when offline), free RAM from /proc/meminfo and the cgroup
limit, free GPU memory from CUDA.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch

from .loading import NETWORKS, PUBLISHED_MODEL, header_dtype, vae_dtype
from .quantize import QUANTIZED_NETWORKS, int8_bytes_per_weight

GIB = 2**30
# Beyond the weights: activations, the VAE decode at 1024 px, the runtime itself (0.46 GiB of the 8.02 GiB
# peak measured at full size on CPU, benchmarks/RESULTS.md), rounded up.
WORKING_FRACTION = 0.15
WORKING_BYTES = 2 * GIB
# A model this large on CPU takes minutes per step: without an explicit ask, the demo model serves instead.
CPU_COMFORT_BYTES = 4 * GIB
# Measured on the project's 2-core CPU machine at full size (benchmarks/RESULTS.md, "the model at full size").
CPU_COST = (
    "on CPU it needs about 8 GB of RAM in bfloat16 (16 GB in float32) and, measured on 2 cores, 2 to 6 minutes "
    "for a single 256x256 step; a 50-step 1024x1024 image takes many hours"
)
CPU_ASK = f"--model {PUBLISHED_MODEL} --device cpu --dtype bfloat16"
_DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "F8_E4M3": 1, "F8_E5M2": 1, "I8": 1, "U8": 1}
_HUB_DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2}

Action = Literal["load", "offload", "demo"]


@dataclass(frozen=True)
class Need:
    """Memory a model takes once loaded in the chosen dtype: all networks, the largest one (what model CPU
    offload keeps on the GPU at a time), and the captioner beside it."""

    total: int
    largest: int
    captioner: int = 0


@dataclass(frozen=True)
class FitDecision:
    """What to do (``action``), why (None when loading as asked needs no word), and what to run instead."""

    action: Action
    reason: str | None = None
    advice: str | None = None


def gb(n: int) -> str:
    return f"{n / 1e9:.1f} GB"


def with_margin(n: int) -> int:
    return int(n * (1 + WORKING_FRACTION)) + WORKING_BYTES


def _plan_cpu(need: Need, free_ram: int | None, explicit: bool) -> FitDecision:
    wanted = with_margin(need.total) + need.captioner
    if free_ram is not None and wanted > free_ram:
        return FitDecision(
            "demo",
            f"it needs about {gb(wanted)} of RAM and this machine has {gb(free_ram)} free",
            "free some memory, use --dtype bfloat16 (half of float32) or --quantize int8 (a quarter), "
            "or run on a GPU (--device cuda).",
        )
    if need.total <= CPU_COMFORT_BYTES:
        return FitDecision("load")
    if not explicit:
        return FitDecision(
            "demo",
            f"there is no GPU here, and this model ({gb(need.total)} of weights) is too slow on CPU to be the default",
            f"to run it on CPU anyway, start with `{CPU_ASK}`: {CPU_COST}.",
        )
    return FitDecision("load", None, f"Running a {gb(need.total)} model on CPU as asked: {CPU_COST}.")


def plan_fit(
    need: Need | None,
    device: str,
    free_ram: int | None,
    free_gpu: int | None,
    offload_requested: bool = False,
    explicit: bool = False,
) -> FitDecision:
    """Load as asked, load with model CPU offload, or fall back to the demo model.

    ``need`` None (sizes unknown, e.g. offline) and ``free_*`` None (not measurable, e.g. ZeroGPU before a
    call) mean "assume it fits". ``explicit``: the user named the model or the device, so a slow CPU run is
    honoured; by default a large model without a GPU gives way to the demo model, the banner saying how to ask.
    """
    if need is None:
        return FitDecision("offload" if offload_requested else "load")
    if not device.startswith("cuda"):
        return _plan_cpu(need, free_ram, explicit)
    whole, part = with_margin(need.total) + need.captioner, with_margin(need.largest) + need.captioner
    if free_gpu is None or (whole <= free_gpu and not offload_requested):
        return FitDecision("offload" if offload_requested else "load")
    ram_holds_all = free_ram is None or with_margin(need.total) <= free_ram
    if part <= free_gpu and ram_holds_all:
        why = None if offload_requested else f"it needs about {gb(whole)} of GPU memory and {gb(free_gpu)} is free"
        return FitDecision("offload", why, None if offload_requested else "Using model CPU offload (slower).")
    where = "GPU memory" if part > free_gpu else "RAM to hold it while offloading"
    return FitDecision(
        "demo",
        f"it needs about {gb(part)} of GPU memory with offload and {gb(whole)} without; "
        f"this machine lacks the {where} ({gb(free_gpu)} free on the GPU)",
        f"free GPU memory, add --quantize int8 (half of bfloat16), or use a larger GPU; or run on CPU: "
        f"`--device cpu --dtype bfloat16` ({CPU_COST}).",
    )


# ---- probes ------------------------------------------------------------------------------------------------


def _loaded_bytes(name: str, stored: int, per: int | None, dtype: torch.dtype, quantize: str | None) -> int:
    """One network's bytes once loaded: ``stored`` bytes of ``per``-byte weights in ``dtype`` (the VAE in
    ``vae_dtype``), or in int8 where ``quantize`` reaches that network (``onediffusion.quantize``)."""
    if not per:
        return stored
    itemsize = (vae_dtype(dtype) if name == "vae" else dtype).itemsize
    if quantize is not None and name in QUANTIZED_NETWORKS:
        return int(stored // per * int8_bytes_per_weight(name, itemsize, per))
    return stored * itemsize // per


def folder_need(folder: Path, dtype: torch.dtype, captioner: int = 0, quantize: str | None = None) -> Need | None:
    """What a local checkpoint needs in ``dtype``: each network's safetensors bytes, scaled from the stored
    dtype to ``dtype`` (bfloat16 files loaded in float32 take twice their size), the transformer and text
    encoder in int8 with ``quantize``."""
    sizes = []
    for name in NETWORKS:
        files = sorted((Path(folder) / name).glob("*.safetensors"))
        stored = sum(f.stat().st_size for f in files)
        per = _DTYPE_BYTES.get(header_dtype(files[0])) if files else None
        sizes.append(_loaded_bytes(name, stored, per, dtype, quantize))
    if not any(sizes):
        return None
    return Need(sum(sizes), max(sizes), captioner)


def hub_need(info, dtype: torch.dtype, captioner: int = 0, quantize: str | None = None) -> Need | None:
    """What a hub model needs in ``dtype``, from ``HfApi().model_info(id, files_metadata=True)``: each
    network's safetensors file sizes; stored as bfloat16 unless the hub's parameter count says otherwise;
    the transformer and text encoder in int8 with ``quantize``."""
    stored = 2
    by_dtype = getattr(getattr(info, "safetensors", None), "parameters", None) or {}
    if by_dtype:
        main = max(by_dtype, key=by_dtype.get)
        stored = _HUB_DTYPE_BYTES.get(main, stored)
    sizes = []
    for name in NETWORKS:
        files = [s for s in info.siblings or [] if s.rfilename.startswith(f"{name}/")]
        size = sum(s.size or 0 for s in files if s.rfilename.endswith(".safetensors"))
        sizes.append(_loaded_bytes(name, size, stored, dtype, quantize))
    return Need(sum(sizes), max(sizes), captioner) if any(sizes) else None


def hub_model_info(repo_id: str, timeout: float):
    """The hub's file listing with sizes, or None when it cannot be had in ``timeout`` seconds."""
    try:
        from huggingface_hub import HfApi

        return HfApi().model_info(repo_id, files_metadata=True, timeout=timeout)
    except Exception:  # offline, unknown repo, auth, timeout: the size is unknown, the loader decides
        return None


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def free_ram(proc: Path = Path("/proc"), cgroup: Path = Path("/sys/fs/cgroup")) -> int | None:
    """Bytes of RAM free for the model: MemAvailable, or less where a cgroup (v2, else v1) limits this process."""
    free = None
    try:
        for line in (proc / "meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                free = int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    for limit_file, usage_file in (
        ("memory.max", "memory.current"),
        ("memory/memory.limit_in_bytes", "memory/memory.usage_in_bytes"),
    ):
        limit, usage = _read_int(cgroup / limit_file), _read_int(cgroup / usage_file)
        if limit is not None and usage is not None and limit < 2**60:  # v1 says "no limit" with a huge number
            left = max(0, limit - usage)
            free = left if free is None else min(free, left)
            break
    return free


def free_gpu(device: str) -> int | None:
    """Free bytes on the CUDA device, or None where it cannot be asked (no CUDA; ZeroGPU before a call)."""
    if not device.startswith("cuda") or os.environ.get("SPACES_ZERO_GPU") or not torch.cuda.is_available():
        return None
    try:
        return int(torch.cuda.mem_get_info(torch.device(device))[0])
    except RuntimeError:
        return None
