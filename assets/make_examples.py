"""Render the app's example inputs from OneDiffusion-Mini's world: every file in assets/examples/ is made here.

    python -m assets.make_examples [--out assets/examples]

Scenes come from ``onediffusion.mini.world`` (coloured spheres, cubes, cylinders and cones on a grey floor),
photographed at 128 px by orbit cameras at Mini's typical distance, elevation and focal length, so that
once the pipeline resizes them to Mini's 32 px they are framed like its training views. Conditions are
made as its training data makes them (``onediffusion.mini.training.data``): depth near-bright, semantic maps
and 2-px box outlines (8 px here, 2 px at 32) in the label colours of the rows beside them, Canny edges
computed at 32 px and enlarged, so the model sees the edges it was trained on. Captions and instructions
are the world's own. Text that goes with the images (captions, label rows, instructions, cameras) is
written to ``examples.json``, which the tabs read. The pose skeleton, for the one condition the world
has no equivalent of, is drawn with PIL. No outside image is used.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from onediffusion import Camera
from onediffusion.cameras import DEFAULT_FOCAL
from onediffusion.conditions import blur
from onediffusion.mini.training.data import IMAGE_SIZE, box_map, semantic_map
from onediffusion.mini.world import OBJECT_COLORS, Scene, View, depth_image, edge_image, render, sample_scene

SIZE = 128  # four times Mini's 32 px: sharp on the page, and an exact 4x step down for the model
SCALE = SIZE // IMAGE_SIZE
CAMERA = {"distance": 2.1, "elevation": 25.0, "focal_length": DEFAULT_FOCAL}  # Mini's typical camera
SCENE_SEED = 20  # a blue cube in front of an orange sphere: two objects, apart, from every side
IDENTITY_SEED = 7  # an orange cone beside a cyan sphere
CAPTION_SEEDS = (24, 2, 27)  # text-to-image captions: two, three and one objects
# Mask colours per object: not their own, as often in training. Mini binds some colour pairs better than
# others: on this scene, magenta for the cube and lime for the sphere it segments as one lime blob (cube
# IoU 0 at four seeds), lime and magenta it segments (cube IoU 0.6-0.86 at three of four seeds).
SEMANTIC_COLORS = ("lime", "magenta")
VIEW_AZIMUTHS = (0, 90, 180)
IDENTITY_CAMERAS = ((0.0, 20.0), (100.0, 32.0), (230.0, 25.0))  # (azimuth, elevation): two references, the target
BLUR_RADIUS = 1.2 * SCALE  # training blurs 32-px views with radii 0.8-1.6


def camera(azimuth: float, elevation: float = CAMERA["elevation"]) -> Camera:
    return Camera.orbit(azimuth, elevation, CAMERA["distance"], CAMERA["focal_length"])


def camera_row(azimuth: float) -> list[float]:
    """A camera-table row (azimuth, elevation, distance) at the typical camera."""
    return [float(azimuth), CAMERA["elevation"], CAMERA["distance"]]


def label_rows(scene: Scene, view: View, colors: tuple[str, ...]) -> list[list[str]]:
    """Class-and-colour rows of the objects seen, in id order: "blue cube" painted in ``colors[id - 1]``."""
    seen = sorted(int(k) for k in np.unique(view.ids) if k > 0)
    return [[f"{scene.objects[k - 1].color} {scene.objects[k - 1].shape}", colors[k - 1]] for k in seen]


def enlarged(image: Image.Image) -> Image.Image:
    return image.resize((SIZE, SIZE), Image.Resampling.NEAREST)


def mask_layer(view: View, k: int, margin: int = 2 * SCALE) -> Image.Image:
    """An image-editor layer (white strokes on a transparent sheet) over object ``k``'s box, grown a little."""
    rows, cols = np.flatnonzero((view.ids == k).any(1)), np.flatnonzero((view.ids == k).any(0))
    layer = Image.new("RGBA", (SIZE, SIZE), (255, 255, 255, 0))
    box = (cols[0] - margin, rows[0] - margin, cols[-1] + margin, rows[-1] + margin)
    ImageDraw.Draw(layer).rectangle([int(v) for v in box], fill=(255, 255, 255, 255))
    return layer


def edit(scene: Scene, k: int) -> str:
    """An instruction that recolours object ``k`` (1-based) to the first colour the scene lacks."""
    obj = scene.objects[k - 1]
    new = next(c for c in OBJECT_COLORS if c not in {o.color for o in scene.objects})
    return f"make the {obj.color} {obj.shape} {new}"


def view_file(azimuth: int) -> str:
    """The file of the example scene seen from ``azimuth`` (one of ``VIEW_AZIMUTHS``)."""
    return f"scene_az{azimuth:03d}.png"


def scene_examples(seed: int) -> tuple[dict[str, Image.Image], dict]:
    """Views of one scene, the conditions of its front view, and the text that goes with them."""
    scene = sample_scene(seed, 2)
    views = {azimuth: render(scene, camera(azimuth), SIZE) for azimuth in VIEW_AZIMUTHS}
    front = views[0]
    own = tuple(obj.color for obj in scene.objects)
    files = {view_file(azimuth): view.image for azimuth, view in views.items()}
    files |= {
        "scene_depth.png": depth_image(front),
        "scene_canny.png": enlarged(edge_image(render(scene, camera(0), IMAGE_SIZE))),
        "scene_semantic.png": Image.fromarray(semantic_map(front.ids, list(SEMANTIC_COLORS))),
        "scene_boxes.png": Image.fromarray(box_map(front.ids, list(own), width=2 * SCALE)),
        "scene_blurry.png": blur(front.image, BLUR_RADIUS),
        "scene_mask_layer.png": mask_layer(front, 2),
    }
    text = {
        "caption": scene.caption(front.camera),
        "semantic_labels": label_rows(scene, front, SEMANTIC_COLORS),
        "box_labels": label_rows(scene, front, own),
        "instruction": edit(scene, 1),
        "views": [
            {"file": view_file(a), "caption": scene.caption(v.camera), "camera": camera_row(a)}
            for a, v in views.items()
        ],
        "orbit": [camera_row(a) for a in (0, 90, 180, 270)],
    }
    return files, text


def identity_examples(seed: int) -> tuple[dict[str, Image.Image], dict]:
    """Two views of one scene as the references, the caption of a third as the target."""
    scene = sample_scene(seed, 2)
    cameras = [camera(azimuth, elevation) for azimuth, elevation in IDENTITY_CAMERAS]
    files = {f"identity_{i}.png": render(scene, cam, SIZE).image for i, cam in enumerate(cameras[:-1], start=1)}
    references = [{"file": name, "caption": scene.caption(cam)} for name, cam in zip(files, cameras)]
    subject = scene.objects[0]
    text = {
        "references": references,
        "target_caption": scene.caption(cameras[-1]),
        "subject": f"{subject.color} {subject.shape}",
        "subject_caption": f"{subject.phrase} on a grey floor",
    }
    return files, text


# The pose skeleton --------------------------------------------------------------------------------

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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "examples")
    out = parser.parse_args(argv).out
    out.mkdir(parents=True, exist_ok=True)
    scene_files, scene_text = scene_examples(SCENE_SEED)
    identity_files, identity_text = identity_examples(IDENTITY_SEED)
    files = {**scene_files, **identity_files, "pose.png": pose_image(SIZE)}
    text = {
        "camera": CAMERA,
        "text_to_image": [sample_scene(seed).caption(camera(0)) for seed in CAPTION_SEEDS],
        "scene": scene_text,
        "identity": identity_text,
    }
    for name, image in files.items():
        image.save(out / name, optimize=True)
        print(out / name)
    (out / "examples.json").write_text(json.dumps(text, indent=1) + "\n")
    print(out / "examples.json")


if __name__ == "__main__":
    main()
