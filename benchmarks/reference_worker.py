"""One pipeline held in one process, timing requests on command: the child of ``benchmarks.compare_reference``.

    python benchmarks/reference_worker.py --impl reference --checkpoint CKPT --device cpu --dtype float32

Run as a file, not as a module, and importing nothing of this project: the authors' package is also
called ``onediffusion``, so the reference child runs with their checkout first on ``sys.path``
(``--impl reference``), ours with this repository's root (``--impl ours`` and ``--impl math``, ours with
the plain "math" attention, the authors' numerics, for a machine without their checkout). Both
pipelines take the same calls (ours is a drop-in for theirs): ``pipe(...)`` for text to image and
``pipe.img2img(...)`` for the rest. Reads one JSON command a line on stdin, answers one JSON line:
``{"case": NAME, "steps": S, "cached": false}`` -> ``{"seconds": T}``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
import torch
from PIL import Image

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
SIDE = 256
CAPTION = (
    "a red fox sitting in fresh snow at the edge of a pine forest, soft morning light, shallow depth of "
    "field, detailed fur, mist between the trees, a photograph taken with a long lens"
)
NEGATIVE = "monochrome, greyscale, low-res, bad anatomy, worst quality, blurry"


def _image(seed: int) -> Image.Image:
    pixels = np.random.default_rng(seed).integers(0, 256, (SIDE, SIDE, 3), dtype=np.uint8)
    return Image.fromarray(pixels)


def case_call(pipe, name: str, steps: int):
    """The three cases of issue 31 at 256 px with guidance 4, as the authors' API takes them."""
    common = {"num_inference_steps": steps, "guidance_scale": 4.0, "height": SIDE, "width": SIDE}
    common |= {"negative_prompt": NEGATIVE, "generator": torch.Generator().manual_seed(0), "output_type": "np"}
    if name == "t2i256":
        return pipe(prompt=f"[[text2image]] {CAPTION}", **common)
    if name == "depth256":
        return pipe.img2img(image=[_image(1)], prompt=f"[[depth2image]] {CAPTION}", denoise_mask=[1, 0], **common)
    if name == "mv3x256":  # one given view and its camera, two views to generate at 60 and 120 degrees
        return pipe.img2img(
            image=[_image(2)],
            prompt=f"[[multiview]] {CAPTION}",
            denoise_mask=[0, 0, 1, 0, 1, 0],
            is_multiview=True,
            multiview_azimuths=[0, 60, 120],
            multiview_elevations=[10, 10, 10],
            multiview_distances=[1.7, 1.7, 1.7],
            multiview_focal_length=1.3887,
            **common,
        )
    raise ValueError(f"unknown case {name!r}")


def load(impl: str, checkpoint: str, device: str, dtype: torch.dtype):
    if impl == "reference":
        from onediffusion.diffusion.pipelines.onediffusion import OneDiffusionPipeline  # the authors' package
    else:
        from onediffusion import OneDiffusionPipeline  # ours
    pipe = OneDiffusionPipeline.from_pretrained(checkpoint, torch_dtype=dtype).to(device)
    pipe.set_progress_bar_config(disable=True)
    if impl == "math":
        pipe.transformer.set_attention_backend("math")
    return pipe


def serve(pipe, impl: str, device: str) -> None:
    for line in sys.stdin:
        command = json.loads(line)
        if command.get("cached"):
            pipe.enable_cache()  # ours only: the parent never asks the reference for it
        try:
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            start = time.perf_counter()
            case_call(pipe, command["case"], command["steps"])
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            seconds = time.perf_counter() - start
        finally:
            if command.get("cached"):
                pipe.disable_cache()
        print(json.dumps({"seconds": seconds}), flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--impl", required=True, choices=("reference", "ours", "math"))
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="float32", choices=sorted(DTYPES))
    parser.add_argument("--threads", type=int)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    pipe = load(args.impl, args.checkpoint, args.device, DTYPES[args.dtype])
    print(json.dumps({"ready": args.impl}), flush=True)
    serve(pipe, args.impl, args.device)


if __name__ == "__main__":
    main()
