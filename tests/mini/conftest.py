"""Shared by the Mini tests."""

from __future__ import annotations

import pytest

from onediffusion.mini.training.state import render_records


@pytest.fixture(scope="session")
def records():
    """Six scenes, seeds 0-5 (``render_records(0, 6)``), rendered once for every Mini test that trains."""
    return render_records(0, 6)
