"""Every named endpoint from ``gradio_client``, against ``python app.py`` on the tiny checkpoint."""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from gradio_client import handle_file
from gradio_client.exceptions import ValidationError
from PIL import Image

from tests.helpers import FAST, NO_LABELS, camera_traces, table
from ui.figures import ROLE_COLOURS

RUN = {**FAST, "negative_prompt": ""}  # the client would send the widget's default: the model's negative prompt
BLUE, ORANGE, GREEN = ROLE_COLOURS["condition"], ROLE_COLOURS["generated"], ROLE_COLOURS["estimated"]


def image_at(path: str) -> Image.Image:
    return Image.open(path)


@pytest.fixture(scope="module")
def scene(examples) -> dict:
    return {name: handle_file(str(examples / f"{name}.png")) for name in ("scene_az000", "scene_az090", "scene_depth")}


def test_model_info_names_the_model_in_use(client, tiny_model_dir):
    info = client.predict(api_name="/model_info")
    assert Path(info["model"]).is_dir() and info["fallback_reason"] is None and info["native_side"] == 64


def test_text_to_image_and_its_seed(client):
    settings = {"prompt": "a red cube", "negative_prompt": "", "size": "64x48", "steps": 2, "num_images": 2}
    gallery, seed, prompt = client.predict(**settings, guidance=4.0, randomize_seed=True, api_name="/text_to_image")
    assert len(gallery) == 2 and image_at(gallery[0]["image"]).size == (64, 48)
    assert gallery[0]["caption"] == f"image 1 · seed {seed}" and prompt == "[[text2image]] a red cube"
    again, same, _ = client.predict(
        **settings, guidance=4.0, seed=seed, randomize_seed=False, api_name="/text_to_image"
    )
    assert same == seed
    assert np.array_equal(np.asarray(image_at(gallery[1]["image"])), np.asarray(image_at(again[1]["image"])))


def test_control_with_an_uploaded_condition(client, scene):
    shown, gallery, seed, prompt = client.predict(
        condition="depth",
        condition_image=scene["scene_depth"],
        caption="a cube",
        labels=NO_LABELS,
        **RUN,
        api_name="/control",
    )
    assert image_at(shown).size == image_at(gallery[0]["image"]).size == (64, 64) and prompt == "[[depth2image]] a cube"


def test_control_inpainting_with_a_painted_layer(client, scene, examples):
    editor = {
        "background": scene["scene_az000"],
        "layers": [handle_file(str(examples / "scene_mask_layer.png"))],
        "composite": None,
    }
    shown, gallery, _, prompt = client.predict(
        condition="inpainting",
        condition_image=None,
        inpainting=editor,
        caption="a green cone",
        **RUN,
        api_name="/control",
    )
    grey = np.all(np.asarray(image_at(shown)) == 128, axis=-1)
    assert 0.05 < grey.mean() < 0.5 and prompt == "[[image_inpainting]] a green cone"  # the painted box only


def test_make_condition(client, scene):
    edges = client.predict(condition="canny", photo=scene["scene_az000"], api_name="/make_condition")
    values = set(np.unique(np.asarray(image_at(edges))))
    assert values <= {0, 255} and image_at(edges).size == (128, 128)  # computed here, at the photo's size
    depth = client.predict(condition="depth", photo=scene["scene_az000"], steps=2, seed=1, api_name="/make_condition")
    assert image_at(depth).size == (64, 64)  # by the model


def test_understand_depth_files_download(client, scene):
    shown, raw, mesh, files, regions, seed, prompt = client.predict(
        photo=scene["scene_az000"], target="depth", caption="", **FAST, api_name="/understand"
    )
    assert image_at(shown).size == image_at(raw).size == (64, 64) and Path(mesh).suffix == ".glb"
    names = sorted(Path(f).name for f in files)
    assert names == ["depth_16bit.png", "depth_colour.png", "depth_mesh.glb"]
    assert np.asarray(image_at(next(f for f in files if "16bit" in f))).dtype == np.uint16


def test_understand_boxes_report_regions(client, scene):
    labels = table([["cube", "red"], ["sphere", "blue"]])
    *_, regions, _, prompt = client.predict(
        photo=scene["scene_az000"], target="boundingbox", labels=labels, caption="", **FAST, api_name="/understand"
    )
    assert [r["class"] for r in regions] == ["cube", "sphere"]
    assert prompt == "[[boundingbox2image]] <#FF0000 red boundingbox: cube> <#0000FF blue boundingbox: sphere>"


def test_identity(client, examples):
    reference = handle_file(str(examples / "identity_1.png"))
    given = {"reference_1": reference, "caption_1": "a man with glasses", "target_caption": "the man at the beach"}
    gallery, _, prompt = client.predict(
        mode="identity",
        **given,
        caption_2="",
        caption_3="",
        caption_4="",
        subject_name="",
        size="64x64",
        **RUN,
        api_name="/identity",
    )
    assert prompt == "[[faceid]] [[img0]] the man at the beach [[img1]] a man with glasses"
    assert image_at(gallery[0]["image"]).size == (64, 64)


def test_multiview_returns_views_turntable_and_zip(client, scene):
    cameras = table([[0, 0, 1.7], [90, 0, 1.7], [180, 0, 1.7]])
    gallery, gif, archive, figure, _, prompt = client.predict(
        image=scene["scene_az000"], caption="toys", cameras=cameras, size="auto", **RUN, api_name="/multiview"
    )
    assert len(gallery) == 3 and gallery[0]["caption"].endswith("your photo (condition)")
    assert Image.open(gif).n_frames == 3 and prompt == "[[multiview]] toys"
    with zipfile.ZipFile(archive) as z:
        assert "run.json" in z.namelist()
    # The photo's camera blue (a condition), the generated views orange, each named.
    views = [("condition", BLUE, "view 1"), ("generated", ORANGE, "view 2"), ("generated", ORANGE, "view 3")]
    assert figure["type"] == "plotly" and camera_traces(figure) == views


def test_estimate_cameras(client, scene):
    photos = [{"image": scene["scene_az000"], "caption": None}, {"image": scene["scene_az090"], "caption": None}]
    figure, rows, _, prompt = client.predict(photos=photos, caption="", **FAST, api_name="/estimate_cameras")
    assert [row[0] for row in rows["data"]] == [1, 2] and rows["data"][0][1:4] == [0, 0, 1.7]
    assert camera_traces(figure) == [("estimated", GREEN, "photo 1"), ("estimated", GREEN, "photo 2")]
    assert figure["type"] == "plotly" and prompt == "[[multiview]]"


def test_slots(client, scene):
    rows = table([["image", "condition", 1, None, None, None], ["image", "target", None, None, None, None]])
    images = [{"image": scene["scene_depth"], "caption": None}]
    gallery, cameras, figure, _, prompt = client.predict(
        prompt="[[depth2image]] a cube", slots=rows, images=images, size="64x64", **FAST, api_name="/slots"
    )
    assert [item["caption"] for item in gallery] == ["slot 0 · condition", "slot 1 · generated · image 1 · seed 5"]
    assert cameras["data"] == [] and prompt == "[[depth2image]] a cube"


def test_camera_preset(client):
    rows = client.predict(preset="Orbit: 3 views around the object", api_name="/camera_preset")
    assert [row[0] for row in rows["data"]] == [0, 120, 240]


def test_bad_input_is_refused_before_the_queue_in_plain_words_naming_the_input(client):
    with pytest.raises(ValidationError, match="- prompt: Describe the image to generate in the Prompt box first"):
        client.predict(prompt="  ", **RUN, api_name="/text_to_image")
    with pytest.raises(ValidationError, match="- size: The width must be a multiple of 16"):
        client.predict(prompt="a cube", size="65x64", **RUN, api_name="/text_to_image")
    with pytest.raises(ValidationError, match="- photo: Add a photo first: the photo box is empty"):
        client.predict(photo=None, target="depth", caption="", **FAST, api_name="/understand")
    gallery, *_ = client.predict(prompt="a cube", size="64x64", **RUN, api_name="/text_to_image")
    assert gallery


def test_a_grid_through_the_client(client):
    grid, cells, summary = client.predict(
        prompt="a red cube",
        size="32x32",
        **RUN,
        x_axis="prompt",
        x_values="red, blue",
        y_axis="guidance",
        y_values="1-3 (+2)",
        api_name="/text_to_image_grid",
    )
    assert [cell["caption"] for cell in cells] == ["“red” · guidance 1", "“blue” · guidance 1", "“red” · guidance 3",
                                                   "“blue” · guidance 3"]  # fmt: skip
    assert summary.startswith("**4 of 4 cells done**") and image_at(grid).width > 64
    assert "[[text2image]] a blue cube" in Image.open(grid).text["onediffusion-grid"]
    with pytest.raises(ValidationError, match=r"- y_values: Guidance: the range '3-1 \(\+1\)' goes down"):
        client.predict(prompt="a cube", **RUN, x_axis="seed", x_values="1", y_axis="guidance", y_values="3-1 (+1)",
                       api_name="/text_to_image_grid")  # fmt: skip


def test_uploads_over_the_limit_are_refused(client, tmp_path):
    big = tmp_path / "huge.png"
    big.write_bytes(b"\x89PNG" + bytes(26 * 1024 * 1024))  # 26 MB: over the app's 25 MB limit
    with pytest.raises(Exception, match="(?i)(too large|exceed|size)"):
        client.predict(photo=handle_file(str(big)), target="depth", caption="", **FAST, api_name="/understand")
    assert client.predict(api_name="/model_info")["native_side"] == 64  # and the app is still up


def test_a_cancelled_job_frees_the_model_at_once(client):
    job = client.submit(
        prompt="a cube",
        size="64x64",
        steps=200,
        guidance=4.0,
        negative_prompt="",
        seed=1,
        randomize_seed=False,
        api_name="/text_to_image",
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (job.status().progress_data or [None])[0]:
        time.sleep(0.1)
    job.cancel()
    started = time.monotonic()
    gallery, *_ = client.predict(prompt="a cube", size="64x64", **RUN, api_name="/text_to_image")
    assert gallery and time.monotonic() - started < 20  # not behind the rest of the 200 steps


def test_orbit_video_and_its_files(client, scene):
    video, strip, gif, archive, figure, summary, seed, prompt = client.predict(
        image=scene["scene_az000"], caption="toys", path="Orbit: a full turn", views=6, fps=12, **FAST,
        api_name="/orbit_video",
    )  # fmt: skip
    assert video.endswith(".mp4") and Image.open(gif).n_frames == 6 and len(strip) == 6
    assert summary.startswith("6 of 6 views") and figure["type"] == "plotly"
    with zipfile.ZipFile(archive) as z:
        assert {"transforms.json", "cameras.json", "run.json"} <= set(z.namelist())


def test_upscale(client, scene):
    compare, result, summary, seed, prompt = client.predict(
        photo=scene["scene_az000"], factor=2, caption="", tile=64, overlap=16, **FAST, api_name="/upscale"
    )
    assert Image.open(result).size == (256, 256) and summary.startswith("256 × 256 px from 128 × 128 · 25 windows")
    assert prompt == "[[deblurring]]" and len(compare) == 2
