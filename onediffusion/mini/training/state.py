"""Training state folders: everything a stopped run needs to continue bit for bit, or a next stage to start from.

A state root (``--out X`` keeps it in ``X.state``) holds one complete folder, ``step-NNNNNN``:

- ``state.json``: the step, whether the stage finished, the ``TrainConfig``, the data (seed, scene
  count and a digest of the rendered scenes, which are rendered again on loading) and the command's
  record of the run (``studio.json``'s among it); written last, so a folder without it is incomplete;
- ``trainer.pt``: transformer and EMA weights, AdamW state (the learning rate is a function of the step),
  the step, the data sampler's generators, and torch's, numpy's and Python's global generators;
- ``tokenizer/``, ``text_encoder/`` (float32), ``vae/``, ``store.pt``: the frozen parts, the same for
  every folder of a run, so they are hard-linked from the previous folder rather than written again.

A folder is written as ``step-NNNNNN.tmp`` and renamed when complete; the previous one is removed only
after that, so a run killed while saving still leaves a complete folder behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from diffusers import AutoencoderKL
from transformers import T5EncoderModel, T5Tokenizer

from .data import LatentStore, SceneRecord, make_record
from .trainer import Trainer

FROZEN = ("tokenizer", "text_encoder", "vae", "store.pt")


@dataclass
class Parts:
    """What the transformer trains on and does not change: scenes, tokenizer, text encoder, VAE, latents."""

    records: list[SceneRecord]
    tokenizer_dir: Path  # the folder the tokenizer was written to (its files are copied as they are)
    tokenizer: T5Tokenizer
    text_encoder: T5EncoderModel
    vae: AutoencoderKL
    store: LatentStore
    data: dict  # {"seed", "scenes", "digest"}: how the scenes are rendered again, and their fingerprint


def render_records(seed: int, scenes: int) -> list[SceneRecord]:
    return [make_record(seed * 1_000_000 + i) for i in range(scenes)]


def records_digest(records: list[SceneRecord]) -> str:
    digest = hashlib.sha256()
    for record in records:
        digest.update(record.images["rgb"].tobytes())
    return digest.hexdigest()


def folders(root: Path) -> list[Path]:
    """The complete state folders under ``root``, oldest first."""
    return sorted(p for p in Path(root).glob("step-*") if p.is_dir() and (p / "state.json").is_file())


def find_state(path: str | Path) -> Path:
    """A state folder itself, or the latest complete one in a state root."""
    path = Path(path)
    if (path / "state.json").is_file():
        return path
    found = folders(path)
    if not found:
        raise FileNotFoundError(f"No training state in {path}: it holds no complete step-* folder with a state.json.")
    return found[-1]


def read_info(folder: Path) -> dict:
    return json.loads((folder / "state.json").read_text())


def _global_rngs() -> dict:
    numpy_state = np.random.get_state(legacy=False)
    numpy_state["state"]["key"] = numpy_state["state"]["key"].tolist()  # plain types: loadable with weights_only
    return {"torch": torch.get_rng_state(), "numpy": numpy_state, "python": random.getstate()}


def _set_global_rngs(states: dict) -> None:
    torch.set_rng_state(states["torch"])
    numpy_state = states["numpy"]
    numpy_state["state"]["key"] = np.array(numpy_state["state"]["key"], dtype=np.uint32)
    np.random.set_state(numpy_state)
    random.setstate(states["python"])


def _link_or_copy(source: Path, target: Path) -> None:
    for file in [source] if source.is_file() else sorted(p for p in source.rglob("*") if p.is_file()):
        destination = target / file.relative_to(source) if source.is_dir() else target
        destination.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(file, destination)
        except OSError:  # another file system, or one without hard links
            shutil.copy2(file, destination)


def _write_frozen(folder: Path, parts: Parts, previous: Path | None) -> None:
    if previous is not None and all((previous / name).exists() for name in FROZEN):
        for name in FROZEN:
            _link_or_copy(previous / name, folder / name)
        return
    shutil.copytree(parts.tokenizer_dir, folder / "tokenizer")
    parts.text_encoder.save_pretrained(folder / "text_encoder")
    parts.vae.save_pretrained(folder / "vae")
    torch.save({"view": parts.store.view, "scene": parts.store.scene}, folder / "store.pt")


def save_state(root: Path, trainer: Trainer, parts: Parts, run: dict) -> Path:
    """Write the complete state at ``trainer.step`` into ``root`` atomically; returns its folder. ``run``:
    what the command needs besides (its output folder, ``studio.json``'s record as ``run["meta"]``)."""
    root = Path(root)
    final, previous = root / f"step-{trainer.step:06d}", folders(root)
    for unfinished in root.glob("step-*.tmp"):  # left by a run killed while saving
        shutil.rmtree(unfinished)
    temporary = root / f"{final.name}.tmp"
    temporary.mkdir(parents=True)
    _write_frozen(temporary, parts, previous[-1] if previous else None)
    torch.save({**trainer.state_dict(), "global_rngs": _global_rngs()}, temporary / "trainer.pt")
    info = {
        "format": 1,
        "step": trainer.step,
        "finished": trainer.step >= trainer.config.end,
        "config": asdict(trainer.config),
        "data": parts.data,
        "run": run,
    }
    (temporary / "state.json").write_text(json.dumps(info, indent=1))
    stale = [p for p in previous if p != final]
    if final.exists():  # saved at this step already (an interval's save, then the end): replace it
        stale.append(final.rename(root / f"{final.name}.old"))
    temporary.rename(final)
    for old in stale:
        shutil.rmtree(old)
    return final


def load_parts(folder: Path, tokenizer_dir: Path) -> Parts:
    """The frozen parts of a state folder; the tokenizer's files are copied into ``tokenizer_dir`` (the
    checkpoint's tokenizer folder) and the scenes rendered again, checked against the saved digest."""
    data = read_info(folder)["data"]
    records = render_records(data["seed"], data["scenes"])
    if records_digest(records) != data["digest"]:
        raise RuntimeError(
            f"The scenes rendered again differ from those {folder} was trained on: the renderer has changed "
            "since, so this state cannot be continued exactly."
        )
    store = torch.load(folder / "store.pt", weights_only=True)
    return frozen_parts(
        folder, tokenizer_dir, records, load_vae(folder), LatentStore(store["view"], store["scene"]), data
    )


def load_vae(folder: Path) -> AutoencoderKL:
    return AutoencoderKL.from_pretrained(folder / "vae", torch_dtype=torch.float32).eval()


def frozen_parts(
    folder: Path, tokenizer_dir: Path, records: list[SceneRecord], vae: AutoencoderKL, store: LatentStore, data: dict
) -> Parts:
    """Parts with ``folder``'s tokenizer (its files copied into ``tokenizer_dir``, the checkpoint's tokenizer
    folder) and text encoder, in float32 as training keeps it (a published one is float16)."""
    shutil.rmtree(tokenizer_dir, ignore_errors=True)
    shutil.copytree(folder / "tokenizer", tokenizer_dir)
    return Parts(
        records=records,
        tokenizer_dir=tokenizer_dir,
        tokenizer=T5Tokenizer.from_pretrained(tokenizer_dir),
        text_encoder=T5EncoderModel.from_pretrained(folder / "text_encoder", dtype=torch.float32).eval(),
        vae=vae,
        store=store,
        data=data,
    )


def load_trainer_state(folder: Path) -> dict:
    return torch.load(folder / "trainer.pt", weights_only=True)


def restore(trainer: Trainer, state: dict) -> None:
    """Continue exactly: the trainer's state and the process's global generators."""
    trainer.load_state_dict(state)
    _set_global_rngs(state["global_rngs"])


def start_from(trainer: Trainer, model: dict, ema: dict) -> None:
    """A new stage from a previous one's weights: transformer and EMA; optimiser, step and data fresh."""
    trainer.model.load_state_dict(model)
    trainer.ema.load_state_dict(ema)


class StopRequest:
    """Asks training to stop after the current step: on SIGTERM or SIGINT (a second one kills as usual),
    or once ``time.time()`` passes ``deadline``. Call it for the reason to stop, None to go on."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self, deadline: float | None = None):
        self.deadline, self.reason, self._previous = deadline, None, {}

    def __enter__(self) -> StopRequest:
        self._previous = {s: signal.signal(s, self._on_signal) for s in self.SIGNALS}
        return self

    def __exit__(self, *exc) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler)

    def _on_signal(self, signum: int, frame) -> None:
        self.reason = signal.Signals(signum).name
        signal.signal(signum, self._previous[signum])

    def __call__(self) -> str | None:
        if self.reason is None and self.deadline is not None and time.time() >= self.deadline:
            self.reason = "the --max-minutes budget"
        return self.reason
