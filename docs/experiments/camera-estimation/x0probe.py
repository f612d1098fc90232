"""One-step x0 estimates of the camera slots at fixed sigmas, given the true images: the rotation
errors of the cameras recovered from them against those recovered from the true rays, and the
identity's.

    PYTHONPATH=. python docs/experiments/camera-estimation/x0probe.py MODEL
"""

import sys

import numpy as np
import torch
from common import single_task_trainer

from onediffusion.cameras import cameras_from_rays, latent_to_rays, rotation_angle_deg


def rotations(x0: torch.Tensor, cams: list[int]) -> np.ndarray:
    """(B, V - 1, 3, 3): the rotations of cameras 1.. recovered from each sample's camera slots ``cams``."""
    return np.stack([cameras_from_rays(latent_to_rays(x[cams]).double())[0][1:, :3, :3].numpy() for x in x0])


def median_error(estimated: np.ndarray, true: np.ndarray) -> float:
    pairs = zip(estimated.reshape(-1, 3, 3), true.reshape(-1, 3, 3))
    return float(np.median([rotation_angle_deg(a, b) for a, b in pairs]))


def main(argv: list[str] | None = None) -> None:
    model = (sys.argv[1:] if argv is None else argv)[0]
    trainer = single_task_trainer("camera_estimation", 64, model, load_transformer=True, micro_batch=64)
    torch.manual_seed(0)
    batch = trainer.sample_batch("camera_estimation")
    cams = list(range(1, batch.x0.shape[1], 2))  # slots [image_0, camera_0, image_1, camera_1, ...]
    true = rotations(batch.x0, cams)
    print("views", len(cams), "identity median", median_error(np.broadcast_to(np.eye(3), true.shape), true))
    states, mask = trainer.encode_prompts(batch.prompts)
    with torch.no_grad():
        for level in (0.3, 0.6, 0.9, 1.0):
            sigma = torch.where(batch.targets, level, 0.0)
            noise = torch.randn(batch.x0.shape)
            s = sigma[:, :, None, None, None]
            xt = (1 - s) * batch.x0 + s * noise
            v = trainer.model(
                samples=xt, timesteps=sigma * 1000, encoder_hidden_states=states, encoder_attention_mask=mask
            )
            print("sigma", level, "median rot err of x0-hat", median_error(rotations(xt - s * v, cams), true))


if __name__ == "__main__":
    main()
