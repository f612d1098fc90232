"""Where the files the app needs at run time live: the demo checkpoint and the example images.

A checkout keeps them in ``assets/`` beside the packages; a wheel carries the same folders inside the
package as ``onediffusion/assets/`` (setup.py copies them there), so an installed copy finds them too.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
# The installed copy first: beside an installed package, site-packages/assets would be someone else's.
ASSETS = next((p for p in (_PACKAGE / "assets", _PACKAGE.parent / "assets") if p.is_dir()), _PACKAGE.parent / "assets")
MINI_MODEL = ASSETS / "onediffusion-mini"  # the bundled demo checkpoint (made by onediffusion.mini)
