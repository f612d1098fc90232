"""A procedural 3D world: a few coloured primitives on a grey floor, ray traced with NumPy.

It makes training data for small OneDiffusion models and example inputs for the app: a scene
graph with a caption, views from orbit cameras (colour, depth, object ids) and the condition
images of the model's tasks (depth, semantic map, boxes, edges), all from one seed::

    scene = sample_scene(0)
    views = render_views(scene, orbit_cameras(4), 64)
    caption = scene.caption(views[0].camera)
    depth = depth_image(views[0])

Geometry follows ``cameras.py`` exactly: OpenCV camera-to-world matrices in a z-up world, focal
lengths in image widths, pixel rays from :func:`onediffusion.cameras.pixel_directions`. Rays are
kept unnormalised with a camera-frame z of 1, so the ray parameter of a hit *is* its depth.

Everything is vectorised over rays; the only Python loops run over the (at most three) objects.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch
from PIL import Image, ImageDraw

from ..cameras import DEFAULT_FOCAL, Camera, pixel_directions
from ..conditions import canny_edges
from ..prompts import COLOR_NAMES, Label

SHAPES = ("sphere", "cube", "cylinder", "cone")
OBJECT_COLORS = ("red", "lime", "blue", "yellow", "magenta", "cyan", "orange", "purple")
FLOOR_COLOR = "grey"
FLOOR_RGB = (0.66, 0.66, 0.66)  # neutral grey, in no palette entry
SKY_RGB = (0.88, 0.88, 0.88)  # light neutral background where no surface is hit
FLOOR_RADIUS = 4.0  # a finite floor keeps the farthest depth, and so the depth map's scale, bounded
SCENE_RADIUS = 0.8  # every object lies inside this radius around the z axis
DEFAULT_DISTANCE = 2.4
DEFAULT_ELEVATION = 20.0
_EPS = 1e-6

# (footprint size range, height range) per shape; size is the radius or half-side in the floor plane.
# Heights of None follow from the size (sphere 2r, cube 2s).
_SIZE_RANGES: dict[str, tuple[tuple[float, float], tuple[float, float] | None]] = {
    "sphere": ((0.26, 0.38), None),
    "cube": ((0.2, 0.29), None),
    "cylinder": ((0.18, 0.28), (0.4, 0.75)),
    "cone": ((0.22, 0.34), (0.5, 0.8)),
}
_CROWD_SCALE = {1: 1.0, 2: 0.85, 3: 0.72}  # shrink objects in fuller scenes so they fit apart


# ----------------------------------------------------------------------------------------------
# Scene graph


@dataclass(frozen=True)
class SceneObject:
    """One primitive. ``position`` is the centre of its bounding box (its base rests on z = 0);
    ``size`` the radius (sphere, cylinder, cone base) or half-side (cube) in the floor plane;
    ``rotation`` degrees about the vertical axis (only cubes look different when turned)."""

    shape: str
    color: str
    position: tuple[float, float, float]
    size: float
    height: float
    rotation: float = 0.0

    def __post_init__(self):
        if self.shape not in SHAPES:
            raise ValueError(f"`shape` must be one of {SHAPES}, got {self.shape!r}.")
        if self.color not in COLOR_NAMES:
            raise ValueError(f"`color` must be a palette name {list(COLOR_NAMES)}, got {self.color!r}.")
        if not (self.size > 0 and self.height > 0):
            raise ValueError(f"`size` and `height` must be positive, got {self.size!r} and {self.height!r}.")
        position = np.asarray(self.position, dtype=np.float64)
        if position.shape != (3,) or not np.all(np.isfinite(position)):
            raise ValueError(f"`position` must be a finite (x, y, z), got {self.position!r}.")
        object.__setattr__(self, "position", tuple(float(v) for v in position))

    @property
    def footprint(self) -> float:
        """Radius of the circle around the object's axis that holds its whole base."""
        return self.size * math.sqrt(2.0) if self.shape == "cube" else self.size

    @property
    def label(self) -> Label:
        return Label(self.shape, self.color)

    @property
    def rgb(self) -> tuple[int, int, int]:
        """The pure palette colour: what semantic maps and boxes paint."""
        return self.label.rgb

    @property
    def phrase(self) -> str:
        """The object with its indefinite article: "a red sphere", "an orange cone"."""
        article = "an" if self.color[0] in "aeiou" else "a"
        return f"{article} {self.color} {self.shape}"


@dataclass(frozen=True)
class Light:
    """A sun (unit ``direction`` pointing towards it) plus a uniform ambient term."""

    direction: tuple[float, float, float]
    ambient: float = 0.45

    def __post_init__(self):
        d = np.asarray(self.direction, dtype=np.float64)
        if d.shape != (3,) or not np.all(np.isfinite(d)) or d[2] <= 0:
            raise ValueError(f"`direction` must be a finite 3-vector pointing upwards, got {self.direction!r}.")
        if not 0 <= self.ambient <= 1:
            raise ValueError(f"`ambient` must lie in [0, 1], got {self.ambient!r}.")
        object.__setattr__(self, "direction", tuple(float(v) for v in d / np.linalg.norm(d)))


@dataclass(frozen=True)
class Scene:
    """Objects (ids 1, 2, ... in this order) on the floor under a light. Colours are distinct, so
    "the blue cube" names one object in a caption and one colour one object in a semantic map."""

    objects: tuple[SceneObject, ...]
    light: Light

    def __post_init__(self):
        objects = tuple(self.objects)
        if not objects or not all(isinstance(o, SceneObject) for o in objects):
            raise ValueError(f"`objects` must be a non-empty sequence of SceneObject, got {self.objects!r}.")
        colors = [o.color for o in objects]
        if len(set(colors)) != len(colors):
            raise ValueError(f"`objects` must have distinct colours, got {colors}.")
        object.__setattr__(self, "objects", objects)

    @property
    def labels(self) -> list[Label]:
        """One label per object (shape name, colour), in id order: the semantic and box prompts'."""
        return [obj.label for obj in self.objects]

    def caption(self, camera: Camera | None = None) -> str:
        """A sentence naming every object, with left/right/behind/in front seen from ``camera``
        (default: the canonical orbit camera at azimuth 0)."""
        camera = camera or Camera.orbit(0.0, DEFAULT_ELEVATION, DEFAULT_DISTANCE)
        objs = self.objects
        floor = f"on a {FLOOR_COLOR} floor"
        if len(objs) == 1:
            return f"{objs[0].phrase} {floor}"
        first = f"{objs[0].phrase} {relation(objs[0], objs[1], camera)} {objs[1].phrase}"
        # Later objects relate to the second one, named with "the": colours are unique in a scene.
        anchor = f"the {objs[1].color} {objs[1].shape}"
        rest = [f"{o.phrase} {relation(o, objs[1], camera)} {anchor}" for o in objs[2:]]
        return ", and ".join([first, *rest]) + (f", {floor}" if rest else f" {floor}")


def relation(a: SceneObject, b: SceneObject, camera: Camera) -> str:
    """Where ``a`` is relative to ``b`` seen from ``camera``: "left of", "right of", "behind" or
    "in front of", whichever axis of the camera's ground-plane frame separates them more."""
    right, forward = camera.c2w[:3, 0].copy(), camera.c2w[:3, 2].copy()
    right[2] = forward[2] = 0.0  # compare on the floor, whatever the camera's elevation
    delta = np.subtract(a.position, b.position)
    side = float(delta @ right) / max(float(np.linalg.norm(right)), _EPS)
    depth = float(delta @ forward) / max(float(np.linalg.norm(forward)), _EPS)
    if abs(side) >= abs(depth):
        return "right of" if side > 0 else "left of"
    return "behind" if depth > 0 else "in front of"


# ----------------------------------------------------------------------------------------------
# Sampling scenes and cameras


def _generator(seed: int | np.random.Generator) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0:
        return np.random.default_rng(int(seed))
    raise ValueError(f"`seed` must be a non-negative int or a numpy Generator, got {seed!r}.")


def _sample_object(rng: np.random.Generator, color: str, scale: float) -> SceneObject:
    """An object of random shape and size at the origin (placed later)."""
    shape = SHAPES[rng.integers(len(SHAPES))]
    size_range, height_range = _SIZE_RANGES[shape]
    size = rng.uniform(*size_range) * scale
    height = 2 * size if height_range is None else rng.uniform(*height_range) * scale
    rotation = rng.uniform(0.0, 90.0) if shape == "cube" else 0.0
    return SceneObject(shape, color, (0.0, 0.0, height / 2), size, height, rotation)


def _place(rng: np.random.Generator, objects: list[SceneObject], gap: float = 0.06) -> list[SceneObject] | None:
    """Positions on the floor inside SCENE_RADIUS with footprints ``gap`` apart, or None if rejected."""
    placed: list[SceneObject] = []
    for obj in objects:
        reach = SCENE_RADIUS - obj.footprint
        # Uniform in radius rather than area: lone objects gather near the centre of the view.
        r, phi = reach * rng.uniform(), rng.uniform(0.0, 2 * math.pi)
        xy = np.array([r * math.cos(phi), r * math.sin(phi)])
        if any(np.hypot(*(xy - p.position[:2])) < obj.footprint + p.footprint + gap for p in placed):
            return None
        placed.append(SceneObject(obj.shape, obj.color, (*xy, obj.height / 2), obj.size, obj.height, obj.rotation))
    return placed


def _sample_light(rng: np.random.Generator) -> Light:
    """A sun high enough for short shadows, from roughly the same quarter in every scene. The
    ambient term stays high so a shaded magenta does not pass for purple (half its intensity)."""
    azimuth = math.radians(rng.uniform(-70.0, -20.0))
    elevation = math.radians(rng.uniform(50.0, 68.0))
    direction = (
        math.cos(elevation) * math.cos(azimuth),
        math.cos(elevation) * math.sin(azimuth),
        math.sin(elevation),
    )
    return Light(direction, ambient=rng.uniform(0.42, 0.5))


def sample_scene(seed: int | np.random.Generator, n_objects: int | None = None) -> Scene:
    """A random scene of 1-3 objects (``n_objects``, random if None) with distinct colours from
    OBJECT_COLORS, resting apart on the floor. Deterministic for an int seed."""
    rng = _generator(seed)
    if n_objects is None:
        n_objects = int(rng.integers(1, 4))
    if n_objects not in _CROWD_SCALE:
        raise ValueError(f"`n_objects` must be 1, 2, 3 or None, got {n_objects!r}.")
    colors = rng.choice(len(OBJECT_COLORS), size=n_objects, replace=False)
    objects = [_sample_object(rng, OBJECT_COLORS[c], _CROWD_SCALE[n_objects]) for c in colors]
    # Only positions are redrawn on rejection: redrawing shapes would favour the slimmer ones.
    for attempt in range(1, 2001):
        placed = _place(rng, objects)
        if placed is not None:
            return Scene(tuple(placed), _sample_light(rng))
        if attempt % 50 == 0:  # a crowded draw: shrink it a little rather than reject its shapes
            objects = [replace(o, size=o.size * 0.95, height=o.height * 0.95) for o in objects]
    raise RuntimeError(f"Could not place {n_objects} objects apart.")  # unreachable: they shrink to fit


def sample_cameras(
    rng: int | np.random.Generator,
    n_views: int,
    elevation: tuple[float, float] = (10.0, 40.0),
    distance: tuple[float, float] = (2.2, 2.6),
    focal_length: tuple[float, float] = (1.1, 1.6),
) -> list[Camera]:
    """``n_views`` orbit cameras for multiview training: azimuths over the full circle, elevations
    and distances uniform in their ranges (degrees, world units), focal lengths triangular over
    their range with the mode at DEFAULT_FOCAL (clipped into the range)."""
    rng = _generator(rng)
    if n_views < 1:
        raise ValueError(f"`n_views` must be at least 1, got {n_views!r}.")
    for name, (lo, hi) in (("elevation", elevation), ("distance", distance), ("focal_length", focal_length)):
        if not lo <= hi:
            raise ValueError(f"`{name}` must be a (low, high) range, got {(lo, hi)!r}.")
    if distance[0] <= 0 or focal_length[0] <= 0:
        raise ValueError(f"`distance` and `focal_length` must be positive, got {distance!r} and {focal_length!r}.")
    azimuths = rng.uniform(0.0, 360.0, n_views)
    elevations = rng.uniform(*elevation, n_views)
    distances = rng.uniform(*distance, n_views)
    mode = min(max(DEFAULT_FOCAL, focal_length[0]), focal_length[1])
    focals = (
        rng.triangular(focal_length[0], mode, focal_length[1], n_views)
        if focal_length[0] < focal_length[1]
        else np.full(n_views, focal_length[0])
    )
    return [Camera.orbit(a, e, d, f) for a, e, d, f in zip(azimuths, elevations, distances, focals)]


def orbit_cameras(
    n_views: int,
    elevation: float = DEFAULT_ELEVATION,
    distance: float = DEFAULT_DISTANCE,
    focal_length: float = DEFAULT_FOCAL,
    start_azimuth: float = 0.0,
) -> list[Camera]:
    """``n_views`` cameras evenly spaced in azimuth from ``start_azimuth``, all looking at the origin."""
    if n_views < 1:
        raise ValueError(f"`n_views` must be at least 1, got {n_views!r}.")
    return [
        Camera.orbit(start_azimuth + 360.0 * k / n_views, elevation, distance, focal_length) for k in range(n_views)
    ]


# ----------------------------------------------------------------------------------------------
# Ray-primitive intersections. Each takes origins (N or 1, 3) and directions (N, 3) and returns
# the nearest ray parameter t > 0 of a hit, +inf for a miss; each normal function takes hit points.


def _quadratic_roots(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both roots of a t^2 + 2 b t + c = 0 (NaN where there are none); a may be any sign."""
    disc = b * b - a * c
    root = np.sqrt(np.where(disc >= 0, disc, np.nan))
    a = np.where(np.abs(a) < 1e-12, 1e-12, a)  # near-tangent rays to a cone: a far root, harmless
    return (-b - root) / a, (-b + root) / a


def _valid(t: np.ndarray, ok: np.ndarray) -> np.ndarray:
    return np.where(ok & (t > _EPS), t, np.inf)


def _turn(obj: SceneObject) -> np.ndarray:
    """World-to-object rotation: -rotation degrees about z (its transpose turns back)."""
    c, s = math.cos(math.radians(obj.rotation)), math.sin(math.radians(obj.rotation))
    return np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]])


def _to_local(obj: SceneObject, o: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rays in the object's frame: origin at its bounding-box centre, turned by -rotation about z."""
    o = o - np.asarray(obj.position)
    if not obj.rotation:
        return o, d
    turn = _turn(obj)
    return o @ turn.T, d @ turn.T


def _hit_sphere(obj: SceneObject, o: np.ndarray, d: np.ndarray) -> np.ndarray:
    o, d = _to_local(obj, o, d)
    near, _ = _quadratic_roots(_dot(d, d), _dot(o, d), _dot(o, o) - obj.size**2)
    return _valid(near, np.isfinite(near))


def _hit_cube(obj: SceneObject, o: np.ndarray, d: np.ndarray) -> np.ndarray:
    o, d = _to_local(obj, o, d)
    d = np.where(np.abs(d) < 1e-12, 1e-12, d)  # slabs parallel to a ray: a huge but finite t
    t0, t1 = (-obj.size - o) / d, (obj.size - o) / d
    lo, hi = np.minimum(t0, t1), np.maximum(t0, t1)
    # Reductions over a length-3 axis are slow in NumPy; two elementwise passes are not.
    t_in = np.maximum(np.maximum(lo[:, 0], lo[:, 1]), lo[:, 2])
    t_out = np.minimum(np.minimum(hi[:, 0], hi[:, 1]), hi[:, 2])
    return _valid(t_in, t_in <= t_out)


def _hit_cylinder(obj: SceneObject, o: np.ndarray, d: np.ndarray) -> np.ndarray:
    o, d = _to_local(obj, o, d)
    half = obj.height / 2
    a = d[:, 0] ** 2 + d[:, 1] ** 2
    b = o[..., 0] * d[:, 0] + o[..., 1] * d[:, 1]
    c = o[..., 0] ** 2 + o[..., 1] ** 2 - obj.size**2
    near, _ = _quadratic_roots(a, b, c)
    side = _valid(near, np.abs(o[..., 2] + near * d[:, 2]) <= half)
    # The cap plane entered first; from inside the slab it is an exit and comes out negative.
    dz = np.where(np.abs(d[:, 2]) < 1e-12, 1e-12, d[:, 2])
    t_cap = np.minimum((half - o[..., 2]) / dz, (-half - o[..., 2]) / dz)
    x, y = o[..., 0] + t_cap * d[:, 0], o[..., 1] + t_cap * d[:, 1]
    return np.minimum(side, _valid(t_cap, x * x + y * y <= obj.size**2))


def _hit_cone(obj: SceneObject, o: np.ndarray, d: np.ndarray) -> np.ndarray:
    o, d = _to_local(obj, o, d)
    q = o - np.array([0.0, 0.0, obj.height / 2])  # from the apex; the cone is x^2 + y^2 = (k z)^2, -h <= z <= 0
    k2 = (obj.size / obj.height) ** 2
    a = d[:, 0] ** 2 + d[:, 1] ** 2 - k2 * d[:, 2] ** 2
    b = q[..., 0] * d[:, 0] + q[..., 1] * d[:, 1] - k2 * q[..., 2] * d[:, 2]
    c = q[..., 0] ** 2 + q[..., 1] ** 2 - k2 * q[..., 2] ** 2
    sides = [
        _valid(t, np.abs(q[..., 2] + t * d[:, 2] + obj.height / 2) <= obj.height / 2) for t in _quadratic_roots(a, b, c)
    ]
    dz = np.where(np.abs(d[:, 2]) < 1e-12, 1e-12, d[:, 2])
    t_base = (-obj.height - q[..., 2]) / dz
    x, y = q[..., 0] + t_base * d[:, 0], q[..., 1] + t_base * d[:, 1]
    return np.minimum(np.minimum(*sides), _valid(t_base, x * x + y * y <= obj.size**2))


def _normal_sphere(obj: SceneObject, p: np.ndarray) -> np.ndarray:
    return (p - np.asarray(obj.position)) / obj.size


def _normal_cube(obj: SceneObject, p: np.ndarray) -> np.ndarray:
    local = (p - np.asarray(obj.position)) @ _turn(obj).T
    rows, axis = np.arange(len(p)), np.abs(local).argmax(-1)  # the face is the dominant axis
    n = np.zeros_like(local)
    n[rows, axis] = np.sign(local[rows, axis])
    return n @ _turn(obj)


def _normal_cylinder(obj: SceneObject, p: np.ndarray) -> np.ndarray:
    local = p - np.asarray(obj.position)
    radial = np.hypot(local[:, 0], local[:, 1]) / obj.size
    on_cap = np.abs(local[:, 2]) / (obj.height / 2) >= radial  # whichever surface the point is nearer
    side = np.stack([local[:, 0], local[:, 1], np.zeros(len(p))], -1) / np.maximum(radial * obj.size, _EPS)[:, None]
    cap = np.stack([np.zeros(len(p)), np.zeros(len(p)), np.sign(local[:, 2])], -1)
    return np.where(on_cap[:, None], cap, side)


def _normal_cone(obj: SceneObject, p: np.ndarray) -> np.ndarray:
    q = p - np.asarray(obj.position) - np.array([0.0, 0.0, obj.height / 2])
    k2 = (obj.size / obj.height) ** 2
    side = np.stack([q[:, 0], q[:, 1], -k2 * q[:, 2]], -1)
    side /= np.maximum(np.linalg.norm(side, axis=-1, keepdims=True), _EPS)
    on_base = (q[:, 2] + obj.height)[:, None] < 1e-4 * obj.height
    return np.where(on_base, np.array([0.0, 0.0, -1.0]), side)


_PRIMITIVES: dict[str, tuple[Callable, Callable]] = {
    "sphere": (_hit_sphere, _normal_sphere),
    "cube": (_hit_cube, _normal_cube),
    "cylinder": (_hit_cylinder, _normal_cylinder),
    "cone": (_hit_cone, _normal_cone),
}


def _dot(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Row-wise dot products of (N or 1, 3) arrays -> (N,); a single row is broadcast by a matmul."""
    if len(x) == 1:
        return y @ x[0]
    if len(y) == 1:
        return x @ y[0]
    return np.einsum("ni,ni->n", x, y)


def _hit(obj: SceneObject, o: np.ndarray, d: np.ndarray, skip: np.ndarray | None = None) -> np.ndarray:
    """Nearest hit t of each ray on ``obj`` (+inf for a miss, and for rays flagged in ``skip``);
    o and d are (N or 1, 3). Only rays that meet the object's bounding sphere get the exact
    test: an object covers a small share of the rays, and the bounding test costs a fraction of
    a cone's."""
    oc = o - np.asarray(obj.position)
    a, b = _dot(d, d), _dot(oc, d)
    c = _dot(oc, oc) - (obj.footprint**2 + (obj.height / 2) ** 2)
    near = (b * b >= a * c) & ((b < 0) | (c < 0))  # meets the sphere, not wholly behind the origin
    if skip is not None:
        near &= ~skip
    t = np.full(max(len(o), len(d)), np.inf)
    if near.any():
        t[near] = _PRIMITIVES[obj.shape][0](obj, o if len(o) == 1 else o[near], d if len(d) == 1 else d[near])
    return t


def _hit_floor(o: np.ndarray, d: np.ndarray) -> np.ndarray:
    dz = np.where(d[:, 2] < -1e-12, d[:, 2], -1e-12)
    t = -o[..., 2] / dz
    x, y = o[..., 0] + t * d[:, 0], o[..., 1] + t * d[:, 1]
    return _valid(t, (d[:, 2] < -1e-12) & (x * x + y * y <= FLOOR_RADIUS**2))


# ----------------------------------------------------------------------------------------------
# Tracing and shading


def _trace(scene: Scene, o: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest hit of each ray -> (t (N,), ids (N,) int16: 0 floor or nothing, k the k-th object)."""
    t = _hit_floor(o, d)
    ids = np.zeros(len(d), dtype=np.int16)
    for k, obj in enumerate(scene.objects, start=1):
        t_obj = _hit(obj, o, d)
        nearer = t_obj < t
        t, ids = np.where(nearer, t_obj, t), np.where(nearer, np.int16(k), ids)
    return t, ids


def _normals(scene: Scene, points: np.ndarray, ids: np.ndarray) -> np.ndarray:
    normals = np.zeros_like(points)
    normals[:, 2] = 1.0  # the floor's
    for k, obj in enumerate(scene.objects, start=1):
        mask = ids == k
        if mask.any():
            normals[mask] = _PRIMITIVES[obj.shape][1](obj, points[mask])
    return normals


def _in_shadow(scene: Scene, points: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Whether the sun is blocked at each point: one shadow ray per point. All primitives are
    convex, so a point facing the sun cannot shadow itself and its own object is skipped, which
    also spares the usual offset against self-intersection."""
    to_sun = np.asarray(scene.light.direction)[None]
    blocked = np.zeros(len(points), dtype=bool)
    for k, obj in enumerate(scene.objects, start=1):
        blocked |= np.isfinite(_hit(obj, points, to_sun, skip=ids == k))
    return blocked


def _shade(scene: Scene, o: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Trace and shade rays -> (rgb (N, 3) in [0, 1], t (N,), ids (N,)). Lambertian sun with cast
    shadows plus ambient; rays that hit nothing get the sky colour."""
    t, ids = _trace(scene, o, d)
    rgb = np.broadcast_to(np.asarray(SKY_RGB), d.shape).copy()
    hit = np.isfinite(t)
    if not hit.any():
        return rgb, t, ids
    points = (o if len(o) == 1 else o[hit]) + t[hit, None] * d[hit]
    hit_ids = ids[hit]
    lambert = np.clip(_normals(scene, points, hit_ids) @ np.asarray(scene.light.direction), 0.0, None)
    lit = lambert > 0
    lambert[lit] *= ~_in_shadow(scene, points[lit], hit_ids[lit])
    albedo = np.array([FLOOR_RGB] + [np.array(obj.rgb) / 255.0 for obj in scene.objects])[hit_ids]
    ambient = scene.light.ambient
    rgb[hit] = albedo * (ambient + (1.0 - ambient) * lambert)[:, None]
    return rgb, t, ids


@functools.lru_cache(maxsize=32)
def _unit_focal_rays(h: int, w: int, samples: int) -> np.ndarray:
    """:func:`pixel_directions` at focal length 1 for a samples-times finer grid, regrouped by
    pixel -> (h, w, samples**2, 3): each pixel's sub-pixel centres (its centre for samples=1)."""
    s = samples
    rays = pixel_directions(torch.ones(1, dtype=torch.float64), (h * s, w * s))[0].numpy()
    rays = rays.reshape(h, s, w, s, 3).transpose(0, 2, 1, 3, 4).reshape(h, w, s * s, 3)
    rays.flags.writeable = False  # shared by every render through the cache
    return rays


def _camera_rays(focal_length: float, h: int, w: int, samples: int = 1, pixels: np.ndarray | None = None) -> np.ndarray:
    """Camera-frame rays (h, w, samples**2, 3) for a focal length, or (P, samples**2, 3) for the
    (h, w) bool mask ``pixels``. pixel_directions divides its focal-1 grid by f in float64 just
    as here, so the rays match it bit for bit without a cache entry per focal length (sampled
    cameras rarely share one)."""
    rays = _unit_focal_rays(h, w, samples)
    return (rays if pixels is None else rays[pixels]) / np.array([focal_length, focal_length, 1.0])


def _grid_size(size: int | tuple[int, int]) -> tuple[int, int]:
    h, w = (size, size) if isinstance(size, (int, np.integer)) else size
    if int(h) < 1 or int(w) < 1:
        raise ValueError(f"`size` must be a positive int or (height, width), got {size!r}.")
    return int(h), int(w)


def _edge_pixels(classes: np.ndarray, rgb: np.ndarray, contrast: float = 0.08) -> np.ndarray:
    """Pixels whose class (object id, floor or sky) or brightness jumps against one of their eight
    neighbours: where silhouettes, shadow borders and cube edges alias. (H, W) bool."""
    flags = np.zeros(classes.shape, dtype=bool)
    luma = rgb @ np.array([0.299, 0.587, 0.114])  # colour changes without one are class changes
    pairs = [
        ((slice(None), slice(None, -1)), (slice(None), slice(1, None))),
        ((slice(None, -1), slice(None)), (slice(1, None), slice(None))),
        ((slice(None, -1), slice(None, -1)), (slice(1, None), slice(1, None))),
        ((slice(None, -1), slice(1, None)), (slice(1, None), slice(None, -1))),
    ]
    for a, b in pairs:
        jump = (classes[a] != classes[b]) | (np.abs(luma[a] - luma[b]) > contrast)
        flags[a] |= jump
        flags[b] |= jump
    return flags


@dataclass(frozen=True, eq=False)  # arrays: == would be ambiguous
class View:
    """One rendered view. rgb (H, W, 3) uint8; depth (H, W) float32, the distance along the
    camera's z axis (+inf where no surface is hit); ids (H, W) int16, 0 for floor and sky, k for
    the k-th object of the scene (1-based)."""

    rgb: np.ndarray
    depth: np.ndarray
    ids: np.ndarray
    camera: Camera

    @property
    def image(self) -> Image.Image:
        return Image.fromarray(self.rgb)


def render(scene: Scene, camera: Camera, size: int | tuple[int, int], supersample: int = 3) -> View:
    """Ray trace ``scene`` from ``camera`` at ``size`` (side, or (height, width)) pixels.

    Depth and ids come from the pixel-centre rays, exactly those of the camera's ray map.
    ``supersample`` > 1 antialiases the colour: pixels on an edge (see :func:`_edge_pixels`) are
    re-shaded from ``supersample``^2 sub-pixel rays and averaged; flat regions need no more rays.
    """
    h, w = _grid_size(size)
    if not isinstance(supersample, (int, np.integer)) or supersample < 1:
        raise ValueError(f"`supersample` must be a positive int, got {supersample!r}.")
    rotation, origin = camera.c2w[:3, :3], camera.c2w[None, :3, 3]
    rays = _camera_rays(camera.focal_length, h, w)[:, :, 0] @ rotation.T
    rgb, t, ids = _shade(scene, origin, rays.reshape(-1, 3))
    rgb, t, ids = rgb.reshape(h, w, 3), t.reshape(h, w), ids.reshape(h, w)
    if supersample > 1:
        edges = _edge_pixels(np.where(np.isfinite(t), ids, -1), rgb)
        sub = _camera_rays(camera.focal_length, h, w, int(supersample), edges) @ rotation.T
        sub_rgb, _, _ = _shade(scene, origin, sub.reshape(-1, 3))
        rgb[edges] = sub_rgb.reshape(sub.shape).mean(1)  # (edges, samples**2, 3): no edge, no rows
    return View(np.round(rgb * 255.0).astype(np.uint8), t.astype(np.float32), ids, camera)


def render_views(
    scene: Scene, cameras: Sequence[Camera], size: int | tuple[int, int], supersample: int = 3
) -> list[View]:
    """:func:`render` for each camera."""
    return [render(scene, camera, size, supersample) for camera in cameras]


# ----------------------------------------------------------------------------------------------
# Condition images


def depth_image(view: View, inverse: bool = True) -> Image.Image:
    """Depth as grey: near bright, far dark, normalised per image between the nearest and the
    farthest surface; background black. ``inverse`` (default) spaces the greys by inverse depth,
    as monocular depth estimators output, which gives nearby objects more of the range."""
    depth = view.depth.astype(np.float64)
    finite = np.isfinite(depth)
    grey = np.zeros(depth.shape)
    if finite.any():
        values = 1.0 / depth[finite] if inverse else -depth[finite]
        lo, hi = values.min(), values.max()
        grey[finite] = (values - lo) / (hi - lo) if hi > lo else 1.0
    return Image.fromarray(np.round(grey * 255).astype(np.uint8)).convert("RGB")


def _palette_lut(scene: Scene) -> np.ndarray:
    return np.array([(0, 0, 0)] + [obj.rgb for obj in scene.objects], dtype=np.uint8)


def semantic_image(view: View, scene: Scene) -> Image.Image:
    """Each object's pixels in its pure palette colour, everything else black (labels: :func:`visible_labels`)."""
    return Image.fromarray(_palette_lut(scene)[view.ids])


def visible_labels(view: View, scene: Scene) -> list[Label]:
    """Labels (shape, colour) of the objects seen in ``view``, in id order: for semantic and box prompts."""
    return [scene.objects[k - 1].label for k in boxes(view)]


def boxes(view: View) -> dict[int, tuple[int, int, int, int]]:
    """Pixel box (x0, y0, x1, y1) of each visible object by id, x1 and y1 exclusive (slice bounds)."""
    out = {}
    for k in np.unique(view.ids[view.ids > 0]):
        rows = np.flatnonzero((view.ids == k).any(1))
        cols = np.flatnonzero((view.ids == k).any(0))
        out[int(k)] = (int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)
    return out


def box_image(view: View, scene: Scene, width: int | None = None) -> Image.Image:
    """Each visible object's box outlined in its palette colour on black (``width`` px, default
    1 below 64 px and 2 from 64 px up), drawn in id order."""
    h, w = view.ids.shape
    width = width or (1 if min(h, w) < 64 else 2)
    image = Image.new("RGB", (w, h))
    draw = ImageDraw.Draw(image)
    for k, (x0, y0, x1, y1) in boxes(view).items():
        draw.rectangle((x0, y0, x1 - 1, y1 - 1), outline=scene.objects[k - 1].rgb, width=width)
    return image


def edge_image(view: View, low: int = 40, high: int = 100) -> Image.Image:
    """Canny edges of the colour image (:func:`onediffusion.conditions.canny_edges`). Thresholds
    are lowered from its 100/200: in grey, yellow against the sky or a shaded side against the
    floor is a weak step, and on sampled 32-px views 40/100 keeps about 94% of the silhouettes
    (every view above 75%) where 100/200 keeps 90% (some views under 45%)."""
    return canny_edges(view.rgb, low, high)


def condition_images(view: View, scene: Scene) -> dict[str, Image.Image]:
    """Every condition image of ``view``, keyed by task name (see ``tasks.CONDITIONS``)."""
    return {
        "depth": depth_image(view),
        "semanticmap": semantic_image(view, scene),
        "boundingbox": box_image(view, scene),
        "canny": edge_image(view),
    }
