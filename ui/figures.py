"""Plotly 3D figures: cameras drawn as frustums around the object at the origin.

Colours tell roles apart at a glance: blue for given cameras (conditions), orange for views to be
generated, green for cameras the model estimated. A small triangle on each frustum marks the top of
its image, so a tilted or upside-down camera is visible.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from onediffusion import Camera
from onediffusion.camera_presets import DEFAULT_DISTANCE, spherical

ROLE_COLOURS = {"condition": "#1f77b4", "generated": "#ff7f0e", "estimated": "#2ca02c", "anchor": "#9467bd"}
ROLE_NAMES = {
    "condition": "given (condition)",
    "generated": "to generate (target)",
    "estimated": "estimated",
    "anchor": "anchor (generated first)",
}
FRUSTUM_DEPTH = 0.35


def frustum_points(camera: Camera, aspect: float = 1.0, depth: float = FRUSTUM_DEPTH) -> np.ndarray:
    """World points (5 + 3, 3): the centre, the image-plane corners, then the 'top' triangle.

    Camera axes are OpenCV's (x right, y down, z forward); ``aspect`` is height / width.
    """
    half_w = 0.5 / camera.focal_length * depth
    half_h = half_w * aspect
    local = np.array(
        [
            [0, 0, 0],
            [-half_w, -half_h, depth],
            [half_w, -half_h, depth],
            [half_w, half_h, depth],
            [-half_w, half_h, depth],
            [-half_w * 0.4, -half_h * 1.1, depth],
            [half_w * 0.4, -half_h * 1.1, depth],
            [0, -half_h * 1.5, depth],
        ]
    )
    return local @ camera.c2w[:3, :3].T + camera.c2w[:3, 3]


def _frustum_lines(points: np.ndarray) -> np.ndarray:
    """Polyline through the frustum's edges, with NaN breaks between strokes."""
    c, a, b, d, e, t1, t2, t3 = range(8)
    strokes = [[c, a], [c, b], [c, d], [c, e], [a, b, d, e, a], [t1, t2, t3, t1]]
    gap = np.full((1, 3), np.nan)
    return np.concatenate([np.concatenate([points[s], gap]) for s in strokes])


def _object_marker(size: float = 0.25) -> go.Mesh3d:
    """A grey cube at the origin standing for the object the cameras look at."""
    corners = np.array([[x, y, z] for x in (-size, size) for y in (-size, size) for z in (-size, size)])
    i = [0, 0, 4, 4, 0, 0, 2, 2, 0, 0, 1, 1]
    j = [1, 2, 5, 6, 1, 4, 3, 6, 2, 4, 3, 5]
    k = [3, 3, 7, 7, 5, 5, 7, 7, 6, 6, 7, 7]
    return go.Mesh3d(
        x=corners[:, 0],
        y=corners[:, 1],
        z=corners[:, 2],
        i=i,
        j=j,
        k=k,
        color="#999999",
        opacity=0.35,
        name="object",
        hoverinfo="name",
        showlegend=True,
    )


def _ground_ring(radius: float) -> go.Scatter3d:
    angles = np.linspace(0, 2 * np.pi, 73)
    return go.Scatter3d(
        x=radius * np.cos(angles),
        y=radius * np.sin(angles),
        z=np.zeros_like(angles),
        mode="lines",
        line={"color": "#cccccc", "dash": "dot"},
        name="ground circle",
        hoverinfo="skip",
        showlegend=False,
    )


def _camera_trace(camera: Camera, name: str, role: str, aspect: float, first_of_role: bool) -> go.Scatter3d:
    lines = _frustum_lines(frustum_points(camera, aspect))
    azimuth, elevation, distance = spherical(camera)
    hover = f"{name}<br>azimuth {azimuth:g}°, elevation {elevation:g}°, distance {distance:g}<br>{ROLE_NAMES[role]}"
    return go.Scatter3d(
        x=lines[:, 0],
        y=lines[:, 1],
        z=lines[:, 2],
        mode="lines",
        line={"color": ROLE_COLOURS[role], "width": 5},
        name=ROLE_NAMES[role],
        legendgroup=role,
        showlegend=first_of_role,
        hovertext=hover,
        hoverinfo="text",
    )


def _labels_trace(cameras: Sequence[Camera], names: Sequence[str], roles: Sequence[str]) -> go.Scatter3d:
    centres = np.stack([cam.centre for cam in cameras])
    colours = [ROLE_COLOURS[r] for r in roles]
    return go.Scatter3d(
        x=centres[:, 0],
        y=centres[:, 1],
        z=centres[:, 2],
        mode="markers+text",
        text=list(names),
        textposition="top center",
        marker={"size": 4, "color": colours},
        hoverinfo="skip",
        showlegend=False,
        name="labels",
    )


def camera_figure(
    cameras: Sequence[Camera],
    names: Sequence[str],
    roles: Sequence[str],
    aspect: float = 1.0,
    title: str = "",
) -> go.Figure:
    """Frustums of ``cameras`` around a cube at the origin; ``roles`` from ROLE_COLOURS' keys."""
    radius = max([DEFAULT_DISTANCE] + [float(np.linalg.norm(cam.centre)) for cam in cameras])
    traces: list = [_object_marker(), _ground_ring(radius)]
    seen: set[str] = set()
    for camera, name, role in zip(cameras, names, roles):
        traces.append(_camera_trace(camera, name, role, aspect, role not in seen))
        seen.add(role)
    if cameras:
        traces.append(_labels_trace(cameras, names, roles))
    figure = go.Figure(traces)
    axis = {"showbackground": False, "showticklabels": False, "title": "", "zeroline": False}
    figure.update_layout(
        title={"text": title, "x": 0.02, "font": {"size": 14}} if title else None,
        scene={
            "aspectmode": "data",
            "xaxis": axis,
            "yaxis": axis,
            "zaxis": axis,
            "camera": {"eye": {"x": 1.4, "y": -1.4, "z": 1.0}},
        },
        margin={"l": 0, "r": 0, "t": 30 if title else 0, "b": 0},
        height=420,
        legend={"orientation": "h", "y": 0.02},
        uirevision="cameras",
        template="none",  # "none": a small payload
    )
    return figure


def path_figure(cameras: Sequence[Camera], anchors: Sequence[int], given: Camera | None) -> go.Figure:
    """A camera path: the photo's camera (blue, when there is a photo), the anchors (purple, generated first),
    the other views (orange), and a line through the path's camera centres in order."""
    shown = ([given] if given is not None else []) + list(cameras)
    names = (["photo"] if given is not None else []) + [
        f"anchor {anchors.index(i) + 1}" if i in anchors else f"view {i + 1}" for i in range(len(cameras))
    ]
    roles = (["condition"] if given is not None else []) + [
        "anchor" if i in anchors else "generated" for i in range(len(cameras))
    ]
    figure = camera_figure(shown, names, roles, title=f"{len(cameras)} views, {len(anchors)} anchors")
    centres = np.stack([camera.centre for camera in cameras])
    figure.add_trace(
        go.Scatter3d(
            x=centres[:, 0], y=centres[:, 1], z=centres[:, 2], mode="lines", name="path",
            line={"color": ROLE_COLOURS["generated"], "width": 2, "dash": "dot"}, hoverinfo="skip",
        )
    )  # fmt: skip
    return figure
