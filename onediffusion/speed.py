"""Speed and memory switches for a loaded pipeline: torch.compile, offload, VAE tiling.

    pipe = OneDiffusionPipeline.from_pretrained(path, torch_dtype=torch.bfloat16)
    compile_transformer(pipe)          # regional: each TransformerBlock compiled once, reused 32 times
    enable_low_memory(pipe)            # on a CUDA machine: model CPU offload, VAE tiling

The attention kernel itself is chosen per device by ``attention.resolve_backend`` ("flex" on
CUDA, "chunked" elsewhere); inside a compiled block the flex call is traced into the graph.
"""

from __future__ import annotations

from typing import Literal

import torch

CompileMode = Literal["blocks", "full"]
COMPILE_MODES = ("blocks", "full")


def _transformer(pipe_or_transformer) -> torch.nn.Module:
    return getattr(pipe_or_transformer, "transformer", pipe_or_transformer)


def compile_transformer(pipe_or_transformer, mode: CompileMode = "blocks", **compile_kwargs) -> torch.nn.Module:
    """``torch.compile`` the NextDiT of a pipeline (or a NextDiT) in place; returns the transformer.

    mode "blocks" compiles the repeated ``TransformerBlock`` only (diffusers'
    ``compile_repeated_blocks``): one compile serves every layer, so it costs seconds, not minutes.
    mode "full" compiles the whole forward. ``compile_kwargs`` go to ``torch.compile`` (for
    example ``mode="max-autotune-no-cudagraphs"``; ``fullgraph`` defaults to True for blocks).
    """
    if mode not in COMPILE_MODES:
        raise ValueError(f"`mode` must be one of {COMPILE_MODES}, got {mode!r}.")
    transformer = _transformer(pipe_or_transformer)
    if mode == "blocks":
        transformer.compile_repeated_blocks(**{"fullgraph": True, **compile_kwargs})
    else:
        transformer.compile(**compile_kwargs)
    return transformer


def enable_low_memory(pipe, device: torch.device | str | None = None, vae_tiling: bool = True) -> None:
    """Model CPU offload (each network moved to the accelerator only while it runs, in
    ``pipe.model_cpu_offload_seq`` order) and VAE tiling at every size, not only above 1024 px.

    ``device`` defaults to the machine's accelerator; diffusers refuses offload without one unless
    a device is given explicitly (``device="cpu"`` installs the hooks without moving anything,
    which is how the tests check the offload sequence on a CPU-only machine).
    """
    if device is None:
        pipe.enable_model_cpu_offload()
    else:
        pipe.enable_model_cpu_offload(device=device)
    if vae_tiling:
        pipe.vae.enable_tiling()


__all__ = ["COMPILE_MODES", "compile_transformer", "enable_low_memory"]
