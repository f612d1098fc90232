"""OneDiffusion Studio: the Gradio app over one cached OneDiffusion pipeline.

``ui.host.ModelHost`` holds the pipeline and runs one model turn at a time; ``ui.endpoints`` (one module
per tab) are the behaviour, testable without a browser; ``ui.service.Studio`` is the host with those
endpoints as methods; ``ui.catalogue`` lists each tab's options and the engine task behind each;
``ui.tabs`` lay out and wire one tab each; ``ui.layout.build_demo`` assembles the page.
"""

from .layout import build_demo, launch_options
from .loader import ModelInfo, Settings
from .service import Studio

__all__ = ["ModelInfo", "Settings", "Studio", "build_demo", "launch_options"]
