"""What several test files share: table inputs as the client sends them, relative error, quiet pipelines."""

from __future__ import annotations

import json
import os
import socket

import numpy as np
import pytest

FAST = {"steps": 2, "guidance": 4.0, "seed": 5, "randomize_seed": False}  # quick runs with a fixed seed
NO_LABELS = {"headers": ["class", "colour"], "data": [["", ""]]}


def table(rows: list[list], headers: list[str] | None = None) -> dict:
    """A Dataframe input as ``gradio_client`` sends it (numbered headers unless given)."""
    return {"headers": headers or [str(i) for i in range(len(rows[0]))], "data": rows}


def _float64(x) -> np.ndarray:
    if hasattr(x, "detach"):  # a torch tensor of any dtype (bfloat16 too) on any device
        x = x.detach().double().cpu()
    return np.asarray(x, dtype=np.float64)


def rel_err(ours, ref) -> float:
    """||ours - ref|| / ||ref||, in float64; arrays or tensors."""
    ours, ref = _float64(ours), _float64(ref)
    return float(np.linalg.norm(ours - ref) / np.linalg.norm(ref))


def load_pipeline(folder: str | os.PathLike, **kwargs):
    """``OneDiffusionPipeline.from_pretrained(folder, **kwargs)`` with its progress bar off."""
    from onediffusion import OneDiffusionPipeline

    pipe = OneDiffusionPipeline.from_pretrained(folder, **kwargs)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def camera_traces(figure) -> list[tuple[str, str, str]]:
    """(role, colour, label) of each camera frustum of a camera figure: a plotly Figure, or a ``gr.Plot``
    value as ``gradio_client`` returns it."""
    data = json.loads(figure["plot"])["data"] if isinstance(figure, dict) else figure.to_dict()["data"]
    frustums = [t for t in data if t.get("mode") == "lines" and t.get("legendgroup")]
    labels = next((t["text"] for t in data if t.get("name") == "labels"), [])
    return [(t["legendgroup"], t["line"]["color"], label) for t, label in zip(frustums, labels)]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Issue 22's 3D bars, which the shipped OneDiffusion-Mini does not reach (its camera estimates are good, its novel
# views do not tell left from right): strict, so a Mini that passes one turns the suite red until its marker goes.
NOT_LEARNT = pytest.mark.xfail(
    strict=True, reason="issue 22: the shipped Mini does not reach this 3D bar (README, OneDiffusion-Mini)"
)
