"""Scene records (rendered once) and the latent store (encoded once) that training samples from."""

from __future__ import annotations

from dataclasses import dataclass, replace
from types import SimpleNamespace

import numpy as np
import torch
from PIL import Image, ImageDraw

from ...cameras import Camera
from ...conditions import blur, inpainting_canvas, shrunk_and_enlarged
from ...prompts import COLOR_NAMES, Label
from ..world import (
    OBJECT_COLORS,
    Scene,
    boxes,
    depth_image,
    edge_image,
    render,
    render_views,
    sample_cameras,
    sample_scene,
)

IMAGE_SIZE = 32
VIEWS = 4
VIEW_KINDS = ("rgb", "depth", "semanticmap", "boundingbox", "canny")  # one image of each per view
SCENE_KINDS = ("masked", "blurred", "edited")  # one of each per scene, of view 0
# The upscaling pair of each scene, added by the upscale stage (its draws come after all others, so the images
# above, and the recipe's VAE pool, are those of every earlier stage): a window of view 0 rendered at 1, 2 or 4
# times the size ("sharp"), and the same window of that render shrunk 2 or 4 times and enlarged back
# ("upscaled"), as tiled upscaling shows each window of a small photo enlarged 2 or 4 times.
UPSCALE_KINDS = ("sharp", "upscaled")
UPSCALE_SCALES, UPSCALE_FACTORS = (1, 2, 4), (2, 4)
CAMERA_RANGES = {"elevation": (10.0, 40.0), "distance": (1.9, 2.3), "focal_length": (1.2, 1.6)}


@dataclass
class SceneRecord:
    """Everything training needs from one scene. ``labels[v]`` names the objects seen in view v as
    "red sphere" with the colour its mask and box are drawn in (the object's own colour a quarter
    of the time, another palette colour otherwise, so the prompt, not habit, says which colour is which)."""

    scene: Scene
    cameras: list[Camera]
    captions: list[str]
    images: dict[str, np.ndarray]  # VIEW_KINDS: (V, H, W, 3); SCENE_KINDS, UPSCALE_KINDS: (H, W, 3); uint8
    labels: list[list[Label]]
    instruction: str
    edited_caption: str
    inpaint_caption: str


def label_colors(scene: Scene, rng: np.random.Generator) -> list[str]:
    """The colour each object's mask is drawn in: its own, or a shuffled palette colour."""
    own = [o.color for o in scene.objects]
    return own if rng.random() < 0.25 else list(rng.choice(OBJECT_COLORS, size=len(own), replace=False))


def _rgb(color: str) -> tuple[int, int, int]:
    h = COLOR_NAMES[color].lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def semantic_map(ids: np.ndarray, colors: list[str]) -> np.ndarray:
    lut = np.array([(0, 0, 0)] + [_rgb(c) for c in colors], dtype=np.uint8)
    return lut[ids]


def box_map(ids: np.ndarray, colors: list[str], width: int = 2) -> np.ndarray:
    """Box outlines in the label colours, 2 px wide: 1 px lines do not survive a 4x VAE."""
    h, w = ids.shape
    image = Image.new("RGB", (w, h))
    draw = ImageDraw.Draw(image)
    for k, (x0, y0, x1, y1) in boxes(SimpleNamespace(ids=ids)).items():
        draw.rectangle((x0, y0, x1 - 1, y1 - 1), outline=_rgb(colors[k - 1]), width=width)
    return np.asarray(image)


def _edit(scene: Scene, rng: np.random.Generator) -> tuple[Scene, str]:
    """Recolour one object to a colour the scene lacks; the instruction that says so."""
    k = int(rng.integers(len(scene.objects)))
    obj = scene.objects[k]
    new = str(rng.choice([c for c in OBJECT_COLORS if c not in {o.color for o in scene.objects}]))
    objects = list(scene.objects)
    objects[k] = replace(obj, color=new)
    return replace(scene, objects=tuple(objects)), f"make the {obj.color} {obj.shape} {new}"


def _inpaint_mask(rng: np.random.Generator, size: int) -> Image.Image:
    w, h = rng.integers(size // 4, size // 2 + 1, size=2)
    x, y = rng.integers(0, size - w + 1), rng.integers(size // 4, size - h + 1)
    mask = Image.new("L", (size, size), 0)
    ImageDraw.Draw(mask).rectangle((int(x), int(y), int(x + w - 1), int(y + h - 1)), fill=255)
    return mask


def upscale_pair(scene: Scene, camera: Camera, rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
    """A ``size``-pixel window of the scene rendered at 1, 2 or 4 times ``size``, and the same window of that
    render shrunk 2 or 4 times and enlarged back (see ``UPSCALE_KINDS``)."""
    scale, factor = int(rng.choice(UPSCALE_SCALES)), int(rng.choice(UPSCALE_FACTORS))
    sharp = render(scene, camera, size * scale).rgb
    upscaled = np.asarray(shrunk_and_enlarged(sharp, factor))
    y, x = (int(v) for v in rng.integers(0, size * scale - size + 1, size=2))
    return sharp[y : y + size, x : x + size], upscaled[y : y + size, x : x + size]


def make_record(seed: int, size: int = IMAGE_SIZE, views: int = VIEWS) -> SceneRecord:
    """Render one scene from ``views`` random cameras, with every condition image."""
    rng = np.random.default_rng(seed)
    scene = sample_scene(rng)
    cameras = sample_cameras(rng, views, **CAMERA_RANGES)
    rendered = render_views(scene, cameras, size)
    colors = label_colors(scene, rng)
    images = {
        "rgb": np.stack([v.rgb for v in rendered]),
        "depth": np.stack([np.asarray(depth_image(v)) for v in rendered]),
        "semanticmap": np.stack([semantic_map(v.ids, colors) for v in rendered]),
        "boundingbox": np.stack([box_map(v.ids, colors) for v in rendered]),
        "canny": np.stack([np.asarray(edge_image(v)) for v in rendered]),
    }
    edited, instruction = _edit(scene, rng)
    images["edited"] = render(edited, cameras[0], size).rgb
    images["masked"] = np.asarray(inpainting_canvas(rendered[0].rgb, _inpaint_mask(rng, size)))
    images["blurred"] = np.asarray(blur(rendered[0].rgb, float(rng.uniform(0.8, 1.6))))
    images["sharp"], images["upscaled"] = upscale_pair(
        scene, cameras[0], rng, size
    )  # the last draws: see UPSCALE_KINDS
    labels = []
    for v in rendered:
        seen = sorted(int(k) for k in np.unique(v.ids) if k > 0)
        labels.append(
            [Label(f"{scene.objects[k - 1].color} {scene.objects[k - 1].shape}", colors[k - 1]) for k in seen]
        )
    return SceneRecord(
        scene=scene,
        cameras=cameras,
        captions=[scene.caption(c) for c in cameras],
        images=images,
        labels=labels,
        instruction=instruction,
        edited_caption=edited.caption(cameras[0]),
        inpaint_caption=scene.caption(cameras[0]),
    )


@dataclass
class LatentStore:
    """Posterior means and standard deviations of every image of every record, scaled for the
    model: ``view[kind]`` (S, V, 2, C, h, w) and ``scene[kind]`` (S, 2, C, h, w)."""

    view: dict[str, torch.Tensor]
    scene: dict[str, torch.Tensor]

    def sample(self, kind: str, index: torch.Tensor, view: torch.Tensor | None, generator: torch.Generator):
        """Posterior samples for scenes ``index`` (and views ``view``): (len(index), C, h, w)."""
        stats = self.view[kind][index, view] if view is not None else self.scene[kind][index]
        noise = torch.randn(stats[:, 0].shape, generator=generator)
        return stats[:, 0] + stats[:, 1] * noise


@torch.no_grad()
def encode_images(vae, images: np.ndarray, batch: int = 256) -> torch.Tensor:
    """(n, H, W, 3) uint8 -> (n, 2, C, h, w): scaled posterior mean and std."""
    scale = vae.config.scaling_factor
    out = []
    for start in range(0, len(images), batch):
        pixels = torch.from_numpy(images[start : start + batch]).permute(0, 3, 1, 2).float() / 127.5 - 1
        dist = vae.encode(pixels).latent_dist
        out.append(torch.stack([dist.mean, dist.std], dim=1) * scale)
    return torch.cat(out)


def build_store(vae, records: list[SceneRecord]) -> LatentStore:
    S = len(records)
    view = {}
    for kind in VIEW_KINDS:
        stacked = np.concatenate([r.images[kind] for r in records])
        view[kind] = encode_images(vae, stacked).unflatten(0, (S, -1))
    scene = {
        kind: encode_images(vae, np.stack([r.images[kind] for r in records])) for kind in SCENE_KINDS + UPSCALE_KINDS
    }
    return LatentStore(view, scene)
