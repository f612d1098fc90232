"""What the app hands back besides plain images: colourised and 16-bit depth, a GLB relief mesh,
overlays of masks, boxes and edges on the photo, a turntable GIF and a zip of a run.

Files are written to one folder per run under the system temp folder (where Gradio copies them from); the
app clears folders older than its file expiry (``ui.sessions``), as Gradio clears its copies.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
import uuid
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import IO

import cv2
import numpy as np
import trimesh
from PIL import Image, ImageDraw

from onediffusion import Label
from onediffusion.images import center_crop_resize
from onediffusion.metadata import JSON_KEY, PARAMETERS_KEY, ResultSettings, save_text_chunks

OUTPUT_ROOT = Path(tempfile.gettempdir()) / "onediffusion-studio"
KEEP_SECONDS = 3600
MESH_MAX_SIDE = 192
OVERLAY_ALPHA = 0.6


def run_folder(root: Path = OUTPUT_ROOT) -> Path:
    """A fresh folder for one run's files (cleared after the app's file expiry: ``clear_old_runs``)."""
    root.mkdir(parents=True, exist_ok=True)
    folder = root / f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}"
    folder.mkdir()
    return folder


def clear_old_runs(root: Path = OUTPUT_ROOT, keep_seconds: float = KEEP_SECONDS) -> int:
    """Remove the run folders older than ``keep_seconds``; how many were removed."""
    if not root.is_dir():
        return 0
    cutoff = time.time() - keep_seconds
    old = [folder for folder in root.iterdir() if folder.is_dir() and folder.stat().st_mtime < cutoff]
    for folder in old:
        shutil.rmtree(folder, ignore_errors=True)
    return len(old)


def to_pil(array: np.ndarray) -> Image.Image:
    """(H, W, 3) floats in [0, 1] -> an RGB image."""
    return Image.fromarray((np.clip(array, 0, 1) * 255).round().astype(np.uint8))


# Settings carried by results ----------------------------------------------------------------

CARRIED = (PARAMETERS_KEY, JSON_KEY)


def carrying(image: Image.Image, settings: ResultSettings) -> Image.Image:
    """``image`` with ``settings`` in its text info (the same texts ``metadata.png_info`` writes). Gradio
    copies a PIL image's text info into the PNG it serves (``processing_utils.get_pil_metadata``), and
    ``save_carried`` writes it into the run's files."""
    image.info[PARAMETERS_KEY] = settings.parameters_text()
    image.info[JSON_KEY] = json.dumps(settings.as_dict(), ensure_ascii=False, sort_keys=True)
    return image


def carry_over(source: Image.Image | None, image: Image.Image) -> Image.Image:
    """``image`` made to carry the settings ``source`` carries (a view or file made from a result)."""
    if source is not None:
        image.info.update({key: source.info[key] for key in CARRIED if key in source.info})
    return image


def carried_settings(image: Image.Image) -> dict | None:
    """The settings ``image`` carries, as the JSON dict a zip's ``run.json`` holds."""
    text = image.info.get(JSON_KEY)
    return json.loads(text) if isinstance(text, str) else None


def save_carried(image: Image.Image, path: Path | IO[bytes]) -> Path | IO[bytes]:
    """Save as PNG with the settings ``image`` carries (see ``carrying``), if any."""
    save_text_chunks(image, path, CARRIED)
    return path


def before_after(before, after) -> tuple[Image.Image, Image.Image] | None:
    """An input and its result as a same-size pair for an image slider (the input cropped and resized
    to the result); None when either is missing."""
    if before is None or after is None:
        return None
    before, after = (Image.open(x) if isinstance(x, (str, Path)) else x for x in (before, after))
    return center_crop_resize(before.convert("RGB"), after.height, after.width), after.convert("RGB")


# Depth -----------------------------------------------------------------------------------------


def depth_values(array: np.ndarray) -> np.ndarray:
    """The model's depth image (H, W, 3) in [0, 1] -> one channel (H, W); bright is near."""
    return np.clip(np.asarray(array, np.float64).mean(axis=-1), 0.0, 1.0)


def colourise_depth(depth: np.ndarray) -> Image.Image:
    """Stretch to the map's own range and colour with 'inferno' (near is bright yellow, far is dark)."""
    low, high = float(depth.min()), float(depth.max())
    scaled = (depth - low) / (high - low) if high > low else np.zeros_like(depth)
    bgr = cv2.applyColorMap((scaled * 255).round().astype(np.uint8), cv2.COLORMAP_INFERNO)
    return Image.fromarray(bgr[..., ::-1].copy())


def save_depth_png16(depth: np.ndarray, path: Path, carried_by: Image.Image | None = None) -> Path:
    """Depth in [0, 1] as a 16-bit greyscale PNG (0..65535), keeping the decoder's full precision (with the
    settings ``carried_by`` carries)."""
    return save_carried(carry_over(carried_by, Image.fromarray((depth * 65535).round().astype(np.uint16))), path)


def depth_mesh(depth: np.ndarray, photo: Image.Image, relief: float = 0.5) -> trimesh.Trimesh:
    """A relief surface: one vertex per pixel (subsampled to MESH_MAX_SIDE), lifted by nearness and
    coloured by the photo. x runs right, y up, z towards the viewer; the width spans 2 units."""
    h, w = depth.shape
    step = max(1, int(np.ceil(max(h, w) / MESH_MAX_SIDE)))
    d = depth[::step, ::step]
    rows, cols = d.shape
    ys, xs = np.mgrid[0:rows, 0:cols].astype(np.float64)
    scale = 2.0 / max(cols - 1, 1)
    vertices = np.stack([(xs - (cols - 1) / 2) * scale, ((rows - 1) / 2 - ys) * scale, d * relief], -1).reshape(-1, 3)
    index = np.arange(rows * cols).reshape(rows, cols)
    a, b, c, e = index[:-1, :-1], index[:-1, 1:], index[1:, :-1], index[1:, 1:]
    faces = np.concatenate([np.stack([a, c, b], -1).reshape(-1, 3), np.stack([b, c, e], -1).reshape(-1, 3)])
    colours = np.asarray(photo.convert("RGB").resize((cols, rows), Image.Resampling.BILINEAR)).reshape(-1, 3)
    alpha = np.full((len(colours), 1), 255, np.uint8)
    return trimesh.Trimesh(vertices, faces, vertex_colors=np.concatenate([colours, alpha], 1), process=False)


def save_glb(mesh: trimesh.Trimesh, path: Path) -> Path:
    path.write_bytes(mesh.export(file_type="glb"))
    return path


# Overlays --------------------------------------------------------------------------------------


def overlay_drawing(photo: Image.Image, drawing: Image.Image, threshold: int = 40) -> Image.Image:
    """The drawing's non-black pixels (edges, skeleton, mask colours) blended over the photo."""
    base = np.asarray(photo.convert("RGB").resize(drawing.size), np.float64)
    top = np.asarray(drawing.convert("RGB"), np.float64)
    painted = (top.max(axis=-1) > threshold)[..., None]
    blended = np.where(painted, base * (1 - OVERLAY_ALPHA) + top * OVERLAY_ALPHA, base)
    return Image.fromarray(blended.round().astype(np.uint8))


def label_regions(drawing: Image.Image, labels: Sequence[Label], tolerance: float = 90.0) -> list[dict]:
    """Pixels near each label's colour: share of the image and bounding box [x0, y0, x1, y1] (or None)."""
    pixels = np.asarray(drawing.convert("RGB"), np.float64)
    regions = []
    for label in labels:
        near = np.linalg.norm(pixels - np.array(label.rgb, np.float64), axis=-1) < tolerance
        ys, xs = np.nonzero(near)
        box = [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1] if len(xs) else None
        regions.append(
            {
                "class": label.name,
                "colour": label.color,
                "hex": label.hex,
                "share": round(float(near.mean()), 4),
                "box": box,
            }
        )
    return regions


def draw_boxes(photo: Image.Image, regions: Sequence[dict]) -> Image.Image:
    """Each found region's bounding box and class name drawn on the photo."""
    image = photo.convert("RGB").copy()
    draw = ImageDraw.Draw(image)
    width = max(1, round(max(image.size) / 200))
    for region in regions:
        if region["box"] is None:
            continue
        x0, y0, x1, y1 = region["box"]
        draw.rectangle([x0, y0, x1 - 1, y1 - 1], outline=region["hex"], width=width)
        draw.text((x0 + width + 1, y0 + width), region["class"], fill=region["hex"])
    return image


# Multiview -------------------------------------------------------------------------------------


def save_gif(frames: Sequence[Image.Image], path: Path, frame_ms: int = 600) -> Path:
    """A looping turntable of the views in the given order."""
    first, *rest = [frame.convert("RGB") for frame in frames]
    first.save(path, save_all=True, append_images=rest, duration=frame_ms, loop=0, disposal=2)
    return path


def save_zip(path: Path, images: dict[str, Image.Image], metadata: dict) -> Path:
    """PNG images under their names (with the settings they carry) plus a ``run.json`` with the settings
    and cameras."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, image in images.items():
            with archive.open(name, "w") as handle:
                save_carried(image, handle)
        archive.writestr("run.json", json.dumps(metadata, indent=2))
    return path
