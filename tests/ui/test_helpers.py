"""The app's pure helpers: widget values to engine values, camera tables, figures and output files."""

from __future__ import annotations

import json
import os
import time
import zipfile

import numpy as np
import pytest
import trimesh
from PIL import Image

from onediffusion import Camera, Label
from onediffusion import camera_presets as cams
from ui import inputs, outputs
from ui.figures import ROLE_COLOURS, camera_figure, frustum_points
from ui.inputs import InputError

# Widget values ----------------------------------------------------------------------------------


def test_size_presets_scale_the_aspect_ratio_table_to_the_native_side():
    presets = dict((value, label) for label, value in inputs.size_presets(512))
    assert len(presets) == 40  # the whole 512-pixel table, nothing collapsed at the published size
    assert presets["512x512"].startswith("512 × 512 (square")
    assert "1024x256" in presets and "256x1024" in presets
    small = [value for _, value in inputs.size_presets(64)]
    assert small[0] == "64x64"  # the square first
    assert len(small) == len(set(small)) < 40  # duplicates at tiny sizes are listed once
    assert all(int(v) % 16 == 0 for value in small for v in value.split("x"))
    assert "128x128" in [v for _, v in inputs.size_presets(64, (1.0, 2.0))]


@pytest.mark.parametrize("text, expected", [("auto", None), ("", None), ("640x384", (384, 640)), ("64 × 48", (48, 64))])
def test_parse_size_reads_width_by_height(text, expected):
    assert inputs.parse_size(text) == expected


@pytest.mark.parametrize("text, message", [("big", "look like"), ("100x64", "multiple of 16"), ("4096x64", "2048")])
def test_parse_size_explains_bad_sizes(text, message):
    with pytest.raises(InputError, match=message):
        inputs.parse_size(text)


def test_seed_is_checked_or_drawn():
    assert inputs.seed(42, False) == 42
    assert inputs.seed(42.0, False) == 42
    drawn = {inputs.seed(0, True) for _ in range(5)}
    assert len(drawn) > 1 and all(0 <= s <= inputs.MAX_SEED for s in drawn)
    for bad in (-1, 1.5, "x", None, 2**33):
        with pytest.raises(InputError, match="Seed"):
            inputs.seed(bad, False)


def test_steps_guidance_and_count_are_bounded_in_plain_words():
    assert inputs.steps(30) == 30 and inputs.guidance("3.5") == 3.5 and inputs.num_images(4) == 4
    with pytest.raises(InputError, match="Steps must be a whole number from 1 to 200"):
        inputs.steps(0)
    with pytest.raises(InputError, match="Guidance must be between 0 and 20"):
        inputs.guidance(-1)
    with pytest.raises(InputError, match="Number of images"):
        inputs.num_images(9)


def test_labels_take_names_hex_codes_and_free_colours():
    rows = [["sky", "blue"], ["tree", "#00ff00"], ["car", ""], ["", "red"]]
    assert inputs.labels(rows) == [Label("sky", "blue"), Label("tree", "lime"), Label("car", "red")]
    assert inputs.labels({"headers": ["class", "colour"], "data": [["dog", None]]}) == [Label("dog", "red")]
    assert inputs.labels(None) == []
    with pytest.raises(InputError, match="not one the model knows. Use one of: red, lime"):
        inputs.labels([["sky", "sky blue"]])
    with pytest.raises(InputError, match="cannot contain"):
        inputs.labels([["<b>", "red"]])


def test_editor_mask_reads_transparent_and_opaque_layers():
    photo = Image.new("RGB", (32, 16), "white")
    stroke = Image.new("RGBA", (32, 16), (0, 0, 0, 0))
    stroke.paste((255, 255, 255, 255), (4, 4, 8, 8))
    _, mask = inputs.editor_photo_and_mask({"background": photo, "layers": [stroke]})
    assert mask.size == (32, 16) and np.asarray(mask).sum() == 16 * 255
    opaque = Image.new("RGB", (32, 16), "black")
    opaque.paste((255, 255, 255), (0, 0, 2, 2))
    _, mask = inputs.editor_photo_and_mask({"background": photo, "layers": [opaque.convert("RGBA")]})
    assert np.asarray(mask).sum() == 4 * 255
    with pytest.raises(InputError, match="Paint over the region"):
        inputs.editor_photo_and_mask({"background": photo, "layers": []})
    with pytest.raises(InputError, match="Add a photo to the inpainting editor"):
        inputs.editor_photo_and_mask(None)


def test_editor_layers_given_as_files_keep_their_transparency(examples):
    """As the service's Python callers and the examples pass them: paths and client file descriptions."""
    photo = str(examples / "scene_az000.png")
    layer = str(examples / "scene_mask_layer.png")
    for value in (layer, {"path": layer}):
        _, mask = inputs.editor_photo_and_mask({"background": photo, "layers": [value]})
        assert 0.05 < (np.asarray(mask) > 0).mean() < 0.5  # the painted box only, not the whole sheet


def test_images_are_checked_with_plain_messages(tmp_path):
    with pytest.raises(InputError, match="Add a photo first"):
        inputs.image(None)
    (tmp_path / "broken.png").write_bytes(b"not an image")
    with pytest.raises(InputError, match="could not be read"):
        inputs.image(str(tmp_path / "broken.png"))
    with pytest.raises(InputError, match="limit is 4096"):
        inputs.image(Image.new("RGB", (5000, 10)))
    rgba = Image.new("RGBA", (4, 4), (0, 0, 0, 0))
    assert inputs.image(rgba).mode == "RGB"
    gallery = [(Image.new("RGB", (8, 8)), "a"), {"image": Image.new("RGB", (8, 8))}]
    assert len(inputs.gallery_images(gallery, "photo", 2, 4)) == 2
    with pytest.raises(InputError, match="Give 2 to 4 photos; 1 was given"):
        inputs.gallery_images(gallery[:1], "photo", 2, 4)


# Cameras ----------------------------------------------------------------------------------------


def test_presets_give_valid_tables():
    for name in cams.PRESETS:
        views = cams.rows_to_views(cams.preset_rows(name))
        assert 2 <= len(views) <= cams.MAX_VIEWS and views[0][0] == 0
    assert [v[0] for v in cams.rows_to_views(cams.preset_rows("Orbit: 4 views around the object"))] == [0, 90, 180, 270]
    with pytest.raises(InputError, match="Unknown camera preset"):
        cams.preset_rows("nope")


def test_camera_rows_are_checked_row_by_row():
    assert cams.rows_to_views([[30, 10, None]]) == [(30.0, 10.0, cams.DEFAULT_DISTANCE)]
    with pytest.raises(InputError, match="Row 2: elevation"):
        cams.rows_to_views([[0, 0, 1.7], [0, 95, 1.7]])
    with pytest.raises(InputError, match="Row 1: azimuth must be a number"):
        cams.rows_to_views([["left", 0, 1.7]])
    with pytest.raises(InputError, match="needs 2 to 8 rows"):
        cams.rows_to_views([[0, 0, 1.7]], least=2)


@pytest.mark.parametrize("azimuth, elevation, distance", [(0, 0, 1.7), (90, 20, 2.0), (250, -30, 1.2)])
def test_spherical_inverts_orbit(azimuth, elevation, distance):
    assert cams.spherical(Camera.orbit(azimuth, elevation, distance)) == pytest.approx(
        (azimuth, elevation, distance), abs=0.05
    )


def test_azimuth_90_is_to_the_first_views_right():
    front, right = Camera.orbit(0, 0, 1.7), Camera.orbit(90, 0, 1.7)
    first_view_right_axis = front.c2w[:3, 0]  # OpenCV: x points right in the image
    assert np.dot(right.centre - front.centre, first_view_right_axis) > 0


def test_place_around_object_keeps_relative_poses():
    true = [Camera.orbit(a, 10, 1.7) for a in (0, 60, 120)]
    shift = np.eye(4)
    shift[:3, 3] = (5, -2, 1)
    moved = [Camera(shift @ cam.c2w) for cam in true]  # the same rig in another frame
    placed = cams.place_around_object(moved, anchor=true[0])
    for cam, ref in zip(placed, true):
        np.testing.assert_allclose(cam.c2w, ref.c2w, atol=1e-9)
    assert cams.camera_rows(placed)[1][:3] == pytest.approx([60, 10, 1.7], abs=0.05)


# Figures ----------------------------------------------------------------------------------------


def test_frustum_opens_towards_the_object():
    camera = Camera.orbit(45, 20, 1.7)
    points = frustum_points(camera)
    np.testing.assert_allclose(points[0], camera.centre)
    plane_centre = points[1:5].mean(0)
    assert np.linalg.norm(plane_centre) < np.linalg.norm(camera.centre)  # the image plane is nearer the origin
    assert points[7][2] > plane_centre[2]  # the 'top' marker points up for an upright camera


def test_camera_figure_colours_roles_and_names_views():
    cameras = [Camera.orbit(a, 0, 1.7) for a in (0, 90, 180)]
    figure = camera_figure(cameras, ["view 1", "view 2", "view 3"], ["condition", "generated", "generated"])
    lines = [t for t in figure.data if t.type == "scatter3d" and t.mode == "lines" and t.legendgroup]
    assert [t.line.color for t in lines] == [
        ROLE_COLOURS["condition"],
        ROLE_COLOURS["generated"],
        ROLE_COLOURS["generated"],
    ]
    assert [t.showlegend for t in lines] == [True, True, False]  # one legend entry per role
    labels = next(t for t in figure.data if t.name == "labels")
    assert list(labels.text) == ["view 1", "view 2", "view 3"]
    assert "azimuth 90°" in lines[1].hovertext


# Output files -----------------------------------------------------------------------------------


@pytest.fixture
def depth_array() -> np.ndarray:
    ramp = np.linspace(0, 1, 48)[None, :, None]
    return np.broadcast_to(ramp, (32, 48, 3)).copy()


def test_depth_colourised_and_16_bit(depth_array, tmp_path):
    depth = outputs.depth_values(depth_array)
    coloured = np.asarray(outputs.colourise_depth(depth))
    assert coloured.shape == (32, 48, 3)
    assert coloured[:, -1].mean() > coloured[:, 0].mean()  # near (bright in the map) is the bright end of inferno
    path = outputs.save_depth_png16(depth, tmp_path / "d.png")
    loaded = np.asarray(Image.open(path))
    assert loaded.dtype == np.uint16 and loaded.max() == 65535 and len(np.unique(loaded)) == 48


def test_depth_mesh_is_a_coloured_glb(depth_array, tmp_path):
    photo = Image.new("RGB", (48, 32), (200, 10, 10))
    path = outputs.save_glb(outputs.depth_mesh(outputs.depth_values(depth_array), photo), tmp_path / "m.glb")
    mesh = trimesh.load(path, force="mesh")
    assert len(mesh.vertices) == 32 * 48 and len(mesh.faces) == 2 * 31 * 47
    assert np.ptp(mesh.vertices[:, 2]) == pytest.approx(0.5, abs=1e-3)  # the relief spans the depth range
    assert tuple(mesh.visual.vertex_colors[0][:3]) == (200, 10, 10)


def test_regions_boxes_and_overlay():
    drawing = Image.new("RGB", (40, 30), "black")
    drawing.paste((255, 0, 0), (5, 6, 15, 20))
    regions = outputs.label_regions(drawing, [Label("cube", "red"), Label("sky", "blue")])
    assert regions[0]["box"] == [5, 6, 15, 20] and regions[0]["share"] == pytest.approx(140 / 1200, abs=1e-3)
    assert regions[1]["box"] is None
    photo = Image.new("RGB", (40, 30), (0, 0, 200))
    overlay = np.asarray(outputs.overlay_drawing(photo, drawing))
    assert tuple(overlay[10, 10]) != (0, 0, 200) and tuple(overlay[0, 0]) == (0, 0, 200)
    boxed = np.asarray(outputs.draw_boxes(photo, regions))
    assert tuple(boxed[6, 5]) == (255, 0, 0)


def test_gif_and_zip(tmp_path):
    frames = [Image.new("RGB", (16, 16), c) for c in ("red", "green", "blue")]
    gif = Image.open(outputs.save_gif(frames, tmp_path / "t.gif"))
    assert gif.n_frames == 3 and gif.info["loop"] == 0
    archive = outputs.save_zip(tmp_path / "r.zip", {"view_01.png": frames[0]}, {"seed": 3})
    with zipfile.ZipFile(archive) as z:
        assert sorted(z.namelist()) == ["run.json", "view_01.png"]
        assert json.loads(z.read("run.json")) == {"seed": 3}


def test_run_folders_are_cleared_after_the_expiry(tmp_path):
    old = outputs.run_folder(tmp_path)
    os.utime(old, (time.time() - 7200, time.time() - 7200))  # two hours old
    fresh = outputs.run_folder(tmp_path)
    assert outputs.clear_old_runs(tmp_path) == 1  # the default expiry: an hour
    assert fresh.is_dir() and not old.exists()
    assert outputs.clear_old_runs(tmp_path, keep_seconds=-1) == 1 and not fresh.exists()
    assert outputs.clear_old_runs(tmp_path / "never-made") == 0
