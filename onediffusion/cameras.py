"""Camera geometry: orbit cameras, Plucker ray maps and cameras recovered from ray maps.

Conventions
-----------
- Camera-to-world matrices (``c2w``, (N, 4, 4)) use the OpenCV camera axes: x right, y down,
  z forward (the viewing direction). The world is z-up, as in the authors' orbit builder.
- Focal lengths are in units of the image width; the principal point is the image centre.
- The model reads a camera as a Plucker ray map in the frame of camera 0 (the first camera of
  the sequence sits at the origin), with the axes the authors' PyTorch3D conversion produced:
  x left, y up, z forward. That is OpenCV's frame turned 180 degrees about z, a proper rotation,
  so directions and moments both turn with it. ``plucker_rays`` and ``cameras_from_rays`` do
  this turn; callers only see OpenCV matrices.
- A camera slot holds the 6 ray channels (unit direction d, moment o x d) tiled to the 16 latent
  channels as [r0..r5, r0..r5, r0..r3] and multiplied by ``RAY_SCALE``.

Written by hand because the authors rely on PyTorch3D (which does not install here) and no
maintained library turns ray maps back into cameras with a fitted focal length.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy.optimize import minimize_scalar
from scipy.spatial.transform import Rotation

DEFAULT_FOCAL = 1.3887
# The authors multiply camera-slot ray maps by this before the model reads them (CONTRACT.md,
# "Multiview": rays tiled to 16 channels "and multiplied by 1.658"); golden/rays_*.npz pins it, and
# their img2img returns latents divided by it.
RAY_SCALE = 1.658
_MODEL_AXES = torch.diag(torch.tensor([-1.0, -1.0, 1.0], dtype=torch.float64))  # OpenCV -> model frame


def _finite(name: str, value) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"`{name}` must be finite, got {value!r}.")
    return arr


def orbit_c2w(azimuth, elevation, distance) -> torch.Tensor:
    """Cameras on a sphere looking at the origin, as the reference builds them -> (N, 4, 4) float64.

    azimuth, elevation: degrees (scalars or sequences of equal length); distance: scalar or sequence.
    The camera sits at distance * (cos el cos az, cos el sin az, sin el). Straight above or below,
    where the world's z axis cannot serve as "up", the world's y axis is used instead.
    """
    az = np.deg2rad(np.atleast_1d(_finite("azimuth", azimuth)))
    el = np.deg2rad(np.atleast_1d(_finite("elevation", elevation)))
    dist = np.broadcast_to(np.atleast_1d(_finite("distance", distance)), az.shape)
    if az.shape != el.shape:
        raise ValueError(f"`azimuth` and `elevation` need the same length, got {az.size} and {el.size}.")
    if np.any(dist <= 0):
        raise ValueError(f"`distance` must be positive, got {distance!r}.")
    mats = []
    for a, e, d in zip(az, el, dist):
        position = d * np.array([np.cos(e) * np.cos(a), np.cos(e) * np.sin(a), np.sin(e)])
        outward = position / np.linalg.norm(position)
        right = np.cross([0.0, 0.0, 1.0], outward)
        if np.linalg.norm(right) < 1e-6:
            right = np.cross([0.0, 1.0, 0.0], outward)
        right /= np.linalg.norm(right)
        up = np.cross(outward, right)
        c2w = np.eye(4)
        c2w[:3, :3] = np.stack([right, -up, -outward], axis=1)  # OpenCV: x right, y down, z at the target
        c2w[:3, 3] = position
        mats.append(c2w)
    return torch.from_numpy(np.stack(mats))


def _grid_size(size: int | tuple[int, int]) -> tuple[int, int]:
    h, w = (size, size) if isinstance(size, int) else size
    if h < 1 or w < 1:
        raise ValueError(f"`size` must be positive, got {size!r}.")
    return int(h), int(w)


def pixel_directions(focal_length: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Unnormalised camera-frame (OpenCV) rays through pixel centres -> (N, h, w, 3) float64.

    focal_length: (N,), in units of the image width.
    """
    h, w = size
    ys = (torch.arange(h, dtype=torch.float64) + 0.5 - h / 2) / w
    xs = (torch.arange(w, dtype=torch.float64) + 0.5 - w / 2) / w
    f = focal_length.to(torch.float64)[:, None, None]
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([gx / f, gy / f, torch.ones_like(gx / f).expand(len(f), h, w)], dim=-1)


def plucker_rays(c2w: torch.Tensor, focal_length, size: int | tuple[int, int]) -> torch.Tensor:
    """Plucker ray maps in the frame of camera 0, as the model reads them before tiling and scaling.

    c2w: (N, 4, 4) OpenCV camera-to-world; focal_length: scalar or (N,), in image widths;
    size: side (or (h, w)) of the map in pixels. Returns (N, 6, h, w) float32: unit direction, moment.
    """
    c2w = torch.as_tensor(c2w, dtype=torch.float64)
    if c2w.ndim != 3 or c2w.shape[1:] != (4, 4):
        raise ValueError(f"`c2w` must have shape (N, 4, 4), got {tuple(c2w.shape)}.")
    _finite("c2w", c2w.numpy())
    focal = torch.as_tensor(_finite("focal_length", focal_length), dtype=torch.float64).expand(len(c2w))
    if torch.any(focal <= 0):
        raise ValueError(f"`focal_length` must be positive, got {focal_length!r}.")
    rel = torch.linalg.inv(c2w[0]) @ c2w
    rotation = _MODEL_AXES @ rel[:, :3, :3]
    origin = _MODEL_AXES @ rel[:, :3, 3:]
    dirs = torch.einsum("nij,nhwj->nhwi", rotation, pixel_directions(focal, _grid_size(size)))
    dirs = dirs / dirs.norm(dim=-1, keepdim=True)
    moments = torch.cross(origin[:, None, None, :, 0].expand_as(dirs), dirs, dim=-1)
    return torch.cat([dirs, moments], dim=-1).permute(0, 3, 1, 2).float()


def rays_to_latent(rays: torch.Tensor, channels: int = 16) -> torch.Tensor:
    """(..., 6, h, w) ray maps -> (..., channels, h, w) camera-slot latents: tiled, times RAY_SCALE."""
    reps = math.ceil(channels / 6)
    return torch.cat([rays] * reps, dim=-3)[..., :channels, :, :] * RAY_SCALE


def latent_to_rays(latent: torch.Tensor) -> torch.Tensor:
    """(..., C, h, w) camera-slot latents -> (..., 6, h, w) ray maps, averaging the tiled copies."""
    C = latent.shape[-3]
    rays = torch.zeros(*latent.shape[:-3], 6, *latent.shape[-2:], dtype=latent.dtype, device=latent.device)
    counts = torch.zeros(6, dtype=latent.dtype, device=latent.device)
    for c in range(C):
        rays[..., c % 6, :, :] += latent[..., c, :, :]
        counts[c % 6] += 1
    return rays / counts[:, None, None] / RAY_SCALE


def _ray_centre(dirs: np.ndarray, moments: np.ndarray) -> np.ndarray:
    """Least-squares intersection of rays (d, o x d): the point nearest all of them. dirs: (P, 3)."""
    points = np.cross(dirs, moments)  # each ray's point nearest the origin
    proj = np.eye(3)[None] - dirs[:, :, None] * dirs[:, None, :]
    return np.linalg.lstsq(proj.sum(0), np.einsum("pij,pj->i", proj, points), rcond=None)[0]


def _fit_rotation_and_focal(dirs: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, float]:
    """Rotation (camera to frame) and focal length that best map pixel rays onto ``dirs`` (h*w, 3)."""

    def align(log_f: float):
        cam = pixel_directions(torch.tensor([math.exp(log_f)]), size)[0].reshape(-1, 3).numpy()
        cam = cam / np.linalg.norm(cam, axis=1, keepdims=True)
        rot, rssd = Rotation.align_vectors(dirs, cam)
        return rot, rssd

    best = minimize_scalar(
        lambda lf: align(lf)[1], bounds=(math.log(0.05), math.log(50.0)), method="bounded", options={"xatol": 1e-7}
    )
    rot, _ = align(best.x)
    return rot.as_matrix(), math.exp(best.x)


def cameras_from_rays(rays: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Recover cameras from (denoised, noisy) ray maps.

    rays: (N, 6, h, w) in the model's frame (see :func:`plucker_rays`). Returns ``(c2w, focal_length)``:
    (N, 4, 4) OpenCV camera-to-world matrices in the frame of camera 0, and (N,) focal lengths in
    image widths. Centres come from the least-squares intersection of each view's rays, rotations
    from the optimal alignment of pixel rays onto the map's directions, focal lengths from a 1-D fit.
    """
    if rays.ndim != 4 or rays.shape[1] != 6:
        raise ValueError(f"`rays` must have shape (N, 6, h, w), got {tuple(rays.shape)}.")
    size = tuple(rays.shape[-2:])
    to_cv = _MODEL_AXES.numpy()  # its own inverse
    mats, focals = [], []
    for view in rays.detach().to("cpu", torch.float64).numpy():
        d = view[:3].reshape(3, -1).T @ to_cv
        m = view[3:].reshape(3, -1).T @ to_cv
        d = d / np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-12)
        m = m - np.sum(m * d, axis=1, keepdims=True) * d
        rotation, focal = _fit_rotation_and_focal(d, size)
        c2w = np.eye(4)
        c2w[:3, :3], c2w[:3, 3] = rotation, _ray_centre(d, m)
        mats.append(c2w)
        focals.append(focal)
    return torch.from_numpy(np.stack(mats)), torch.tensor(focals, dtype=torch.float64)


@dataclass(frozen=True)
class Camera:
    """A pinhole camera: OpenCV camera-to-world matrix and focal length in image widths."""

    c2w: np.ndarray = field(default_factory=lambda: np.eye(4))
    focal_length: float = DEFAULT_FOCAL

    def __post_init__(self):
        c2w = _finite("camera.c2w", self.c2w)
        if c2w.shape != (4, 4):
            raise ValueError(f"`camera.c2w` must be a 4x4 matrix, got shape {c2w.shape}.")
        focal = float(_finite("camera.focal_length", self.focal_length))
        if focal <= 0:
            raise ValueError(f"`camera.focal_length` must be positive, got {self.focal_length!r}.")
        object.__setattr__(self, "c2w", c2w)
        object.__setattr__(self, "focal_length", focal)

    @classmethod
    def orbit(cls, azimuth: float, elevation: float, distance: float, focal_length: float = DEFAULT_FOCAL) -> Camera:
        """A camera at (azimuth, elevation) degrees and ``distance`` from the origin, looking at it."""
        return cls(orbit_c2w(azimuth, elevation, distance)[0].numpy(), focal_length)

    @property
    def centre(self) -> np.ndarray:
        return self.c2w[:3, 3]


def rays_for_cameras(cameras: list[Camera], size: int | tuple[int, int]) -> torch.Tensor:
    """Ray maps (N, 6, h, w) of a list of cameras, in the frame of the first."""
    c2w = torch.from_numpy(np.stack([cam.c2w for cam in cameras]))
    return plucker_rays(c2w, [cam.focal_length for cam in cameras], size)


def cameras_from_ray_maps(rays: torch.Tensor, first_is_frame: bool = False) -> list[Camera]:
    """:func:`cameras_from_rays` as a list of :class:`Camera`.

    ``first_is_frame``: the first map is camera 0's own (estimated) rays, whose frame all the maps
    are in; its small estimation error is taken out, so the first camera comes back exactly at the
    origin with the identity rotation and the others relative to it.
    """
    c2w, focal = cameras_from_rays(rays)
    if first_is_frame:
        c2w = torch.linalg.inv(c2w[0]) @ c2w
    return [Camera(m.numpy(), float(f)) for m, f in zip(c2w, focal)]


def rotation_angle_deg(r1: np.ndarray, r2: np.ndarray) -> float:
    """Geodesic angle between two rotation matrices, in degrees."""
    cos = (np.trace(np.asarray(r1).T @ np.asarray(r2)) - 1) / 2
    return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))
