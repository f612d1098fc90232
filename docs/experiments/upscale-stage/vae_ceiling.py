"""The most any denoiser on the Mini's VAE can reach on the x2 upscaling row: the truth itself encoded and
decoded, PSNR against the truth, beside Lanczos from the native size, on the same scenes as the evaluation.

    PYTHONPATH=. python docs/experiments/upscale-stage/vae_ceiling.py [--model runs/upscale1] [--samples 24] \\
        [--split validation]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from onediffusion.conditions import enlarge
from onediffusion.mini import MINI_MODEL
from onediffusion.mini.evaluate import Evaluator, psnr
from onediffusion.pipeline import OneDiffusionPipeline


def round_trip(pipe, image: np.ndarray) -> np.ndarray:
    """``image`` (uint8 HxWx3) through the VAE's encoder (its mode) and decoder, back to 0-255."""
    x = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None].float() / 127.5 - 1
    with torch.no_grad():
        y = pipe.vae.decode(pipe.vae.encode(x).latent_dist.mode()).sample
    return np.round(((y[0].permute(1, 2, 0).clamp(-1, 1) + 1) * 127.5).numpy())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(MINI_MODEL))
    parser.add_argument("--samples", type=int, default=24)
    parser.add_argument("--split", default="validation")
    args = parser.parse_args(argv)
    pipe = OneDiffusionPipeline.from_pretrained(args.model)
    evaluator = Evaluator(pipe, args.samples, 30, 0, args.split, None)
    side = evaluator.size
    ceiling, lanczos = [], []
    for i in range(args.samples):  # the cases of Evaluator._upscale_psnr
        truths = evaluator.upscale_case(6000 + i)
        truth = truths[2 * side]
        ceiling.append(psnr(round_trip(pipe, truth), truth))
        lanczos.append(psnr(np.asarray(enlarge(truths[side], 2 * side, 2 * side)), truth))
    print(f"x2 truth through the VAE: {np.mean(ceiling):.2f} dB; Lanczos from {side} px: {np.mean(lanczos):.2f} dB")


if __name__ == "__main__":
    main()
