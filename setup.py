"""The one build step pyproject.toml cannot declare: the run-time assets go into the wheel.

``assets/examples`` and ``assets/onediffusion-mini`` live beside the packages in a checkout, outside any
package, so package-data cannot name them; they are copied into ``onediffusion/assets/`` of the build,
where ``onediffusion.paths.ASSETS`` looks first.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
RUNTIME_ASSETS = ("examples", "onediffusion-mini")  # assets/make_examples.py, a dev tool, stays behind


class BuildWithAssets(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install runs from the checkout, which has assets/ already
        for name in RUNTIME_ASSETS:
            target = Path(self.build_lib) / "onediffusion" / "assets" / name
            shutil.copytree(ROOT / "assets" / name, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".*"))


setup(cmdclass={"build_py": BuildWithAssets})
