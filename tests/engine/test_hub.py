"""One rule for what names a hub repository, and huggingface_hub's own offline switch (issue 32): the loader,
the launcher and the captioner all ask ``onediffusion.hub``."""

from __future__ import annotations

import subprocess
import sys

import pytest

from onediffusion.hub import hub_offline, is_hub_id


@pytest.mark.parametrize("name", ["lehduong/OneDiffusion", "owner/name.v2", "Owner-1/some_model"])
def test_owner_slash_name_is_a_hub_id(name):
    assert is_hub_id(name)


@pytest.mark.parametrize(
    "name",
    [
        "gpt2",  # valid on the hub, but the app's checkpoints are owner/name: read as a missing folder
        "a/b/c",
        "/abs/path",
        "./rel",
        "~/model",
        "owner/na me",
        "owner\\name",
        "owner--x/name",  # huggingface_hub forbids -- and ..
        "owner/name..v2",
        ".hidden/name",
        "tests/engine",  # looks like one, but it is a folder here
    ],
)
def test_paths_and_malformed_names_are_not(name):
    assert not is_hub_id(name)


def test_the_launcher_and_the_loader_read_a_name_alike(tmp_path):
    from onediffusion.loading import ModelLoadError, resolve_folder
    from ui.cli import LaunchError, Setting, check_model

    for name in ("owner--x/name", "a/b/c"):
        with pytest.raises(LaunchError, match="not a hub id like owner/name"):
            check_model(Setting(name, "--model"))
        with pytest.raises(ModelLoadError, match="not a hub id like 'owner/name'"):
            resolve_folder(name)
    assert check_model(Setting("owner/name", "--model")) is None  # a hub id: fetched at load time


@pytest.mark.parametrize("variable", ["HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"])
def test_offline_mode_is_huggingface_hubs_own(variable):
    code = "from onediffusion.hub import hub_offline; print(hub_offline())"
    env = {"PATH": "", variable: "1"}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "True", result.stderr


def test_offline_mode_follows_huggingface_hub(monkeypatch):
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", False)
    assert not hub_offline()
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    assert hub_offline()
