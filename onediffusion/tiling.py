"""Tiled denoising: images larger than the model's native size, one window at a time, without seams.

MultiDiffusion (Bar-Tal et al. 2023) and Mixture of Diffusers (Jiménez 2023): at every step the latents are
cut into overlapping windows of about the native size, each window (every slot's crop of it: a condition's
crop goes with its target's) is denoised as if it were a whole image, and the windows' velocity predictions
are blended back with weights that fall smoothly towards the neighbouring windows, so no border shows and
the transformer never sees more tokens than one window holds. Written here because diffusers' tiled
samplers are per pipeline (Stable Diffusion's panorama pipeline) and none drives a sequence of view slots.

All sizes in this module are in latent pixels unless named ``*_px``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Tiling:
    """Windows of ``tile_px`` pixels a side, overlapping their neighbours by ``overlap_px`` (at least: windows
    are spread evenly, so the overlap may come out larger). An image no larger than a tile is one window."""

    tile_px: int
    overlap_px: int

    def __post_init__(self):
        if not isinstance(self.tile_px, int) or self.tile_px < 16 or self.tile_px % 16:
            raise ValueError(f"`tile_px` must be a multiple of 16 of at least 16, got {self.tile_px!r}.")
        if not isinstance(self.overlap_px, int) or not 0 <= self.overlap_px < self.tile_px:  # a tile's stride > 0
            raise ValueError(
                f"`overlap_px` must be at least 0 and less than the tile ({self.tile_px} px), got {self.overlap_px!r}."
            )

    @classmethod
    def for_model(cls, native_side: int, tile_px: int | None = None, overlap_px: int | None = None) -> Tiling:
        """Tiles of the model's native side by default, overlapping by a quarter of a tile."""
        tile = tile_px or native_side
        return cls(tile, tile // 4 if overlap_px is None else overlap_px)

    def windows(self, height_px: int, width_px: int, scale: int) -> list[tuple[slice, slice]]:
        """(rows, columns) of each window over a latent of the image's size (``scale``: pixels per latent pixel),
        row by row."""
        rows = spans(height_px // scale, self.tile_px // scale, self.overlap_px // scale)
        cols = spans(width_px // scale, self.tile_px // scale, self.overlap_px // scale)
        return [(r, c) for r in rows for c in cols]


def spans(length: int, tile: int, overlap: int) -> list[slice]:
    """Windows of ``tile`` along an axis of ``length``, evenly spread, neighbours overlapping by ``overlap`` or
    more; one window of the whole axis when it is no longer than a tile."""
    if length <= tile:
        return [slice(0, length)]
    count = math.ceil((length - overlap) / (tile - overlap))
    starts = [round(i * (length - tile) / (count - 1)) for i in range(count)]
    return [slice(start, start + tile) for start in starts]


def ramp(size: int, before: int, after: int) -> torch.Tensor:
    """A window's weight along one axis: 1 in its middle, falling linearly over the ``before`` first and the
    ``after`` last positions (its overlaps with the neighbours there) to 1 / (overlap + 1), never 0."""
    position = torch.arange(size, dtype=torch.float64)
    weight = torch.ones(size, dtype=torch.float64)
    if before:
        weight = torch.minimum(weight, (position + 1) / (before + 1))
    if after:
        weight = torch.minimum(weight, (size - position) / (after + 1))
    return weight


def window_weights(windows: list[tuple[slice, slice]], height: int, width: int) -> list[torch.Tensor]:
    """Each window's (h, w) weights: ramps only where a neighbour overlaps it, so a single window weighs 1
    everywhere and its prediction passes through unchanged."""

    def overlaps(span: slice, spans_: list[slice]) -> tuple[int, int]:
        before = max((other.stop - span.start for other in spans_ if other.start < span.start < other.stop), default=0)
        after = max((span.stop - other.start for other in spans_ if other.start < span.stop < other.stop), default=0)
        return before, after

    rows = sorted({(r.start, r.stop) for r, _ in windows})
    cols = sorted({(c.start, c.stop) for _, c in windows})
    row_spans, col_spans = [slice(*r) for r in rows], [slice(*c) for c in cols]
    weights = []
    for r, c in windows:
        along_rows = ramp(r.stop - r.start, *overlaps(r, row_spans))
        along_cols = ramp(c.stop - c.start, *overlaps(c, col_spans))
        weights.append(along_rows[:, None] * along_cols[None, :])
    return weights


class Blender:
    """Adds windows' predictions with their weights, then divides by the weights' sum, which is positive
    wherever a window lies (the windows cover the image). Predictions are added as they come, so no more than
    the image's latents and one window's prediction are held at once."""

    def __init__(self, windows: list[tuple[slice, slice]], height: int, width: int):
        self.windows, self.height, self.width = windows, height, width
        self.weights = window_weights(windows, height, width)
        self._sum: torch.Tensor | None = None

    @property
    def single(self) -> bool:
        return len(self.windows) == 1

    def add(self, index: int, prediction: torch.Tensor) -> None:
        """Window ``index``'s (..., h_i, w_i) prediction."""
        if self.single:
            self._sum = prediction  # exactly the untiled prediction: nothing to blend
            return
        if index == 0:
            self._sum = prediction.new_zeros((*prediction.shape[:-2], self.height, self.width))
            self._total = torch.zeros(self.height, self.width, device=prediction.device, dtype=prediction.dtype)
        rows, cols = self.windows[index]
        weight = self.weights[index].to(prediction.device, prediction.dtype)
        self._sum[..., rows, cols] += prediction * weight
        self._total[rows, cols] += weight

    def result(self) -> torch.Tensor:
        """The blended (..., height, width) prediction, once every window was added."""
        return self._sum if self.single else self._sum / self._total
