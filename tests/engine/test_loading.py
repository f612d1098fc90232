"""Checkpoints of any size and shard layout: writing, planning, loading, and clear errors on bad downloads."""

from __future__ import annotations

import gc
import json
import shutil
from pathlib import Path

import pytest
import torch
from transformers import T5EncoderModel

from onediffusion import NextDiT, allocator
from onediffusion.loading import ModelLoadError, load_components, vae_dtype
from onediffusion.tiny import build_tiny_checkpoint, main, plan_checkpoint
from tests.helpers import load_pipeline

NETWORKS = ("transformer", "vae", "text_encoder")
SHARD = "100KB"  # splits the tiny transformer and VAE into many files and the text encoder into one


@pytest.fixture(scope="module")
def sharded_dir(tmp_path_factory) -> Path:
    return build_tiny_checkpoint(tmp_path_factory.mktemp("tiny-sharded"), max_shard_size=SHARD)


@pytest.fixture(scope="module")
def full_plan() -> dict:
    return plan_checkpoint("full")


def _index(folder: Path, network: str) -> dict[str, str]:
    return json.loads(next((folder / network).glob("*.safetensors.index.json")).read_text())["weight_map"]


def _copy(folder: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(folder, tmp_path / "model"))


def _live(cls: type) -> int:
    gc.collect()
    return sum(isinstance(obj, cls) for obj in gc.get_objects())


def test_sharded_and_unsharded_checkpoints_load_the_same_weights(tiny_model_dir, sharded_dir):
    for network in ("transformer", "vae"):
        assert len(set(_index(sharded_dir, network).values())) > 2
        assert not list((tiny_model_dir / network).glob("*.index.json"))
    one, many = load_pipeline(tiny_model_dir), load_pipeline(sharded_dir)
    for network in NETWORKS:
        ours, theirs = getattr(one, network).state_dict(), getattr(many, network).state_dict()
        assert ours.keys() == theirs.keys()
        assert all(torch.equal(ours[k], theirs[k]) and ours[k].dtype == theirs[k].dtype for k in ours), network


def test_the_plan_is_what_gets_written(sharded_dir):
    plan = plan_checkpoint("tiny", SHARD)
    for network in ("transformer", "vae"):
        written = {key: file for file, keys in plan[network]["files"].items() for key in keys}
        assert written == _index(sharded_dir, network)
    assert list(plan["text_encoder"]["files"]) == ["model.safetensors"]
    assert (sharded_dir / "text_encoder" / "model.safetensors").is_file()
    config = json.loads((sharded_dir / "transformer" / "config.json").read_text())
    assert config["hidden_size"] == plan["transformer"]["config"]["hidden_size"] == 96


def test_model_index_names_the_published_classes(tiny_model_dir, golden_dir):
    ours = json.loads((tiny_model_dir / "model_index.json").read_text())
    published = json.loads((golden_dir / "tiny-onediffusion" / "model_index.json").read_text())
    assert {k: v for k, v in ours.items() if k != "_diffusers_version"} == {
        k: v for k, v in published.items() if k != "_diffusers_version"
    }


def test_full_preset_plan_has_the_published_shapes_sharded_in_bfloat16(full_plan):
    transformer, text_encoder, vae = full_plan["transformer"], full_plan["text_encoder"], full_plan["vae"]
    assert transformer["config"]["hidden_size"] == 2304 and transformer["config"]["depth"] == 32
    assert transformer["shapes"]["layers.0.attention.wq.weight"] == (2304, 2304)
    assert transformer["shapes"]["layers.31.feed_forward.w1.weight"] == (6144, 2304)
    assert transformer["shapes"]["layers.0.attention.wk_y.weight"] == (2304, 2048)
    assert text_encoder["shapes"]["shared.weight"] == (32128, 2048)
    assert text_encoder["config"]["num_layers"] == 24 and {part["dtype"] for part in full_plan.values()} == {"bfloat16"}
    assert tuple(vae["config"]["block_out_channels"]) == (128, 256, 512, 512)
    n_params = {name: sum(torch.Size(s).numel() for s in part["shapes"].values()) for name, part in full_plan.items()}
    assert 2.6e9 < n_params["transformer"] < 2.7e9 and 1.2e9 < n_params["text_encoder"] < 1.25e9
    for part, n in zip(full_plan.values(), n_params.values(), strict=True):
        assert part["bytes"] == 2 * n  # bfloat16 throughout
    assert sorted(transformer["files"]) == [f"diffusion_pytorch_model-0000{i}-of-00003.safetensors" for i in (1, 2, 3)]
    assert sorted(text_encoder["files"]) == ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
    assert list(vae["files"]) == ["diffusion_pytorch_model.safetensors"]
    assert 7.8e9 < sum(part["bytes"] for part in full_plan.values()) < 8.0e9


def test_plan_command_writes_nothing(tmp_path, capsys):
    main([str(tmp_path / "out"), "--max-shard-size", SHARD, "--plan"])
    summary = json.loads(capsys.readouterr().out)
    assert summary["text_encoder"]["files"] == {"model.safetensors": 21}
    assert len(summary["transformer"]["files"]) > 2
    assert not (tmp_path / "out").exists()


def _drop_shard(folder: Path) -> Path:
    path = folder / "transformer" / "diffusion_pytorch_model-00002-of-00015.safetensors"
    path.unlink()
    return path


def _truncate(folder: Path) -> Path:
    path = folder / "vae" / "diffusion_pytorch_model-00003-of-00014.safetensors"
    path.write_bytes(path.read_bytes()[:-100])
    return path


def _corrupt_header(folder: Path) -> Path:
    path = folder / "text_encoder" / "model.safetensors"
    data = bytearray(path.read_bytes())
    data[8:24] = b"\x00not-json-at-all"
    path.write_bytes(bytes(data))
    return path


def _widen_config(folder: Path) -> Path:
    config_path = folder / "transformer" / "config.json"
    config = json.loads(config_path.read_text())
    config_path.write_text(json.dumps({**config, "hidden_size": 120}))
    return folder / "transformer" / "diffusion_pytorch_model-00001-of-00015.safetensors"


@pytest.mark.parametrize(
    "damage, words",
    [
        (_drop_shard, "is missing"),
        (_truncate, "truncated"),
        (_corrupt_header, "corrupt"),
        (_widen_config, "does not match"),
    ],
)
def test_bad_downloads_fail_naming_the_file_before_anything_loads(sharded_dir, tmp_path, damage, words):
    folder = _copy(sharded_dir, tmp_path)
    bad_file = damage(folder)
    before = _live(NextDiT)
    with pytest.raises(ModelLoadError, match=words) as caught:
        load_pipeline(folder)
    assert str(bad_file) in str(caught.value)
    assert _live(NextDiT) == before  # the weights files are checked before any network is built


def test_a_failure_after_the_networks_loaded_leaves_none_of_them_in_memory(sharded_dir, tmp_path):
    folder = _copy(sharded_dir, tmp_path)
    (folder / "scheduler" / "scheduler_config.json").write_text("{ not json")  # the scheduler loads last
    before = {cls: _live(cls) for cls in (NextDiT, T5EncoderModel)}
    try:
        load_components(folder)
    except ModelLoadError as err:
        assert "scheduler" in str(err) and str(folder) in str(err)
        # even while the error (and its chain of library frames) is alive, the loaded networks are gone
        assert {cls: _live(cls) for cls in before} == before
    else:
        pytest.fail("a corrupt scheduler config loaded")
    assert {cls: _live(cls) for cls in before} == before


def test_vae_dtype(monkeypatch):
    assert vae_dtype(torch.float32) == torch.float32
    assert vae_dtype(torch.float16) == torch.float32  # its activations overflow in half precision
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert vae_dtype(torch.bfloat16) == torch.float32  # bfloat16 convolutions crawl on a CPU
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert vae_dtype(torch.bfloat16) == torch.bfloat16


class FakeGlibc:
    """Records mallopt and malloc_trim calls (glibc keeps no getter for the threshold)."""

    def __init__(self):
        self.calls = []

    def mallopt(self, param, value):
        self.calls.append(("mallopt", param, value))
        return 1

    def malloc_trim(self, pad):
        self.calls.append(("malloc_trim", pad))
        return 1


@pytest.mark.parametrize("fixed", [None, 1 << 20])
def test_steady_heap_restores_the_threshold_and_trims(monkeypatch, fixed):
    libc = FakeGlibc()
    monkeypatch.setattr(allocator, "_glibc", lambda: libc)
    monkeypatch.setattr(allocator, "_fixed", None)
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    if fixed:
        assert allocator.fix_mmap_threshold(fixed)  # as the app does on a GPU (ui.sessions)
        libc.calls.clear()
    with allocator.steady_heap():
        assert libc.calls == [("mallopt", allocator.M_MMAP_THRESHOLD, allocator.LOAD_THRESHOLD)]
    # after the load: the app's fixed threshold stays; else glibc's highest dynamic one; the free heap trimmed
    after = fixed or allocator.DYNAMIC_MAX
    assert libc.calls[1:] == [("mallopt", allocator.M_MMAP_THRESHOLD, after), ("malloc_trim", 0)]
    libc.calls.clear()
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "65536")  # the host's own choice is left alone
    with allocator.steady_heap():
        pass
    assert libc.calls == []


def test_quantized_load_uses_a_steady_heap(monkeypatch, tiny_model_dir):
    pytest.importorskip("torchao")
    libc = FakeGlibc()
    monkeypatch.setattr(allocator, "_glibc", lambda: libc)
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    load_components(tiny_model_dir, quantize="int8")
    assert [c[0] for c in libc.calls] == ["mallopt", "mallopt", "malloc_trim"]
    libc.calls.clear()
    load_components(tiny_model_dir)  # unquantized: the weights are views of the files, nothing to fragment
    assert libc.calls == []
