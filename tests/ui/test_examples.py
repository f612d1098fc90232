"""The tabs' examples: every file a tab names exists, every file in assets/examples/ is used, and the
text that goes with the world's images (class rows, cameras) matches them."""

from __future__ import annotations

import numpy as np
from PIL import Image

from onediffusion import Label
from onediffusion.mini.world import OBJECT_COLORS, SHAPES
from ui import layout  # noqa: F401  (imports every tab, which names its example files)
from ui.common import REFERENCED_EXAMPLES, example_text


def colours_in(path) -> set[tuple[int, int, int]]:
    pixels = np.asarray(Image.open(path).convert("RGB")).reshape(-1, 3)
    return {tuple(int(v) for v in rgb) for rgb in np.unique(pixels, axis=0)}


def test_every_example_a_tab_names_exists(examples):
    assert len(REFERENCED_EXAMPLES) >= 10
    missing = sorted(name for name in REFERENCED_EXAMPLES if not (examples / name).is_file())
    assert missing == []


def test_every_example_file_is_used(examples):
    files = {path.name for path in examples.iterdir()} - {"examples.json"}
    assert files == REFERENCED_EXAMPLES
    assert all(name.endswith(".png") for name in files)
    assert sum((examples / name).stat().st_size for name in files) < 200_000  # small enough to ship


def test_class_rows_name_world_objects_in_the_colours_of_their_maps(examples):
    scene = example_text()["scene"]
    for rows, image in ((scene["semantic_labels"], "scene_semantic.png"), (scene["box_labels"], "scene_boxes.png")):
        for name, _ in rows:
            colour, shape = name.split()
            assert colour in OBJECT_COLORS and shape in SHAPES
        assert colours_in(examples / image) == {(0, 0, 0)} | {Label(name, colour).rgb for name, colour in rows}


def test_cameras_and_views_agree(examples):
    text = example_text()
    camera = text["camera"]
    for view in text["scene"]["views"]:
        assert view["camera"][1:] == [camera["elevation"], camera["distance"]]
        assert Image.open(examples / view["file"]).size == (128, 128)
    assert text["scene"]["orbit"][0] == text["scene"]["views"][0]["camera"]
