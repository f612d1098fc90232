"""The files of a camera path: PNG frames written as they come, then an MP4, a GIF, the cameras as JSON, a
``transforms.json`` that NeRF and Gaussian-splatting trainers read, and a zip of it all.

Frames go to disk the moment their batch is done (``PathFolder.add``), so memory does not grow with the number
of views; the video and the GIF are encoded by the ffmpeg that the ``imageio-ffmpeg`` wheel ships (H.264,
yuv420p, ``+faststart`` so browsers play it while it loads), fed one frame at a time.

``transforms.json`` follows the layout nerfstudio and instant-ngp read: intrinsics (``fl_x``, ``fl_y``, ``cx``,
``cy``, ``w``, ``h``) and, per frame, ``file_path`` and a 4x4 camera-to-world ``transform_matrix`` in OpenGL
axes (x right, y up, z backwards: the OpenCV matrix with its y and z axes negated).
"""

from __future__ import annotations

import json
import subprocess
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from .cameras import Camera
from .metadata import ResultSettings, save_png

OPENCV_TO_OPENGL = np.diag([1.0, -1.0, -1.0, 1.0])
GIF_SIDE = 256  # the GIF is a preview: frames at most this large


def frame_name(index: int) -> str:
    return f"frame_{index + 1:04d}.png"


def transform_matrix(camera: Camera) -> list[list[float]]:
    """The OpenGL camera-to-world matrix of an OpenCV camera."""
    return (camera.c2w @ OPENCV_TO_OPENGL).tolist()


def transforms(cameras: list[Camera], width: int, height: int, indices: list[int], folder: str = "frames") -> dict:
    """nerfstudio's ``transforms.json`` for the frames ``indices`` (one shared pinhole: the path's focal length
    is in image widths, so ``fl_x = fl_y = focal * width`` pixels)."""
    focal = cameras[indices[0]].focal_length * width if indices else 0.0
    return {
        "camera_model": "OPENCV",
        "fl_x": focal,
        "fl_y": focal,
        "cx": width / 2,
        "cy": height / 2,
        "w": width,
        "h": height,
        "k1": 0.0,
        "k2": 0.0,
        "p1": 0.0,
        "p2": 0.0,
        "frames": [
            {"file_path": f"{folder}/{frame_name(i)}", "transform_matrix": transform_matrix(cameras[i])}
            for i in indices
        ],
    }


def cameras_json(cameras: list[Camera], anchors: tuple[int, ...], made: set[int]) -> list[dict]:
    """Every camera of the path: OpenCV camera-to-world, focal length in image widths, whether it is an anchor
    and whether its frame was made."""
    return [
        {
            "index": i,
            "file": frame_name(i),
            "c2w_opencv": cam.c2w.tolist(),
            "focal_length": cam.focal_length,
            "anchor": i in anchors,
            "made": i in made,
        }
        for i, cam in enumerate(cameras)
    ]


@dataclass
class PathFolder:
    """A run's folder: ``frames/`` filled as frames come, the rest written by ``finish``."""

    root: Path
    made: set[int] = field(default_factory=set)

    def __post_init__(self):
        (self.root / "frames").mkdir(parents=True, exist_ok=True)

    def add(self, index: int, image: Image.Image, settings: ResultSettings) -> Path:
        path = self.root / "frames" / frame_name(index)
        save_png(image, path, settings)
        self.made.add(index)
        return path

    def frames(self) -> list[Path]:
        """The frames made, in path order (a stopped run's have gaps)."""
        return [self.root / "frames" / frame_name(i) for i in sorted(self.made)]


def _ffmpeg() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def _encode(frames: list[Path], fps: float, out: Path, codec_args: list[str]) -> Path:
    """Feed ``frames`` to ffmpeg one at a time as raw RGB, so the encoder, not this process, holds the clip."""
    with Image.open(frames[0]) as first:
        width, height = first.size
    command = [
        _ffmpeg(), "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}",
        "-r", f"{fps}", "-i", "-", *codec_args, str(out),
    ]  # fmt: skip
    with subprocess.Popen(command, stdin=subprocess.PIPE, stderr=subprocess.PIPE) as ffmpeg:
        for path in frames:
            with Image.open(path) as frame:
                ffmpeg.stdin.write(np.asarray(frame.convert("RGB")).tobytes())
        _, errors = ffmpeg.communicate()
    if ffmpeg.returncode:
        raise RuntimeError(f"ffmpeg could not write {out.name}: {errors.decode(errors='replace').strip()[-300:]}")
    return out


def write_mp4(frames: list[Path], fps: float, out: Path) -> Path:
    """H.264 in yuv420p (what browsers play), ``+faststart`` so a page can play it while it loads."""
    return _encode(
        frames, fps, out, ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", "18", "-movflags", "+faststart"]
    )


def write_gif(frames: list[Path], fps: float, out: Path) -> Path:
    """A looping GIF with one palette made for the whole clip, frames at most ``GIF_SIDE`` pixels."""
    with Image.open(frames[0]) as first:
        scale = f"scale='min({GIF_SIDE},iw)':-2:flags=lanczos," if max(first.size) > GIF_SIDE else ""
    palette = f"{scale}split[a][b];[a]palettegen=stats_mode=diff[p];[b][p]paletteuse"
    return _encode(frames, fps, out, ["-filter_complex", palette, "-loop", "0"])


def write_zip(folder: PathFolder, out: Path, extra: dict[str, object]) -> Path:
    """The frames and every JSON file of ``extra`` (name -> data) in one zip."""
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in folder.frames():
            archive.write(path, f"frames/{path.name}")
        for name, data in extra.items():
            archive.writestr(name, json.dumps(data, indent=1))
    return out
