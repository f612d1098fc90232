"""What OneDiffusion-Mini's 3D outputs mean: tests that would catch a camera-convention bug.

A model that reads its cameras makes worse novel views when the target cameras come in the wrong order
or in a mirrored convention (azimuth negated: a sign slip in the ray or orbit code), and places the
cameras of the app's example scene near the truth. The thresholds are issue 22's bars, with the shipped
Mini's figures in each docstring; the evaluation at 192 scenes is in the README ("OneDiffusion-Mini").

The shipped Mini places the example's cameras within 30 degrees, but its novel views do not reach the bars
(they do not tell left from right: README and docs/experiments/views-stage), so the two novel-view tests are
strict expected failures: a checkpoint that passes one turns the suite red until its marker is removed, and a
convention bug cannot hide behind them meanwhile, since the example-camera, camera-frame, swapped-ray and
mirror-helper tests below and in test_semantics.py pass today.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from onediffusion.mini import MINI_MODEL
from onediffusion.mini.evaluate import GUIDANCE, HELD_OUT, Evaluator, mirrored, relative_rotation_errors
from onediffusion.paths import ASSETS
from onediffusion.tasks import build_task
from tests.helpers import NOT_LEARNT

pytestmark = pytest.mark.skipif(not (MINI_MODEL / "transformer").is_dir(), reason="OneDiffusion-Mini not shipped")

MIRROR_LOSS_DB = 0.5  # "measurably worse": a third of the 1.5 dB novel views must gain over copying
EXAMPLE_SEED = 0


def novel_view_psnr(pipe, seed: int, samples: int = 8) -> dict[str, float]:
    """Mean PSNR of novel views on ``samples`` test scenes with the true cameras, the two target cameras
    swapped, and every camera mirrored."""
    evaluator = Evaluator(pipe, samples=samples, steps=30, seed=seed)
    controls = {"true": {}, "swapped": {"swap_cameras": True}, "mirrored": {"mirror_cameras": True}}
    return {name: evaluator.image2multiview(**kwargs).ours for name, kwargs in controls.items()}


def example_camera_errors(pipe, seed: int) -> list[float]:
    """Rotation errors (degrees) of the estimated cameras of the example scene's views 2 and 3 relative to view 1."""
    from assets import make_examples as ex

    images = [Image.open(ASSETS / "examples" / ex.view_file(a)).convert("RGB") for a in ex.VIEW_AZIMUTHS]
    out = pipe(
        **{**build_task("camera_estimation", images=images).kwargs(), "guidance_scale": GUIDANCE["camera_estimation"]},
        negative_prompt="",
        num_inference_steps=30,
        height=32,
        width=32,
        output_type="np",
        generator=torch.Generator().manual_seed(seed),
    )
    errors, _ = relative_rotation_errors(out.cameras[0], [ex.camera(a) for a in ex.VIEW_AZIMUTHS])
    return errors


@pytest.fixture(scope="module")
def novel_views(pipe):
    return novel_view_psnr(pipe, seed=7)


def test_the_mirrored_convention_negates_the_azimuth():
    from onediffusion import Camera

    for azimuth, elevation, distance in [(30.0, 20.0, 2.1), (200.0, 35.0, 2.3), (0.0, 10.0, 1.9)]:
        mirror = mirrored(Camera.orbit(azimuth, elevation, distance)).c2w
        np.testing.assert_allclose(mirror, Camera.orbit(-azimuth, elevation, distance).c2w, atol=1e-12)


@NOT_LEARNT
def test_novel_views_follow_the_order_of_their_cameras(novel_views):
    """Swapping the two target cameras must cost at least 1 dB: a model that ignores its cameras, or reads them
    in another slot order, does not notice the swap. Shipped Mini (after the three views stages), seed 7: 13.90 dB
    with the true cameras, 13.15 swapped (0.74 dB; seeds 8 and 9: 0.86, 0.62). After the second stage: 0.64 dB;
    the Mini before the views stages: 12.83 against 12.47 (0.36 dB) (docs/experiments/views-stage)."""
    assert novel_views["true"] - novel_views["swapped"] >= 1.0, novel_views


@NOT_LEARNT
def test_mirrored_rays_make_novel_views_worse(novel_views):
    """Cameras with their azimuths negated, as a sign slip in the ray or orbit code would give them,
    must make novel views measurably worse (``MIRROR_LOSS_DB``). Shipped Mini, seed 7: 13.90 dB true,
    14.02 mirrored (seeds 8 and 9: losses 0.04 and -0.03 dB): its novel views cannot tell a turn to the left from
    one to the right, though its camera estimates can (the Mini before the views stages: 12.83 against 12.82)."""
    assert novel_views["true"] - novel_views["mirrored"] >= MIRROR_LOSS_DB, novel_views


def test_camera_estimates_of_the_example_scene_are_near_the_truth(pipe):
    """The app's example scene (azimuths 0, 90 and 180; elevation 25): each estimated camera within
    30 degrees of the truth. Shipped Mini, seeds 0-7 (the test's is 0): [15.0, 20.9], [2.3, 5.2], [11.6, 7.4],
    [18.2, 3.3], [18.7, 21.3], [24.1, 24.6], [4.6, 2.8], [19.3, 6.9]: all within 25. After the second views
    stage, at guidance 8: the camera at 180 within 30 at two seeds of eight ([3.5, 46.8] at seed 0). The Mini
    before the views stages, seeds 0-7: [20.7, 68.9], [59.7, 15.4], [41.3, 172.1], [48.2, 7.0], [132.8, 80.9],
    [129.0, 78.6], [41.5, 178.5], [32.3, 47.3]."""
    errors = example_camera_errors(pipe, seed=EXAMPLE_SEED)
    assert max(errors) <= 30.0, errors


def test_swapped_rays_raise_the_camera_denoising_error(pipe):
    """Mini pairs each image with its own camera: the rays of views 2 and 3 given in each other's slots raise its
    denoising error on the camera slots (shipped Mini, 8 held-out scenes, sigma 0.6: 0.0231 against 0.0733,
    3.17x; 2.38x at sigma 0.3 and 3.43x at 0.9; the Mini before the views stages: 1.70x at 0.6). A slot-order bug
    in the ray maps makes the two alike. Mirrored rays it tells apart only at high noise (3.05x at sigma 0.9,
    1.00x at 0.6), where the sampler places a camera; its novel views do not, hence the expected failures above."""
    from onediffusion.cameras import rays_for_cameras
    from onediffusion.mini.training.data import make_record
    from tests.mini.test_semantics import camera_denoising_error

    records = [make_record(HELD_OUT + i) for i in range(8)]
    orders = {"true": lambda c: rays_for_cameras(c, 8), "swapped": lambda c: rays_for_cameras([c[0], c[2], c[1]], 8)}
    error = {
        name: np.mean([camera_denoising_error(pipe, r, rays, seed=i) for i, r in enumerate(records)])
        for name, rays in orders.items()
    }
    assert error["swapped"] >= 1.4 * error["true"], error
