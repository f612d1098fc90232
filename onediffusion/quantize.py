"""Weights in 8 bits where memory is short: weight-only int8 for the transformer and the text encoder.

    pipe = OneDiffusionPipeline.from_pretrained(path, quantize="int8")  # float32 on a CPU, bfloat16 with a GPU

torchao's ``Int8WeightOnlyConfig``, applied with torchao's ``quantize_`` one linear layer at a time: each
linear layer's weight is stored as int8 with one scale per output channel and multiplied in the
activations' dtype, so the two large networks take half their bfloat16 memory. The VAE is left as it is
(84 M parameters, convolutions). Small layers that carry the timestep and caption into every block (the
embedders, the final layer) stay in full precision: a few MB, and they set every token's modulation.
Embedding tables (T5's, 5.4% of it) stay as stored, a view of the file of which only the rows of a
prompt's tokens are ever read; their output is cast to the activations' dtype.

The activations' dtype is the load dtype: bfloat16 or float32. Without a GPU the default is float32:
torchao's weight-only matmul widens the int8 weight to the activations' dtype, and a CPU without bfloat16
matrix units multiplies bfloat16 several times slower than float32 (2304x6144 by 512 rows on the 2-core
machine here: 888 ms in bfloat16, 132 ms widened to float32), so int8 in float32 runs at float32's speed in
half of bfloat16's memory (benchmarks/RESULTS.md, "8-bit weights").

Why not the libraries' own quantization configs (diffusers' and transformers' ``TorchAoConfig``, used
before): they read a whole safetensors shard (2 GB of the published files) while quantizing it and load the
second network with the first one's shard still counted, so the full-size stand-in peaked at 6.85 GiB on a
CPU, 0.82x of bfloat16 (benchmarks/RESULTS.md). Here each network loads as a view of its files
(``onediffusion.loading``: nothing read yet), and each weight, once quantized, gives its pages of the file
back (``release_pages``): the peak is the int8 weights and one layer. glibc would put the int8 results
between the freed wide copies and keep the holes (about 1.5 GB at full size), so the load runs under a
fixed mmap threshold and hands the free heap back after (``onediffusion.allocator.steady_heap``).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import importlib.util
import logging
import os
import sys
from collections.abc import Sequence

import torch

QUANTIZE_CHOICES = ("int8",)
TORCHAO_PIN = "torchao==0.18.0"
# Kept in the load dtype: small, and every token's modulation goes through them.
KEEP_PRECISION = ["x_embedder", "t_embedder", "y_embedder", "final_layer"]
QUANTIZED_NETWORKS = ("transformer", "text_encoder")
# The share of each network's weights left unquantized, on the published shapes (``python -m
# onediffusion.tiny OUT --preset full``), rounded up: in the load dtype (KEEP_PRECISION, norms: 0.27% of the
# transformer), and embedding tables as stored (T5's: 5.4%).
KEPT_SHARE = {"transformer": 0.003, "text_encoder": 0.001}
TABLE_SHARE = {"transformer": 0.0, "text_encoder": 0.054}
SCALES_SHARE = 0.01  # one scale per output channel, and rounding
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
    # Importing torchao logs warnings about optional CUDA extensions and tensor classes of older torchao
    # versions: nothing this load uses.
    loggers = [logging.getLogger(name) for name in ("torchao",)]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


INT8_DTYPES = (torch.bfloat16, torch.float32)


def int8_dtype(device: str | torch.device | None = None) -> torch.dtype:
    """What the int8 path computes in by default: bfloat16 on a GPU, float32 on a CPU (see the module's note).
    ``device`` None: a GPU when one is present."""
    kind = torch.device(device).type if device is not None else ("cuda" if torch.cuda.is_available() else "cpu")
    return torch.bfloat16 if kind == "cuda" else torch.float32


def check_dtype(quantize: str | None, torch_dtype: torch.dtype | None) -> torch.dtype | None:
    """The load dtype with ``quantize``: bfloat16 or float32 (the default: ``int8_dtype()``)."""
    if quantize is None:
        return torch_dtype
    if torch_dtype is None:
        return int8_dtype()
    if torch_dtype not in INT8_DTYPES:
        raise ValueError(
            f"`quantize={quantize!r}` runs in bfloat16 or float32, got torch_dtype={torch_dtype}: "
            "pass torch_dtype=torch.float32 on a CPU or torch.bfloat16 on a GPU, or load without quantization."
        )
    return torch_dtype


def int8_bytes_per_weight(network: str, itemsize: int, stored: int) -> float:
    """Bytes a weight of a quantized network takes once loaded, as the fit check counts it (onediffusion.fit):
    one int8 byte, the kept share in the load dtype (``itemsize`` bytes), tables as ``stored``, the scales."""
    return 1 + KEPT_SHARE[network] * itemsize + TABLE_SHARE[network] * stored + SCALES_SHARE


def quantize_network(network: torch.nn.Module, dtype: torch.dtype, keep: Sequence[str] = ()) -> torch.nn.Module:
    """Weight-only int8 for every linear layer of ``network`` outside the modules named in ``keep``, in place;
    everything else in ``dtype`` but embedding tables, left as loaded with their output cast to ``dtype``.
    Each weight's source gives its pages back once replaced (``release_pages``); a weight shared by two layers
    is quantized once and stays shared."""
    check_quantize("int8")
    with _quiet_imports():
        from torchao.quantization import Int8WeightOnlyConfig, quantize_

    config = Int8WeightOnlyConfig()
    done: dict[int, torch.nn.Parameter] = {}  # source data_ptr -> its quantized weight
    tables = [m.weight for m in network.modules() if isinstance(m, torch.nn.Embedding)]
    in_tables = {table.data_ptr() for table in tables}  # a linear layer tied to a table leaves the table's pages
    for name, module in network.named_modules():
        if isinstance(module, torch.nn.Embedding):
            module.register_forward_hook(lambda _m, _args, out: out.to(dtype))
        if not isinstance(module, torch.nn.Linear) or any(name == k or name.startswith(k + ".") for k in keep):
            continue
        source = module.weight.data
        if source.data_ptr() in done:
            module.weight = done[source.data_ptr()]
            continue
        module.weight = torch.nn.Parameter(source.to(dtype), requires_grad=False)
        quantize_(module, config)
        done[source.data_ptr()] = module.weight
        if source.data_ptr() not in in_tables:
            release_pages(source)
    for tensor in [*network.parameters(), *network.buffers()]:
        if type(tensor.data) is torch.Tensor and tensor.is_floating_point() and tensor.dtype != dtype:
            if not any(tensor is table for table in tables):
                source = tensor.data
                tensor.data = source.to(dtype)
                release_pages(source)
    return network


def release_pages(source: torch.Tensor) -> None:
    """Give back the memory pages that lie wholly inside ``source``'s bytes, which nothing reads again: a view
    of a weights file drops what was read of it (the file stays on disk), plain memory is freed early.
    Hand-written with ctypes (Linux's madvise): no library offers it, and without it a network read from a
    2 GB shard keeps all of it in memory until the shard is closed. Elsewhere nothing is done."""
    if not source.is_contiguous() or source.device.type != "cpu" or not sys.platform.startswith("linux"):
        return
    start = source.data_ptr()
    end = start + source.numel() * source.element_size()
    first, last = -(-start // _PAGE) * _PAGE, end // _PAGE * _PAGE
    if last > first:
        _libc().madvise(ctypes.c_void_p(first), ctypes.c_size_t(last - first), _MADV_DONTNEED)


_MADV_DONTNEED = 4  # linux/mman.h
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096  # 4 KiB on x86, up to 64 KiB on arm64


@functools.cache
def _libc():
    libc = ctypes.CDLL(None)
    libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    return libc


__all__ = [
    "INT8_DTYPES",
    "KEEP_PRECISION",
    "KEPT_SHARE",
    "TABLE_SHARE",
    "QUANTIZED_NETWORKS",
    "QUANTIZE_CHOICES",
    "TORCHAO_PIN",
    "check_dtype",
    "check_quantize",
    "int8_bytes_per_weight",
    "int8_dtype",
    "quantize_network",
    "release_pages",
]
