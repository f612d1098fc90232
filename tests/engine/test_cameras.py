"""Camera maths: orbit builder, Plucker maps, and recovering cameras from (noisy) ray maps."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from onediffusion.cameras import (
    Camera,
    cameras_from_ray_maps,
    cameras_from_rays,
    latent_to_rays,
    orbit_c2w,
    plucker_rays,
    rays_to_latent,
    rotation_angle_deg,
)


def random_cameras(seed: int, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(seed)
    c2w = np.tile(np.eye(4), (n, 1, 1))
    c2w[:, :3, :3] = Rotation.random(n, random_state=seed).as_matrix()
    c2w[:, :3, 3] = rng.uniform(-3, 3, size=(n, 3))
    return torch.from_numpy(c2w), torch.from_numpy(rng.uniform(0.7, 2.5, size=n))


def direction_error_deg(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    cos = (a[:, :3] * b[:, :3]).sum(1) / (a[:, :3].norm(dim=1) * b[:, :3].norm(dim=1))
    return torch.rad2deg(torch.arccos(cos.clamp(-1, 1)))


def test_plucker_rays_shape_frame_and_units():
    c2w, focal = random_cameras(0, 3)
    rays = plucker_rays(c2w, focal, 8)
    assert rays.shape == (3, 6, 8, 8)
    torch.testing.assert_close(rays[:, :3].norm(dim=1), torch.ones(3, 8, 8))
    assert rays[0, 3:].abs().max() < 1e-6  # camera 0 sits at the origin: zero moments
    assert torch.allclose((rays[:, :3] * rays[:, 3:]).sum(1), torch.zeros(3, 8, 8), atol=1e-5)  # d . (o x d) = 0


def test_plucker_rays_depend_only_on_relative_poses():
    c2w, focal = random_cameras(1, 3)
    world = torch.eye(4, dtype=torch.float64)
    world[:3, :3] = torch.from_numpy(Rotation.random(random_state=9).as_matrix())
    world[:3, 3] = torch.tensor([1.0, -2.0, 0.5])
    torch.testing.assert_close(plucker_rays(world @ c2w, focal, 6), plucker_rays(c2w, focal, 6), atol=1e-5, rtol=0)


def test_non_square_maps_keep_focal_in_widths():
    rays = plucker_rays(torch.eye(4, dtype=torch.float64)[None], 1.0, (4, 8))
    assert rays.shape == (1, 6, 4, 8)
    x_left = rays[0, 0, 0, 0] / rays[0, 2, 0, 0]  # model frame: x points left
    assert abs(float(x_left) - (0.5 - 0.5 / 8)) < 1e-6


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("size", [8, (6, 10)])
def test_round_trip_without_noise(seed, size):
    c2w, focal = random_cameras(seed, 4)
    rays = plucker_rays(c2w, focal, size)
    est_c2w, est_focal = cameras_from_rays(rays)
    assert direction_error_deg(plucker_rays(est_c2w, est_focal, size), rays).max() < 0.1
    np.testing.assert_allclose(est_focal.numpy(), focal.numpy(), rtol=0.01)
    relative = torch.linalg.inv(c2w[0]) @ c2w
    np.testing.assert_allclose(est_c2w[:, :3, 3].numpy(), relative[:, :3, 3].numpy(), atol=1e-4)
    for a, b in zip(est_c2w.numpy(), relative.numpy()):
        assert rotation_angle_deg(a[:3, :3], b[:3, :3]) < 0.1


@pytest.mark.parametrize("seed", range(6))
def test_round_trip_with_noise(seed):
    c2w, focal = random_cameras(100 + seed, 4)
    rays = plucker_rays(c2w, focal, 8)
    noisy = rays + 0.05 * torch.randn(rays.shape, generator=torch.Generator().manual_seed(seed))
    est_c2w, est_focal = cameras_from_rays(noisy)
    assert direction_error_deg(plucker_rays(est_c2w, est_focal, 8), rays).mean() < 3.0


def test_ray_maps_to_cameras_with_camera_0_as_the_frame():
    """The pipeline's ray-map-to-camera step: with ``first_is_frame`` camera 0 comes back exactly at
    the origin with the identity rotation, even from a noisy map, and the others relative to it."""
    c2w, focal = random_cameras(7, 3)
    rays = plucker_rays(c2w, focal, 8)
    noisy = rays + 0.05 * torch.randn(rays.shape, generator=torch.Generator().manual_seed(0))
    for maps in (rays, noisy):
        cameras = cameras_from_ray_maps(maps, first_is_frame=True)
        assert len(cameras) == 3 and all(isinstance(c, Camera) for c in cameras)
        np.testing.assert_allclose(cameras[0].c2w, np.eye(4), atol=1e-12)
    relative = (torch.linalg.inv(c2w[0]) @ c2w).numpy()
    for camera, true in zip(cameras_from_ray_maps(rays, first_is_frame=True), relative):
        assert rotation_angle_deg(camera.c2w[:3, :3], true[:3, :3]) < 0.1
        np.testing.assert_allclose(camera.centre, true[:3, 3], atol=1e-3)


def test_tiled_latents_round_trip():
    rays = plucker_rays(*random_cameras(2, 2), 4)
    latent = rays_to_latent(rays)
    assert latent.shape == (2, 16, 4, 4)
    torch.testing.assert_close(latent[:, 6:12], latent[:, :6])
    torch.testing.assert_close(latent_to_rays(latent), rays)


def test_orbit_cameras_look_at_the_origin():
    c2w = orbit_c2w([0, 90, 200, 30], [0, 30, -20, 90], [1.5, 2.0, 1.7, 1.2]).numpy()
    for m in c2w:
        forward = m[:3, 2]
        np.testing.assert_allclose(forward, -m[:3, 3] / np.linalg.norm(m[:3, 3]), atol=1e-9)
        np.testing.assert_allclose(m[:3, :3] @ m[:3, :3].T, np.eye(3), atol=1e-9)
        assert np.linalg.det(m[:3, :3]) == pytest.approx(1.0)
    assert c2w[0, 2, 1] == pytest.approx(-1.0)  # at elevation 0, image "down" (+y) is the world's -z


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"c2w": np.full((4, 4), np.nan)}, "finite"),
        ({"c2w": np.eye(3)}, "4x4"),
        ({"focal_length": float("inf")}, "finite"),
        ({"focal_length": -1.0}, "positive"),
    ],
)
def test_camera_rejects_bad_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Camera(**kwargs)


def test_orbit_rejects_bad_values():
    with pytest.raises(ValueError, match="azimuth"):
        orbit_c2w([float("nan")], [0], 1.0)
    with pytest.raises(ValueError, match="distance"):
        orbit_c2w([0], [0], 0.0)
