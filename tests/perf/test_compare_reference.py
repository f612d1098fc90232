"""The side-by-side comparison against the authors' code, end to end on the tiny checkpoint (no timing asserts).

The authors' checkout is not available here; a stand-in package with their import path and API proves that
the reference child runs apart from ours (both packages are called ``onediffusion``)."""

from __future__ import annotations

import json

import pytest

from benchmarks import compare_reference

STAND_IN = '''
import time


class OneDiffusionPipeline:
    """The authors' entry point, as their inference.py uses it; it only waits."""

    @classmethod
    def from_pretrained(cls, path, torch_dtype=None):
        return cls()

    def to(self, device):
        return self

    def set_progress_bar_config(self, **kwargs):
        pass

    def __call__(self, **kwargs):
        time.sleep(0.01)

    def img2img(self, **kwargs):
        assert "denoise_mask" in kwargs
        time.sleep(0.01)
'''


@pytest.fixture
def reference_checkout(tmp_path):
    package = tmp_path / "OneDiffusion" / "onediffusion" / "diffusion" / "pipelines"
    package.mkdir(parents=True)
    for folder in (package, package.parent, package.parent.parent):
        (folder / "__init__.py").write_text("")
    (package / "onediffusion.py").write_text(STAND_IN)
    return tmp_path / "OneDiffusion"


@pytest.mark.slow
def test_compare_against_a_checkout(tiny_model_dir, reference_checkout, tmp_path):
    out = tmp_path / "compare.json"
    report = compare_reference.main(
        ["--checkpoint", str(tiny_model_dir), "--reference", str(reference_checkout), "--cases", "t2i256,depth256",
         "--steps", "1", "--repeats", "2", "--threads", "1", "--json", str(out)]
    )  # fmt: skip
    assert json.loads(out.read_text())["reference"] == str(reference_checkout.resolve())
    for case in ("t2i256", "depth256"):
        result = report["results"][case]
        assert all(len(result["seconds"][run]) == 2 for run in compare_reference.RUNS)
        assert result["median_s"]["reference"] < result["median_s"]["exact"]  # the stand-in only sleeps 10 ms
        assert result["cached_speedup"] > 0 and result["exact_speedup"] > 0


def test_a_folder_without_the_package_is_refused(tiny_model_dir, tmp_path, capsys):
    with pytest.raises(SystemExit):
        compare_reference.main(["--checkpoint", str(tiny_model_dir), "--reference", str(tmp_path)])
    assert "no onediffusion/ package there" in capsys.readouterr().err
