"""Camera tables as people write them (the app's Multiview and Slots tabs, the batch command): presets,
rows <-> cameras, placing estimated cameras.

A row is (azimuth, elevation, distance): degrees around the object's vertical axis, degrees above the
ground, and distance from the object's centre. Azimuth 0 is the first view; 90 steps to the viewer's
right around the object (the camera's right-hand side, as OpenCV's x axis of the first view). Presets,
blank distances and the first view follow the camera the loaded model was trained around (``CameraDefaults``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .cameras import DEFAULT_FOCAL, Camera
from .tables import InputError, number_cell, table_rows

DEFAULT_DISTANCE = 1.7
HEADERS = ["azimuth (°)", "elevation (°)", "distance"]
MAX_VIEWS = 8

Row = tuple[float, float, float]


@dataclass(frozen=True)
class CameraDefaults:
    """The camera a model was trained around: presets, blank distances and the first view follow it.
    The published model's by default (front views at distance 1.7)."""

    distance: float = DEFAULT_DISTANCE
    elevation: float = 0.0
    focal_length: float = DEFAULT_FOCAL

    @classmethod
    def from_studio(cls, camera: dict | None) -> CameraDefaults:
        """From the ``camera`` entry of a checkpoint's studio.json; missing keys keep the published values."""
        known = {key: float(value) for key, value in (camera or {}).items() if key in cls.__dataclass_fields__}
        return cls(**known)

    @property
    def front(self) -> Camera:
        """The first view: azimuth 0 at the default elevation and distance."""
        return Camera.orbit(0.0, self.elevation, self.distance, self.focal_length)


PUBLISHED_CAMERA = CameraDefaults()


def orbit(views: int, elevation: float = 0.0, distance: float = DEFAULT_DISTANCE) -> list[Row]:
    """``views`` cameras evenly spaced around the object, the first at azimuth 0."""
    return [(round(360.0 * i / views, 2), elevation, distance) for i in range(views)]


def presets(defaults: CameraDefaults = PUBLISHED_CAMERA) -> dict[str, list[Row]]:
    """Named camera tables at the model's default elevation and distance; the views from higher up
    are 20° above it, and 60° (or 35° above it, if that is higher)."""
    elevation, distance = defaults.elevation, defaults.distance
    higher, top = elevation + 20.0, max(60.0, elevation + 35.0)

    def move(azimuth: float, to_elevation: float = elevation) -> list[Row]:
        return [(0, elevation, distance), (azimuth, to_elevation, distance)]

    return {
        **{f"Orbit: {n} views around the object": orbit(n, elevation, distance) for n in range(2, MAX_VIEWS + 1)},
        f"Orbit from slightly above: 4 views, elevation {higher:g}°": orbit(4, higher, distance),
        "Front, then from the right (azimuth 90°)": move(90),
        "Front, then from the left (azimuth 270°)": move(270),
        "Front, then from behind (azimuth 180°)": move(180),
        f"Front, then from above (elevation {top:g}°)": move(0, top),
    }


PRESETS = presets()
DEFAULT_PRESET = "Orbit: 4 views around the object"


def preset_rows(name: str, defaults: CameraDefaults = PUBLISHED_CAMERA) -> list[list[float]]:
    table = presets(defaults)
    if name not in table:
        raise InputError(f"Unknown camera preset {name!r}; pick one from the list.")
    return [list(row) for row in table[name]]


def rows_to_views(rows, least: int = 1, most: int = MAX_VIEWS, distance: float = DEFAULT_DISTANCE) -> list[Row]:
    """Table rows -> checked (azimuth, elevation, distance) triples; a blank distance is ``distance``."""
    views = []
    for i, row in enumerate(table_rows(rows), start=1):
        cells = list(row) + [None] * (3 - len(row))
        azimuth = number_cell(cells[0], "azimuth", i)
        elevation = number_cell(cells[1], "elevation", i)
        radius = number_cell(distance if cells[2] in (None, "") else cells[2], "distance", i)
        if not -90 <= elevation <= 90:
            raise InputError(f"Row {i}: elevation must be between -90° and 90°, not {elevation:g}.")
        if not 0 < radius <= 100:
            raise InputError(f"Row {i}: distance must be more than 0 (and at most 100), not {radius:g}.")
        views.append((azimuth, elevation, radius))
    if not least <= len(views) <= most:
        raise InputError(f"The camera table needs {least} to {most} rows (one per view); it has {len(views)}.")
    return views


def views_to_cameras(views: Sequence[Row], focal_length: float = DEFAULT_FOCAL) -> list[Camera]:
    return [Camera.orbit(a, e, d, focal_length) for a, e, d in views]


def spherical(camera: Camera) -> Row:
    """(azimuth, elevation, distance) of a camera's centre around the origin."""
    x, y, z = camera.centre
    distance = float(math.sqrt(x * x + y * y + z * z))
    if distance < 1e-9:
        return 0.0, 0.0, 0.0
    azimuth = round(math.degrees(math.atan2(y, x)), 1) % 360.0  # rounded first, so -0.01 reads 0, not 360
    elevation = round(math.degrees(math.asin(max(-1.0, min(1.0, z / distance)))), 1)
    return azimuth + 0.0, elevation + 0.0, round(distance, 3)  # + 0.0: no "-0.0" in tables


def place_around_object(cameras: Sequence[Camera], anchor: Camera | None = None) -> list[Camera]:
    """Cameras known only relative to the first, placed so the first sits at ``anchor`` (by default the
    published model's front view: azimuth 0, elevation 0, distance 1.7; see ``CameraDefaults.front``).

    Estimated cameras come in the frame of the first camera (or of an arbitrary one); anchoring the first
    where a front view would be lets them be drawn, and read, like the table's cameras.
    """
    front = (anchor or PUBLISHED_CAMERA.front).c2w
    to_first = np.linalg.inv(cameras[0].c2w)
    return [Camera(front @ to_first @ cam.c2w, cam.focal_length) for cam in cameras]


def camera_rows(cameras: Sequence[Camera]) -> list[list[float]]:
    """Display rows (azimuth, elevation, distance, focal length) for cameras placed around the object."""
    return [[*spherical(cam), round(cam.focal_length, 3)] for cam in cameras]
