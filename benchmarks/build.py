"""Random-weight pipelines at the shapes of a size preset, built in-process (no downloads)."""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import torch
from diffusers import AutoencoderKL, FlowMatchEulerDiscreteScheduler
from transformers import T5Config, T5EncoderModel, T5Tokenizer

from onediffusion import NextDiT, OneDiffusionPipeline
from onediffusion.tiny import SCHEDULER_CONFIG, train_tokenizer

from .presets import SizePreset


@functools.cache
def tokenizer() -> T5Tokenizer:
    """The tiny checkpoint's sentencepiece T5 tokenizer, trained once per process."""
    with tempfile.TemporaryDirectory() as folder:
        return train_tokenizer(Path(folder) / "tokenizer")


def vae_dtype(dtype: torch.dtype) -> torch.dtype:
    """The VAE's activations overflow in float16; bfloat16 and float32 are safe (as in loading.py)."""
    return torch.float32 if dtype == torch.float16 else dtype


def build_pipeline(size: SizePreset, device: str, dtype: torch.dtype, seed: int = 0) -> OneDiffusionPipeline:
    """A OneDiffusionPipeline with random weights: NextDiT, AutoencoderKL and T5 encoder of the
    preset's shapes, the tiny checkpoint's tokenizer and the published scheduler settings.

    Weights are initialised directly on ``device`` (seconds for the 2.8B stand-in on a GPU), with
    PyTorch's default initialisers; timing does not depend on their values.
    """
    torch.manual_seed(seed)
    tok = tokenizer()
    t5 = {"vocab_size": len(tok), **size.t5}
    with torch.device(device):
        transformer = NextDiT(**size.transformer).to(dtype)
        vae = AutoencoderKL(**size.vae).to(vae_dtype(dtype))
        text_encoder = T5EncoderModel(T5Config(**t5)).to(dtype)
    pipe = OneDiffusionPipeline(
        transformer=transformer.eval(),
        vae=vae.eval(),
        text_encoder=text_encoder.eval(),
        tokenizer=tok,
        scheduler=FlowMatchEulerDiscreteScheduler(**SCHEDULER_CONFIG),
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe
