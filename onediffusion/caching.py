"""Step caching: diffusers' cache hooks on NextDiT, behind one switch of the pipeline.

    pipe.enable_cache()                                  # the default preset (DEFAULT_CACHE)
    pipe.enable_cache("taylorseer")                      # another preset, by name
    pipe.enable_cache(FirstBlockCacheConfig(threshold=0.1))   # or any config diffusers' hooks take here
    pipe.disable_cache()                                 # exact sampling again

Consecutive denoising steps change the transformer's hidden states little, so a cache runs the
blocks at some steps and replays what they did at others. Nothing is written by hand here: NextDiT
is a ``CacheMixin`` and its ``TransformerBlock`` is registered with diffusers' block registry
(``model.py``); the pipeline runs every forward inside ``transformer.cache_context`` and starts each
call from an empty cache. What fits a sequence of views, by measurement (benchmarks/RESULTS.md):

- First Block Cache (``"fbc"``, ``"fbc-fast"``): the first block always runs; when its residual
  moved less than ``threshold`` (relative) since the last full step, the other blocks are skipped and
  their last residual replayed. Needs no calibration, so it serves any checkpoint.
- TaylorSeer (``"taylorseer"``): the whole block stack runs on a fixed schedule (every step at
  first, then every ``cache_interval``-th); between, the last block's output is extrapolated from
  its history (first order) and the blocks before it are skipped.
- MagCache (a ``MagCacheConfig`` with ``mag_ratios`` of the checkpoint): accepted, but its ratios are
  per checkpoint and must be calibrated first, so no preset uses it.

Condition views are safe under every method: a cache approximates the network's output, and the
pipeline puts every condition slot back to its clean latent after each step (tests check it).
Pyramid Attention Broadcast and FasterCache hook diffusers' own attention classes, which NextDiT's
soft-capped attention is not, so they are refused with a one-line error.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import torch
from diffusers.hooks import (
    FasterCacheConfig,
    FirstBlockCacheConfig,
    MagCacheConfig,
    PyramidAttentionBroadcastConfig,
    TaylorSeerCacheConfig,
)
from diffusers.hooks.mag_cache import nearest_interp

CacheConfig = FirstBlockCacheConfig | TaylorSeerCacheConfig | MagCacheConfig


def taylorseer(depth: int, cache_interval: int = 2, warmup: int = 3) -> TaylorSeerCacheConfig:
    """TaylorSeer on the last block (its output extrapolated, first order), the blocks before it skipped
    between full steps; full steps: the first ``warmup``, then every ``cache_interval``-th."""
    last = depth - 1
    return TaylorSeerCacheConfig(
        cache_interval=cache_interval,
        disable_cache_before_step=warmup,
        max_order=1,
        taylor_factors_dtype=torch.float32,
        skip_predict_identifiers=[rf"layers\.(?!{last}$)\d+"],
        cache_identifiers=[rf"layers\.{last}"],
    )


# Preset name -> config for a transformer of ``depth`` blocks. The default is chosen by the Mini's
# evaluation (benchmarks/RESULTS.md, "Step caching"): TaylorSeer runs 53% of the blocks at 30 steps and
# moved no figure by more than one scene's worth on the validation scenes; First Block Cache at 0.1 runs
# fewer (44%) but moved two figures by more than 5% of their distance from their baselines.
CACHE_PRESETS: dict[str, Callable[[int], CacheConfig]] = {
    "fbc": lambda depth: FirstBlockCacheConfig(threshold=0.1),
    "fbc-fast": lambda depth: FirstBlockCacheConfig(threshold=0.2),
    "taylorseer": lambda depth: taylorseer(depth),
}
DEFAULT_CACHE = "taylorseer"
# One line for the app's Settings: what the switch trades.
CACHE_NOTE = (
    "Runs the full network at about half of the steps and extrapolates the rest (step caching): "
    "faster, with images close to, but not exactly, those of exact sampling."
)


def resolve_cache(config: str | CacheConfig | None, depth: int) -> CacheConfig:
    """The diffusers cache config that ``pipe.enable_cache(config)`` applies: None for the default preset,
    a preset name, or a config diffusers' hooks can apply to NextDiT. Anything else: a one-line ValueError."""
    if config is None:
        config = DEFAULT_CACHE
    if isinstance(config, str):
        if config not in CACHE_PRESETS:
            raise ValueError(
                f"`cache` must be one of {sorted(CACHE_PRESETS)} (or a diffusers cache config), got {config!r}."
            )
        return CACHE_PRESETS[config](depth)
    if isinstance(config, (PyramidAttentionBroadcastConfig, FasterCacheConfig)):
        raise ValueError(
            f"`cache` {type(config).__name__} hooks diffusers' own attention classes, which NextDiT's soft-capped "
            f"attention is not; use one of {sorted(CACHE_PRESETS)}, a FirstBlockCacheConfig or a TaylorSeerCacheConfig."
        )
    if isinstance(config, (FirstBlockCacheConfig, TaylorSeerCacheConfig, MagCacheConfig)):
        if isinstance(config, MagCacheConfig) and config.mag_ratios is None and not config.calibrate:
            raise ValueError("`cache` MagCacheConfig needs this checkpoint's `mag_ratios` (or calibrate=True).")
        return config
    raise ValueError(
        f"`cache` must be one of {sorted(CACHE_PRESETS)} or a diffusers cache config, got {type(config).__name__}."
    )


def setting_name(config: str | CacheConfig | None) -> str:
    """How a cache setting is named in settings and metadata: its preset, or its config's class."""
    if config is None:
        return DEFAULT_CACHE
    return config if isinstance(config, str) else type(config).__name__


def prepare_call(transformer, num_inference_steps: int) -> None:
    """Before a call with the cache on: an empty cache (a stopped or failed call may have left state), and a
    MagCache schedule of this call's length."""
    transformer._reset_stateful_cache()
    config = transformer._cache_config
    if isinstance(config, MagCacheConfig) and not config.calibrate:
        if config.num_inference_steps != num_inference_steps:
            config.mag_ratios = nearest_interp(torch.as_tensor(config.mag_ratios), num_inference_steps)
            config.num_inference_steps = num_inference_steps


def cache_context(transformer, name: str, **fields):
    """``transformer.cache_context(name, ...)`` when a cache is on (its hooks need it), else nothing."""
    if getattr(transformer, "is_cache_enabled", False):
        return transformer.cache_context(name, **fields)
    return contextlib.nullcontext()


class BlockCounter:
    """Counts, while active, the transformer blocks actually evaluated (``count``: not those a cache skipped
    or replayed) and the transformer's forwards (``forwards``: each would evaluate every block exactly).

    A forward pre-hook on each block's adaLN modulation, the first thing a block computes, fires only
    when the block itself runs: hooks that skip a block never reach it.
    """

    def __init__(self, transformer):
        self.transformer, self.count, self.forwards, self._handles = transformer, 0, 0, []

    def _seen(self, module, args) -> None:
        self.count += 1

    def _forward(self, module, args) -> None:
        self.forwards += 1

    @property
    def exact(self) -> int:
        """The blocks exact sampling evaluates over the same forwards."""
        return self.forwards * len(self.transformer.layers)

    def as_dict(self) -> dict:
        return {"evaluated": self.count, "exact": self.exact, "fraction": self.count / max(1, self.exact)}

    def __enter__(self) -> BlockCounter:
        self._handles = [b.adaLN_modulation.register_forward_pre_hook(self._seen) for b in self.transformer.layers]
        self._handles.append(self.transformer.register_forward_pre_hook(self._forward))
        return self

    def __exit__(self, *exc) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []


__all__ = [
    "CACHE_NOTE",
    "CACHE_PRESETS",
    "DEFAULT_CACHE",
    "BlockCounter",
    "cache_context",
    "prepare_call",
    "resolve_cache",
    "setting_name",
    "taylorseer",
]
