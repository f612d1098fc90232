"""OneDiffusion Studio: the Gradio app over one cached OneDiffusion pipeline.

``ui.host.ModelHost`` holds the pipeline and runs one model turn at a time; ``ui.endpoints`` (one module
per tab) are the behaviour, testable without a browser; ``ui.service.Studio`` is the host with those
endpoints as methods; ``ui.catalogue`` lists each tab's options and the engine task behind each;
``ui.tabs`` lay out and wire one tab each; ``ui.layout.build_demo`` assembles the page.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .layout import build_demo, launch_options
    from .loader import ModelInfo, Settings
    from .service import Studio

# Imported on first use, so that the launcher (ui.cli) answers --help and bad input without loading Gradio.
_EXPORTS = {
    "build_demo": ".layout",
    "launch_options": ".layout",
    "ModelInfo": ".loader",
    "Settings": ".loader",
    "Studio": ".service",
}
__all__ = ["ModelInfo", "Settings", "Studio", "build_demo", "launch_options"]


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
