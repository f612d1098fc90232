"""Camera tables for the multiview and slots tabs: presets, rows <-> cameras, placing estimated cameras.

A row is (azimuth, elevation, distance): degrees around the object's vertical axis, degrees above the
ground, and distance from the object's centre. Azimuth 0 is the first view; 90 steps to the viewer's
right around the object (the camera's right-hand side, as OpenCV's x axis of the first view).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from onediffusion import Camera

from .inputs import InputError, number_cell, table_rows

DEFAULT_DISTANCE = 1.7
HEADERS = ["azimuth (°)", "elevation (°)", "distance"]
MAX_VIEWS = 8

Row = tuple[float, float, float]


def orbit(views: int, elevation: float = 0.0, distance: float = DEFAULT_DISTANCE) -> list[Row]:
    """``views`` cameras evenly spaced around the object, the first at azimuth 0."""
    return [(round(360.0 * i / views, 2), elevation, distance) for i in range(views)]


PRESETS: dict[str, list[Row]] = {
    **{f"Orbit: {n} views around the object": orbit(n) for n in range(2, MAX_VIEWS + 1)},
    "Orbit from slightly above: 4 views, elevation 20°": orbit(4, 20.0),
    "Front, then from the right (azimuth 90°)": [(0, 0, DEFAULT_DISTANCE), (90, 0, DEFAULT_DISTANCE)],
    "Front, then from the left (azimuth 270°)": [(0, 0, DEFAULT_DISTANCE), (270, 0, DEFAULT_DISTANCE)],
    "Front, then from behind (azimuth 180°)": [(0, 0, DEFAULT_DISTANCE), (180, 0, DEFAULT_DISTANCE)],
    "Front, then from above (elevation 60°)": [(0, 0, DEFAULT_DISTANCE), (0, 60, DEFAULT_DISTANCE)],
}
DEFAULT_PRESET = "Orbit: 4 views around the object"


def preset_rows(name: str) -> list[list[float]]:
    if name not in PRESETS:
        raise InputError(f"Unknown camera preset {name!r}; pick one from the list.")
    return [list(row) for row in PRESETS[name]]


def rows_to_views(rows, least: int = 1, most: int = MAX_VIEWS) -> list[Row]:
    """Table rows -> checked (azimuth, elevation, distance) triples."""
    views = []
    for i, row in enumerate(table_rows(rows), start=1):
        cells = list(row) + [None] * (3 - len(row))
        azimuth = number_cell(cells[0], "azimuth", i)
        elevation = number_cell(cells[1], "elevation", i)
        distance = number_cell(DEFAULT_DISTANCE if cells[2] in (None, "") else cells[2], "distance", i)
        if not -90 <= elevation <= 90:
            raise InputError(f"Row {i}: elevation must be between -90° and 90°, not {elevation:g}.")
        if not 0 < distance <= 100:
            raise InputError(f"Row {i}: distance must be more than 0 (and at most 100), not {distance:g}.")
        views.append((azimuth, elevation, distance))
    if not least <= len(views) <= most:
        raise InputError(f"The camera table needs {least} to {most} rows (one per view); it has {len(views)}.")
    return views


def views_to_cameras(views: Sequence[Row]) -> list[Camera]:
    return [Camera.orbit(a, e, d) for a, e, d in views]


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
    front view: azimuth 0, elevation 0, the default distance).

    Estimated cameras come in the frame of the first camera (or of an arbitrary one); anchoring the first
    where a front view would be lets them be drawn, and read, like the table's cameras.
    """
    front = (anchor or Camera.orbit(0.0, 0.0, DEFAULT_DISTANCE)).c2w
    to_first = np.linalg.inv(cameras[0].c2w)
    return [Camera(front @ to_first @ cam.c2w, cam.focal_length) for cam in cameras]


def camera_rows(cameras: Sequence[Camera]) -> list[list[float]]:
    """Display rows (azimuth, elevation, distance, focal length) for cameras placed around the object."""
    return [[*spherical(cam), round(cam.focal_length, 3)] for cam in cameras]
