"""A stage starts from a published checkpoint folder (no training state): its transformer starts the weights and
the EMA, its tokenizer, text encoder and VAE are the frozen parts, studio.json records where the stage began; a
checkpoint of another transformer is refused in one line."""

from __future__ import annotations

import json
import shutil
import time

import pytest
import torch
from diffusers import AutoencoderKL
from safetensors.torch import load_file
from transformers import T5EncoderModel

from onediffusion.mini import MINI_MODEL
from onediffusion.mini.training.__main__ import main, parse_args, start_run, train
from onediffusion.mini.training.published import WEIGHTS, is_published, transformer_mismatch
from onediffusion.mini.training.state import find_state
from onediffusion.mini.training.tasks import STAGES
from onediffusion.mini.training.trainer import TrainConfig

TINY = ["--micro-batch", "2"]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A quick tiny run's --out: the published layout, its state kept apart in out.state."""
    out = tmp_path_factory.mktemp("ckpt") / "mini"
    argv = ["--out", str(out), "--scenes", "6", "--vae-steps", "2", "--text-steps", "2", "--steps", "1", *TINY]
    assert main(argv) == 0
    return out


def _equal(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    theirs = b.state_dict()
    return all(torch.equal(v, theirs[k].to(v.dtype)) for k, v in a.state_dict().items())


def test_a_stage_starts_from_a_published_checkpoint(checkpoint, tmp_path):
    assert is_published(checkpoint) and not is_published(f"{checkpoint}.state")
    argv = ["--init-from", str(checkpoint), "--stage", "views", "--steps", "2", *TINY, "--out", str(tmp_path / "s2")]
    args = parse_args(argv)
    run = start_run(args, argv, log=lambda m: None)
    published = load_file(checkpoint / "transformer" / WEIGHTS)
    assert run.trainer.step == 0 and not run.trainer.opt.state
    for module in (run.trainer.model, run.trainer.ema):
        assert all(torch.equal(v, published[k]) for k, v in module.state_dict().items())
    assert _equal(run.parts.vae, AutoencoderKL.from_pretrained(checkpoint / "vae"))
    text_encoder = T5EncoderModel.from_pretrained(checkpoint / "text_encoder")
    assert run.parts.text_encoder.dtype == torch.float32 and _equal(run.parts.text_encoder, text_encoder)
    # the scene count is the checkpoint's, and the latents are those the run itself trained on
    stored = torch.load(find_state(f"{checkpoint}.state") / "store.pt", weights_only=True)
    assert len(run.parts.records) == 6 and torch.equal(run.parts.store.view["rgb"], stored["view"]["rgb"])

    assert train(run, args, time.time(), log=lambda m: None) == 0
    studio = json.loads((tmp_path / "s2" / "studio.json").read_text())
    (source,) = studio["previous_stages"]
    assert source["checkpoint"] == str(checkpoint) and source["trained_steps"] == 1
    assert studio["trained_steps"] == 2 and studio["config"]["task_weights"] == STAGES["views"]


def test_a_checkpoint_of_another_transformer_is_refused(checkpoint, tmp_path, capsys):
    other = tmp_path / "other"
    shutil.copytree(checkpoint, other)
    config = json.loads((other / "transformer" / "config.json").read_text())
    (other / "transformer" / "config.json").write_text(json.dumps({**config, "hidden_size": 96}))
    with pytest.raises(SystemExit) as stop:
        main(["--init-from", str(other), "--stage", "views", "--steps", "2", "--out", str(tmp_path / "s2")])
    assert stop.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "hidden_size is 96" in lines[0] and "192" in lines[0]
    assert not (tmp_path / "s2").exists() and not (tmp_path / "s2.partial").exists()


def test_the_shipped_checkpoint_is_one_a_stage_can_start_from():
    assert is_published(MINI_MODEL) and transformer_mismatch(MINI_MODEL, TrainConfig().transformer) is None
