"""The orbit-video and upscale endpoints on the tiny checkpoint: what they return, their plans drawn and said
before a run, Stop keeping an orbit's frames, high-resolution text to image in windows, and bad input in words."""

from __future__ import annotations

import json
import threading
import zipfile
from types import SimpleNamespace

import gradio as gr
import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

from tests.helpers import camera_traces
from ui.figures import ROLE_COLOURS

ORBIT = {"path": "Orbit: a full turn", "views": 6, "fps": 12}


def test_an_orbit_video_from_a_photo(studio, photo, fast):
    video, strip, gif, archive, figure, summary, seed, prompt = studio.orbit_video(
        image=photo, caption="toys", **ORBIT, **fast
    )
    frames, seconds = imageio_ffmpeg.count_frames_and_secs(video)
    assert frames == 6 and seconds == pytest.approx(0.5, abs=0.05)
    assert len(strip) == 6 and sum("anchor" in caption for _, caption in strip) == 3
    assert Image.open(gif).n_frames == 6 and prompt == "[[multiview]] toys" and seed == fast["seed"]
    assert summary.startswith("6 of 6 views · ") and "anchors: views 2, 4, 6" in summary
    with zipfile.ZipFile(archive) as z:
        assert json.loads(z.read("run.json"))["complete"] and len([n for n in z.namelist() if n.endswith(".png")]) == 6
    roles = [role for role, _, _ in camera_traces(figure)]
    assert roles.count("condition") == 1 and roles.count("anchor") == 3 and roles.count("generated") == 3


def test_the_path_is_drawn_before_anything_runs(studio):
    figure = studio.orbit_preview(path="Front sweep (the paper's: left to right, rising)", views=9, anchors=2)
    traces = camera_traces(figure)
    assert [role for role, _, _ in traces].count("anchor") == 2 and len(traces) == 9  # no photo: no blue camera
    assert ("anchor", ROLE_COLOURS["anchor"], "anchor 1") in traces
    with_photo = camera_traces(studio.orbit_preview(views=9, image=True))
    assert with_photo[0] == ("condition", ROLE_COLOURS["condition"], "photo")
    assert any(t.name == "path" for t in figure.data)  # the line through the cameras


def test_an_orbit_from_a_caption_through_the_table(studio, fast):
    rows = [[0, 10, 1.7], [90, 20, 1.7], [180, 10, 1.7]]
    video, strip, *_ = studio.orbit_video(
        caption="a red cube", path="Through the camera table", views=4, cameras=rows, fps=8, **fast
    )
    assert imageio_ffmpeg.count_frames_and_secs(video)[0] == 4 and len(strip) == 4


@pytest.mark.parametrize(
    "changes, words",
    [
        ({"views": 1}, "Number of views must be a whole number from 2 to 240"),
        ({"views": 500}, "from 2 to 240"),
        ({"path": "Front sweep (the paper's: left to right, rising)", "azimuth_from": 30, "azimuth_to": -30},
         "The azimuth range must go from a lower to a higher value"),
        ({"path": "Zoom in", "distance_from": 1.7, "distance_to": 1.7}, "distance range must go from a lower"),
        ({"path": "Through the camera table", "cameras": [[0, 0, 1.7], [0, 0, 1.7]]}, "are the same camera"),
        ({"fps": 0}, "Frames a second must be from 1 to 60"),
        ({"anchors": 0}, "Anchors must be 1 to the number of views"),
        ({"path": "A loop"}, "Unknown path 'A loop'"),
        ({"image": "not an image.png"}, "could not be read as an image"),
    ],
)  # fmt: skip
def test_bad_orbit_settings_are_plain_errors(studio, photo, fast, changes, words):
    with pytest.raises(gr.Error, match=words):
        studio.orbit_video(**{"image": photo, **ORBIT, **changes}, **fast)


def test_an_orbit_needs_a_photo_or_a_caption(studio, fast):
    with pytest.raises(gr.Error, match="Add a photo, or describe the object"):
        studio.orbit_video(caption="  ", **ORBIT, **fast)


def test_stop_keeps_the_orbits_frames_made(studio, photo, fast):
    """Stop (the tab's, which does not cancel the event) ends the run after its current step; the views made
    come back as a shorter video and a zip that says how many it holds."""
    result: dict = {}
    request = SimpleNamespace(session_hash="orbiting")
    progress_seen = []

    def progress(value, desc=None, unit=None, **kwargs):
        progress_seen.append((value, desc))
        if isinstance(value, tuple) and desc == "Views" and value[0] == 3:  # the anchors are made
            studio.cancel(request)

    def work():
        result["out"] = studio.orbit_video(
            image=photo, **{**ORBIT, "views": 9}, **{**fast, "steps": 3}, progress=progress, request=request
        )

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(120)
    video, strip, gif, archive, _, summary, _, _ = result["out"]
    assert summary.startswith("3 of 9 views (stopped") and imageio_ffmpeg.count_frames_and_secs(video)[0] == 3
    assert archive.endswith("frames-3-of-9.zip") and ((3, 9), "Views") in progress_seen


def test_upscale_says_its_plan_and_cost_then_makes_the_size(studio, fast):
    photo = Image.fromarray(np.random.default_rng(1).integers(0, 256, (32, 48, 3), dtype=np.uint8))
    plan = studio.upscale_advice(photo, factor=4, tile=64, overlap=16, steps=2, guidance=4.0)
    assert plan.startswith("**192 × 128 px**: 12 windows × 2 steps = 24 model passes") and " here (" in plan
    (before, after), path, summary, seed, prompt = studio.upscale(photo, factor=4, tile=64, overlap=16, **fast)
    assert before.size == after.size == Image.open(path).size == (192, 128)
    assert summary == "192 × 128 px from 48 × 32 · 12 windows × 2 steps" and prompt == "[[deblurring]]"
    from onediffusion.metadata import read_png

    assert read_png(path).settings.task == "upscaling" and read_png(path).settings.width == 192
    (_, small), *_ = studio.upscale(photo, width=96, **fast)  # a width instead of a factor: one window
    assert small.size == (96, 64)


@pytest.mark.parametrize(
    "changes, words",
    [
        ({"factor": 6}, "Factor must be from 1 to 4"),
        ({"factor": 2, "tile": 64, "overlap": 64}, "Overlap must be at least 0 and less than the tile"),
        ({"factor": 2, "tile": 40}, "Tile size must be a multiple of 16"),
        ({"width": 4096}, "16 to 2048 pixels a side"),
    ],
)
def test_bad_upscale_settings_are_plain_errors(studio, fast, changes, words):
    photo = Image.new("RGB", (48, 32), "white")
    with pytest.raises(gr.Error, match=words):
        studio.upscale(photo, **changes, **fast)
    with pytest.raises(gr.Error, match="Add a photo first"):
        studio.upscale(None, **fast)


def test_text_to_image_above_the_native_size_runs_in_windows(studio, fast):
    windows = []

    def progress(value, desc=None, **kwargs):
        if desc == "Windows x steps":
            windows.append(value)

    gallery, _, _ = studio.text_to_image("a wide cube", size="128x64", **fast, progress=progress)
    assert gallery[0][0].size == (128, 64)
    assert windows[-1] == (6, 6)  # 3 windows of 64 px, 2 steps
