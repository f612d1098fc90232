"""The multiview endpoints on the tiny checkpoint: views, turntable, zip and camera figure; camera presets and
the live preview; camera poses of photos."""

from __future__ import annotations

import zipfile

import gradio as gr
import pytest
from PIL import Image

from tests.helpers import camera_traces
from ui.figures import ROLE_COLOURS

BLUE, ORANGE, GREEN = ROLE_COLOURS["condition"], ROLE_COLOURS["generated"], ROLE_COLOURS["estimated"]


def test_multiview_from_a_photo_returns_views_gif_zip_and_figure(studio, photo, fast):
    rows = [[0, 0, 1.7], [90, 0, 1.7], [180, 10, 1.7]]
    gallery, gif, archive, figure, seed, prompt = studio.multiview(image=photo, caption="toys", cameras=rows, **fast)
    assert [image.size for image, _ in gallery] == [(64, 64)] * 3  # square at the native side
    assert gallery[0][1].endswith("your photo (condition)")
    assert gallery[2][1].startswith("view 3 · azimuth 180°, elevation 10°")
    assert Image.open(gif).n_frames == 3 and prompt == "[[multiview]] toys"
    with zipfile.ZipFile(archive) as z:
        assert sorted(z.namelist()) == ["run.json", "view_01.png", "view_02.png", "view_03.png"]
    # The photo's camera blue (a condition), the generated views orange, each named.
    expected = [("condition", BLUE, "view 1"), ("generated", ORANGE, "view 2"), ("generated", ORANGE, "view 3")]
    assert camera_traces(figure) == expected
    legend = [t.name for t in figure.data if t.type == "scatter3d" and t.legendgroup and t.showlegend]
    assert legend == ["given (condition)", "to generate (target)"]


def test_multiview_from_text_generates_every_view(studio, fast):
    gallery, _, _, figure, _, _ = studio.multiview(caption="a red cube", cameras=[[0, 0, 1.7], [120, 0, 1.7]], **fast)
    assert len(gallery) == 2 and all(caption.endswith("generated") for _, caption in gallery)
    assert camera_traces(figure) == [("generated", ORANGE, "view 1"), ("generated", ORANGE, "view 2")]
    with pytest.raises(gr.Error, match="Add a photo, or describe the object"):
        studio.multiview(caption=" ", cameras=[[0, 0, 1.7]], **fast)


def test_camera_preset_and_live_preview(studio, photo):
    rows = studio.camera_preset(preset="Front, then from behind (azimuth 180°)")
    assert rows == [[0, 0, 1.7], [180, 0, 1.7]]
    with_photo = studio.camera_preview(cameras=rows, image=photo)
    assert camera_traces(with_photo) == [("condition", BLUE, "view 1"), ("generated", ORANGE, "view 2")]
    without = studio.camera_preview(cameras=rows)
    assert [colour for _, colour, _ in camera_traces(without)] == [ORANGE, ORANGE]
    with pytest.raises(gr.Error, match="Row 1: distance"):
        studio.camera_preview(cameras=[[0, 0, 0]])
    with pytest.raises(gr.Error, match="Unknown camera preset"):
        studio.camera_preset(preset="nope")


def test_estimate_cameras_places_photo_1_in_front(studio, examples, fast):
    photos = [Image.open(examples / f"scene_az{a:03d}.png") for a in (0, 90, 180)]
    figure, rows, seed, prompt = studio.estimate_cameras(photos=[(p, None) for p in photos], **fast)
    assert [row[0] for row in rows] == [1, 2, 3] and rows[0][1:4] == [0.0, 0.0, 1.7]
    assert all(row[4] > 0 for row in rows)  # a fitted focal length per photo
    expected = [("estimated", GREEN, f"photo {i}") for i in (1, 2, 3)]
    assert camera_traces(figure) == expected and prompt == "[[multiview]]"
    with pytest.raises(gr.Error, match="Give 2 to 4 photos; 1 was given"):
        studio.estimate_cameras(photos=[photos[0]], **fast)
