"""A stage may start from a published checkpoint folder (transformer/, vae/, text_encoder/, tokenizer/,
model_index.json: what the command writes to --out, and the shipped OneDiffusion-Mini), which has no
training state: its tokenizer, text encoder and VAE become the frozen parts (the scenes are rendered
and encoded with its VAE, as a fresh run does after training its own), and its transformer, the
published EMA, starts both the trained weights and their EMA."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file

from .data import build_store
from .state import Parts, frozen_parts, load_vae, records_digest, render_records, start_from
from .trainer import Trainer

WEIGHTS = "diffusion_pytorch_model.safetensors"


def is_published(path: str | Path) -> bool:
    """A published checkpoint folder: transformer/ and model_index.json, and no training state."""
    path = Path(path)
    has_state = (path / "state.json").is_file() or any(path.glob("step-*"))
    return (path / "transformer").is_dir() and (path / "model_index.json").is_file() and not has_state


def studio_record(folder: Path) -> dict:
    """The checkpoint's studio.json (how it was made), {} where it has none."""
    studio = folder / "studio.json"
    return json.loads(studio.read_text()) if studio.is_file() else {}


def transformer_mismatch(folder: Path, recipe: dict) -> str | None:
    """The first field of the recipe's transformer the checkpoint's config differs in, as a plain line."""
    config = json.loads((folder / "transformer" / "config.json").read_text())
    for name, wanted in recipe.items():
        found = config.get(name)
        if (tuple(found) if isinstance(found, list) else found) != wanted:
            return (
                f"--init-from {folder}: its transformer's {name} is {found!r}, the recipe's is {wanted!r}; "
                "a stage starts only from a checkpoint of the same transformer."
            )
    return None


def load_published_parts(folder: Path, tokenizer_dir: Path, seed: int, scenes: int, log) -> Parts:
    """The checkpoint's tokenizer, text encoder (float32, as training keeps it) and VAE, with the scenes of
    ``seed`` and ``scenes`` rendered and encoded by that VAE."""
    records = render_records(seed, scenes)
    vae = load_vae(folder)
    with torch.no_grad():
        store = build_store(vae, records)
    log(f"rendered {len(records)} scenes and encoded them with the VAE of {folder}")
    data = {"seed": seed, "scenes": scenes, "digest": records_digest(records)}
    return frozen_parts(folder, tokenizer_dir, records, vae, store, data)


def start_from_published(trainer: Trainer, folder: Path) -> None:
    """Transformer and EMA from the checkpoint's transformer; optimiser, step and data fresh."""
    weights = {k: v.float() for k, v in load_file(folder / "transformer" / WEIGHTS).items()}
    start_from(trainer, weights, weights)


def previous_record(folder: Path) -> tuple[list[dict], dict]:
    """studio.json's stages before the checkpoint, and the checkpoint's own record."""
    studio = studio_record(folder)
    record = {"checkpoint": str(folder), **{k: studio.get(k) for k in ("command", "config", "trained_steps")}}
    return studio.get("previous_stages", []), record
