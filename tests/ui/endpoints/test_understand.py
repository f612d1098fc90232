"""The understanding endpoint on the tiny checkpoint: depth files, overlays and regions, previews, errors."""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import numpy as np
import pytest
import trimesh
from PIL import Image

from ui.catalogue import UNDERSTANDING


def test_understand_depth_gives_colour_16_bit_and_a_mesh(studio, photo, fast):
    shown, raw, mesh, files, regions, seed, prompt = studio.understand(photo=photo, target="depth", **fast)
    assert shown.size == raw.size == (80, 48) and regions == [] and prompt == "[[depth2image]]"
    names = sorted(Path(f).name for f in files)
    assert names == ["depth_16bit.png", "depth_colour.png", "depth_mesh.glb"]
    png16 = np.asarray(Image.open(next(f for f in files if f.endswith("16bit.png"))))
    assert png16.dtype == np.uint16 and png16.shape == (48, 80)
    assert len(trimesh.load(mesh, force="mesh").vertices) == 48 * 80


@pytest.mark.parametrize("target", [option.key for option in UNDERSTANDING.options if option.shows != "depth"])
def test_understand_overlays_maps_on_the_photo(studio, photo, fast, target):
    labels = [["cube", "red"], ["sphere", "blue"]]
    shown, raw, mesh, files, regions, _, prompt = studio.understand(photo=photo, target=target, labels=labels, **fast)
    assert shown.size == raw.size and mesh is None and len(files) == 2
    assert not np.array_equal(np.asarray(shown), np.asarray(raw))  # the photo shows through
    if target in ("semanticmap", "boundingbox"):
        assert [r["class"] for r in regions] == ["cube", "sphere"] and "<#FF0000 red" in prompt
    else:
        assert regions == []


def test_the_prompt_preview_matches_what_runs(studio):
    preview = studio.understand_prompt(target="boundingbox", labels=[["head", "cyan"]])
    assert preview == "[[boundingbox2image]] <#00FFFF cyan boundingbox: head>"
    assert studio.understand_prompt(target="normals").startswith("⚠️ Pick what to estimate from the list")


def test_understand_errors_are_plain_words(studio, photo, fast):
    with pytest.raises(gr.Error, match="Name at least one class"):
        studio.understand(photo=photo, target="semanticmap", labels=[["", ""]], **fast)
    with pytest.raises(gr.Error, match="Pick what to estimate from the list; 'normals' is not one"):
        studio.understand(photo=photo, target="normals", **fast)
    with pytest.raises(gr.Error, match="Add a photo first"):
        studio.understand(photo=None, **fast)
