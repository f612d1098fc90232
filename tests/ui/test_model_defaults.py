"""Defaults that come from the model: a checkpoint's studio.json sets the negative prompt, steps, guidance,
cameras and the tasks it was trained for; the published model (no studio.json) keeps the reference's."""

from __future__ import annotations

import json
import shutil
import zipfile

import gradio as gr
import pytest

from onediffusion.camera_presets import PUBLISHED_CAMERA, CameraDefaults
from onediffusion.defaults import ModelDefaults
from onediffusion.prompts import DEFAULT_GUIDANCE, DEFAULT_STEPS, EDITING_GUIDANCE
from ui import build_demo
from ui.loader import Settings
from ui.service import Studio
from ui.tabs import control

MINI_TASKS = ["boundingbox2image", "camera_estimation", "canny2image", "deblurring", "depth2image", "editing",
              "identity", "image2boundingbox", "image2depth", "image2multiview", "image2semanticmap", "inpainting",
              "multiview", "semanticmap2image", "text2image", "text2multiview"]  # fmt: skip
STUDIO = {
    "name": "Mini for tests", "description": "a tiny model with a studio.json.", "image_side": 64,
    "negative_prompt": "blurry", "num_inference_steps": 3, "guidance_scale": 2.5, "tasks": MINI_TASKS,
    "camera": {"distance": 2.1, "elevation": 25, "focal_length": 1.3887},
}  # fmt: skip
SEED = {"seed": 3, "randomize_seed": False}


@pytest.fixture(scope="module")
def mini(tiny_model_dir, tmp_path_factory) -> Studio:
    """The tiny checkpoint with a studio.json like OneDiffusion-Mini's."""
    folder = tmp_path_factory.mktemp("mini") / "checkpoint"
    shutil.copytree(tiny_model_dir, folder)
    (folder / "studio.json").write_text(json.dumps(STUDIO))
    studio = Studio(Settings(model=str(folder), device="cpu"))
    studio.load()
    return studio


@pytest.fixture
def used(monkeypatch):
    """Records the run options of each pipeline call of a studio."""

    def watch(studio: Studio) -> list:
        calls, real = [], studio._call_on_gpu

        def recording(spec, options, *args):
            calls.append(options)
            return real(spec, options, *args)

        monkeypatch.setattr(studio, "_call_on_gpu", recording)
        return calls

    return watch


def slider_values(studio: Studio) -> dict[str, set]:
    """The starting values of the page's step and guidance sliders, over every tab."""
    sliders = [block for block in build_demo(studio).blocks.values() if isinstance(block, gr.Slider)]
    return {label: {s.value for s in sliders if s.label == label} for label in ("Steps", "Guidance")}


# Reading studio.json ----------------------------------------------------------------------------


def test_no_studio_json_keeps_the_published_defaults():
    defaults = ModelDefaults.from_studio({})
    assert (defaults.steps, defaults.guidance, defaults.guidance_for("editing")) == (50, 4.0, EDITING_GUIDANCE)
    assert defaults.negative_prompt is None and defaults.tasks is None and defaults.camera == PUBLISHED_CAMERA
    assert defaults.trained_for("pose2image") and defaults.guidance_hint().endswith("3.2 for editing).")


def test_every_key_is_optional():
    defaults = ModelDefaults.from_studio({"num_inference_steps": 20, "camera": {"elevation": 30}})
    assert (defaults.steps, defaults.guidance, defaults.guidance_for("editing")) == (20, DEFAULT_GUIDANCE, 3.2)
    assert defaults.camera == CameraDefaults(distance=1.7, elevation=30.0)
    full = ModelDefaults.from_studio(STUDIO)
    assert full.guidance_for("editing") == full.guidance == 2.5  # the lower editing guidance is the authors'
    assert full.camera == CameraDefaults(2.1, 25.0, 1.3887) and not full.trained_for("pose2image")
    assert full.guidance_hint() == "How strictly to follow the prompt (2.5 recommended)."


# A model with studio.json -----------------------------------------------------------------------


def test_runs_that_omit_settings_use_the_models_defaults(mini, used):
    calls = used(mini)
    gallery, _, _ = mini.text_to_image(prompt="a blue cube on a grey floor", **SEED)
    mini.control(condition="editing", condition_image=gallery[0][0], caption="make the blue cube red", **SEED)
    mini.understand(photo=gallery[0][0], target="depth", **SEED)
    assert [(o.steps, o.guidance) for o in calls] == [(3, 2.5)] * 3
    assert [o.negative_prompt for o in calls] == ["blurry", "blurry", ""]  # understanding takes none
    mini.text_to_image(prompt="a cube", steps=2, guidance=1.5, negative_prompt="", **SEED)
    assert (calls[-1].steps, calls[-1].guidance, calls[-1].negative_prompt) == (2, 1.5, "")


def test_the_page_starts_at_the_models_defaults(mini):
    assert mini.default_negative_prompt == "blurry"
    assert slider_values(mini) == {"Steps": {3}, "Guidance": {2.5}}
    assert control.guidance_for(mini, "editing") == control.guidance_for(mini, "depth") == 2.5


def test_cameras_follow_the_models_camera(mini, examples):
    assert mini.default_camera_rows() == [[0, 25, 2.1], [90, 25, 2.1], [180, 25, 2.1], [270, 25, 2.1]]
    assert mini.camera_preset(preset="Front, then from behind (azimuth 180°)") == [[0, 25, 2.1], [180, 25, 2.1]]
    assert "Orbit from slightly above: 4 views, elevation 45°" in mini.camera_preset_names()
    _, _, archive, *_ = mini.multiview(caption="a red cube", cameras=[[0, 25, None], [90, 25, None]], steps=1, **SEED)
    with zipfile.ZipFile(archive) as z:
        assert [view["distance"] for view in json.loads(z.read("run.json"))["views"]] == [2.1, 2.1]  # blank: 2.1
    photos = [(str(examples / f"scene_az{a:03d}.png"), None) for a in (0, 90)]
    _, rows, _, _ = mini.estimate_cameras(photos=photos, steps=1, **SEED)
    assert rows[0][1:4] == [0.0, 25.0, 2.1]  # photo 1 drawn at the model's first view


def test_the_banner_and_how_tos_name_what_the_model_was_not_trained_for(mini):
    assert mini.info.description == STUDIO["description"] and STUDIO["description"] in mini.banner()
    assert mini.untrained("control") == ["HED soft edges", "Human pose"]
    assert mini.untrained("understanding") == ["Human pose", "HED soft edges", "Canny edges"]
    assert mini.untrained("identity") == ["subject-driven"] and mini.untrained_note("text-to-image") == ""
    assert "Not trained for HED soft edges, Human pose" in mini.untrained_note("control")
    assert mini.banner().endswith(
        "Not trained for (expect noise): Control: HED soft edges, Human pose; "
        "Understanding: Human pose, HED soft edges, Canny edges; Identity: subject-driven; Upscale: upscaling."
    )


# The published model's defaults -----------------------------------------------------------------


def test_a_model_without_studio_json_keeps_todays_defaults(studio, used):
    assert slider_values(studio) == {"Steps": {DEFAULT_STEPS}, "Guidance": {DEFAULT_GUIDANCE}}
    assert control.guidance_for(studio, "editing") == EDITING_GUIDANCE
    assert studio.default_camera_rows()[1] == [90, 0, 1.7] and studio.untrained("control") == []
    assert "Not trained" not in studio.banner()
    calls = used(studio)
    photo = studio.text_to_image(prompt="a cube", steps=1, **SEED)[0][0][0]
    studio.control(condition="editing", condition_image=photo, caption="make it red", steps=1, **SEED)
    assert [o.guidance for o in calls] == [DEFAULT_GUIDANCE, EDITING_GUIDANCE]
