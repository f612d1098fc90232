"""'Faster sampling' in the app: off by default (exact, as the library), on per request or by --fast, and a
cache the model cannot take falls back to exact sampling with a note instead of failing the run."""

from __future__ import annotations

import dataclasses

import gradio as gr
import numpy as np
import pytest

from onediffusion.caching import BlockCounter
from ui.host import sampling_mode

QUICK = {"prompt": "a cube", "negative_prompt": "", "size": "64x64", "guidance": 1.0, "seed": 1}
QUICK |= {"randomize_seed": False, "steps": 8}


def run(studio, **kwargs):
    with BlockCounter(studio.pipe.transformer) as counter:
        gallery, _, _ = studio.text_to_image(**QUICK, **kwargs)
    return np.asarray(gallery[0][0]), counter


def test_exact_by_default_fast_on_request(studio):
    exact, counter = run(studio)
    assert counter.count == counter.exact
    cached, counter = run(studio, fast=True)
    assert counter.count < counter.exact  # TaylorSeer: 5 of 8 steps in full, the last block alone between
    assert not studio.pipe.transformer.is_cache_enabled  # on for that run only
    again, counter = run(studio, fast=False)
    assert np.array_equal(again, exact) and counter.count == counter.exact
    assert cached.shape == exact.shape


def test_launch_flag_makes_it_the_default(studio, monkeypatch):
    monkeypatch.setattr(studio, "settings", dataclasses.replace(studio.settings, fast=True))
    _, counter = run(studio)
    assert counter.count < counter.exact
    _, counter = run(studio, fast=False)  # a request may still ask for exact sampling
    assert counter.count == counter.exact


def test_a_cache_the_model_cannot_take_falls_back_with_a_note(studio, monkeypatch):
    def refuse(config=None):
        raise ValueError("`cache` needs something this model lacks")

    monkeypatch.setattr(studio.pipe, "enable_cache", refuse)
    notes = []
    monkeypatch.setattr(gr, "Warning", notes.append)
    _, counter = run(studio, fast=True)
    assert counter.count == counter.exact
    assert notes == [
        "Faster sampling is not available for this model (`cache` needs something this model lacks); "
        "this run used exact sampling."
    ]


def test_sampling_mode_restores_exact_sampling_after_a_failed_run(tiny_pipe):
    with pytest.raises(RuntimeError), sampling_mode(tiny_pipe, True):
        assert tiny_pipe.transformer.is_cache_enabled
        raise RuntimeError("the run failed")
    assert not tiny_pipe.transformer.is_cache_enabled and tiny_pipe.cache_setting is None
