"""The layers and the Python floor, as CI checks them (issue 32): ``lint-imports`` keeps the engine free of the
app and of OneDiffusion-Mini, ``vermin`` keeps every file within the lowest Python the project claims. Each
check passes on the tree, and fails, naming the culprit, on a planted violation in a copy of it."""

from __future__ import annotations

import ast
import pkgutil
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("onediffusion", "ui", "benchmarks")
BIN = Path(sys.executable).parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
# The lowest Python claimed: requires-python's floor, which ruff's target and vermin's target must match.
FLOOR = PYPROJECT["project"]["requires-python"].removeprefix(">=")
VERMIN = [str(BIN / "vermin"), "-q", f"-t={FLOOR}-", "--violations", "--no-tips", "--eval-annotations"]


def lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    env = {"PYTHONPATH": str(cwd), "PATH": str(BIN)}
    return subprocess.run([str(BIN / "lint-imports")], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def copy_of_the_tree(tmp_path) -> Path:
    """The packages' Python files and pyproject.toml, where a violation can be planted."""
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__", "assets"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    return tmp_path


def test_the_layers_hold():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "2 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    "planted, contract",
    [
        (("onediffusion/planted.py", "import ui.host\n"), "benchmarks -> ui -> onediffusion"),
        (("ui/planted.py", "import benchmarks.soak\n"), "benchmarks -> ui -> onediffusion"),
        (("onediffusion/planted.py", "from onediffusion.mini import world\n"), "never imports onediffusion.mini"),
    ],
)
def test_a_wrong_import_breaks_the_contract_by_name(copy_of_the_tree, planted, contract):
    path, code = planted
    (copy_of_the_tree / path).write_text(code)
    if "mini" in code:  # the forbidden contract names its source modules: plant in one of them
        (copy_of_the_tree / "onediffusion" / "tables.py").write_text(code, encoding="utf-8")
    result = lint_imports(copy_of_the_tree)
    assert result.returncode == 1, result.stdout[-3000:]
    broken = result.stdout.split("Broken contracts")[-1]
    assert contract in broken and ("planted" in broken or "tables" in broken), broken[-2000:]


def test_the_forbidden_contract_lists_every_engine_module_but_mini():
    (mini,) = [c for c in PYPROJECT["tool"]["importlinter"]["contracts"] if c["id"] == "mini"]
    engine = {f"onediffusion.{m.name}" for m in pkgutil.iter_modules([str(ROOT / "onediffusion")])}
    assert set(mini["source_modules"]) == engine - {"onediffusion.mini"}


def test_nothing_imports_the_launcher_module():
    """``app.py`` is a module, which import-linter cannot take as a layer: nothing may import it."""
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
                names += [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
                assert "app" not in {name.split(".")[0] for name in names}, path


def test_ruff_and_vermin_aim_at_the_claimed_floor():
    assert PYPROJECT["tool"]["ruff"]["target-version"] == "py" + FLOOR.replace(".", "")
    assert FLOOR in (ROOT / ".ci" / "run").read_text()  # CI's vermin targets the same version


def test_every_file_runs_on_the_claimed_python():
    result = subprocess.run([*VERMIN, *PACKAGES, "tests", "app.py", "setup.py"], cwd=ROOT, capture_output=True)
    assert result.returncode == 0, result.stdout.decode()[-3000:]


def test_a_newer_python_feature_is_named(tmp_path):
    (tmp_path / "newer.py").write_text("import itertools\nprint(list(itertools.batched([1, 2, 3], 2)))\n")
    result = subprocess.run([*VERMIN, str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 1 and "itertools.batched" in result.stdout and "newer.py" in result.stdout
