"""Every platform Gradio and PyTorch run on (issue 32): nothing fork-only happens at import. Windows has no
"fork" start method (``multiprocessing.get_context("fork")`` raises ValueError there) and no ``os.fork``; the
app's shared stop flags are made only when ZeroGPU asks for them (``ui.runs.share_stop_flags``)."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
import urllib.request

from tests.ui.conftest import ROOT, launched_app

# Run first in a fresh interpreter: the fork start method and os.fork gone, as on Windows.
NO_FORK = """
import multiprocessing.context as _context, os as _os
_context._concrete_contexts.pop("fork", None)
if hasattr(_os, "fork"):
    del _os.fork
import multiprocessing as _mp
try:
    _mp.get_context("fork")
except ValueError:  # "cannot find context for 'fork'", as on Windows
    pass
else:
    raise AssertionError("the fork start method is still there")
"""
PACKAGES = ("onediffusion", "ui", "benchmarks")


def project_modules() -> list[str]:
    """Every module of the project's packages, but the ``__main__`` ones (importing those runs them)."""
    names = []
    for package in PACKAGES:
        names.append(package)
        for module in pkgutil.walk_packages([str(ROOT / package)], prefix=f"{package}."):
            if not module.name.endswith("__main__"):
                names.append(module.name)
    return names


def test_every_module_imports_where_there_is_no_fork():
    modules = project_modules()
    assert {"ui.runs", "ui.zerogpu", "ui.layout", "onediffusion.batch", "benchmarks.soak"} <= set(modules)
    script = (
        NO_FORK
        + f"""
import importlib, json
failed = {{}}
for name in {modules!r}:
    try:
        importlib.import_module(name)
    except Exception as err:
        failed[name] = f"{{type(err).__name__}}: {{err}}"
print(json.dumps(failed))
"""
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {}


def test_the_app_starts_and_serves_where_there_is_no_fork(tiny_model_dir):
    from gradio_client import Client

    with launched_app("--model", str(tiny_model_dir), log_name="app-no-fork.log", prelude=NO_FORK) as url:
        with urllib.request.urlopen(url, timeout=10) as page:
            assert page.status == 200
        client = Client(url, verbose=False, download_files=False)
        gallery, seed, _ = client.predict(
            prompt="a cube", negative_prompt="", size="64x64", steps=2, guidance=4.0, seed=3,
            randomize_seed=False, api_name="/text_to_image",
        )  # fmt: skip
        assert seed == 3 and gallery[0]["caption"] == "image 1 · seed 3"
