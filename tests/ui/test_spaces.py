"""On a Space: the Duplicate button appears when SPACE_ID is set, and examples are cached lazily for the
published model only (the demo model's run as they are). Both decided without a real Space."""

from __future__ import annotations

import dataclasses

import gradio as gr
import pytest

from onediffusion.loading import PUBLISHED_MODEL
from ui import spaces
from ui.layout import build_demo
from ui.service import Studio

PUBLISHED = {"requested": PUBLISHED_MODEL, "name": PUBLISHED_MODEL, "fallback_reason": None}


def studio_as(tiny_pipe, **info) -> Studio:
    """The tiny pipeline behind a model banner that says ``info`` (what the decisions read)."""
    studio = Studio.for_pipeline(tiny_pipe, name="tiny")
    studio._info = dataclasses.replace(studio.info, **info)
    return studio


@pytest.mark.parametrize(
    ("env", "shown"), [({"SPACE_ID": "owner/onediffusion"}, True), ({}, False), ({"SPACE_ID": ""}, False)]
)
def test_the_duplicate_button_only_on_a_space(env, shown):
    with gr.Blocks():
        button = spaces.duplicate_button(env)
    assert (button is not None) == shown and spaces.on_space(env) == shown


def test_examples_are_cached_for_the_published_model_only(tiny_pipe):
    info = studio_as(tiny_pipe).info
    assert not spaces.caches_examples(info) and spaces.cached(info, print, []) == {}
    fallback = dataclasses.replace(info, requested=PUBLISHED_MODEL, fallback_reason="offline")
    assert not spaces.caches_examples(fallback)  # asked for, but the demo model runs
    published = dataclasses.replace(info, **PUBLISHED)
    options = spaces.cached(published, print, ["out"])
    assert options == {"fn": print, "outputs": ["out"], "cache_examples": True, "cache_mode": "lazy"}


def test_columns_map_to_the_endpoint_by_name(tiny_pipe):
    options = spaces.cached(studio_as(tiny_pipe, **PUBLISHED).info, lambda **given: given, [], ["mode", "caption_1"])
    assert options["fn"]("identity", "a woman") == {"mode": "identity", "caption_1": "a woman"}


def _examples(demo: gr.Blocks) -> list[gr.Dataset]:
    return [block for block in demo.blocks.values() if isinstance(block, gr.Dataset)]


def test_the_page_on_a_space_with_the_published_model(tiny_pipe, monkeypatch):
    monkeypatch.setenv("SPACE_ID", "owner/onediffusion")
    demo = build_demo(studio_as(tiny_pipe, **PUBLISHED))
    assert sum(isinstance(b, gr.DuplicateButton) for b in demo.blocks.values()) == 1
    lazy = [fn for fn in demo.fns.values() if fn.name == "load_example_output"]
    assert len(lazy) == len(_examples(demo)) == 8  # every tab's examples, nothing run at start-up


def test_the_demo_model_off_a_space_changes_nothing(tiny_pipe, monkeypatch):
    monkeypatch.delenv("SPACE_ID", raising=False)
    demo = build_demo(studio_as(tiny_pipe))
    assert not any(isinstance(b, gr.DuplicateButton) for b in demo.blocks.values())
    assert not [fn for fn in demo.fns.values() if fn.name == "load_example_output"]
