"""Write a random tiny OneDiffusion checkpoint in the published folder layout.

    python -m onediffusion.tiny OUT_DIR [--seed 0]

The result loads through ``OneDiffusionPipeline.from_pretrained(OUT_DIR)`` exactly like the
published model: NextDiT, AutoencoderKL, a small T5 encoder (stored in float16) with a
sentencepiece tokenizer trained here on a few captions, and the published scheduler settings.
Every parameter is random and non-trivial, so every path of the network shows in the outputs.
Its images are noise: it exists for tests and for the app when no real model can be loaded.
"""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import sentencepiece as spm
import torch
from diffusers import AutoencoderKL, FlowMatchEulerDiscreteScheduler
from transformers import T5Config, T5EncoderModel, T5Tokenizer

from .model import NextDiT
from .prompts import DEFAULT_NEGATIVE_PROMPT, PALETTE, TASK_TOKENS

SCHEDULER_CONFIG = {
    "base_image_seq_len": 256, "base_shift": 0.5, "max_image_seq_len": 4096, "max_shift": 1.15,
    "num_train_timesteps": 1000, "shift": 3.0, "use_dynamic_shifting": True, "time_shift_type": "exponential",
}  # fmt: skip
# The published model_index.json: which library and class each subfolder holds (informational:
# loading.py loads by subfolder). Checkpoints this project writes carry the same one.
MODEL_INDEX = {
    "_class_name": "OneDiffusionPipeline",
    "transformer": ["onediffusion", "NextDiT"],
    "vae": ["diffusers", "AutoencoderKL"],
    "text_encoder": ["transformers", "T5EncoderModel"],
    "tokenizer": ["transformers", "T5Tokenizer"],
    "scheduler": ["diffusers", "FlowMatchEulerDiscreteScheduler"],
}
TINY_TRANSFORMER = {
    "input_size": (1, 8, 8), "patch_size": (1, 2, 2), "in_channels": 16, "hidden_size": 96, "depth": 2,
    "num_heads": 4, "num_kv_heads": 2, "multiple_of": 32, "caption_channels": 32, "qk_norm": True,
    "model_max_length": 120, "rotary_max_length": 64,
}  # fmt: skip
TINY_VAE = {
    "in_channels": 3, "out_channels": 3, "latent_channels": 16, "block_out_channels": (16, 16, 32, 32),
    "down_block_types": ("DownEncoderBlock2D",) * 4, "up_block_types": ("UpDecoderBlock2D",) * 4,
    "layers_per_block": 1, "norm_num_groups": 8, "sample_size": 64, "scaling_factor": 1.5305,
    "shift_factor": 0.0609, "use_quant_conv": False, "use_post_quant_conv": False,
}  # fmt: skip
TOKENIZER_CONFIG = {
    "tokenizer_class": "T5Tokenizer", "extra_ids": 100, "model_max_length": 512,
    "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>",
}  # fmt: skip
TINY_T5 = {"d_model": 32, "d_kv": 8, "d_ff": 64, "num_layers": 2, "num_heads": 4, "feed_forward_proj": "gated-gelu"}

_CORPUS = [
    "a red cube on a wooden table", "a house with a garden", "a cat sitting on a chair",
    "a woman smiling in a red dress", "a blue sphere on a grey floor", "a green cone left of a yellow cylinder",
    "a photo of a dog running on the beach at sunset", "an astronaut riding a horse on the moon",
    "make the sky purple", "remove the car", "a man with glasses and a beard", "three views of a toy robot",
] + [f"{token} {name} mask boundingbox item img0 img1 img2 img3 {hex_code}" for token in TASK_TOKENS.values()
     for hex_code, name in PALETTE[:4]] + [DEFAULT_NEGATIVE_PROMPT]  # fmt: skip


def train_tokenizer(
    folder: Path, sentences: list[str] = _CORPUS, vocab_size: int = 200, user_defined_symbols: list[str] = ()
) -> T5Tokenizer:
    """A sentencepiece unigram model with T5's special ids (pad 0, eos 1, unk 2), saved as a T5Tokenizer.
    ``user_defined_symbols`` stay whole pieces (task tokens, say)."""
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences * 4), model_writer=model, vocab_size=vocab_size, model_type="unigram",
        pad_id=0, eos_id=1, unk_id=2, bos_id=-1, hard_vocab_limit=False, character_coverage=1.0,
        num_threads=1, minloglevel=2, user_defined_symbols=list(user_defined_symbols),
    )  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "spiece.model").write_bytes(model.getvalue())
    (folder / "tokenizer_config.json").write_text(json.dumps(TOKENIZER_CONFIG, indent=1))
    return T5Tokenizer.from_pretrained(folder)


@torch.no_grad()
def _randomise(module: torch.nn.Module, generator: torch.Generator, std: float = 0.2) -> None:
    """Every parameter random (norm weights around 1), so no path is silently zero or identity."""
    for name, p in module.named_parameters():
        noise = torch.randn(p.shape, generator=generator) * std
        is_norm_weight = name.endswith("weight") and p.ndim == 1
        p.copy_((1.0 + noise) if is_norm_weight else noise * (1.0 / max(1.0, p.shape[-1] ** 0.5) / std * 0.5))


def build_tiny_checkpoint(out: str | Path, seed: int = 0) -> Path:
    """Write the tiny random checkpoint to ``out``; returns the folder."""
    out = Path(out)
    generator = torch.Generator().manual_seed(seed)
    tokenizer = train_tokenizer(out / "tokenizer")

    transformer = NextDiT(**TINY_TRANSFORMER)
    _randomise(transformer, generator)
    transformer.save_pretrained(out / "transformer")

    vae = AutoencoderKL(**TINY_VAE)
    _randomise(vae, generator, std=0.1)
    vae.save_pretrained(out / "vae")

    text_encoder = T5EncoderModel(T5Config(vocab_size=len(tokenizer), **TINY_T5))
    _randomise(text_encoder, generator)
    text_encoder.to(torch.float16).save_pretrained(out / "text_encoder")

    FlowMatchEulerDiscreteScheduler(**SCHEDULER_CONFIG).save_pretrained(out / "scheduler")
    (out / "model_index.json").write_text(json.dumps(MODEL_INDEX, indent=1))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", help="folder to write the checkpoint to")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(build_tiny_checkpoint(args.out, args.seed))


if __name__ == "__main__":
    main()
