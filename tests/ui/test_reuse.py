"""Reuse settings: a result dropped back on its tab reproduces it; other tabs' results, other tools' PNGs
and hostile files fill only what could be read and say so."""

from __future__ import annotations

import json
import zlib

import gradio as gr
import numpy as np
import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from onediffusion.metadata import ResultSettings, read_png, save_png
from ui import outputs as out
from ui.common import reuse_updates
from ui.reuse import reuse

T2I_SIZES = ["auto", "64x64", "64x48", "48x64"]


def saved(image: Image.Image, path) -> str:
    """A result as the page serves it: a PNG with the text chunks the image carries."""
    out.save_carried(image, path)
    return str(path)


def as_call(values: dict) -> dict:
    """Reused values -> the endpoint's settings keywords."""
    names = {
        "negative_prompt": "negative_prompt",
        "seed": "seed",
        "randomize": "randomize_seed",
        "steps": "steps",
        "guidance": "guidance",
        "size": "size",
    }
    return {names[name]: value for name, value in values.items() if name in names}


def pixels(image) -> np.ndarray:
    return np.asarray(image.convert("RGB"))


def test_a_text_to_image_result_dropped_back_reproduces_it(studio, tmp_path):
    gallery, seed, _ = studio.text_to_image(
        prompt="a red cube, “quoted”: yes",
        negative_prompt="blurry",
        size="64x48",
        steps=2,
        guidance=3.5,
        randomize_seed=True,
    )
    found = reuse(saved(gallery[0][0], tmp_path / "result.png"), "text-to-image", T2I_SIZES)
    assert found.values == {
        "negative_prompt": "blurry",
        "seed": seed,
        "randomize": False,
        "steps": 2,
        "guidance": 3.5,
        "size": "64x48",
        "prompt": "a red cube, “quoted”: yes",
    }
    again, same_seed, _ = studio.text_to_image(prompt=found.values["prompt"], **as_call(found.values))
    assert same_seed == seed and np.array_equal(pixels(gallery[0][0]), pixels(again[0][0]))
    assert not found.problems and "seed" in found.message("result.png")


def test_a_control_result_gives_back_its_condition_classes_and_caption(studio, examples, tmp_path):
    condition = Image.open(examples / "scene_semantic.png")
    labels = [["blue cube", "blue"], ["floor", "yellow"]]
    settings = {"negative_prompt": "", "size": "64x64", "steps": 2, "guidance": 4.0, "seed": 3, "randomize_seed": False}
    shown, gallery, _, _ = studio.control("semanticmap", condition, None, "a cube", labels, **settings)
    found = reuse(saved(gallery[0][0], tmp_path / "control.png"), "control", ["auto", "64x64"])
    assert found.values["option"] == "semanticmap" and found.values["labels"] == labels
    assert found.values["prompt"] == "a cube" and found.values["size"] == "64x64"
    call = as_call(found.values)
    again = studio.control(found.values["option"], condition, None, found.values["prompt"], labels, **call)[1]
    assert np.array_equal(pixels(gallery[0][0]), pixels(again[0][0]))
    assert read_png(saved(shown, tmp_path / "shown.png")).settings.task == "semanticmap2image"


def test_identity_prompts_are_taken_apart(tmp_path):
    base = {"seed": 1, "steps": 2, "guidance": 4.0, "width": 64, "height": 64}
    subject = ResultSettings(
        prompt="[[subject_driven]] <item: robot> [[img0]] on a beach [[img1]] in a lab", task="subject_driven", **base
    )
    save_png(Image.new("RGB", (8, 8)), tmp_path / "subject.png", subject)
    found = reuse(tmp_path / "subject.png", "identity", ["64x64"])
    assert found.values["option"] == "subject_driven" and found.values["subject"] == "robot"
    assert found.values["prompt"] == "on a beach" and found.values["caption_1"] == "in a lab"


def test_another_tabs_result_fills_only_the_shared_settings(tmp_path):
    depth = ResultSettings(
        prompt="[[depth2image]] a room", task="image2depth", seed=9, steps=3, guidance=2.0, width=64, height=64
    )
    save_png(Image.new("RGB", (8, 8)), tmp_path / "depth.png", depth)
    found = reuse(tmp_path / "depth.png", "text-to-image", T2I_SIZES)
    assert set(found.values) == {"negative_prompt", "seed", "randomize", "steps", "guidance", "size"}
    assert "made on another tab: only the shared settings were filled" in found.message("depth.png")
    names = ["prompt", "seed", "steps"]
    updates = reuse_updates(str(tmp_path / "depth.png"), "text-to-image", T2I_SIZES, names)
    assert updates == [gr.update(), gr.update(value=9), gr.update(value=3)]  # the prompt is left as it is


def test_another_tools_settings_fill_what_was_read(tmp_path):
    info = PngInfo()
    info.add_text(
        "parameters",
        "a cat on a sofa\nNegative prompt: ugly\nSteps: 20, Sampler: Euler a, CFG scale: 7, "
        "Seed: 42, Size: 512x512, Model hash: abc, Model: sd15",
    )
    Image.new("RGB", (8, 8)).save(tmp_path / "a1111.png", pnginfo=info)
    found = reuse(tmp_path / "a1111.png", "text-to-image", T2I_SIZES)
    assert found.values == {
        "negative_prompt": "ugly",
        "seed": 42,
        "randomize": False,
        "steps": 20,
        "guidance": 7.0,
        "prompt": "a cat on a sofa",
    }
    assert "512x512 is not one of this tab's sizes" in found.message("a1111.png")


def hostile(path, **texts: bytes) -> str:
    """A PNG whose text chunks hold the given raw bytes (zTXt when the keyword ends in _z)."""
    Image.new("RGB", (8, 8)).save(path)
    data = path.read_bytes()
    chunks = b""
    for key, raw in texts.items():
        kind, body = (
            (b"zTXt", key[:-2].encode() + b"\0\0" + zlib.compress(raw))
            if key.endswith("_z")
            else (b"tEXt", key.encode() + b"\0" + raw)
        )
        chunks += len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")
    path.write_bytes(data[:33] + chunks + data[33:])  # after the signature and IHDR
    return str(path)


@pytest.mark.parametrize(
    ("texts", "said"),
    [
        ({}, "The image carries no settings."),
        ({"parameters": b"x" * 3_000_000}, "more than the 65536 read"),
        ({"onediffusion_z": b"[" * 5_000_000}, "inflates to more than"),
        ({"onediffusion": b"{not json"}, "is not valid JSON"),
        ({"onediffusion": json.dumps({"prompt": 3, "seed": "x"}).encode()}, "should be str"),
    ],
    ids=["no-settings", "megabytes", "zip-bomb", "invalid-json", "wrong-types"],
)
def test_bad_files_change_nothing_and_say_why(tmp_path, texts, said):
    path = hostile(tmp_path / "bad.png", **texts)
    names = ["prompt", "negative_prompt", "seed", "randomize", "steps", "guidance", "size"]
    assert reuse_updates(path, "text-to-image", T2I_SIZES, names) == [gr.update()] * len(names)
    assert said in reuse(path, "text-to-image", T2I_SIZES).message("bad.png")


def test_control_characters_are_removed_and_reported(tmp_path):
    settings = {
        "prompt": "[[text2image]] a cube\x1b[31m\x00 red",
        "seed": 4,
        "steps": 2,
        "guidance": 4.0,
        "width": 64,
        "height": 64,
        "task": "text2image",
    }
    path = hostile(tmp_path / "control.png", onediffusion=json.dumps(settings).encode())
    found = reuse(path, "text-to-image", T2I_SIZES)
    assert found.values["prompt"] == "a cube[31m red" and found.values["seed"] == 4
    assert "held control characters; they were removed" in found.message("control.png")


def test_before_and_after_is_one_size(examples):
    photo = Image.open(examples / "scene_az000.png")
    before, after = out.before_after(photo, Image.new("RGB", (64, 48)))
    assert before.size == after.size == (64, 48)
    assert out.before_after(None, photo) is None
