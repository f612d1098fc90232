"""The slots endpoint on the tiny checkpoint: targets beside their conditions, given and estimated cameras,
joint targets, and the table's errors in plain words."""

from __future__ import annotations

import gradio as gr
import pytest
from PIL import Image

from tests.helpers import camera_traces
from ui.figures import ROLE_COLOURS


def test_slots_generate_targets_beside_their_conditions(studio, photo, fast):
    rows = [
        ["image", "condition", 1, None, None, None],
        ["camera", "condition", None, 0, 20, 1.7],
        ["image", "target", None, None, None, None],
        ["camera", "target", None, None, None, None],
    ]
    gallery, cameras, figure, seed, prompt = studio.slots(
        prompt="[[multiview]] toys", slots=rows, images=[photo], size="64x64", **fast
    )
    assert [caption for _, caption in gallery] == ["slot 0 · condition", "slot 2 · generated · image 1 · seed 11"]
    assert [row[:2] for row in cameras] == [[1, "condition"], [3, "estimated"]]
    assert cameras[0][2:5] == [0.0, 20.0, 1.7]  # the given camera stays where it was given
    expected = [("condition", ROLE_COLOURS["condition"], "slot 1"), ("estimated", ROLE_COLOURS["estimated"], "slot 3")]
    assert camera_traces(figure) == expected and prompt == "[[multiview]] toys"


def test_slots_joint_targets_and_plain_errors(studio, fast):
    two = [["image", "target"], ["image", "target"]]
    gallery, cameras, figure, _, _ = studio.slots(
        prompt="[[depth2image]] a cube", slots=two, size="64x64", num_images=2, **fast
    )
    assert len(gallery) == 4 and cameras == [] and figure is None
    with pytest.raises(gr.Error, match="Slot 0: kind must be 'image' or 'camera'"):
        studio.slots(prompt="[[text2image]] x", slots=[["picture", "target"]], **fast)
    with pytest.raises(gr.Error, match="Slot 0 is an image condition but no image is left for it"):
        studio.slots(prompt="[[text2image]] x", slots=[["image", "condition"], ["image", "target"]], **fast)
    with pytest.raises(gr.Error, match="Slot 1 asks for image 3, but only 1 were added"):
        rows = [["image", "target"], ["image", "condition", 3]]
        studio.slots(prompt="[[text2image]] x", slots=rows, images=[Image.new("RGB", (8, 8))], **fast)
    frame_last = [
        ["image", "target"],
        ["camera", "target"],
        ["image", "target"],
        ["camera", "condition", None, 0, 0, 1.7],
    ]
    with pytest.raises(gr.Error) as err:  # an engine ValueError, turned into plain words
        studio.slots(prompt="[[multiview]] x", slots=frame_last, **fast)
    assert "first camera slot has no camera" in str(err.value) and "`" not in str(err.value)


def test_slots_warn_without_a_task_token(studio, fast):
    with pytest.warns(UserWarning, match="no task token"):
        studio.slots(prompt="a cube", slots=[["image", "target"]], size="64x64", **fast)
