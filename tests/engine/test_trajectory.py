"""Long camera paths (issue 29): the presets look at the object and keep their ranges, an orbit closes, a path
through table rows passes its keyframes; the anchored plan makes each view once, nearest-anchor conditions,
batches of the asked size; the files decode and their poses are the cameras; Stop keeps the frames done."""

from __future__ import annotations

import json
import math
import zipfile

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

from onediffusion import camera_paths as paths
from onediffusion.cameras import Camera
from onediffusion.metadata import read_png
from onediffusion.path_files import OPENCV_TO_OPENGL
from onediffusion.trajectory import INPUT, make_path, plan_path


def looks_at_origin(camera: Camera, tolerance_deg: float = 0.5) -> bool:
    forward = camera.c2w[:3, 2]  # OpenCV: z points where the camera looks
    to_object = -camera.centre / np.linalg.norm(camera.centre)
    return math.degrees(math.acos(np.clip(forward @ to_object, -1, 1))) < tolerance_deg


def spherical(camera: Camera) -> tuple[float, float, float]:
    x, y, z = camera.centre
    distance = float(np.linalg.norm(camera.centre))
    return math.degrees(math.atan2(y, x)), math.degrees(math.asin(z / distance)), distance


@pytest.mark.parametrize(
    "make",
    [lambda n: paths.front_sweep(n), lambda n: paths.orbit(n, 20), lambda n: paths.spiral(n), lambda n: paths.zoom(n)],
)
def test_every_preset_looks_at_the_object_for_any_number_of_views(make):
    for views in (2, 7, 80):
        cameras = make(views)
        assert len(cameras) == views and all(looks_at_origin(c) for c in cameras)


def test_the_papers_front_sweep_keeps_its_ranges_in_degrees():
    assert paths.PAPER_SWEEP_AZIMUTH == (-25.78, 34.38)  # the appendix's [-0.45, 0.6] radians
    cameras = paths.front_sweep(80)
    azimuths, elevations, _ = zip(*(spherical(c) for c in cameras))
    assert azimuths[0] == pytest.approx(-25.78, abs=1e-6) and azimuths[-1] == pytest.approx(34.38, abs=1e-6)
    assert elevations[0] == pytest.approx(-15) and elevations[-1] == pytest.approx(45)
    assert np.all(np.diff(azimuths) > 0) and np.allclose(np.diff(elevations), 60 / 79)


def test_an_orbit_closes_on_itself():
    cameras = paths.orbit(36, 10, 2.0)
    steps = [np.linalg.norm(a.centre - b.centre) for a, b in zip(cameras, cameras[1:] + cameras[:1])]
    assert np.allclose(steps, steps[0])  # the last step, back to the start, is like every other
    assert spherical(cameras[0])[0] == pytest.approx(0.0, abs=1e-9) and all(
        abs(spherical(c)[2] - 2) < 1e-9 for c in cameras
    )


def test_a_spiral_rises_and_a_zoom_moves_in():
    elevations = [spherical(c)[1] for c in paths.spiral(20, (0, 40))]
    assert elevations[0] == pytest.approx(0) and elevations[-1] == pytest.approx(40) and np.all(np.diff(elevations) > 0)
    distances = [spherical(c)[2] for c in paths.zoom(10, (2.2, 1.2))]
    assert distances[0] == pytest.approx(2.2) and distances[-1] == pytest.approx(1.2) and np.all(np.diff(distances) < 0)


def test_a_path_through_table_rows_passes_its_keyframes_smoothly():
    keys = [Camera.orbit(a, e, d) for a, e, d in [(0, 0, 1.7), (90, 20, 1.9), (180, 10, 1.7)]]
    cameras = paths.through(keys, 41)
    assert np.allclose(cameras[0].c2w, keys[0].c2w, atol=1e-9) and np.allclose(cameras[-1].c2w, keys[-1].c2w, atol=1e-9)
    middle = min(cameras, key=lambda c: np.linalg.norm(c.centre - keys[1].centre))
    assert np.linalg.norm(middle.centre - keys[1].centre) < 0.05  # it passes (near) the middle keyframe
    assert all(looks_at_origin(c) for c in cameras)
    jumps = [np.linalg.norm(a.centre - b.centre) for a, b in zip(cameras, cameras[1:])]
    assert max(jumps) < 3 * np.median(jumps)  # smooth: no jump


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda: paths.orbit(1), "from 2 to 240"),
        (lambda: paths.orbit(241), "from 2 to 240"),
        (lambda: paths.front_sweep(10, azimuth=(30, -30)), "from a lower to a higher"),
        (lambda: paths.front_sweep(10, azimuth=(10, 10)), "from a lower to a higher"),
        (lambda: paths.spiral(10, elevation=(0, 95)), "within -89 to 89"),
        (lambda: paths.through([Camera.orbit(0, 0, 1.7)] * 2, 10), "are the same camera"),
        (lambda: paths.check_distinct([Camera.orbit(0, 0, 1.7)] * 3), "coincide"),
    ],
)
def test_bad_paths_are_refused_saying_why(make, words):
    with pytest.raises(ValueError, match=words):
        make()


def test_the_anchored_plan_makes_each_view_once_from_the_nearest_anchor():
    cameras = paths.orbit(80, 15)
    plan = plan_path(cameras, seed=100)
    assert sorted(plan.order) == list(range(80)) and len(plan.order) == 80  # each view once
    assert len(plan.anchors) == 3 and plan.batches[0].targets == plan.anchors and plan.batches[0].conditions == (INPUT,)
    for batch in plan.batches[1:]:
        assert 1 <= len(batch.targets) <= 3 and batch.conditions[0] == INPUT and len(batch.conditions) == 2
        anchor = batch.conditions[1]
        for view in batch.targets:
            nearest = min(plan.anchors, key=lambda a: paths.viewing_angle_deg(cameras[view], cameras[a]))
            assert paths.viewing_angle_deg(cameras[view], cameras[anchor]) == pytest.approx(
                paths.viewing_angle_deg(cameras[view], cameras[nearest])
            )
    assert [b.seed for b in plan.batches] == list(range(100, 100 + len(plan.batches)))  # from one seed
    assert json.loads(json.dumps(plan.as_dict()))["anchors"] == list(plan.anchors)  # a plain object


def test_plan_settings_and_the_plain_alternative():
    cameras = paths.orbit(24)
    wide = plan_path(cameras, anchors=4, batch_size=5)
    assert len(wide.anchors) == 4 and max(len(b.targets) for b in wide.batches) == 5
    plain = plan_path(cameras, anchored=False)
    assert plain.anchors == () and all(b.conditions == (INPUT,) for b in plain.batches)
    assert sorted(plain.order) == list(range(24))
    for bad, words in (({"batch_size": 0}, "`batch_size`"), ({"anchors": 0}, "`anchors`")):
        with pytest.raises(ValueError, match=words):
            plan_path(cameras, **bad)


@pytest.fixture(scope="module")
def orbit_run(tiny_pipe, tmp_path_factory, examples):
    cameras = paths.orbit(6, 15, 1.7)
    folder = tmp_path_factory.mktemp("orbit")
    result = make_path(
        tiny_pipe, examples / "scene_az000.png", cameras, folder, Camera.orbit(0, 15, 1.7), caption="toys", seed=3,
        num_inference_steps=2, size=64, fps=12,
    )  # fmt: skip
    return cameras, result


@pytest.fixture(scope="module")
def examples():
    from tests.ui.conftest import EXAMPLES

    return EXAMPLES


def test_the_video_decodes_to_every_frame_at_its_rate(orbit_run):
    _, result = orbit_run
    frames, seconds = imageio_ffmpeg.count_frames_and_secs(str(result.video))
    assert result.complete and frames == 6 and seconds == pytest.approx(6 / 12, abs=0.05)
    reader = imageio_ffmpeg.read_frames(str(result.video))
    meta = next(reader)
    assert meta["fps"] == pytest.approx(12) and meta["codec"] == "h264" and "yuv420p" in meta["pix_fmt"]
    assert meta["size"] == (64, 64)
    with Image.open(result.gif) as gif:
        assert gif.n_frames == 6


def test_transforms_json_loads_and_its_poses_are_the_cameras(orbit_run):
    cameras, result = orbit_run
    data = json.loads((result.folder / "transforms.json").read_text())
    assert (data["w"], data["h"], data["cx"]) == (64, 64, 32) and data["fl_x"] == pytest.approx(1.3887 * 64)
    assert len(data["frames"]) == 6
    for frame, camera in zip(data["frames"], cameras):
        assert (result.folder / frame["file_path"]).is_file()
        opengl = np.array(frame["transform_matrix"])
        assert np.allclose(opengl @ OPENCV_TO_OPENGL, camera.c2w)  # back to the OpenCV camera
        assert np.allclose(opengl[:3, 1], -camera.c2w[:3, 1]) and np.allclose(opengl[:3, 2], -camera.c2w[:3, 2])


def test_the_zip_holds_frames_with_settings_and_the_cameras(orbit_run):
    _, result = orbit_run
    with zipfile.ZipFile(result.archive) as z:
        names = z.namelist()
        assert sorted(n for n in names if n.startswith("frames/")) == [f"frames/frame_{i:04d}.png" for i in range(1, 7)]
        assert {"cameras.json", "transforms.json", "run.json"} <= set(names)
        run = json.loads(z.read("run.json"))
        settings = read_png(z.read("frames/frame_0001.png")).settings
    assert run["frames"] == run["of"] == 6 and run["complete"]
    assert settings.prompt == "[[multiview]] toys" and settings.task == "orbit" and settings.steps == 2


def test_stop_keeps_the_frames_done_and_says_how_many(tiny_pipe, tmp_path, examples):
    cameras = paths.orbit(9, 15, 1.7)
    calls = []

    def stop_in_the_second_batch(pipe, step, timestep, values):
        calls.append(step)
        if len(calls) == 3:  # the second batch's first step
            pipe._interrupt = True
        return {}

    result = make_path(
        tiny_pipe, examples / "scene_az000.png", cameras, tmp_path, Camera.orbit(0, 15, 1.7), num_inference_steps=2,
        size=64, callback_on_step_end=stop_in_the_second_batch,
    )  # fmt: skip
    assert not result.complete and len(result.frames) == 3  # the anchors, made before Stop
    assert result.archive.name == "frames-3-of-9.zip"
    assert json.loads((tmp_path / "run.json").read_text())["frames"] == 3
    assert imageio_ffmpeg.count_frames_and_secs(str(result.video))[0] == 3


def test_from_a_caption_alone_the_anchors_come_first_and_guide_the_rest():
    plan = plan_path(paths.orbit(12), from_image=False)
    assert plan.batches[0].conditions == () and all(b.conditions == (b.conditions[0],) for b in plan.batches[1:])
    assert all(b.conditions[0] in plan.anchors for b in plan.batches[1:]) and sorted(plan.order) == list(range(12))
    with pytest.raises(ValueError, match="needs its anchors"):
        plan_path(paths.orbit(12), anchored=False, from_image=False)
