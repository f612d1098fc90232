"""The settings travel with the files ``gradio_client`` downloads from ``python app.py``: gallery images,
understanding files and the multiview zip; a downloaded result's settings reproduce it."""

from __future__ import annotations

import json
import zipfile

import numpy as np
from gradio_client import handle_file
from PIL import Image

from onediffusion.metadata import read_png
from tests.helpers import FAST, NO_LABELS, table


def test_a_downloaded_image_carries_its_settings_and_reproduces_itself(client):
    gallery, seed, prompt = client.predict(
        prompt="a red cube, “quoted”",
        negative_prompt="blurry",
        size="64x48",
        steps=2,
        guidance=3.0,
        seed=0,
        randomize_seed=True,
        num_images=1,
        api_name="/text_to_image",
    )
    read = read_png(gallery[0]["image"])
    settings = read.settings
    assert settings is not None and not read.problems
    assert (settings.prompt, settings.negative_prompt, settings.seed) == (prompt, "blurry", seed)
    assert (settings.steps, settings.guidance, settings.size, settings.task) == (2, 3.0, (64, 48), "text2image")
    assert read.parameters.startswith(f"{prompt}\nNegative prompt: blurry\nSteps: 2, Sampler: Euler, CFG scale: 3.0")
    caption = settings.prompt.removeprefix("[[text2image]] ")
    again, _, _ = client.predict(
        prompt=caption,
        negative_prompt=settings.negative_prompt,
        size=f"{settings.width}x{settings.height}",
        steps=settings.steps,
        guidance=settings.guidance,
        seed=settings.seed,
        randomize_seed=False,
        num_images=1,
        api_name="/text_to_image",
    )
    assert np.array_equal(np.asarray(Image.open(gallery[0]["image"])), np.asarray(Image.open(again[0]["image"])))


def test_understanding_files_carry_the_settings(client, examples):
    photo = handle_file(str(examples / "scene_az000.png"))
    shown, raw, _mesh, files, _regions, seed, _ = client.predict(
        photo=photo, target="depth", labels=NO_LABELS, caption="", **FAST, api_name="/understand"
    )
    for path in [shown, raw, *(f for f in files if f.endswith(".png"))]:
        settings = read_png(path).settings
        assert settings is not None and settings.task == "image2depth" and settings.seed == seed, path


def test_the_multiview_zip_holds_the_settings(client, examples):
    photo = handle_file(str(examples / "scene_az000.png"))
    cameras = table([[0, 0, 1.7], [90, 0, 1.7]])
    _gallery, _gif, archive, _figure, seed, prompt = client.predict(
        image=photo,
        caption="a scene",
        cameras=cameras,
        negative_prompt="",
        size="64x64",
        **FAST,
        api_name="/multiview",
    )
    with zipfile.ZipFile(archive) as zipped:
        run = json.loads(zipped.read("run.json"))
        generated = read_png(zipped.read("view_02.png")).settings
    assert run["settings"]["prompt"] == prompt and run["settings"]["seed"] == seed
    assert run["settings"]["task"] == "image2multiview" and generated.as_dict() == run["settings"]
