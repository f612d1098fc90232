"""Step caching, one switch: off is exact, on runs fewer blocks, condition views stay their clean latents."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from diffusers.hooks import FirstBlockCacheConfig, PyramidAttentionBroadcastConfig

from onediffusion import ImageSlot
from onediffusion.caching import CACHE_PRESETS, DEFAULT_CACHE, BlockCounter, resolve_cache
from onediffusion.tiling import Tiling

STEPS = 8
SKIPPY = FirstBlockCacheConfig(threshold=10.0)  # every step after the first reuses the cache


@pytest.fixture
def pipe(tiny_pipe):
    yield tiny_pipe
    tiny_pipe.disable_cache()


def depth_to_image(pipe, **kwargs):
    """Depth to image on the tiny checkpoint: one target, one condition; latents of both slots and the blocks run."""
    condition = np.random.default_rng(3).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    with BlockCounter(pipe.transformer) as counter:
        out = pipe(
            "[[depth2image]] a cat",
            views=[ImageSlot.target(), ImageSlot.condition(condition)],
            num_inference_steps=STEPS,
            height=64,
            width=64,
            output_type="latent",
            generator=torch.Generator().manual_seed(0),
            **kwargs,
        )
    return out.latents, counter


def test_off_by_default_and_after_disable_exactly_uncached(pipe):
    assert pipe.cache_setting is None and not pipe.transformer.is_cache_enabled
    exact, counter = depth_to_image(pipe)
    assert counter.count == counter.exact == STEPS * len(pipe.transformer.layers)
    pipe.enable_cache(SKIPPY)
    cached, _ = depth_to_image(pipe)
    assert not torch.equal(cached, exact)
    pipe.disable_cache()
    again, counter = depth_to_image(pipe)
    assert torch.equal(again, exact) and counter.count == counter.exact
    assert pipe.cache_setting is None


@pytest.mark.parametrize("preset", sorted(CACHE_PRESETS))
def test_presets_run_fewer_blocks(pipe, preset):
    pipe.enable_cache(preset)
    assert pipe.cache_setting == preset
    latents, counter = depth_to_image(pipe)
    assert torch.isfinite(latents).all()
    assert counter.forwards == STEPS
    if preset == "taylorseer":  # a fixed schedule: full steps 0, 1, 2, 4, 6; the last block alone predicted
        assert counter.count == 5 * 2
    else:  # First Block Cache decides from the residuals; the first block always runs
        assert STEPS <= counter.count <= counter.exact


def test_default_preset_and_skipping_counts(pipe):
    pipe.enable_cache()
    assert pipe.cache_setting == DEFAULT_CACHE
    pipe.enable_cache(SKIPPY)  # replaces the one on
    _, counter = depth_to_image(pipe)
    depth = len(pipe.transformer.layers)
    assert counter.count == depth + (STEPS - 1)  # the first step whole, then the first block alone


def test_condition_latents_untouched(pipe):
    exact, _ = depth_to_image(pipe)
    for preset in (SKIPPY, "taylorseer"):
        pipe.enable_cache(preset)
        cached, _ = depth_to_image(pipe)
        assert torch.equal(cached[:, 1], exact[:, 1])  # the condition slot: its clean latent, bit for bit
        assert not torch.equal(cached[:, 0], exact[:, 0])


def test_each_call_starts_from_an_empty_cache(pipe):
    pipe.enable_cache(SKIPPY)
    first, _ = depth_to_image(pipe)
    pipe._interrupt = False
    second, counter = depth_to_image(pipe)
    assert torch.equal(first, second) and counter.count == len(pipe.transformer.layers) + STEPS - 1
    pipe.disable_cache()
    pipe.enable_cache(SKIPPY)  # on, off, on: no stale hooks, the same result
    third, _ = depth_to_image(pipe)
    assert torch.equal(first, third)


def test_tiled_windows_keep_their_own_cache(pipe):
    pipe.enable_cache(SKIPPY)
    with BlockCounter(pipe.transformer) as counter:
        out = pipe(
            "[[text2image]] a cat",
            num_inference_steps=4,
            height=96,
            width=64,
            tiling=Tiling(64, 32),
            output_type="latent",
            generator=torch.Generator().manual_seed(0),
        )
    windows = counter.forwards // 4
    assert windows == 2 and torch.isfinite(out.images).all()
    # Each window: its first step whole, then the first block alone.
    assert counter.count == windows * (len(pipe.transformer.layers) + 3)


@pytest.mark.parametrize(
    "setting, words",
    [
        ("teacache", "`cache` must be one of"),
        (PyramidAttentionBroadcastConfig(), "PyramidAttentionBroadcastConfig hooks diffusers' own attention"),
        (3, "got int"),
    ],
)
def test_bad_settings_one_line(pipe, setting, words):
    with pytest.raises(ValueError, match=words) as caught:
        pipe.enable_cache(setting)
    assert "\n" not in str(caught.value)
    assert not pipe.transformer.is_cache_enabled  # a refused setting leaves exact sampling on


def test_resolve_cache_presets():
    assert resolve_cache(None, 6) == CACHE_PRESETS[DEFAULT_CACHE](6)
    ts = resolve_cache("taylorseer", 6)
    assert ts.cache_identifiers == [r"layers\.5"] and ts.skip_predict_identifiers == [r"layers\.(?!5$)\d+"]
