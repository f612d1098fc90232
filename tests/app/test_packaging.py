"""The wheel as a user installs it: every subpackage and the run-time assets inside, and an installed copy,
run from outside the checkout, that imports, finds the demo checkpoint and the examples, and answers
``onediffusion-studio --version``."""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from onediffusion.version import __version__

ROOT = Path(__file__).resolve().parents[2]
BUILD_INPUTS = (
    "pyproject.toml",
    "setup.py",
    "MANIFEST.in",
    "README.md",
    "requirements.txt",
    "onediffusion",
    "ui",
    "assets",
)
INSTALLED_CHECK = """
import json
import onediffusion, ui, ui.cli
from onediffusion.loading import resolve_folder
from onediffusion.mini import MINI_MODEL
from onediffusion.paths import ASSETS
examples = ASSETS / "examples"
print(json.dumps({"modules": [onediffusion.__file__, ui.__file__, ui.cli.__file__], "examples": str(examples),
                  "mini": str(resolve_folder(MINI_MODEL)), "files": sorted(p.name for p in examples.iterdir())}))
"""


def _run(*command: str | Path, cwd: Path) -> str:
    """``command``'s output; PYTHONPATH dropped, so that nothing is imported from the checkout."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run([str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{command}:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    return result.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel built from a copy of the checkout (the build leaves build/ and *.egg-info behind it)."""
    source = tmp_path_factory.mktemp("source")
    for name in BUILD_INPUTS:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, source / name)
    out = tmp_path_factory.mktemp("wheel")
    _run(sys.executable, "-m", "pip", "wheel", source, "--no-deps", "--no-build-isolation", "-w", out, "-q", cwd=source)
    (built,) = out.glob("onediffusion_studio-*.whl")
    return built


def _packages(root: Path) -> set[str]:
    return {
        str(p.parent.relative_to(root)) for top in ("onediffusion", "ui") for p in (root / top).rglob("__init__.py")
    }


@pytest.mark.slow
def test_the_wheel_holds_every_subpackage_and_the_assets(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for package in _packages(ROOT):
        assert f"{package}/__init__.py" in names, f"{package} is missing from the wheel"
    for asset in (ROOT / "assets" / "examples").iterdir():
        assert f"onediffusion/assets/examples/{asset.name}" in names
    mini = ROOT / "assets" / "onediffusion-mini"
    for asset in (p for p in mini.rglob("*") if p.is_file()):
        assert f"onediffusion/assets/onediffusion-mini/{asset.relative_to(mini).as_posix()}" in names
    assert f"onediffusion_studio-{__version__}.dist-info/entry_points.txt" in names


@pytest.mark.slow
def test_an_installed_copy_imports_finds_its_assets_and_runs(wheel, tmp_path):
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    purelib = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=tmp_path).strip())
    # The dependencies (torch, Gradio...) come from this interpreter's site-packages, after the venv's own.
    (purelib / "dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    _run(
        sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", "-q", wheel, cwd=tmp_path
    )

    found = json.loads(_run(python, "-c", INSTALLED_CHECK, cwd=tmp_path).strip().splitlines()[-1])
    for path in (*found["modules"], found["mini"], found["examples"]):
        assert Path(path).is_relative_to(purelib), f"{path} is not the installed copy"
    assert found["files"] == sorted(p.name for p in (ROOT / "assets" / "examples").iterdir())
    version = _run(venv / "bin" / "onediffusion-studio", "--version", cwd=tmp_path)
    assert version.strip() == f"onediffusion-studio {__version__}"
