"""Render the app's example inputs: every file in assets/examples/ is made here, by this project.

    python assets/make_examples.py [--out assets/examples] [--size 256]

A tiny numpy ray caster draws a scene of coloured primitives (a red cube, a blue sphere, a yellow ball
on a round checked table) from orbit cameras built with ``onediffusion.Camera.orbit``, so the views, their
depth maps and segmentation agree with the app's camera convention. A stick figure in OpenPose colours,
two cartoon faces and a toy robot are drawn with PIL. No outside image is used.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from onediffusion import Camera
from onediffusion.conditions import blur, canny_edges

FLOOR_Z = -0.18
FLOOR_RADIUS = 0.75
LIGHT = np.array([0.5, -0.35, 1.0]) / np.linalg.norm([0.5, -0.35, 1.0])
SPHERES = [  # (centre, radius, colour, class, palette colour of its label)
    ((-0.05, 0.24, FLOOR_Z + 0.17), 0.17, (40, 90, 220), "sphere", (0, 0, 255)),
    ((-0.35, -0.05, FLOOR_Z + 0.09), 0.09, (240, 200, 40), "ball", (255, 255, 0)),
]
BOX = ((0.05 - 0.15, -0.22 - 0.15, FLOOR_Z), (0.05 + 0.15, -0.22 + 0.15, FLOOR_Z + 0.3), (210, 50, 40), "cube",
       (255, 0, 0))  # fmt: skip


def camera_rays(camera: Camera, size: int) -> tuple[np.ndarray, np.ndarray]:
    """World origins (3,) and unit directions (size, size, 3) through pixel centres (OpenCV axes)."""
    ticks = (np.arange(size) + 0.5 - size / 2) / size / camera.focal_length
    gy, gx = np.meshgrid(ticks, ticks, indexing="ij")
    local = np.stack([gx, gy, np.ones_like(gx)], -1)
    dirs = local @ camera.c2w[:3, :3].T
    return camera.c2w[:3, 3], dirs / np.linalg.norm(dirs, axis=-1, keepdims=True)


def hit_sphere(origin, dirs, centre, radius) -> np.ndarray:
    oc = origin - np.asarray(centre)  # origins may be one point or one per ray
    b = np.sum(dirs * oc, axis=-1)
    disc = b * b - (np.sum(oc * oc, axis=-1) - radius * radius)
    t = -b - np.sqrt(np.maximum(disc, 0))
    return np.where((disc > 0) & (t > 1e-4), t, np.inf)


def hit_box(origin, dirs, low, high) -> np.ndarray:
    """Slab test against an axis-aligned box; distance to the entry point (inf on a miss)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t1 = (np.asarray(low) - origin) / dirs
        t2 = (np.asarray(high) - origin) / dirs
    near = np.nanmax(np.minimum(t1, t2), axis=-1)
    far = np.nanmin(np.maximum(t1, t2), axis=-1)
    return np.where((far >= near) & (near > 1e-4), near, np.inf)


def hit_floor(origin, dirs) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (FLOOR_Z - origin[..., 2]) / dirs[..., 2]
    points = origin + dirs * np.where(t > 0, t, 0)[..., None]
    inside = np.hypot(points[..., 0], points[..., 1]) < FLOOR_RADIUS  # a round table, not an endless floor
    return np.where((t > 1e-4) & inside, t, np.inf)


def box_normals(points: np.ndarray) -> np.ndarray:
    low, high = np.asarray(BOX[0]), np.asarray(BOX[1])
    centre, half = (low + high) / 2, (high - low) / 2
    rel = (points - centre) / half
    axis = np.abs(rel).argmax(-1)
    normals = np.zeros_like(points)
    np.put_along_axis(normals, axis[..., None], np.sign(np.take_along_axis(rel, axis[..., None], -1)), -1)
    return normals


def trace(origin, dirs) -> tuple[np.ndarray, np.ndarray]:
    """Nearest hit distance and object index per ray: 0 floor, 1.. spheres, then the box; -1 none."""
    hits = [hit_floor(origin, dirs)] + [hit_sphere(origin, dirs, c, r) for c, r, *_ in SPHERES]
    hits.append(hit_box(origin, dirs, BOX[0], BOX[1]))
    stack = np.stack(hits)
    index = stack.argmin(0)
    distance = stack.min(0)
    return distance, np.where(np.isfinite(distance), index, -1)


def shade(origin, dirs, distance, index) -> np.ndarray:
    points = origin + dirs * np.where(np.isfinite(distance), distance, 0)[..., None]
    colour = np.zeros(dirs.shape)
    normals = np.zeros(dirs.shape)
    normals[index == 0] = (0, 0, 1)
    checks = (np.floor(points[..., 0] * 5) + np.floor(points[..., 1] * 5)) % 2
    colour[index == 0] = (np.array([205, 200, 190]) - 25 * checks[..., None])[index == 0]
    for i, (centre, _, rgb, *_) in enumerate(SPHERES, start=1):
        mask = index == i
        normals[mask] = (points[mask] - centre) / np.linalg.norm(points[mask] - centre, axis=-1, keepdims=True)
        colour[mask] = rgb
    box = index == len(SPHERES) + 1
    normals[box], colour[box] = box_normals(points[box]), BOX[2]
    lit = np.clip(normals @ LIGHT, 0, 1)
    shadow_distance, _ = trace(points + normals * 1e-3, np.broadcast_to(LIGHT, dirs.shape))
    lit = np.where(np.isfinite(shadow_distance) & (index >= 0), lit * 0.35, lit)
    rgb = colour * (0.35 + 0.65 * lit[..., None])
    sky = np.array([235, 242, 250]) - 40 * np.clip(dirs[..., 2:3], 0, 1)
    return np.where((index >= 0)[..., None], rgb, sky)


def render(azimuth: float, elevation: float, size: int, distance: float = 1.7) -> dict[str, np.ndarray]:
    """RGB, depth along the view axis and object index of one orbit view."""
    camera = Camera.orbit(azimuth, elevation, distance)
    origin, dirs = camera_rays(camera, size)
    distance_, index = trace(origin, dirs)
    forward = camera.c2w[:3, 2]
    depth = np.where(np.isfinite(distance_), distance_ * (dirs @ forward), np.nan)
    return {"rgb": shade(origin, dirs, distance_, index).clip(0, 255).astype(np.uint8), "depth": depth,
            "index": index}  # fmt: skip


def depth_image(depth: np.ndarray) -> Image.Image:
    """Near bright, far dark, the background black: the convention of depth conditions."""
    finite = np.isfinite(depth)
    near, far = np.nanmin(depth), np.nanmax(depth)
    value = np.where(finite, 1 - (depth - near) / (far - near), 0)
    return Image.fromarray((value * 255).round().astype(np.uint8)).convert("RGB")


def semantic_image(index: np.ndarray) -> Image.Image:
    colours = np.zeros((*index.shape, 3), np.uint8)
    for i, (*_, label_rgb) in enumerate(SPHERES, start=1):
        colours[index == i] = label_rgb
    colours[index == len(SPHERES) + 1] = BOX[4]
    return Image.fromarray(colours)


def boxes_image(index: np.ndarray) -> Image.Image:
    image = Image.new("RGB", index.shape[::-1], "black")
    draw = ImageDraw.Draw(image)
    labels = [(i, s[4]) for i, s in enumerate(SPHERES, start=1)] + [(len(SPHERES) + 1, BOX[4])]
    for i, rgb in labels:
        ys, xs = np.nonzero(index == i)
        if len(xs):
            draw.rectangle([xs.min(), ys.min(), xs.max(), ys.max()], outline=rgb, width=3)
    return image


def sphere_mask(index: np.ndarray) -> Image.Image:
    """The inpainting example's mask: the blue sphere, grown a little, white on black."""
    mask = Image.fromarray(((index == 1) * 255).astype(np.uint8))
    return mask.filter(ImageFilter.MaxFilter(9)).convert("RGB")


def brush_layer(mask: Image.Image) -> Image.Image:
    """The same mask as an image-editor layer: white strokes on a transparent sheet."""
    layer = Image.new("RGBA", mask.size, (255, 255, 255, 0))
    layer.putalpha(mask.convert("L"))
    return layer


# Drawings ---------------------------------------------------------------------------------------

# OpenPose's 18 body keypoints (nose, neck, right arm, left arm, right leg, left leg, eyes, ears) of a
# person waving, in fractions of the image side; limbs and colours follow the OpenPose renderer.
POSE = [(0.5, 0.16), (0.5, 0.26), (0.40, 0.27), (0.36, 0.40), (0.33, 0.52), (0.60, 0.27), (0.67, 0.37),
        (0.72, 0.26), (0.44, 0.53), (0.43, 0.70), (0.42, 0.88), (0.56, 0.53), (0.57, 0.70), (0.58, 0.88),
        (0.48, 0.145), (0.52, 0.145), (0.46, 0.155), (0.54, 0.155)]  # fmt: skip
LIMBS = [(1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (1, 11), (11, 12), (12, 13),
         (1, 0), (0, 14), (14, 16), (0, 15), (15, 17)]  # fmt: skip
POSE_COLOURS = [(255, 0, 0), (255, 85, 0), (255, 170, 0), (255, 255, 0), (170, 255, 0), (85, 255, 0), (0, 255, 0),
                (0, 255, 85), (0, 255, 170), (0, 255, 255), (0, 170, 255), (0, 85, 255), (0, 0, 255), (85, 0, 255),
                (170, 0, 255), (255, 0, 255), (255, 0, 170), (255, 0, 85)]  # fmt: skip


def pose_image(size: int) -> Image.Image:
    image = Image.new("RGB", (size, size), "black")
    draw = ImageDraw.Draw(image)
    points = [(x * size, y * size) for x, y in POSE]
    for (a, b), colour in zip(LIMBS, POSE_COLOURS):
        draw.line([points[a], points[b]], fill=tuple(int(c * 0.6) for c in colour), width=max(3, size // 64))
    radius = max(2, size // 64)
    for (x, y), colour in zip(points, POSE_COLOURS):
        draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=colour)
    return image


def face_image(size: int, background: str, smile: bool, shift: float) -> Image.Image:
    """A cartoon person: round face, brown hair, round glasses and a short beard."""
    image = Image.new("RGB", (size, size), background)
    draw = ImageDraw.Draw(image)
    s, cx = size / 256, size / 2 + shift * size

    def box(x0, y0, x1, y1):
        return [cx + x0 * s, y0 * s, cx + x1 * s, y1 * s]

    draw.rectangle(box(-70, 190, 70, 256), fill="#3b5b92")  # shirt
    draw.ellipse(box(-62, 40, 62, 190), fill="#f1c9a5")  # face
    draw.chord(box(-66, 30, 66, 120), 180, 360, fill="#5a3a22")  # hair
    draw.chord(box(-52, 120, 52, 200), 0, 180, fill="#5a3a22")  # beard
    for side in (-1, 1):
        draw.ellipse(box(side * 26 - 16, 92, side * 26 + 16, 124), outline="#222222", width=max(2, size // 80))
        draw.ellipse(box(side * 26 - 4, 104, side * 26 + 4, 112), fill="#222222")
    draw.line(box(-10, 108, 10, 108)[:2] + box(10, 108, 10, 108)[:2], fill="#222222", width=max(2, size // 100))
    mouth = box(-20, 140, 20, 165) if smile else box(-16, 150, 16, 158)
    draw.arc(mouth, 10 if smile else 0, 170 if smile else 180, fill="#8a2b2b", width=max(2, size // 90))
    return image


def robot_image(size: int) -> Image.Image:
    """A toy robot on a table: boxy grey body, round blue eyes, a red antenna."""
    image = Image.new("RGB", (size, size), "#e9e4da")
    draw = ImageDraw.Draw(image)
    s = size / 256
    draw.rectangle([0, 200 * s, size, size], fill="#a87b4f")
    draw.rectangle([88 * s, 110 * s, 168 * s, 200 * s], fill="#8e9aa6", outline="#4c5560", width=3)
    draw.rectangle([98 * s, 50 * s, 158 * s, 106 * s], fill="#b7c1cb", outline="#4c5560", width=3)
    draw.line([128 * s, 50 * s, 128 * s, 30 * s], fill="#4c5560", width=3)
    draw.ellipse([121 * s, 20 * s, 135 * s, 34 * s], fill="#d03030")
    for x in (112, 144):
        draw.ellipse([(x - 9) * s, 68 * s, (x + 9) * s, 86 * s], fill="#2f7fd8")
    for x0 in (66, 168):
        draw.rectangle([x0 * s, 118 * s, (x0 + 22) * s, 176 * s], fill="#8e9aa6", outline="#4c5560", width=3)
    draw.rectangle([112 * s, 140 * s, 144 * s, 170 * s], fill="#f0c040")
    return image


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "examples")
    parser.add_argument("--size", type=int, default=256)
    args = parser.parse_args(argv)
    out, size = args.out, args.size
    out.mkdir(parents=True, exist_ok=True)
    views = {azimuth: render(azimuth, 20.0, size) for azimuth in (0, 90, 180)}
    front = views[0]
    photo = Image.fromarray(front["rgb"])
    files = {f"scene_az{azimuth:03d}.png": Image.fromarray(view["rgb"]) for azimuth, view in views.items()}
    files |= {
        "scene_depth.png": depth_image(front["depth"]),
        "scene_canny.png": canny_edges(photo),
        "scene_semantic.png": semantic_image(front["index"]),
        "scene_boxes.png": boxes_image(front["index"]),
        "scene_blurry.png": blur(photo, 4.0),
        "scene_mask.png": sphere_mask(front["index"]),
        "scene_mask_layer.png": brush_layer(sphere_mask(front["index"])),
        "pose.png": pose_image(size),
        "face_1.png": face_image(size, "#cfe3f5", smile=False, shift=0.0),
        "face_2.png": face_image(size, "#f5e0c8", smile=True, shift=0.08),
        "robot.png": robot_image(size),
    }
    for name, image in files.items():
        image.save(out / name, optimize=True)
        print(out / name)


if __name__ == "__main__":
    main()
