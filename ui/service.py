"""The studio: the model host with every tab's endpoints as its methods, one object for the page and the API.

``Studio`` is a ``ui.host.ModelHost`` (the one cached pipeline, options, progress, cancelling, one model
turn at a time) whose methods include the endpoints of ``ui.endpoints``, one module per tab: what the
widgets (or ``gradio_client``) send in, what the widgets show out, so tests drive them without a
browser. Bad input becomes a ``gr.Error`` in plain words (``ui.errors``); notices become ``gr.Warning``.
To add an endpoint, write it in its tab's module and name it here.
"""

from __future__ import annotations

import html

from .catalogue import TABS, untrained_banner, untrained_note
from .endpoints import control as control_tab
from .endpoints import describe as describe_tab
from .endpoints import grid as grid_tab
from .endpoints import identity as identity_tab
from .endpoints import multiview as multiview_tab
from .endpoints import orbit as orbit_tab
from .endpoints import slots as slots_tab
from .endpoints import text_to_image as text_to_image_tab
from .endpoints import understand as understand_tab
from .endpoints import upscale as upscale_tab
from .host import ModelHost


class Studio(ModelHost):
    """The app's single pipeline and everything done with it (see ``ModelHost`` for building one)."""

    # Text to image
    text_to_image = text_to_image_tab.text_to_image
    text_to_image_prompt = text_to_image_tab.text_to_image_prompt
    # Control
    control = control_tab.control
    control_prompt = control_tab.control_prompt
    make_condition = control_tab.make_condition
    # Understanding
    understand = understand_tab.understand
    understand_prompt = understand_tab.understand_prompt
    # Identity
    identity = identity_tab.identity
    identity_prompt = identity_tab.identity_prompt
    # Multiview and camera poses
    multiview = multiview_tab.multiview
    multiview_prompt = multiview_tab.multiview_prompt
    camera_preset = multiview_tab.camera_preset
    camera_preview = multiview_tab.camera_preview
    camera_preset_names = multiview_tab.camera_preset_names
    default_camera_rows = multiview_tab.default_camera_rows
    estimate_cameras = multiview_tab.estimate_cameras
    # Orbit video (Multiview)
    orbit_video = orbit_tab.orbit_video
    orbit_preview = orbit_tab.orbit_preview
    # Upscale
    upscale = upscale_tab.upscale
    upscale_advice = upscale_tab.upscale_advice
    # Describe this photo (every tab's input photos)
    describe_photo = describe_tab.describe_photo
    captions_available = describe_tab.captions_available
    # Slots
    slots = slots_tab.slots
    # Compare grids: every tab that samples, over up to two axes of settings
    text_to_image_grid = grid_tab.grid_endpoint(grid_tab.GRIDS["text-to-image"])
    control_grid = grid_tab.grid_endpoint(grid_tab.GRIDS["control"])
    understand_grid = grid_tab.grid_endpoint(grid_tab.GRIDS["understanding"])
    identity_grid = grid_tab.grid_endpoint(grid_tab.GRIDS["identity"])
    multiview_grid = grid_tab.grid_endpoint(grid_tab.GRIDS["multiview"])
    slots_grid = grid_tab.grid_endpoint(grid_tab.GRIDS["slots"])

    def untrained(self, tab_id: str) -> list[str]:
        """The options of a tab (by id, see ``ui.catalogue.TABS``) that the model's ``tasks`` list leaves out."""
        return TABS[tab_id].untrained(self.defaults)

    def untrained_note(self, tab_id: str) -> str:
        """A how-to line naming the options of a tab this model was not trained for ("" when none)."""
        return untrained_note(tab_id, self.defaults)

    def banner(self) -> str:
        """The model banner, plus the options the model was not trained for, tab by tab."""
        return self.info.banner() + untrained_banner(self.defaults)

    def page_banner(self) -> str:
        """The banner as the page shows it: whole on a wide screen; on a narrow one (``ui.layout.CSS``) one line,
        the model in use and why, with the rest behind a fold."""
        whole = self.banner()
        line = html.escape(self.info.headline())
        return (
            f'<div class="banner-wide">\n\n{whole}\n\n</div>\n'
            f'<details class="banner-narrow"><summary>{line}</summary>\n\n{whole}\n\n</details>'
        )
