"""What the scripts here share: a Mini's VAE, tokenizer and T5 (``$MINI``, default the shipped one), its
3000 training scenes and 96 validation scenes rendered and encoded once with that VAE (cached as pickles
under $CACHE, default /tmp, named by a hash of the VAE's weights: each Mini's latents are its own)."""

import hashlib
import os
import pickle
from pathlib import Path

from diffusers import AutoencoderKL
from transformers import T5EncoderModel, T5Tokenizer

from onediffusion.mini import MINI_MODEL
from onediffusion.mini.evaluate import VALIDATION
from onediffusion.mini.training.data import build_store, make_record

CACHE = Path(os.environ.get("CACHE", "/tmp"))
MINI = Path(os.environ.get("MINI", MINI_MODEL))


def scenes(name: str, seeds: range, folder: Path = MINI):
    """(records, latent store) of ``seeds``, encoded with ``folder``'s VAE; cached."""
    vae_hash = hashlib.sha1((folder / "vae" / "diffusion_pytorch_model.safetensors").read_bytes()).hexdigest()[:8]
    path = CACHE / f"mini-{name}-{vae_hash}.pkl"
    if not path.exists():
        records = [make_record(seed) for seed in seeds]
        store = build_store(AutoencoderKL.from_pretrained(folder / "vae").eval(), records)
        path.write_bytes(pickle.dumps((records, store)))
    return pickle.loads(path.read_bytes())


def training_scenes():
    return scenes("train3000", range(3000))


def validation_scenes():
    return scenes("val96", range(VALIDATION, VALIDATION + 96))


def text_components(folder: Path = MINI):
    tokenizer = T5Tokenizer.from_pretrained(folder / "tokenizer")
    return tokenizer, T5EncoderModel.from_pretrained(folder / "text_encoder").float()
