"""The procedural world: scenes, cameras, the ray tracer and its condition images, checked against
camera maths and geometry computed independently here."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image

from onediffusion.cameras import DEFAULT_FOCAL, Camera
from onediffusion.mini.world import (
    FLOOR_RGB,
    OBJECT_COLORS,
    SCENE_RADIUS,
    SHAPES,
    SKY_RGB,
    Light,
    Scene,
    SceneObject,
    box_image,
    boxes,
    condition_images,
    depth_image,
    edge_image,
    orbit_cameras,
    relation,
    render,
    render_views,
    sample_cameras,
    sample_scene,
    semantic_image,
    visible_labels,
)
from onediffusion.prompts import COLOR_NAMES, Label
from onediffusion.tasks import CONDITIONS

SUN = Light((math.cos(math.radians(55)), 0.0, math.sin(math.radians(55))), ambient=0.4)


def _obj(
    shape: str, color: str, xy: tuple[float, float], size: float = 0.25, height: float | None = None, rotation=0.0
):
    height = 2 * size if height is None else height
    return SceneObject(shape, color, (*xy, height / 2), size, height, rotation)


def _project(camera: Camera, point, size: tuple[int, int]) -> tuple[int, int, float]:
    """Pixel (row, col) holding a world point, and its depth, by the pinhole model of cameras.py."""
    h, w = size
    x, y, z = (np.linalg.inv(camera.c2w) @ np.append(point, 1.0))[:3]
    u = camera.focal_length * w * x / z + w / 2
    v = camera.focal_length * w * y / z + h / 2
    return int(math.floor(v)), int(math.floor(u)), float(z)


def _pixel_ray(camera: Camera, row: int, col: int, size: tuple[int, int]) -> np.ndarray:
    """World direction of a pixel-centre ray, scaled to a camera-frame z of 1."""
    h, w = size
    f = camera.focal_length * w
    return camera.c2w[:3, :3] @ np.array([(col + 0.5 - w / 2) / f, (row + 0.5 - h / 2) / f, 1.0])


def _residual(obj: SceneObject, p: np.ndarray) -> np.ndarray:
    """Zero on the object's surface (negative inside): an implicit form of each primitive."""
    c, a = np.cos(np.radians(obj.rotation)), np.sin(np.radians(obj.rotation))
    q = (p - obj.position) @ np.array([[c, a, 0], [-a, c, 0], [0, 0, 1]]).T
    rho, half = np.hypot(q[:, 0], q[:, 1]), obj.height / 2
    if obj.shape == "sphere":
        return np.linalg.norm(q, axis=1) - obj.size
    if obj.shape == "cube":
        return np.abs(q).max(1) - obj.size
    if obj.shape == "cylinder":
        return np.maximum(rho - obj.size, np.abs(q[:, 2]) - half)
    slope = obj.size / obj.height  # cone: radius shrinks linearly to the apex
    return np.maximum((rho - slope * (half - q[:, 2])) / math.hypot(1, slope), np.abs(q[:, 2]) - half)


# ------------------------------------------------------------------------------------------------
# Scenes and captions


def test_scenes_are_deterministic_by_seed():
    assert sample_scene(7) == sample_scene(7)
    assert sample_scene(7) != sample_scene(8)
    assert sample_scene(np.random.default_rng(3)) == sample_scene(np.random.default_rng(3))
    camera = sample_cameras(11, 1)[0]
    a, b = render(sample_scene(7), camera, 32), render(sample_scene(7), camera, 32)
    np.testing.assert_array_equal(a.rgb, b.rgb)
    np.testing.assert_array_equal(a.depth, b.depth)
    np.testing.assert_array_equal(a.ids, b.ids)


@pytest.mark.parametrize("seed", range(40))
def test_sampled_scenes_rest_apart_on_the_floor(seed):
    n = seed % 3 + 1
    scene = sample_scene(seed, n_objects=n)
    assert len(scene.objects) == n
    assert len({o.color for o in scene.objects}) == n
    for i, obj in enumerate(scene.objects):
        assert obj.color in OBJECT_COLORS and obj.shape in SHAPES
        assert obj.position[2] == pytest.approx(obj.height / 2)  # base on z = 0
        assert math.hypot(*obj.position[:2]) + obj.footprint <= SCENE_RADIUS + 1e-9
        for other in scene.objects[i + 1 :]:
            assert math.dist(obj.position[:2], other.position[:2]) > obj.footprint + other.footprint
        if obj.shape != "cube":
            assert obj.rotation == 0.0


def test_every_shape_and_colour_turns_up():
    scenes = [sample_scene(seed) for seed in range(60)]
    assert {o.shape for s in scenes for o in s.objects} == set(SHAPES)
    assert {o.color for s in scenes for o in s.objects} == set(OBJECT_COLORS)
    assert {len(s.objects) for s in scenes} == {1, 2, 3}


def test_object_colours_are_palette_entries_and_floor_grey_is_not():
    palette = {tuple(int(h[i : i + 2], 16) for i in (1, 3, 5)) for h in COLOR_NAMES.values()}
    assert all(c in COLOR_NAMES for c in OBJECT_COLORS) and len(set(OBJECT_COLORS)) == 8
    grey = tuple(round(v * 255) for v in FLOOR_RGB)
    assert grey not in palette and len(set(grey)) == 1 and len(set(SKY_RGB)) == 1


def test_caption_relations_flip_with_the_opposite_camera():
    # Seen from azimuth 0 (on +x, looking down -x) the camera's right is +y.
    scene = Scene((_obj("sphere", "red", (0, -0.45)), _obj("cube", "blue", (0, 0.4))), SUN)
    front, back = Camera.orbit(0, 20, 2.4), Camera.orbit(180, 20, 2.4)
    assert scene.caption() == "a red sphere left of a blue cube on a grey floor"
    assert scene.caption(front) == scene.caption()
    assert scene.caption(back) == "a red sphere right of a blue cube on a grey floor"
    depth_scene = Scene((_obj("cone", "orange", (0.5, 0)), _obj("cylinder", "lime", (-0.4, 0.05))), SUN)
    assert depth_scene.caption(front) == "an orange cone in front of a lime cylinder on a grey floor"
    assert depth_scene.caption(back) == "an orange cone behind a lime cylinder on a grey floor"


@pytest.mark.parametrize("seed", range(12))
def test_captions_name_every_object_and_mirror_across_the_orbit(seed):
    scene = sample_scene(seed)
    camera = sample_cameras(seed, 1)[0]
    azimuth = math.degrees(math.atan2(camera.centre[1], camera.centre[0]))
    opposite = Camera.orbit(azimuth + 180, 20, 2.4)
    caption = scene.caption(camera)
    for obj in scene.objects:
        assert f"{obj.color} {obj.shape}" in caption
    assert caption.endswith("on a grey floor")
    swap = {"left of": "right of", "right of": "left of", "behind": "in front of", "in front of": "behind"}
    anchor, *others = scene.objects[1:2], scene.objects[0], *scene.objects[2:]
    for obj in others if anchor else []:  # every relation in a caption is to the second object
        assert relation(obj, anchor[0], opposite) == swap[relation(obj, anchor[0], camera)]


def test_single_object_caption_and_labels():
    scene = Scene((_obj("cylinder", "purple", (0.1, 0.1)),), SUN)
    assert scene.caption() == "a purple cylinder on a grey floor"
    assert scene.labels == [Label("cylinder", "purple")]
    assert scene.labels[0].token("mask") == "<#800080 purple mask: cylinder>"


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="`shape`"):
        _obj("torus", "red", (0, 0))
    with pytest.raises(ValueError, match="`color`"):
        _obj("cube", "grey", (0, 0))
    with pytest.raises(ValueError, match="`position`"):
        SceneObject("cube", "red", (0.0, 0.0), 0.2, 0.4)
    with pytest.raises(ValueError, match="`objects`"):
        Scene((_obj("cube", "red", (0.4, 0)), _obj("cone", "red", (-0.4, 0))), SUN)
    with pytest.raises(ValueError, match="`n_objects`"):
        sample_scene(0, n_objects=4)
    with pytest.raises(ValueError, match="`seed`"):
        sample_scene(-1)
    with pytest.raises(ValueError, match="`size`"):
        render(sample_scene(0), orbit_cameras(1)[0], 0)
    with pytest.raises(ValueError, match="`supersample`"):
        render(sample_scene(0), orbit_cameras(1)[0], 16, supersample=0)
    with pytest.raises(ValueError, match="`elevation`"):
        sample_cameras(0, 2, elevation=(40, 10))


# ------------------------------------------------------------------------------------------------
# Cameras


def test_sampled_cameras_stay_in_their_ranges_and_look_at_the_origin():
    cameras = sample_cameras(np.random.default_rng(5), 64)
    again = sample_cameras(np.random.default_rng(5), 64)  # Camera's == compares arrays, so by hand
    assert all(np.array_equal(a.c2w, b.c2w) and a.focal_length == b.focal_length for a, b in zip(cameras, again))
    centres = np.stack([c.centre for c in cameras])
    distance = np.linalg.norm(centres, axis=1)
    elevation = np.degrees(np.arcsin(centres[:, 2] / distance))
    azimuth = np.degrees(np.arctan2(centres[:, 1], centres[:, 0])) % 360
    focal = np.array([c.focal_length for c in cameras])
    assert np.all((2.2 <= distance) & (distance <= 2.6))
    assert np.all((10 <= elevation) & (elevation <= 40))
    assert np.all((1.1 <= focal) & (focal <= 1.6)) and abs(np.median(focal) - DEFAULT_FOCAL) < 0.08
    assert np.histogram(azimuth, bins=4, range=(0, 360))[0].min() > 5  # the full circle
    for cam in cameras:  # orbit convention: z forward points at the origin
        np.testing.assert_allclose(cam.c2w[:3, 2], -cam.centre / np.linalg.norm(cam.centre), atol=1e-12)


def test_orbit_cameras_are_evenly_spaced_orbit_cameras():
    cameras = orbit_cameras(4, elevation=30, distance=2.5)
    for k, cam in enumerate(cameras):
        np.testing.assert_allclose(cam.c2w, Camera.orbit(90 * k, 30, 2.5).c2w, atol=1e-12)
        assert cam.focal_length == DEFAULT_FOCAL


# ------------------------------------------------------------------------------------------------
# Rendering geometry


def test_a_sphere_lands_where_the_camera_projects_it():
    centre = (0.25, -0.15, 0.3)
    scene = Scene((SceneObject("sphere", "red", centre, 0.3, 0.6),), SUN)
    camera = Camera.orbit(30, 25, 2.4, focal_length=1.2)
    size = (40, 56)
    view = render(scene, camera, size, supersample=1)
    row, col, _ = _project(camera, centre, size)
    assert view.ids[row, col] == 1
    r, g, b = view.rgb[row, col].astype(int)
    assert r > 80 and g == 0 and b == 0
    # Depth there is the near root of the ray-sphere quadratic, solved here in float64.
    d, o = _pixel_ray(camera, row, col, size), camera.centre - np.array(centre)
    a, half_b, c = d @ d, o @ d, o @ o - 0.3**2
    assert view.depth[row, col] == pytest.approx((-half_b - math.sqrt(half_b**2 - a * c)) / a, rel=1e-6)


@pytest.mark.parametrize("size", [33, (48, 64), 32])
def test_floor_depth_at_the_image_centre_is_the_ray_plane_distance(size):
    scene = Scene((_obj("cube", "blue", (0.55, 0.5), size=0.15),), SUN)
    camera = Camera.orbit(200, 30, 2.3, focal_length=1.4)
    h, w = (size, size) if isinstance(size, int) else size
    view = render(scene, camera, size)
    row, col = h // 2, w // 2
    d = _pixel_ray(camera, row, col, (h, w))
    assert view.ids[row, col] == 0
    assert view.depth[row, col] == pytest.approx(-camera.centre[2] / d[2], rel=1e-6)
    if h % 2 and w % 2:  # the centre pixel's ray is the optical axis: it meets the origin
        assert view.depth[row, col] == pytest.approx(2.3, rel=1e-6)


@pytest.mark.parametrize("seed", range(6))
def test_depth_puts_every_pixel_on_the_surface_it_names(seed):
    """Back-project each pixel with its depth; the point must lie on its object (or on the floor)."""
    scene = sample_scene(seed, n_objects=3)
    camera = sample_cameras(seed + 50, 1)[0]
    size = (32, 40)
    view = render(scene, camera, size)
    rows, cols = np.indices(size)
    f = camera.focal_length * size[1]
    rays = np.stack([(cols + 0.5 - size[1] / 2) / f, (rows + 0.5 - size[0] / 2) / f, np.ones(size)], -1)
    points = camera.centre + view.depth[..., None].astype(np.float64) * (rays @ camera.c2w[:3, :3].T)
    finite = np.isfinite(view.depth)
    floor = finite & (view.ids == 0)
    np.testing.assert_allclose(points[floor][:, 2], 0.0, atol=1e-4)
    for k, obj in enumerate(scene.objects, start=1):
        on = view.ids == k
        np.testing.assert_allclose(_residual(obj, points[on]), 0.0, atol=1e-4)
        for other in scene.objects:  # and inside no object: the nearest hit was kept
            assert np.all(_residual(other, points[finite]) > -1e-4)
    assert np.all(view.ids[~finite] == 0)


def test_every_primitive_renders_solid_from_several_sides():
    shapes = [
        _obj(s, c, xy, rotation=30.0 if s == "cube" else 0.0)
        for s, c, xy in zip(
            SHAPES, ["red", "lime", "blue", "yellow"], [(0.4, 0.4), (-0.4, 0.4), (-0.4, -0.4), (0.4, -0.4)]
        )
    ]
    scene = Scene(tuple(shapes), SUN)
    for view in render_views(scene, orbit_cameras(3, elevation=35), 48):
        for k in range(1, 5):
            mask = view.ids == k
            assert mask.sum() > 20
            x0, y0, x1, y1 = boxes(view)[k]
            assert mask[y0:y1, x0:x1].mean() > 0.45  # filled, not speckled


def test_sky_shows_above_the_horizon_and_is_infinitely_far():
    view = render(sample_scene(1), Camera.orbit(0, 10, 2.6, focal_length=1.1), 32)
    assert np.isinf(view.depth[0]).all()
    assert np.all(view.rgb[0] == np.round(np.array(SKY_RGB) * 255))


def test_shadows_darken_the_floor_under_an_object():
    post = _obj("cylinder", "cyan", (0.0, 0.0), size=0.15, height=0.7)
    scene = Scene((post,), SUN)
    sun = np.array(SUN.direction)
    on_axis = np.array([0.0, 0.0, 0.6])
    shadowed = on_axis - sun * on_axis[2] / sun[2]  # the sun ray through the post, down to z = 0
    open_floor = np.array([shadowed[1], shadowed[0], 0.0])  # as far out, a quarter turn round
    camera = Camera.orbit(200, 35, 2.4)  # on the shadow's side
    view = render(scene, camera, 64, supersample=1)
    dark, lit = (view.rgb[_project(camera, p, (64, 64))[:2]].astype(float) for p in (shadowed, open_floor))
    grey = np.array(FLOOR_RGB) * 255
    np.testing.assert_allclose(dark, grey * SUN.ambient, atol=1)
    np.testing.assert_allclose(lit, grey * (SUN.ambient + (1 - SUN.ambient) * sun[2]), atol=1)
    assert dark.mean() < 0.6 * lit.mean()


def test_supersampling_smooths_colour_only():
    scene, camera = sample_scene(4), sample_cameras(4, 1)[0]
    plain, smooth = render(scene, camera, 32, supersample=1), render(scene, camera, 32, supersample=3)
    np.testing.assert_array_equal(plain.depth, smooth.depth)
    np.testing.assert_array_equal(plain.ids, smooth.ids)
    changed = np.any(plain.rgb != smooth.rgb, axis=-1)
    assert 0 < changed.mean() < 0.5


def test_a_view_with_no_edge_renders():
    """Straight down onto the floor, the object out of sight: nothing to supersample."""
    scene = Scene((_obj("sphere", "red", (0.0, 0.0), size=0.2),), SUN)
    camera = Camera(np.array([[1, 0, 0, 2.0], [0, -1, 0, 2.0], [0, 0, -1, 1.0], [0, 0, 0, 1]], float), 2.0)
    view = render(scene, camera, 16)
    assert (view.ids == 0).all() and len(np.unique(view.rgb.reshape(-1, 3), axis=0)) == 1


# ------------------------------------------------------------------------------------------------
# Condition images


@pytest.fixture(scope="module")
def scene_view():
    scene = sample_scene(2, n_objects=3)
    return scene, render(scene, orbit_cameras(1, elevation=30)[0], 48)


def test_condition_images_match_the_view(scene_view):
    scene, view = scene_view
    images = condition_images(view, scene)
    assert set(images) <= set(CONDITIONS)
    for image in [*images.values(), view.image]:
        assert isinstance(image, Image.Image) and image.mode == "RGB" and image.size == (48, 48)


def test_depth_image_is_near_bright_far_dark_background_black(scene_view):
    _, view = scene_view
    for inverse in (True, False):
        grey = np.asarray(depth_image(view, inverse=inverse))[..., 0].astype(int)
        finite = np.isfinite(view.depth)
        assert np.all(grey[~finite] == 0)
        assert grey[finite].max() == 255 and grey[finite].min() == 0
        order = np.argsort(view.depth[finite])
        assert np.all(np.diff(grey[finite][order]) <= 0)  # monotonic: farther is never brighter


def test_semantic_colours_agree_with_ids(scene_view):
    scene, view = scene_view
    semantic = np.asarray(semantic_image(view, scene))
    assert np.all(semantic[view.ids == 0] == 0)
    for k, obj in enumerate(scene.objects, start=1):
        hex_code = COLOR_NAMES[obj.color]
        expected = [int(hex_code[i : i + 2], 16) for i in (1, 3, 5)]
        assert np.all(semantic[view.ids == k] == expected)
    assert visible_labels(view, scene) == [Label(o.shape, o.color) for o in scene.objects]


def test_boxes_tightly_enclose_the_ids(scene_view):
    scene, view = scene_view
    found = boxes(view)
    assert set(found) == set(np.unique(view.ids)) - {0}
    drawn = np.asarray(box_image(view, scene))
    for k, (x0, y0, x1, y1) in found.items():
        mask = view.ids == k
        assert mask[y0:y1, x0:x1].sum() == mask.sum()
        assert mask[y0].any() and mask[y1 - 1].any() and mask[:, x0].any() and mask[:, x1 - 1].any()
        assert np.all(drawn[y0, x0] == scene.objects[k - 1].rgb) or k != max(found)  # later boxes draw on top
    colours = {tuple(c) for c in drawn.reshape(-1, 3)}
    assert colours <= {(0, 0, 0), *(o.rgb for o in scene.objects)}


def test_hidden_objects_get_no_box_or_label():
    near = _obj("cube", "red", (0.35, 0.0), size=0.28)
    hidden = _obj("sphere", "blue", (-0.35, 0.0), size=0.12)  # right behind the cube from azimuth 0
    scene = Scene((near, hidden), SUN)
    view = render(scene, Camera.orbit(0, 5, 2.4), 32)
    assert set(boxes(view)) == {1}
    assert visible_labels(view, scene) == [Label("cube", "red")]


def test_edges_trace_object_outlines(scene_view):
    _, view = scene_view
    edges = np.asarray(edge_image(view))[..., 0] > 0
    assert 0.02 < edges.mean() < 0.3
    # Silhouette pixels: an object pixel with a 4-neighbour of another id.
    ids = np.pad(view.ids, 1, mode="edge")
    outline = np.zeros(view.ids.shape, dtype=bool)
    for dy, dx in ((0, 1), (0, -1), (1, 0), (-1, 0)):
        outline |= ids[1 + dy : ids.shape[0] - 1 + dy, 1 + dx : ids.shape[1] - 1 + dx] != view.ids
    near_edge = np.zeros_like(edges)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            near_edge |= np.roll(edges, (dy, dx), axis=(0, 1))
    assert near_edge[outline & (view.ids > 0)].mean() > 0.7
