"""Tiled denoising and upscaling (issue 30): windows cover the image, blend weights sum to one, one window
is exactly the untiled run, progress counts windows x steps, Stop ends between windows, bad settings are
refused in words."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from onediffusion import Camera, CameraSlot, ImageSlot, build_task
from onediffusion.conditions import enlarge
from onediffusion.tiling import Blender, Tiling, spans, window_weights
from onediffusion.upscale import plan_upscale, upscale

QUICK = {"num_inference_steps": 2, "guidance_scale": 4.0, "output_type": "np"}


def seeded() -> torch.Generator:
    return torch.Generator().manual_seed(7)


@pytest.mark.parametrize("length, tile, overlap", [(16, 8, 2), (12, 8, 2), (40, 8, 4), (9, 8, 0), (8, 8, 2), (5, 8, 2)])
def test_windows_cover_the_axis_and_overlap_as_asked(length, tile, overlap):
    windows = spans(length, tile, overlap)
    covered = np.zeros(length, int)
    for w in windows:
        covered[w] += 1
        assert w.stop - w.start == min(tile, length) and 0 <= w.start and w.stop <= length
    assert covered.min() >= 1 and windows[0].start == 0 and windows[-1].stop == length
    for a, b in zip(windows, windows[1:]):
        assert a.stop - b.start >= overlap  # neighbours overlap by at least what was asked


def test_blend_weights_sum_to_one_and_a_lone_window_weighs_one():
    windows = Tiling(64, 16).windows(160, 96, 8)  # latents 20 x 12 in windows of 8
    weights = window_weights(windows, 20, 12)
    total = torch.zeros(20, 12, dtype=torch.float64)
    for (rows, cols), weight in zip(windows, weights):
        assert (weight > 0).all() and weight.max() == 1
        total[rows, cols] += weight
    normalised = torch.zeros_like(total)
    for (rows, cols), weight in zip(windows, weights):
        normalised[rows, cols] += weight / total[rows, cols]
    torch.testing.assert_close(normalised, torch.ones_like(total), rtol=0, atol=1e-12)
    (lone,) = window_weights([(slice(0, 8), slice(0, 8))], 8, 8)
    assert torch.equal(lone, torch.ones(8, 8, dtype=torch.float64))


def test_blending_crops_of_one_field_gives_the_field_back():
    field = torch.randn(2, 3, 20, 12)
    blender = Blender(Tiling(64, 16).windows(160, 96, 8), 20, 12)
    for index, (rows, cols) in enumerate(blender.windows):
        blender.add(index, field[..., rows, cols])
    torch.testing.assert_close(blender.result(), field)


@pytest.mark.parametrize(
    "tile, overlap, words",
    [(8, 0, "multiple of 16"), (64, 64, "less than the tile"), (64, -1, "at least 0"), (40, 8, "multiple of 16")],
)
def test_bad_tiles_are_refused_in_words(tile, overlap, words):
    with pytest.raises(ValueError, match=words):
        Tiling(tile, overlap)


def test_one_window_over_the_image_is_exactly_the_untiled_run(tiny_pipe):
    untiled = tiny_pipe("[[text2image]] a cube", height=64, width=64, generator=seeded(), **QUICK).images
    tiled = tiny_pipe("[[text2image]] a cube", height=64, width=64, generator=seeded(), tiling=Tiling(64, 16), **QUICK)
    assert np.array_equal(untiled, tiled.images)


def test_tiles_make_sizes_beyond_the_window_and_count_windows_by_steps(tiny_pipe):
    seen = []
    out = tiny_pipe(
        "[[text2image]] a wide cube",
        height=96,
        width=160,
        generator=seeded(),
        tiling=Tiling(64, 16),
        callback_on_window=lambda done, total: seen.append((done, total)),
        **QUICK,
    )
    windows = len(Tiling(64, 16).windows(96, 160, tiny_pipe.vae_scale_factor))
    assert out.images.shape == (1, 96, 160, 3) and windows == 6
    assert seen == [(k, windows * 2) for k in range(1, windows * 2 + 1)]


def test_stop_between_windows_ends_the_run(tiny_pipe):
    def stop_after_three(done, total):
        if done == 3:
            tiny_pipe._interrupt = True

    seen = []
    tiny_pipe(
        "[[text2image]] a cube",
        height=128,
        width=128,
        generator=seeded(),
        tiling=Tiling(64, 16),
        callback_on_window=lambda d, t: (seen.append(d), stop_after_three(d, t)),
        **{**QUICK, "num_inference_steps": 5},
    )
    assert seen == [1, 2, 3] and tiny_pipe.interrupt


def test_camera_slots_cannot_be_tiled(tiny_pipe):
    views = [ImageSlot.target(), CameraSlot.condition(Camera.orbit(0, 0, 1.7))]
    with pytest.raises(ValueError, match="image slots only"):
        tiny_pipe("[[multiview]]", views=views, height=64, width=64, tiling=Tiling(64, 16), **QUICK)


@pytest.mark.parametrize(
    "size, factor, target, expected",
    [
        ((32, 32), 2, None, (64, 64)),
        ((100, 60), 3, None, (304, 176)),  # multiples of 16, the aspect kept as near as they allow
        ((512, 384), 4, None, (2048, 1536)),
        ((50, 50), None, (200, 120), (208, 128)),
    ],
)
def test_upscale_plans_their_size(size, factor, target, expected):
    plan = plan_upscale(size, 512, factor, target)
    assert (plan.width, plan.height) == expected
    assert (plan.tiling is None) == (max(expected) <= 512)


@pytest.mark.parametrize(
    "size, factor, target, words",
    [
        ((32, 32), 5, None, "`factor` must be from 1 to 4"),
        ((32, 32), 0.5, None, "`factor` must be from 1 to 4"),
        ((600, 600), 4, None, "16 to 2048 pixels a side"),
        ((4000, 10), 1, None, "at most 2048 pixels a side"),
        ((32, 32), None, (4096, 64), "16 to 2048 pixels a side"),
    ],
)
def test_upscale_refuses_sizes_out_of_range_saying_why(size, factor, target, words):
    with pytest.raises(ValueError, match=words):
        plan_upscale(size, 512, factor, target)


def test_an_upscale_that_fits_one_tile_is_the_restoration_task(tiny_pipe):
    photo = Image.fromarray(np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8))
    out = upscale(tiny_pipe, photo, 2, caption="a cube", generator=seeded(), **QUICK)
    spec = build_task("upscaling", image=enlarge(photo, 64, 64), caption="a cube")
    assert spec.prompt == "[[deblurring]] a cube"
    direct = tiny_pipe(**{**spec.kwargs(), "height": 64, "width": 64, "generator": seeded(), **QUICK})
    assert out.images.shape == (1, 64, 64, 3) and np.array_equal(out.images, direct.images)
    tiled = upscale(tiny_pipe, photo, 4, generator=seeded(), tile_px=64, overlap_px=32, **QUICK)
    assert tiled.images.shape == (1, 128, 128, 3)
