"""The studio facade: every endpoint of the API, with the parameter names, order and defaults that
``gradio_client`` callers rely on, and the model banner."""

from __future__ import annotations

import inspect

import pytest

from ui.service import Studio

SETTINGS = {"negative_prompt": None, "size": "auto", "steps": None, "guidance": None, "seed": 0, "randomize_seed": True}
REFERENCES = {"reference_1": inspect.Parameter.empty, "caption_1": "", "reference_2": None, "caption_2": "",
              "reference_3": None, "caption_3": "", "reference_4": None, "caption_4": ""}  # fmt: skip
RUN = {"progress": "gr.Progress", "request": None}
FAST = {"fast": None}  # "Faster sampling", last of the settings (after a tab's own): old positional calls still work
EMPTY = inspect.Parameter.empty
API = {
    "text_to_image": {"prompt": EMPTY, **SETTINGS, "num_images": 1, **FAST, **RUN},
    "control": {"condition": EMPTY, "condition_image": EMPTY, "inpainting": None, "caption": "", "labels": None,
                **SETTINGS, "num_images": 1, **FAST, **RUN},
    "make_condition": {"condition": EMPTY, "photo": EMPTY, "labels": None, "steps": None, "seed": 0, **RUN},
    "understand": {"photo": EMPTY, "target": "depth", "labels": None, "caption": "", "steps": None, "guidance": None,
                   "seed": 0, "randomize_seed": True, **FAST, **RUN},
    "identity": {"mode": EMPTY, **REFERENCES, "target_caption": "", "subject_name": "", **SETTINGS, "num_images": 1,
                 **FAST, **RUN},
    "multiview": {"image": None, "caption": "", "cameras": None, **SETTINGS,  # new settings last: old calls still work
                  "scale_factor": 1.0, "scale_watershed": 1.0, "noise_scale": 1.0, **FAST, **RUN},
    "estimate_cameras": {"photos": EMPTY, "caption": "", "steps": None, "guidance": None, "seed": 0,
                         "randomize_seed": True, **FAST, **RUN},
    "slots": {"prompt": EMPTY, "slots": None, "images": None, **SETTINGS, "negative_prompt": "", "num_images": 1, **FAST, **RUN},
    "camera_preset": {"preset": EMPTY},
}  # fmt: skip


@pytest.mark.parametrize("name", list(API))
def test_every_endpoint_keeps_its_parameters(studio, name):
    parameters = inspect.signature(getattr(studio, name)).parameters
    defaults = {p: "gr.Progress" if p == "progress" else parameters[p].default for p in parameters}
    assert list(parameters) == list(API[name]) and defaults == API[name]


@pytest.mark.parametrize("name", list(API))
def test_gradio_sees_the_same_parameters_through_the_cancellable_wrapper(studio, name):
    endpoint = getattr(studio, name)
    assert inspect.signature(studio.cancellable(endpoint)) == inspect.signature(endpoint)


def test_endpoints_are_methods_of_the_studio_and_its_host(studio):
    assert isinstance(studio, Studio) and studio.model_info()["native_side"] == 64
    assert studio.text_to_image.__doc__.startswith("Images from a caption.")


def test_the_banner_names_the_model(studio):
    assert studio.banner() == studio.info.banner()  # trained for every task: nothing more to say
