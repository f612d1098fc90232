"""Shared by the Mini tests."""

from __future__ import annotations

import pytest

from onediffusion.mini.training.state import render_records


@pytest.fixture(scope="session")
def records():
    """Six scenes, seeds 0-5 (``render_records(0, 6)``), rendered once for every Mini test that trains."""
    return render_records(0, 6)


@pytest.fixture(scope="session")
def pipe():
    """The shipped OneDiffusion-Mini, loaded once for the tests of what its outputs mean."""
    from onediffusion import OneDiffusionPipeline
    from onediffusion.mini import MINI_MODEL

    pipe = OneDiffusionPipeline.from_pretrained(MINI_MODEL)
    pipe.set_progress_bar_config(disable=True)
    return pipe
