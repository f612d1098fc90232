"""Image modes, locally computed conditions, prompts, task presets and the tiny checkpoint."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from onediffusion import TASKS, Camera, CameraSlot, ImageSlot, Label, NextDiT, build_task
from onediffusion.conditions import blur, canny_edges, inpainting_canvas
from onediffusion.images import image_to_tensor, to_rgb
from onediffusion.prompts import identity_prompt, nearest_size, subject_prompt, task_prompt


@pytest.mark.parametrize(
    "image, expected",
    [
        (Image.new("RGBA", (4, 4), (255, 0, 0, 0)), (255, 255, 255)),
        (Image.new("RGBA", (4, 4), (255, 0, 0, 255)), (255, 0, 0)),
        (Image.new("LA", (4, 4), (0, 0)), (255, 255, 255)),
        (Image.new("L", (4, 4), 100), (100, 100, 100)),
        (Image.new("CMYK", (4, 4), (0, 255, 255, 0)), (255, 0, 0)),
        (Image.fromarray(np.full((4, 4), 65535, np.uint16)), (255, 255, 255)),
        (np.full((4, 4, 3), 65535, np.uint16), (255, 255, 255)),
        (np.zeros((4, 4, 3), np.float32), (0, 0, 0)),
        (torch.ones(3, 4, 4), (255, 255, 255)),
    ],
)
def test_any_mode_becomes_rgb(image, expected):
    rgb = to_rgb(image)
    assert rgb.mode == "RGB" and rgb.getpixel((1, 1)) == expected


def test_palette_images_keep_transparency_on_white():
    image = Image.new("P", (4, 4), 0)
    image.putpalette([0, 0, 255] * 256)
    image.info["transparency"] = 0
    assert to_rgb(image).getpixel((0, 0)) == (255, 255, 255)


def test_images_are_cropped_to_the_aspect_ratio_then_resized():
    image = Image.new("RGB", (300, 100), "black")
    image.paste((255, 255, 255), (100, 0, 200, 100))  # white middle third
    tensor = image_to_tensor(image, 32, 32)
    assert tensor.shape == (3, 32, 32)
    assert tensor[:, :, 2:-2].min() > 0.95  # the centre crop keeps only the white part
    assert image_to_tensor(Image.new("RGB", (8, 8), (0, 0, 0)), 8, 8).max() == -1.0


def test_bad_images_are_refused():
    with pytest.raises(ValueError, match="`image`"):
        to_rgb(42)
    with pytest.raises(ValueError, match="NaN"):
        to_rgb(np.full((4, 4, 3), np.nan, np.float32))


def test_local_conditions():
    photo = Image.new("RGB", (64, 64), "black")
    photo.paste((255, 255, 255), (16, 16, 48, 48))
    edges = np.asarray(canny_edges(photo))
    assert edges[14:18, 30].max() == 255 and edges[32, 32].max() == 0  # an edge on the border, none inside
    assert np.asarray(blur(photo, 4))[16, 32, 0] not in (0, 255)
    mask = Image.new("L", (64, 64), 0)
    mask.paste(255, (0, 0, 10, 10))
    canvas = np.asarray(inpainting_canvas(photo, mask))
    assert tuple(canvas[5, 5]) == (128, 128, 128) and tuple(canvas[32, 32]) == (255, 255, 255)
    with pytest.raises(ValueError, match="`mask` is empty"):
        inpainting_canvas(photo, Image.new("L", (64, 64), 0))


def test_prompt_builders():
    labels = [Label("sword", "yellow"), Label("head", "cyan")]
    assert task_prompt("semanticmap", "a knight", labels) == (
        "[[semanticmap2image]] <#FFFF00 yellow mask: sword> <#00FFFF cyan mask: head> a knight"
    )
    assert (
        task_prompt("boundingbox", "", labels[1:], "boundingbox")
        == "[[boundingbox2image]] <#00FFFF cyan boundingbox: head>"
    )
    assert identity_prompt("a woman smiling", ["a woman in a red dress", "a woman"]) == (
        "[[faceid]] [[img0]] a woman smiling [[img1]] a woman in a red dress [[img2]] a woman"
    )
    assert subject_prompt("chill guy", "on a beach", "a cartoon dog") == (
        "[[subject_driven]] <item: chill guy> [[img0]] on a beach [[img1]] a cartoon dog"
    )
    with pytest.raises(ValueError, match="`color`"):
        Label("x", "beige")
    with pytest.raises(ValueError, match="1 to 4"):
        identity_prompt("x", ["a"] * 5)
    assert nearest_size(100, 200) == (352, 704) and nearest_size(512, 512) == (512, 512)


def roles(spec) -> list[str]:
    return [f"{'image' if isinstance(s, ImageSlot) else 'camera'}:{s.role}" for s in spec.views]


IMG = Image.new("RGB", (32, 32), "gray")
CAMS = [Camera.orbit(a, 10, 1.7) for a in (0, 90, 180)]
PRESET_INPUTS = {
    "text2image": dict(caption="a cat"),
    "depth2image": dict(condition=IMG, caption="a cat"),
    "image2depth": dict(image=IMG),
    "semanticmap2image": dict(condition=IMG, caption="a cat", labels=[Label("cat", "red")]),
    "image2boundingbox": dict(image=IMG, labels=[Label("cat", "red")]),
    "inpainting": dict(image=IMG, mask=Image.new("L", (32, 32), 255), caption="a cat"),
    "deblurring": dict(image=IMG),
    "editing": dict(image=IMG, instruction="make it blue"),
    "identity": dict(references=[IMG, IMG], reference_captions=["a", "b"], target_caption="c"),
    "subject_driven": dict(image=IMG, item="toy", target_caption="on a shelf"),
    "image2multiview": dict(image=IMG, cameras=CAMS),
    "text2multiview": dict(cameras=CAMS[:2], caption="a chair"),
    "camera_estimation": dict(images=[IMG, IMG]),
}
EXPECTED = {
    "text2image": ("[[text2image]] a cat", ["image:target"]),
    "depth2image": ("[[depth2image]] a cat", ["image:target", "image:condition"]),
    "image2depth": ("[[depth2image]]", ["image:condition", "image:target"]),
    "semanticmap2image": ("[[semanticmap2image]] <#FF0000 red mask: cat> a cat", ["image:target", "image:condition"]),
    "image2boundingbox": ("[[boundingbox2image]] <#FF0000 red boundingbox: cat>", ["image:condition", "image:target"]),
    "inpainting": ("[[image_inpainting]] a cat", ["image:target", "image:condition"]),
    "deblurring": ("[[deblurring]]", ["image:target", "image:condition"]),
    "editing": ("[[image_editing]] make it blue", ["image:target", "image:condition"]),
    "identity": ("[[faceid]] [[img0]] c [[img1]] a [[img2]] b", ["image:target"] + ["image:condition"] * 2),
    "subject_driven": (
        "[[subject_driven]] <item: toy> [[img0]] on a shelf [[img1]]",
        ["image:target", "image:condition"],
    ),
    "image2multiview": (
        "[[multiview]]",
        ["image:condition", "camera:condition"] + ["image:target", "camera:condition"] * 2,
    ),
    "text2multiview": ("[[multiview]] a chair", ["image:target", "camera:condition"] * 2),
    "camera_estimation": ("[[multiview]]", ["image:condition", "camera:target"] * 2),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_presets_assemble_prompt_and_slots(name):
    spec = build_task(name, **PRESET_INPUTS[name])
    assert (spec.prompt, roles(spec)) == EXPECTED[name]


def test_every_condition_has_both_directions_and_presets_reject_bad_input():
    for cond in ("depth", "canny", "hed", "pose", "semanticmap", "boundingbox"):
        assert {f"{cond}2image", f"image2{cond}"} <= set(TASKS)
    assert build_task("editing", image=IMG, instruction="x").guidance_scale < 4.0
    with pytest.raises(ValueError, match="`task`"):
        build_task("image2sound")
    with pytest.raises(ValueError, match="takes"):
        build_task("text2image", caption="x", seed=3)
    with pytest.raises(ValueError, match="`labels` apply"):
        build_task("image2depth", image=IMG, labels=[Label("cat")])
    with pytest.raises(ValueError, match="2 to 4 photos"):
        build_task("camera_estimation", images=[IMG])
    with pytest.raises(ValueError, match="one caption per reference"):
        build_task("identity", references=[IMG], reference_captions=[], target_caption="x")
    assert CameraSlot.target().camera is None


def test_tiny_checkpoint_has_the_published_layout(tiny_model_dir):
    for sub in ("transformer", "vae", "text_encoder", "tokenizer", "scheduler"):
        assert (tiny_model_dir / sub).is_dir()
    assert (tiny_model_dir / "tokenizer" / "spiece.model").is_file()
    assert json.loads((tiny_model_dir / "text_encoder" / "config.json").read_text())["dtype"] == "float16"
    _, info = NextDiT.from_pretrained(tiny_model_dir, subfolder="transformer", output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    config = json.loads((tiny_model_dir / "scheduler" / "scheduler_config.json").read_text())
    assert config["use_dynamic_shifting"] and config["max_shift"] == 1.15


def test_tiny_tokenizer_was_trained_on_real_words(tiny_pipe):
    ids = tiny_pipe.tokenizer("a red cube on a wooden table").input_ids
    assert ids[-1] == 1 and 2 not in ids  # ends with </s>, no unknown pieces
    assert tiny_pipe.tokenizer.decode(ids, skip_special_tokens=True) == "a red cube on a wooden table"


def test_tiny_tokenizer_reads_the_default_negative_prompt_within_the_limit(tiny_pipe):
    from onediffusion import DEFAULT_NEGATIVE_PROMPT

    assert len(tiny_pipe.tokenizer(DEFAULT_NEGATIVE_PROMPT).input_ids) < 300


@pytest.mark.parametrize("path", ["/nonexistent", "./missing", "~/nowhere/at/all"])
def test_missing_local_folders_are_not_sent_to_the_hub(path):
    from onediffusion import ModelLoadError
    from onediffusion.loading import resolve_folder

    with pytest.raises(ModelLoadError, match="No model folder"):
        resolve_folder(path)
