"""Shared fixtures: the golden data shipped with the tests and tiny checkpoints built on demand."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from tests.helpers import load_pipeline

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # no test may reach the hub
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))

DATA = Path(__file__).parent / "data"
GOLDEN = DATA / "golden"


@pytest.fixture(scope="session")
def golden_dir() -> Path:
    return GOLDEN


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A random tiny checkpoint in the published layout, written by ``python -m onediffusion.tiny``."""
    from onediffusion.tiny import build_tiny_checkpoint

    return build_tiny_checkpoint(tmp_path_factory.mktemp("tiny-onediffusion"))


@pytest.fixture(scope="session")
def tiny_pipe(tiny_model_dir):
    return load_pipeline(tiny_model_dir)


@pytest.fixture(scope="session")
def golden_pipe(golden_dir):
    return load_pipeline(golden_dir / "tiny-onediffusion")
