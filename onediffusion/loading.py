"""Loading the published folder layout: each component from its subfolder, from disk or the hub.

The checkpoint's ``model_index.json`` names classes from the authors' package, so the components
are loaded by subfolder with known classes instead of through it.
"""

from __future__ import annotations

import contextlib
import json
import os
import traceback
from pathlib import Path

import torch
from diffusers import AutoencoderKL, FlowMatchEulerDiscreteScheduler
from safetensors import SafetensorError, safe_open
from transformers import T5Config, T5EncoderModel, T5Tokenizer

from .allocator import steady_heap
from .hub import is_hub_id
from .quantize import KEEP_PRECISION, QUANTIZED_NETWORKS, check_dtype, check_quantize, quantize_network

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
    if path.exists() or not is_hub_id(text):
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


NETWORKS = ("transformer", "vae", "text_encoder")  # the subfolders with weights, checked before loading


def _weights_files(part: Path) -> list[Path]:
    """The safetensors files of one network: the shards its index lists (all must exist), or its files."""
    index = next(iter(sorted(part.glob("*.safetensors.index.json"))), None)
    if index is None:
        return sorted(part.glob("*.safetensors"))
    try:
        shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
    except (OSError, ValueError, KeyError, AttributeError) as err:
        raise ModelLoadError(f"{index} is not a valid shard index ({err}); download it again.") from err
    missing = [name for name in shards if not (part / name).is_file()]
    if missing:
        raise ModelLoadError(
            f"{part / missing[0]} is missing ({len(missing)} of {len(shards)} shards listed in {index.name} absent): "
            "the download is incomplete; download the model again."
        )
    return [part / name for name in shards]


def read_header(path: Path) -> dict[str, list[int]]:
    """Tensor name -> shape from a safetensors file's header. ``safe_open`` reads only the header, and refuses
    a file whose length does not match it: a truncated download fails here, before anything is loaded."""
    try:
        with safe_open(path, "pt") as weights:
            return {key: list(weights.get_slice(key).get_shape()) for key in weights.keys()}
    except SafetensorError as err:
        if "not fully covered" in str(err):  # the header describes more (or fewer) bytes than the file holds
            raise ModelLoadError(
                f"{path} is truncated or damaged: its length does not match its header; download it again."
            ) from err
        raise ModelLoadError(f"{path} is corrupt: it is not a readable safetensors file ({err}).") from err


def expected_shapes(name: str, part: Path) -> dict[str, list[int]]:
    """Tensor name -> shape of the network that ``part/config.json`` describes, built on the meta
    device (no memory, a second or two even at full size)."""
    from .model import NextDiT  # local import: model.py does not depend on loading

    try:
        with torch.device("meta"):
            if name == "text_encoder":
                module = T5EncoderModel(T5Config.from_pretrained(part))
            else:
                cls = NextDiT if name == "transformer" else AutoencoderKL
                module = cls.from_config(cls.load_config(part))
    except (OSError, ValueError, TypeError, KeyError) as err:
        raise ModelLoadError(f"{part / 'config.json'} does not describe a valid {name}: {err}") from err
    return {key: list(tensor.shape) for key, tensor in module.state_dict().items()}


def check_weights(folder: Path) -> None:
    """Every network's weights present, complete, and of the shapes its config makes, read from the
    files' headers only: a bad download fails here with the file's name, before anything is loaded.
    Tensors the config does not know (an older naming the libraries convert) are left to the libraries."""
    for name in NETWORKS:
        part = folder / name
        files = _weights_files(part)
        expected = expected_shapes(name, part) if files else {}
        for path in files:
            for key, shape in read_header(path).items():
                if key in expected and expected[key] != shape:
                    raise ModelLoadError(
                        f"{path} does not match {part / 'config.json'}: {key} is {'x'.join(map(str, shape))} "
                        f"in the file but {'x'.join(map(str, expected[key]))} for that config."
                    )


def _load_part(name: str, folder: Path, load) -> object:
    """One component, or a ModelLoadError naming it. The library's frames are cleared first: they hold
    the half-loaded model, which would otherwise live as long as the error does."""
    try:
        return load()
    except (OSError, ValueError, KeyError, RuntimeError, SafetensorError) as err:
        message = f"Could not read the {name} in {folder / name}: {err}"
        traceback.clear_frames(err.__traceback__)
        raise ModelLoadError(message) from err


_STORED_DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


def header_dtype(path: Path) -> str | None:
    """The safetensors dtype name ("BF16", "F32", ...) of a file's first tensor, from its header; None if the
    file is empty or unreadable (``check_weights`` names what is wrong with it)."""
    try:
        with safe_open(path, "pt") as weights:
            first = next(iter(weights.keys()), None)
            return None if first is None else weights.get_slice(first).get_dtype()
    except (OSError, SafetensorError):
        return None


def stored_dtype(part: Path) -> torch.dtype | None:
    """The dtype a network's weights files hold (their first tensor's), or None."""
    files = _weights_files(part)
    return _STORED_DTYPES.get(header_dtype(files[0])) if files else None


def vae_dtype(dtype: torch.dtype) -> torch.dtype:
    """The VAE's dtype for a pipeline in ``dtype``: float32 for float16 (its activations overflow in half
    precision), and for bfloat16 without a GPU (a CPU without bfloat16 units runs its convolutions about 400
    times slower: a 256 px decode on the medium test model took 92 s against under 0.3 s in float32); else ``dtype``.
    84 M parameters: 168 MB more in float32."""
    if dtype == torch.float16 or (dtype == torch.bfloat16 and not torch.cuda.is_available()):
        return torch.float32
    return dtype


def load_components(
    name_or_path: str | os.PathLike,
    torch_dtype: torch.dtype | None = None,
    quantize: str | None = None,
    **hub_kwargs,
) -> dict:
    """The five pipeline components, loaded by subfolder straight into ``torch_dtype``, after the
    weight files are checked (``check_weights``). The libraries build empty modules and memory-map
    the safetensors files; where a file's dtype is the one asked for, parameters are views of the
    mapping (no float32 copy, no second copy) and are read from disk on first use (benchmarks/RESULTS.md).
    The VAE's dtype: ``vae_dtype``. ``quantize="int8"``: the transformer and text encoder load as views of
    their files in the files' own dtype, then their linear weights go to int8 one at a time and the rest to
    ``torch_dtype`` (``onediffusion.quantize``), with a steady heap (``onediffusion.allocator``)."""
    torch_dtype = check_dtype(quantize, torch_dtype)
    check_quantize(quantize)
    folder = resolve_folder(name_or_path, **hub_kwargs)
    check_weights(folder)
    dtype = torch_dtype or torch.float32
    from .model import NextDiT  # local import: model.py does not depend on loading

    def load_in(name: str) -> torch.dtype:
        return (stored_dtype(folder / name) or dtype) if quantize and name in QUANTIZED_NETWORKS else dtype

    loaders = {
        "transformer": lambda: NextDiT.from_pretrained(
            folder, subfolder="transformer", torch_dtype=load_in("transformer")
        ),
        "vae": lambda: AutoencoderKL.from_pretrained(folder, subfolder="vae", torch_dtype=vae_dtype(dtype)),
        "text_encoder": lambda: T5EncoderModel.from_pretrained(
            folder, subfolder="text_encoder", dtype=load_in("text_encoder")
        ),
        "tokenizer": lambda: T5Tokenizer.from_pretrained(folder, subfolder="tokenizer"),
        "scheduler": lambda: FlowMatchEulerDiscreteScheduler.from_pretrained(folder, subfolder="scheduler"),
    }
    components = {}
    try:
        with steady_heap() if quantize else contextlib.nullcontext():
            for name, load in loaders.items():
                components[name] = _load_part(name, folder, load)
                if quantize and name in QUANTIZED_NETWORKS:
                    keep = KEEP_PRECISION if name == "transformer" else ()
                    components[name] = quantize_network(components[name], dtype, keep)
    except ModelLoadError:
        components.clear()  # the parts loaded so far must not outlive the failure in this frame
        raise
    return components
