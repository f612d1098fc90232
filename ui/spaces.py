"""What the page adds on a Hugging Face Space: a Duplicate button, and examples cached so they cost no GPU time.

Both are decisions on the environment and the model, made here so they are tested without a Space:
- ``SPACE_ID`` set (a Space, shared or duplicated) -> a "Duplicate this Space" button, for a private copy
  with its own GPU and no queue;
- the published model loaded -> each tab's examples run once on first use and are then served from the
  cache (``cache_mode="lazy"``: nothing runs at start-up). The demo model's examples stay as they are: they
  run in seconds, and a cache would hide the model's answer to the settings now shown.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence

import gradio as gr

from onediffusion.loading import PUBLISHED_MODEL

from .loader import ModelInfo


def on_space(env: Mapping[str, str] | None = None) -> bool:
    return bool((os.environ if env is None else env).get("SPACE_ID"))


def duplicate_button(env: Mapping[str, str] | None = None) -> gr.DuplicateButton | None:
    """The Duplicate-this-Space button, on a Space only."""
    if not on_space(env):
        return None
    return gr.DuplicateButton("Duplicate this Space", size="sm", elem_id="duplicate-button")


def caches_examples(info: ModelInfo) -> bool:
    """Whether examples are cached: only for the published model, actually loaded (not the demo fallback)."""
    return info.name == PUBLISHED_MODEL and not info.is_fallback


def cached(info: ModelInfo, fn: Callable, outputs: list, names: Sequence[str] | None = None) -> dict:
    """``gr.Examples`` options that cache its results lazily when ``caches_examples``; else none.
    ``names``: the endpoint parameter each example column is, when they are not its first parameters."""
    if not caches_examples(info):
        return {}
    run = fn if names is None else _by_name(fn, names)
    return {"fn": run, "outputs": outputs, "cache_examples": True, "cache_mode": "lazy"}


def _by_name(fn: Callable, names: Sequence[str]) -> Callable:
    def run(*values):
        return fn(**dict(zip(names, values)))

    return run
