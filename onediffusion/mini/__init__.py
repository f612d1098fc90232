"""OneDiffusion-Mini: a small OneDiffusion this project trains from scratch on a procedural world.

The engine (``onediffusion/``) serves any OneDiffusion checkpoint; this subpackage is what makes and
measures Mini:

- ``world.py``: the procedural world, primitives ray-cast from calibrated cameras, with depth,
  masks, boxes, edges and captions (also the source of the app's example inputs);
- ``training/``: the paper's training recipe on that world, ``python -m onediffusion.mini.training``;
- ``evaluate.py``: Mini's evaluation on held-out scenes against trivial baselines,
  ``python -m onediffusion.mini.evaluate``.
"""

from ..paths import MINI_MODEL

__all__ = ["MINI_MODEL"]
