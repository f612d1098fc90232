"""OneDiffusion Studio: the Gradio app over one cached OneDiffusion pipeline.

``ui.service.Studio`` holds the pipeline and every behaviour (testable without a browser);
``ui.tabs`` lay out and wire one tab each; ``ui.layout.build_demo`` assembles the page.
"""

from .layout import build_demo, launch_options
from .loader import ModelInfo, Settings
from .service import Studio

__all__ = ["ModelInfo", "Settings", "Studio", "build_demo", "launch_options"]
