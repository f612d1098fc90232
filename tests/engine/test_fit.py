"""A first run that fits the machine: what the model needs against what is free decides between loading it,
loading it with model CPU offload, and the demo model; broken checkpoints fall back with the reason."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from huggingface_hub.hf_api import ModelInfo as HubModelInfo

from onediffusion import fit as fit_module
from onediffusion.fit import CPU_ASK, GIB, Need, folder_need, free_ram, hub_need, plan_fit
from onediffusion.serving import Settings, demo_checkpoint, load_pipeline
from onediffusion.tiny import build_tiny_checkpoint

GB = 10**9
# The published model in bfloat16 (CONTRACT.md: 5.6 GB transformer, about 8 GB in all) and the default captioner.
FULL = Need(total=8 * GB, largest=int(5.6 * GB), captioner=int(1.5 * GB))
FULL_F32 = Need(total=16 * GB, largest=int(11.2 * GB), captioner=int(1.5 * GB))
TINY = Need(total=2_000_000, largest=1_500_000)


# fmt: off
@pytest.mark.parametrize("need, device, ram, gpu, offload, explicit, action, words", [
    (None, "cpu", None, None, False, False, "load", None),                    # sizes unknown: loading decides
    (None, "cuda", None, None, True, False, "offload", None),
    (TINY, "cpu", 4 * GIB, None, False, False, "load", None),                 # small: fine on CPU
    (FULL, "cpu", 64 * GIB, None, False, False, "demo", "no GPU here"),       # the default without a GPU
    (FULL, "cpu", 64 * GIB, None, False, True, "load", None),                 # asked for on CPU: honoured
    (FULL_F32, "cpu", 12 * GIB, None, False, True, "demo", "of RAM"),         # asked, but RAM cannot hold it
    (FULL, "cuda", 64 * GIB, 80 * GIB, False, False, "load", None),           # fits the GPU
    (FULL, "cuda", 64 * GIB, 10 * GIB, False, False, "offload", "GPU memory"),  # only the largest part fits
    (FULL, "cuda", 64 * GIB, 10 * GIB, True, False, "offload", None),         # offload asked for, and it fits
    (FULL, "cuda", 64 * GIB, 6 * GIB, False, False, "demo", "lacks the GPU memory"),
    (FULL, "cuda", 6 * GIB, 10 * GIB, False, False, "demo", "RAM to hold it"),
    (FULL, "cuda", 64 * GIB, None, False, False, "load", None),               # ZeroGPU: no GPU to ask before a call
])
# fmt: on
def test_plan_fit_branches(need, device, ram, gpu, offload, explicit, action, words):
    decision = plan_fit(need, device, ram, gpu, offload, explicit)
    assert decision.action == action
    if words is None:
        assert decision.reason is None
    else:
        assert words in decision.reason


def test_the_cpu_default_says_how_to_ask_and_what_it_costs():
    decision = plan_fit(FULL, "cpu", 64 * GIB, None)
    assert CPU_ASK in decision.advice and "8 GB of RAM in bfloat16" in decision.advice
    assert "minutes" in decision.advice
    honoured = plan_fit(FULL, "cpu", 64 * GIB, None, explicit=True)
    assert "as asked" in honoured.advice and "minutes" in honoured.advice


def test_the_captioner_counts():
    free = 9 * GIB  # the model with offload margin fits; with the captioner beside it, not
    part = fit_module.with_margin(FULL.largest)
    assert part < free < part + 2 * GIB
    assert plan_fit(Need(FULL.total, FULL.largest), "cuda", 64 * GIB, free).action == "offload"
    assert plan_fit(Need(FULL.total, FULL.largest, 2 * GIB), "cuda", 64 * GIB, free).action == "demo"


def test_a_local_folder_is_measured_in_the_dtype_it_loads_in(tiny_model_dir):
    size = {n: sum(f.stat().st_size for f in (tiny_model_dir / n).glob("*.safetensors")) for n in fit_module.NETWORKS}
    # The tiny checkpoint stores its transformer and VAE in float32 and its text encoder in float16.
    need32 = folder_need(tiny_model_dir, torch.float32, captioner=7)
    assert need32 == Need(size["transformer"] + size["vae"] + 2 * size["text_encoder"], size["transformer"], 7)
    need16 = folder_need(tiny_model_dir, torch.bfloat16)
    # the VAE stays in float32 on a CPU (onediffusion.loading.vae_dtype)
    assert need16.total == size["transformer"] // 2 + size["vae"] + size["text_encoder"]
    assert folder_need(tiny_model_dir / "nothing", torch.float32) is None


def test_hub_sizes_come_from_the_file_listing():
    siblings = [{"rfilename": "transformer/diffusion_pytorch_model.safetensors", "size": 5_600_000_000},
                {"rfilename": "text_encoder/model.safetensors", "size": 2_400_000_000},
                {"rfilename": "vae/diffusion_pytorch_model.safetensors", "size": 170_000_000},
                {"rfilename": "transformer/config.json", "size": 863}]
    info = HubModelInfo(id="lehduong/OneDiffusion", siblings=siblings)
    assert hub_need(info, torch.bfloat16) == Need(8_340_000_000, 5_600_000_000)  # the VAE in float32 on a CPU
    assert hub_need(info, torch.float32).total == 2 * 8_170_000_000  # stored bfloat16, loaded float32: twice
    in_f32 = HubModelInfo(id="a/b", siblings=siblings, safetensors={"parameters": {"F32": 10}, "total": 10})
    assert hub_need(in_f32, torch.float32).total == 8_170_000_000
    assert hub_need(HubModelInfo(id="a/b", siblings=[]), torch.float32) is None


def _fake_machine(root: Path, available_kib: int, cgroup: dict[str, str]) -> tuple[Path, Path]:
    (root / "proc").mkdir(parents=True)
    (root / "proc" / "meminfo").write_text(f"MemTotal: 99999999 kB\nMemAvailable: {available_kib} kB\n")
    for name, text in cgroup.items():
        (root / "cg" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "cg" / name).write_text(text + "\n")
    (root / "cg").mkdir(exist_ok=True)
    return root / "proc", root / "cg"


@pytest.mark.parametrize("cgroup, expected", [
    ({}, 8 * GIB),                                                                       # no cgroup
    ({"memory.max": "max", "memory.current": "100"}, 8 * GIB),                            # v2, unlimited
    ({"memory.max": str(3 * GIB), "memory.current": str(1 * GIB)}, 2 * GIB),              # v2 limit counts
    ({"memory/memory.limit_in_bytes": str(5 * GIB), "memory/memory.usage_in_bytes": str(GIB)}, 4 * GIB),  # v1
    ({"memory/memory.limit_in_bytes": str(2**63 - 4096), "memory/memory.usage_in_bytes": "1"}, 8 * GIB),
])
def test_free_ram_counts_the_cgroup_limit(tmp_path, cgroup, expected):
    proc, cg = _fake_machine(tmp_path, 8 * GIB // 1024, cgroup)
    assert free_ram(proc, cg) == expected


def test_free_ram_here_is_a_positive_number():
    assert free_ram() > 0


def test_a_model_too_large_for_the_machine_falls_back_with_the_reason(tiny_model_dir, monkeypatch):
    monkeypatch.setattr("onediffusion.serving.free_ram", lambda: 64 * 2**20)  # 64 MiB free: less than the working margin
    _, info = load_pipeline(Settings(model=str(tiny_model_dir), device="cpu"))
    assert info.is_fallback and info.name == str(demo_checkpoint()[0])
    assert "of RAM and this machine has 0.1 GB free" in info.fallback_reason
    assert "--dtype bfloat16" in info.banner() and info.as_dict()["advice"] == info.advice


def test_only_a_named_model_or_device_is_explicit():
    assert not Settings().explicit
    assert Settings(device="cpu").explicit and Settings(model="./mine").explicit


# ---- broken checkpoints: the app serves the demo model and says why ----------------------------------------


@pytest.fixture(scope="module")
def sharded(tmp_path_factory) -> Path:
    return build_tiny_checkpoint(tmp_path_factory.mktemp("tiny-sharded-app"), max_shard_size="100KB")


def _a_shard(folder: Path, network: str, n: int = 1) -> Path:
    return sorted((folder / network).glob("*-of-*.safetensors"))[n]


def _missing_shard(folder: Path) -> tuple[Path, str]:
    path = _a_shard(folder, "transformer")
    path.unlink()
    return path, "is missing"


def _cut_short(folder: Path) -> tuple[Path, str]:
    path = _a_shard(folder, "vae", 2)
    path.write_bytes(path.read_bytes()[:-64])
    return path, "truncated"


def _garbled(folder: Path) -> tuple[Path, str]:
    path = folder / "text_encoder" / "model.safetensors"
    data = bytearray(path.read_bytes())
    data[8:20] = b"\x00garbage!!!!"
    path.write_bytes(bytes(data))
    return path, "corrupt"


def _wrong_shapes(folder: Path) -> tuple[Path, str]:
    config = folder / "transformer" / "config.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), "hidden_size": 120}))
    return config, "does not match"


@pytest.mark.parametrize("damage", [_missing_shard, _cut_short, _garbled, _wrong_shapes])
def test_a_broken_checkpoint_falls_back_to_the_demo_model_saying_why(sharded, tmp_path, damage):
    folder = Path(shutil.copytree(sharded, tmp_path / "model"))
    bad, words = damage(folder)
    pipe, info = load_pipeline(Settings(model=str(folder), device="cpu"))
    assert info.is_fallback and info.name == str(demo_checkpoint()[0]) and pipe is not None
    assert words in info.fallback_reason and str(bad) in info.fallback_reason
    assert info.banner().startswith(f"⚠️ **Could not load `{folder}`**") and words in info.banner()
