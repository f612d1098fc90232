"""Loading the published folder layout: each component from its subfolder, from disk or the hub.

The checkpoint's ``model_index.json`` names classes from the authors' package, so the components
are loaded by subfolder with known classes instead of through it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from diffusers import AutoencoderKL, FlowMatchEulerDiscreteScheduler
from transformers import T5EncoderModel, T5Tokenizer

SUBFOLDERS = ("transformer", "vae", "text_encoder", "tokenizer", "scheduler")
PUBLISHED_MODEL = "lehduong/OneDiffusion"


class ModelLoadError(RuntimeError):
    """The model could not be found or read; the message says why in plain words."""


def resolve_folder(name_or_path: str | os.PathLike, **hub_kwargs) -> Path:
    """A local folder as is; a hub id downloaded (or taken from the cache) with only the needed files."""
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        missing = [s for s in SUBFOLDERS if not (path / s).is_dir()]
        if missing:
            raise ModelLoadError(f"{path} is not a OneDiffusion folder: it lacks {', '.join(missing)}/.")
        return path
    text = str(name_or_path)
    if path.exists() or text.startswith(("/", ".", "~")) or text.count("/") != 1:
        raise ModelLoadError(f"No model folder at {text!r} (and it is not a hub id like 'owner/name').")
    from huggingface_hub import snapshot_download

    patterns = [f"{s}/*" for s in SUBFOLDERS]
    try:
        return Path(snapshot_download(str(name_or_path), allow_patterns=patterns, **hub_kwargs))
    except Exception as err:  # network, auth, missing repo: all mean "cannot load this model here"
        raise ModelLoadError(f"Could not download {name_or_path!r} from the Hugging Face hub: {err}") from err


def read_studio(folder: Path) -> dict:
    """Optional ``studio.json`` beside the components: settings for checkpoints this project makes
    (``image_side``, the native size of image tasks; defaults for the app; a description). The
    published checkpoint has none, and then the reference's defaults apply."""
    path = Path(folder) / "studio.json"
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ModelLoadError(f"{path} is not valid JSON: {err}") from err


def load_components(name_or_path: str | os.PathLike, torch_dtype: torch.dtype | None = None, **hub_kwargs) -> dict:
    """The five pipeline components, loaded by subfolder. The VAE stays in float32 when the rest is
    float16 (its activations overflow in half precision); bfloat16 is safe for it."""
    folder = resolve_folder(name_or_path, **hub_kwargs)
    dtype = torch_dtype or torch.float32
    vae_dtype = torch.float32 if dtype == torch.float16 else dtype
    from .model import NextDiT  # local import: model.py does not depend on loading

    try:
        return {
            "transformer": NextDiT.from_pretrained(folder, subfolder="transformer", torch_dtype=dtype),
            "vae": AutoencoderKL.from_pretrained(folder, subfolder="vae", torch_dtype=vae_dtype),
            "text_encoder": T5EncoderModel.from_pretrained(folder, subfolder="text_encoder", dtype=dtype),
            "tokenizer": T5Tokenizer.from_pretrained(folder, subfolder="tokenizer"),
            "scheduler": FlowMatchEulerDiscreteScheduler.from_pretrained(folder, subfolder="scheduler"),
        }
    except (OSError, ValueError, KeyError) as err:
        raise ModelLoadError(f"Could not read the model in {folder}: {err}") from err
