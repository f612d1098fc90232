"""Write a random OneDiffusion checkpoint in the published folder layout.

    python -m onediffusion.tiny OUT_DIR [--seed 0]                  # the tiny test checkpoint
    python -m onediffusion.tiny OUT_DIR --preset full               # the published model's shapes, ~8 GB
    python -m onediffusion.tiny OUT_DIR --preset full --plan        # print what it would write, write nothing

The result loads through ``OneDiffusionPipeline.from_pretrained(OUT_DIR)`` exactly like the
published model: NextDiT, AutoencoderKL, a T5 encoder with a sentencepiece tokenizer trained here
on a few captions, and the published scheduler settings. The shapes come from a size preset
(``onediffusion.sizes``): ``tiny`` (float32, its T5 stored in float16, one file per network) or
``full`` (bfloat16, the transformer and text encoder sharded with ``*.safetensors.index.json`` as
on the hub); ``--max-shard-size`` shards any preset. Every parameter is random and non-trivial, so
every path of the network shows in the outputs. Its images are noise: it exists for tests, for the
app when no real model can be loaded, and for measuring loading at full size.

Memory: each network is built on the meta device, materialised empty in its storage dtype, filled
parameter by parameter and written with ``save_pretrained(max_shard_size=...)`` before the next is
built, so the peak is one network in its storage dtype (the full transformer: 5.3 GB in bfloat16)
plus one shard being serialised; there is never a float32 copy of a bfloat16 model.
"""

from __future__ import annotations

import argparse
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import diffusers
import sentencepiece as spm
import torch
from diffusers import AutoencoderKL, FlowMatchEulerDiscreteScheduler
from huggingface_hub import split_torch_state_dict_into_shards
from transformers import T5Config, T5EncoderModel, T5Tokenizer

from .model import NextDiT
from .prompts import DEFAULT_NEGATIVE_PROMPT, PALETTE, TASK_TOKENS
from .sizes import SIZES, TINY_T5, TINY_TRANSFORMER, TINY_VAE, SizePreset

__all__ = ["TINY_T5", "TINY_TRANSFORMER", "TINY_VAE", "build_checkpoint", "build_tiny_checkpoint", "plan_checkpoint"]

SCHEDULER_CONFIG = {
    "base_image_seq_len": 256, "base_shift": 0.5, "max_image_seq_len": 4096, "max_shift": 1.15,
    "num_train_timesteps": 1000, "shift": 3.0, "use_dynamic_shifting": True, "time_shift_type": "exponential",
}  # fmt: skip
TOKENIZER_CONFIG = {
    "tokenizer_class": "T5Tokenizer", "extra_ids": 100, "model_max_length": 512,
    "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>",
}  # fmt: skip
_CORPUS = (
    [
        "a red cube on a wooden table",
        "a house with a garden",
        "a cat sitting on a chair",
        "a woman smiling in a red dress",
        "a blue sphere on a grey floor",
        "a green cone left of a yellow cylinder",
        "a photo of a dog running on the beach at sunset",
        "an astronaut riding a horse on the moon",
        "make the sky purple",
        "remove the car",
        "a man with glasses and a beard",
        "three views of a toy robot",
    ]
    + [
        f"{token} {name} mask boundingbox item img0 img1 img2 img3 {hex_code}"
        for token in TASK_TOKENS.values()
        for hex_code, name in PALETTE[:4]
    ]
    + [DEFAULT_NEGATIVE_PROMPT]
)


def train_tokenizer(
    folder: Path, sentences: list[str] = _CORPUS, vocab_size: int = 200, user_defined_symbols: list[str] = ()
) -> T5Tokenizer:
    """A sentencepiece unigram model with T5's special ids (pad 0, eos 1, unk 2), saved as a T5Tokenizer.
    ``user_defined_symbols`` stay whole pieces (task tokens, say)."""
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences * 4),
        model_writer=model,
        vocab_size=vocab_size,
        model_type="unigram",
        pad_id=0,
        eos_id=1,
        unk_id=2,
        bos_id=-1,
        hard_vocab_limit=False,
        character_coverage=1.0,
        num_threads=1,
        minloglevel=2,
        user_defined_symbols=list(user_defined_symbols),
    )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "spiece.model").write_bytes(model.getvalue())
    (folder / "tokenizer_config.json").write_text(json.dumps(TOKENIZER_CONFIG, indent=1))
    return T5Tokenizer.from_pretrained(folder)


ONE_FILE = "1000GB"  # a shard limit no network reaches: one weights file, as the published checkpoint has
MODEL_INDEX = {
    "_class_name": "OneDiffusionPipeline",
    "_diffusers_version": diffusers.__version__,
    "scheduler": ["diffusers", "FlowMatchEulerDiscreteScheduler"],
    "text_encoder": ["transformers", "T5EncoderModel"],
    "tokenizer": ["transformers", "T5Tokenizer"],
    "transformer": ["onediffusion", "NextDiT"],
    "vae": ["diffusers", "AutoencoderKL"],
}  # the published checkpoint's class names (tests/data/golden/tiny-onediffusion/model_index.json)


@dataclass(frozen=True)
class Network:
    """One network of the checkpoint: its subfolder, how to build it, its storage dtype and the spread
    of its random weights; ``weights`` names its file (``{suffix}`` is where a shard number goes)."""

    name: str
    build: Callable[[], torch.nn.Module]
    dtype: torch.dtype
    std: float
    weights: str


def networks(preset: SizePreset, vocab_size: int) -> list[Network]:
    """The three networks of ``preset``, in the order their random weights are drawn. The text
    encoder is stored in float16 when the rest is float32, as the published one is."""
    t5 = T5Config(**{"vocab_size": vocab_size, **preset.t5})
    t5_dtype = torch.float16 if preset.dtype == torch.float32 else preset.dtype
    diffusers_weights = "diffusion_pytorch_model{suffix}.safetensors"
    return [
        Network("transformer", lambda: NextDiT(**preset.transformer), preset.dtype, 0.2, diffusers_weights),
        Network("vae", lambda: AutoencoderKL(**preset.vae), preset.dtype, 0.1, diffusers_weights),
        Network("text_encoder", lambda: T5EncoderModel(t5), t5_dtype, 0.2, "model{suffix}.safetensors"),
    ]


def on_meta(network: Network) -> torch.nn.Module:
    """The network with shapes and dtype but no storage: costs no memory at any size."""
    default = torch.get_default_dtype()
    torch.set_default_dtype(network.dtype)  # built in its dtype: no cast afterwards (diffusers warns on casts)
    try:
        with torch.device("meta"):
            return network.build()
    finally:
        torch.set_default_dtype(default)


def shard_plan(module: torch.nn.Module, network: Network, max_shard_size: str) -> dict[str, list[str]]:
    """Weights file -> tensor names, as ``save_pretrained(max_shard_size=...)`` splits them (the same
    huggingface_hub function, tied weights dropped as transformers drops them); works on the meta device."""
    state = module.state_dict()
    if isinstance(module, T5EncoderModel):
        from transformers.modeling_utils import remove_tied_weights_from_state_dict

        state = remove_tied_weights_from_state_dict(state, module)
    split = split_torch_state_dict_into_shards(state, filename_pattern=network.weights, max_shard_size=max_shard_size)
    return split.filename_to_tensors


def plan_checkpoint(
    preset: str | SizePreset = "tiny", max_shard_size: str | None = None, vocab_size: int = 200
) -> dict:
    """What ``build_checkpoint`` writes, without writing or allocating it: per network its config,
    the dtype of its weights, its weights files with their tensor names, every tensor's shape, and the bytes of its weights."""
    preset = SIZES[preset] if isinstance(preset, str) else preset
    limit = max_shard_size or preset.max_shard_size or ONE_FILE
    plan = {}
    for network in networks(preset, vocab_size):
        module = on_meta(network)
        state = module.state_dict()
        files = shard_plan(module, network, limit)
        plan[network.name] = {
            "config": dict(module.config) if isinstance(module, NextDiT | AutoencoderKL) else module.config.to_dict(),
            "dtype": str(network.dtype).removeprefix("torch."),
            "files": files,
            "shapes": {key: tuple(state[key].shape) for names in files.values() for key in names},
            "bytes": sum(state[key].nbytes for names in files.values() for key in names),
        }
    return plan


@torch.no_grad()
def _randomise(module: torch.nn.Module, generator: torch.Generator, std: float = 0.2) -> None:
    """Every parameter random (norm weights around 1), so no path is silently zero or identity. The
    noise is drawn in float32 one parameter at a time and cast into the parameter's own dtype."""
    for name, p in module.named_parameters():
        noise = torch.randn(p.shape, generator=generator).mul_(std)
        if name.endswith("weight") and p.ndim == 1:
            p.copy_(noise.add_(1.0))
        else:
            p.copy_(noise.mul_(1.0 / max(1.0, p.shape[-1] ** 0.5) / std * 0.5))


def write_network(network: Network, folder: Path, generator: torch.Generator, max_shard_size: str) -> None:
    """Build, fill and save one network, then let it go before the next is built."""
    module = on_meta(network).to_empty(device="cpu")
    if hasattr(module, "tie_weights"):
        module.tie_weights()  # to_empty gives tied parameters separate storage: tie them again
    _randomise(module, generator, network.std)
    module.save_pretrained(folder / network.name, max_shard_size=max_shard_size)


def build_checkpoint(
    out: str | Path, preset: str | SizePreset = "tiny", seed: int = 0, max_shard_size: str | None = None
) -> Path:
    """Write a random checkpoint of ``preset``'s shapes to ``out``; returns the folder.
    ``max_shard_size`` (e.g. "2GB", "50KB") overrides the preset's sharding."""
    out = Path(out)
    preset = SIZES[preset] if isinstance(preset, str) else preset
    generator = torch.Generator().manual_seed(seed)
    tokenizer = train_tokenizer(out / "tokenizer")
    for network in networks(preset, len(tokenizer)):
        write_network(network, out, generator, max_shard_size or preset.max_shard_size or ONE_FILE)
    FlowMatchEulerDiscreteScheduler(**SCHEDULER_CONFIG).save_pretrained(out / "scheduler")
    (out / "model_index.json").write_text(json.dumps(MODEL_INDEX, indent=2))
    return out


def build_tiny_checkpoint(out: str | Path, seed: int = 0, max_shard_size: str | None = None) -> Path:
    """Write the tiny random checkpoint to ``out``; returns the folder."""
    return build_checkpoint(out, "tiny", seed, max_shard_size)


def _summary(plan: dict) -> dict:
    return {
        name: {
            "dtype": part["dtype"],
            "files": {file: len(keys) for file, keys in part["files"].items()},
            "bytes": part["bytes"],
        }
        for name, part in plan.items()
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", help="folder to write the checkpoint to")
    parser.add_argument("--preset", default="tiny", choices=sorted(SIZES), help="the shapes (onediffusion/sizes.py)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-shard-size", help='largest weights file, e.g. "2GB" (default: the preset\'s)')
    parser.add_argument("--plan", action="store_true", help="print the files and sizes it would write; write nothing")
    args = parser.parse_args(argv)
    if args.plan:
        print(json.dumps(_summary(plan_checkpoint(args.preset, args.max_shard_size)), indent=1))
        return
    print(build_checkpoint(args.out, args.preset, args.seed, args.max_shard_size))


if __name__ == "__main__":
    main()
