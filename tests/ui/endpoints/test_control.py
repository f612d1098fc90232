"""The control endpoints on the tiny checkpoint: every condition of the catalogue, conditions made from a
photo, prompt previews, plain-words errors."""

from __future__ import annotations

import gradio as gr
import numpy as np
import pytest
from PIL import Image

from onediffusion.conditions import blur, canny_edges
from onediffusion.prompts import scaled_size
from ui.catalogue import CONTROL


def _control_inputs(condition: str, photo: Image.Image) -> dict:
    if condition == "inpainting":
        mask = Image.new("RGBA", photo.size, (0, 0, 0, 0))
        mask.paste((255, 255, 255, 255), (10, 10, 40, 40))
        return {"condition_image": None, "inpainting": {"background": photo, "layers": [mask]}}
    labels = [["cube", "red"]] if condition in ("semanticmap", "boundingbox") else None
    caption = "make it green" if condition == "editing" else "toys"
    return {"condition_image": photo, "labels": labels, "caption": caption}


@pytest.mark.parametrize("condition", [option.key for option in CONTROL.options])
def test_control_runs_every_condition_beside_its_condition(studio, photo, fast, condition):
    shown, gallery, seed, prompt = studio.control(condition=condition, **_control_inputs(condition, photo), **fast)
    expected = scaled_size(photo.height, photo.width, studio.native_side)  # from the condition's aspect ratio
    assert shown.size == gallery[0][0].size == (expected[1], expected[0])
    assert seed == 11 and gallery[0][1] == "generated 1 · seed 11"
    token = {"inpainting": "image_inpainting", "editing": "image_editing", "hed": "hed2img"}.get(condition)
    assert prompt.startswith(f"[[{token or condition + ('' if condition == 'deblurring' else '2image')}]]")
    if condition == "inpainting":  # the model sees the masked region grey
        assert tuple(np.asarray(shown)[shown.height // 3, shown.width // 4]) == (128, 128, 128)


def test_make_condition_computes_canny_and_blur_here_and_the_rest_with_the_model(studio, photo):
    canny = studio.make_condition(condition="canny", photo=photo)
    assert np.array_equal(np.asarray(canny), np.asarray(canny_edges(photo)))
    assert np.array_equal(
        np.asarray(studio.make_condition(condition="deblurring", photo=photo)), np.asarray(blur(photo))
    )
    assert studio.make_condition(condition="editing", photo=photo).size == photo.size
    depth = studio.make_condition(condition="depth", photo=photo, steps=2, seed=3)
    assert depth.size == (80, 48)  # the model's output at the native scale of the photo's aspect ratio
    again = studio.make_condition(condition="depth", photo=photo, steps=2, seed=3)
    assert np.array_equal(np.asarray(depth), np.asarray(again))  # fixed seed: same condition


def test_prompt_previews_match_what_runs(studio):
    labels = [["sky", "blue"], ["tree", ""]]
    assert studio.control_prompt(condition="semanticmap", caption="a park", labels=labels) == (
        "[[semanticmap2image]] <#0000FF blue mask: sky> <#FF0000 red mask: tree> a park"
    )
    assert studio.control_prompt(condition="editing", caption="").startswith("⚠️ Write the instruction first")
    assert studio.control_prompt(condition="sketch").startswith("⚠️ Pick a condition from the list; 'sketch'")


def test_control_errors_are_plain_words(studio, photo, fast):
    with pytest.raises(gr.Error, match="Add a condition image first"):
        studio.control(condition="depth", condition_image=None, **fast)
    with pytest.raises(gr.Error, match="Write the instruction first"):
        studio.control(condition="editing", condition_image=photo, caption=" ", **fast)
    with pytest.raises(gr.Error, match="Paint over the region"):
        studio.control(
            condition="inpainting", condition_image=None, inpainting={"background": photo, "layers": []}, **fast
        )
    with pytest.raises(gr.Error, match="Colour 'sky' is not one the model knows"):
        studio.control(condition="semanticmap", condition_image=photo, labels=[["cloud", "sky"]], **fast)
    with pytest.raises(gr.Error, match="Pick a condition from the list; 'sketch' is not one"):
        studio.make_condition(condition="sketch", photo=photo)
