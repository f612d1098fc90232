"""The identity endpoint on the tiny checkpoint: [[imgN]] prompts for the references given, subject-driven mode."""

from __future__ import annotations

import gradio as gr
import pytest


def test_identity_assembles_img_markers_for_the_references_given(studio, photo, fast):
    given = {
        "mode": "identity",
        "reference_1": photo,
        "caption_1": "a man",
        "reference_3": photo,
        "caption_3": "a man smiling",
        "target_caption": "a man on a beach",
    }
    gallery, _, prompt = studio.identity(**given, size="64x64", num_images=2, **fast)
    assert prompt == "[[faceid]] [[img0]] a man on a beach [[img1]] a man [[img2]] a man smiling"
    assert len(gallery) == 2 and gallery[0][0].size == (64, 64)
    # The preview takes what the tab's widgets hand over, in order: only whether each photo is given matters.
    preview = studio.identity_prompt(
        "identity", True, "a man", None, "", True, "a man smiling", None, "", "a man on a beach", ""
    )
    assert preview == prompt


def test_subject_driven_uses_one_photo_and_its_name(studio, photo, fast):
    subject = {"mode": "subject_driven", "reference_1": photo, "target_caption": "the robot at sea"}
    _, _, prompt = studio.identity(**subject, caption_1="a toy robot", subject_name="robot", size="64x64", **fast)
    assert prompt == "[[subject_driven]] <item: robot> [[img0]] the robot at sea [[img1]] a toy robot"
    with pytest.raises(gr.Error, match="exactly one reference photo"):
        studio.identity(**subject, reference_2=photo, subject_name="robot", **fast)
    with pytest.raises(gr.Error, match="Subject name"):
        studio.identity(**subject, subject_name=" ", **fast)
    with pytest.raises(gr.Error, match="Add at least one reference photo"):
        studio.identity(mode="identity", reference_1=None, target_caption="x", **fast)
    with pytest.raises(gr.Error, match="Describe the new photo in 'Target caption' first"):
        studio.identity(mode="identity", reference_1=photo, **fast)
