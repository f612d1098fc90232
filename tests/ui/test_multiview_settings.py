"""The Multiview settings (scale factor, scale watershed, noise scale) reach the pipeline, default to no change,
come after every existing parameter, and are checked in plain words."""

from __future__ import annotations

import inspect

import gradio as gr
import numpy as np
import pytest

ROWS = [[0, 20, 1.5], [90, 20, 1.5]]


def views(studio, fast, **scales) -> np.ndarray:
    gallery = studio.multiview(None, "a red cube", ROWS, size="64x64", **fast, **scales)[0]
    return np.stack([np.asarray(image) for image, _ in gallery])


def test_they_trail_the_existing_parameters():
    from ui.service import Studio

    names = list(inspect.signature(Studio.multiview).parameters)
    assert names[names.index("randomize_seed") + 1 :] == [
        "scale_factor",
        "scale_watershed",
        "noise_scale",
        "fast",
        "progress",
        "request",
    ]


def test_defaults_change_nothing_and_each_setting_reaches_the_model(studio, fast):
    plain = views(studio, fast)
    assert np.array_equal(plain, views(studio, fast, scale_factor=1.0, scale_watershed=1.0, noise_scale=1.0))
    assert not np.array_equal(plain, views(studio, fast, noise_scale=3.0))
    # Above the watershed (every timestep of the tiny run is) theta is scaled: the rotary angles change.
    assert not np.array_equal(plain, views(studio, fast, scale_factor=1.5, scale_watershed=100))


@pytest.mark.parametrize(("name", "value"), [("scale_factor", 0.0), ("noise_scale", "lots"), ("scale_watershed", -1)])
def test_out_of_range_values_are_refused_in_plain_words(studio, fast, name, value):
    with pytest.raises(gr.Error, match=f"{name.replace('_', ' ').capitalize()} must be a number from"):
        views(studio, fast, **{name: value})
