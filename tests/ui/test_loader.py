"""Loading the model: the requested one when it can be had, else the demo model with a plain reason;
never a long wait offline. Plus the launcher's arguments and the page's endpoints and launch settings."""

from __future__ import annotations

import time

import pytest

from onediffusion import serving as loader_module
from onediffusion.serving import demo_checkpoint, hub_reachable
from ui import build_demo, launch_options
from ui.common import EXAMPLES_DIR
from ui.loader import Settings, load_pipeline
from ui.service import Studio

ENDPOINTS = {"text_to_image", "control", "make_condition", "understand", "identity", "multiview", "estimate_cameras",
             "orbit_video", "upscale", "slots", "camera_preset", "model_info"}  # fmt: skip


def test_a_good_folder_loads_as_asked(tiny_model_dir):
    pipe, info = load_pipeline(Settings(model=str(tiny_model_dir), device="cpu"))
    assert not info.is_fallback and info.name == str(tiny_model_dir) and info.native_side == 64
    assert "Could not load" not in info.banner() and f"`{tiny_model_dir}`" in info.banner()
    assert info.dtype == "float32" and pipe.device.type == "cpu" and not info.is_demo


def test_a_missing_folder_falls_back_to_the_demo_model(tmp_path):
    pipe, info = load_pipeline(Settings(model=str(tmp_path / "nothing-here"), device="cpu"))
    folder, description = demo_checkpoint()
    assert info.is_fallback and info.is_demo and info.name == str(folder) and info.description == description
    assert (
        info.fallback_reason
        == f"there is no folder {tmp_path / 'nothing-here'} (and it is not a hub id like 'owner/name')."
    )
    banner = info.banner()
    assert banner.startswith(f"⚠️ **Could not load `{tmp_path / 'nothing-here'}`**") and description in banner


@pytest.mark.parametrize("name", ["/nonexistent", "./missing", "~/nowhere/model"])
def test_paths_that_look_like_hub_ids_are_not_sent_to_the_hub(name):
    _, info = load_pipeline(Settings(model=name, device="cpu"))
    assert info.fallback_reason.startswith(f"there is no folder {name}")


def test_offline_hub_ids_fall_back_at_once(monkeypatch):
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)  # huggingface_hub reads it at import
    start = time.monotonic()
    _, info = load_pipeline(Settings(model="lehduong/OneDiffusion", device="cpu"))
    assert time.monotonic() - start < 30
    assert info.fallback_reason == "offline mode is on (HF_HUB_OFFLINE), and the model is not in the local cache."


def test_an_unreachable_hub_is_found_by_the_probe(monkeypatch):
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # the discard port: refused at once
    start = time.monotonic()
    assert not hub_reachable(timeout=2)
    assert time.monotonic() - start < 3
    kwargs, reason = loader_module._hub_access("lehduong/OneDiffusion")
    assert kwargs == {"local_files_only": True} and "cannot be reached" in reason
    assert loader_module._hub_access("./a/local/folder") == ({}, None)


def test_dtypes_follow_the_device():
    assert Settings().resolved_dtype("cpu").__repr__() == "torch.float32"
    assert str(Settings(dtype="bfloat16").resolved_dtype("cpu")) == "torch.bfloat16"
    with pytest.raises(ValueError, match="`dtype` must be one of"):
        Settings(dtype="int8").resolved_dtype("cpu")


def test_zero_gpu_spaces_get_cuda_and_the_gpu_decorator(monkeypatch):
    import sys
    from types import SimpleNamespace

    from ui.host import gpu_decorator

    def plain(x):
        return x

    assert gpu_decorator()(plain) is plain  # no `spaces` package here: nothing changes
    seen = {}
    fake = SimpleNamespace(GPU=lambda duration: lambda fn: seen.setdefault("wrapped", (fn, duration)))
    monkeypatch.setitem(sys.modules, "spaces", fake)
    gpu_decorator(60)(plain)
    assert seen["wrapped"] == (plain, 60)
    monkeypatch.setenv("SPACES_ZERO_GPU", "true")
    assert Settings().resolved_device() == "cuda" and str(Settings().resolved_dtype("cuda")) == "torch.bfloat16"


def test_the_page_exposes_every_named_endpoint(studio):
    demo = build_demo(studio)
    named = {fn.api_name for fn in demo.fns.values() if fn.api_name and fn.api_visibility == "public"}
    assert ENDPOINTS <= named
    gpu = [fn for fn in demo.fns.values() if fn.api_name in ENDPOINTS - {"camera_preset", "model_info"}]
    assert {fn.concurrency_id for fn in gpu} == {"gpu"} and {fn.concurrency_limit for fn in gpu} == {1}


def test_launch_serves_only_the_apps_examples_and_limits_uploads():
    options = launch_options()
    assert options["allowed_paths"] == [str(EXAMPLES_DIR)] and options["max_file_size"] == "25mb"
    assert not options.get("share")


def test_studio_loads_once(tiny_model_dir, monkeypatch):
    calls = []
    real = loader_module.load_pipeline

    def counting(settings):
        calls.append(settings)
        return real(settings)

    monkeypatch.setattr("ui.host.load_pipeline", counting)
    studio = Studio(Settings(model=str(tiny_model_dir), device="cpu"))
    assert studio.info.native_side == 64 and studio.pipe is studio.pipe
    studio.load()
    assert len(calls) == 1
