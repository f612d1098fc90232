"""Camera paths: long trajectories of cameras looking at the object, for orbit videos and novel-view sweeps.

Angles are in degrees, as the authors' camera code reads them (``multiview_azimuths`` and
``multiview_elevations`` go through ``np.deg2rad`` there, as in ``cameras.orbit_c2w``). The paper's appendix
gives its front sweep as azimuth [-0.45, 0.6] and elevation [-15, 45]: the azimuths are radians (0.6 degrees of
azimuth would hardly move the camera, and the appendix says the sweep covers "front views"), so the preset
is azimuth -25.8 to 34.4 degrees, elevation -15 to 45 degrees, sliced equally into the views.

Every path is a list of :class:`~onediffusion.cameras.Camera` (OpenCV axes, world z up) whose first camera
is where the input photo's view is taken from when the path starts at azimuth 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from scipy.interpolate import PchipInterpolator
from scipy.spatial.transform import Rotation, Slerp

from .cameras import DEFAULT_FOCAL, Camera

PAPER_SWEEP_AZIMUTH_RAD = (-0.45, 0.6)  # the paper's appendix, read as radians (see the module)
PAPER_SWEEP_AZIMUTH = tuple(round(math.degrees(a), 2) for a in PAPER_SWEEP_AZIMUTH_RAD)  # (-25.78, 34.38)
PAPER_SWEEP_ELEVATION = (-15.0, 45.0)
MIN_VIEWS = 2
MAX_VIEWS = 240  # at 24 fps, ten seconds of video; each view is a generation (README: the cost)
COINCIDE = 1e-6  # cameras closer than this (in distance units and radians) are the same camera


def _checked(views: int) -> int:
    if not isinstance(views, (int, np.integer)) or not MIN_VIEWS <= views <= MAX_VIEWS:
        raise ValueError(
            f"`views` must be a whole number from {MIN_VIEWS} to {MAX_VIEWS} (each view is one generation), "
            f"got {views!r}."
        )
    return int(views)


def _range(name: str, span: Sequence[float], low: float, high: float, allow_flat: bool = False) -> tuple[float, float]:
    start, stop = (float(v) for v in span)
    if not (math.isfinite(start) and math.isfinite(stop)) or not low <= min(start, stop) <= max(start, stop) <= high:
        raise ValueError(f"`{name}` must lie within {low:g} to {high:g}, got {start:g} to {stop:g}.")
    if start > stop or (start == stop and not allow_flat):
        raise ValueError(f"`{name}` must go from a lower to a higher value, got {start:g} to {stop:g}.")
    return start, stop


def _orbits(azimuths, elevations, distances, focal_length: float) -> list[Camera]:
    az, el, dist = np.broadcast_arrays(*(np.asarray(v, float) for v in (azimuths, elevations, distances)))
    return [Camera.orbit(float(a), float(e), float(d), focal_length) for a, e, d in zip(az, el, dist)]


def front_sweep(
    views: int,
    azimuth: Sequence[float] = PAPER_SWEEP_AZIMUTH,
    elevation: Sequence[float] = PAPER_SWEEP_ELEVATION,
    distance: float = 1.7,
    focal_length: float = DEFAULT_FOCAL,
) -> list[Camera]:
    """The paper's front sweep: azimuth and elevation sliced equally together from their first to last value."""
    views = _checked(views)
    a0, a1 = _range("azimuth", azimuth, -180, 180)
    e0, e1 = _range("elevation", elevation, -89, 89, allow_flat=True)
    return _orbits(np.linspace(a0, a1, views), np.linspace(e0, e1, views), distance, focal_length)


def orbit(
    views: int, elevation: float = 0.0, distance: float = 1.7, focal_length: float = DEFAULT_FOCAL
) -> list[Camera]:
    """A full turn around the object from azimuth 0, the end left out (it is the start: the loop closes)."""
    views = _checked(views)
    _range("elevation", (elevation, elevation), -89, 89, allow_flat=True)
    return _orbits(np.arange(views) * 360.0 / views, elevation, distance, focal_length)


def spiral(
    views: int,
    elevation: Sequence[float] = (0.0, 45.0),
    turns: float = 1.0,
    distance: float = 1.7,
    focal_length: float = DEFAULT_FOCAL,
) -> list[Camera]:
    """``turns`` times around the object while the elevation rises from its first value to its last."""
    views = _checked(views)
    e0, e1 = _range("elevation", elevation, -89, 89)
    if not 0 < turns <= 4:
        raise ValueError(f"`turns` must be more than 0 and at most 4, got {turns!r}.")
    return _orbits(np.arange(views) * 360.0 * turns / views, np.linspace(e0, e1, views), distance, focal_length)


def zoom(
    views: int,
    distance: Sequence[float] = (2.2, 1.2),
    azimuth: float = 0.0,
    elevation: float = 0.0,
    focal_length: float = DEFAULT_FOCAL,
) -> list[Camera]:
    """Straight towards the object (first distance larger: zoom in) or away from it (zoom out)."""
    views = _checked(views)
    start, stop = (float(v) for v in distance)
    _range("distance", sorted((start, stop)), 0.3, 100)
    return _orbits(azimuth, elevation, np.linspace(start, stop, views), focal_length)


def through(keyframes: Sequence[Camera], views: int) -> list[Camera]:
    """A path through ``keyframes`` (the camera table's rows, in order, each looking at the object): rotations
    interpolated with spherical linear interpolation (scipy's Slerp), distances along a monotone cubic
    (PCHIP) through the keyframes' distances, each camera placed on its own viewing axis at that distance, so
    it looks at the object and moves smoothly; focal lengths linearly. The first and last cameras are the first
    and last keyframes."""
    views = _checked(views)
    if len(keyframes) < 2:
        raise ValueError(f"A path through the table needs at least 2 rows, got {len(keyframes)}.")
    rotations = Rotation.from_matrix(np.stack([k.c2w[:3, :3] for k in keyframes]))
    distances = np.array([np.linalg.norm(k.centre) for k in keyframes])
    moves = (rotations[:-1].inv() * rotations[1:]).magnitude() + np.abs(np.diff(distances))
    if (moves < COINCIDE).any():
        first = int(np.argmax(moves < COINCIDE))
        raise ValueError(f"Rows {first + 1} and {first + 2} of the camera table are the same camera: remove one.")
    knots = np.concatenate([[0.0], np.cumsum(moves)])  # time along the path: a keyframe per knot
    times = np.linspace(0.0, knots[-1], views)
    turned = Slerp(knots, rotations)(times).as_matrix()
    distance = PchipInterpolator(knots, distances)(times)
    focals = np.interp(times, knots, [k.focal_length for k in keyframes])
    cameras = []
    for rotation, d, focal in zip(turned, distance, focals):
        c2w = np.eye(4)
        c2w[:3, :3], c2w[:3, 3] = rotation, -rotation[:, 2] * d  # on the viewing axis: z looks at the origin
        cameras.append(Camera(c2w, float(focal)))
    return cameras


# The presets by name, each a function of the number of views and keyword settings.
PRESETS: dict[str, Callable[..., list[Camera]]] = {
    "front sweep": front_sweep,
    "orbit": orbit,
    "spiral": spiral,
    "zoom": zoom,
}


def check_distinct(cameras: Sequence[Camera]) -> None:
    """Refuse a path in which two neighbouring cameras are the same camera (each view would be generated
    twice, and a video would stall)."""
    for i, (a, b) in enumerate(zip(cameras, cameras[1:]), start=1):
        moved = np.linalg.norm(a.centre - b.centre)
        turned = Rotation.from_matrix(a.c2w[:3, :3].T @ b.c2w[:3, :3]).magnitude()
        if moved < COINCIDE and turned < COINCIDE:
            raise ValueError(f"Cameras {i} and {i + 1} of the path coincide: widen its range or use fewer views.")


def viewing_angle_deg(a: Camera, b: Camera) -> float:
    """The angle between two cameras' viewing directions (their z axes), in degrees."""
    za, zb = a.c2w[:3, 2], b.c2w[:3, 2]
    cos = float(za @ zb / (np.linalg.norm(za) * np.linalg.norm(zb)))
    return math.degrees(math.acos(max(-1.0, min(1.0, cos))))
