"""Weights in 8 bits where memory is short: weight-only int8 for the transformer and the text encoder.

    pipe = OneDiffusionPipeline.from_pretrained(path, torch_dtype=torch.bfloat16, quantize="int8")

torchao's ``Int8WeightOnlyConfig`` through the libraries' own quantization configs (diffusers'
``TorchAoConfig`` for NextDiT, transformers' for T5): each linear layer's weight is stored as int8 with
one scale per output channel and multiplied in the activations' dtype, so the two large networks take
half their bfloat16 memory. The VAE is left as it is (84 M parameters, convolutions). Small layers
that carry the timestep and caption into every block (the embedders, the final layer) stay in full
precision: a few MB, and they set every token's modulation.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging

import torch

QUANTIZE_CHOICES = ("int8",)
TORCHAO_PIN = "torchao==0.18.0"
# Kept in the load dtype: small, and every token's modulation goes through them.
KEEP_PRECISION = ["x_embedder", "t_embedder", "y_embedder", "final_layer"]
QUANTIZED_NETWORKS = ("transformer", "text_encoder")
# Bytes per weight of a quantized network, as the fit check counts it (onediffusion.fit): one int8 byte, a
# scale per output channel, and the few layers kept in bfloat16 (KEEP_PRECISION), rounded up.
INT8_BYTES_PER_WEIGHT = 1.02
_INT8_DEVICES = ("cpu", "cuda")  # where torch has weight-only int8 matmul kernels (aten._weight_int8pack_mm, Triton)


def check_quantize(quantize: str | None, device: str | torch.device | None = None) -> None:
    """Refuse, in one line naming the setting and what to do, a ``quantize`` setting this machine cannot honour:
    an unknown one, torchao missing, or a device without int8 kernels."""
    if quantize is None:
        return
    if quantize not in QUANTIZE_CHOICES:
        raise ValueError(f"`quantize` must be one of {QUANTIZE_CHOICES} or None, got {quantize!r}.")
    if importlib.util.find_spec("torchao") is None:
        raise ValueError(
            f"`quantize={quantize!r}` needs torchao, which is not installed: `pip install {TORCHAO_PIN}`, "
            "or load without quantization."
        )
    kind = torch.device(device).type if device is not None else "cpu"
    if kind not in _INT8_DEVICES:
        raise ValueError(
            f"`quantize={quantize!r}` has no int8 kernels on {kind}: load without quantization, or on "
            f"{' or '.join(_INT8_DEVICES)}."
        )


@contextlib.contextmanager
def _quiet_imports():
    # Importing torchao (and diffusers' torchao quantizer) logs warnings about optional CUDA extensions and
    # tensor classes of older torchao versions: nothing this load uses.
    loggers = [logging.getLogger(name) for name in ("torchao", "diffusers.quantizers.torchao")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def check_dtype(quantize: str | None, torch_dtype: torch.dtype | None) -> torch.dtype | None:
    """The load dtype with ``quantize``: bfloat16 (the default then), the only one the int8 path supports."""
    if quantize is None:
        return torch_dtype
    if torch_dtype not in (None, torch.bfloat16):
        raise ValueError(
            f"`quantize={quantize!r}` runs in bfloat16, got torch_dtype={torch_dtype}: "
            "pass torch_dtype=torch.bfloat16 (--dtype bfloat16), or load without quantization."
        )
    return torch.bfloat16


def quantization_configs(quantize: str | None) -> dict[str, object]:
    """The ``quantization_config`` each network's ``from_pretrained`` takes (none when ``quantize`` is None)."""
    if quantize is None:
        return {}
    check_quantize(quantize)
    with _quiet_imports():
        import diffusers.quantizers.torchao.torchao_quantizer  # noqa: F401
        from diffusers import TorchAoConfig
        from torchao.quantization import Int8WeightOnlyConfig
        from transformers import TorchAoConfig as TransformersTorchAoConfig

        return {
            "transformer": TorchAoConfig(Int8WeightOnlyConfig(), modules_to_not_convert=KEEP_PRECISION),
            "text_encoder": TransformersTorchAoConfig(Int8WeightOnlyConfig()),
        }


__all__ = [
    "INT8_BYTES_PER_WEIGHT",
    "KEEP_PRECISION",
    "QUANTIZED_NETWORKS",
    "QUANTIZE_CHOICES",
    "TORCHAO_PIN",
    "check_dtype",
    "check_quantize",
    "quantization_configs",
]
