"""What OneDiffusion-Mini's outputs mean: a few held-out samples per task, against trivial baselines.

Thresholds are looser than ``python -m onediffusion.mini.evaluate``'s (fewer samples, fewer steps) yet far
above what a wrong slot role, timestep or ray convention gives: with any of those broken the model sees
inputs it was never trained on and falls to its baseline. Only what Mini does well is asserted here
(text to image, semantic maps both ways, depth both ways, camera estimation, novel views above copying);
the README's evaluation table lists every task, passing or not.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from onediffusion import Camera
from onediffusion.cameras import rays_for_cameras, rays_to_latent
from onediffusion.mini import MINI_MODEL
from onediffusion.mini.evaluate import CHANCE, HELD_OUT, Evaluator, _view, iou, saturated
from onediffusion.mini.world import depth_image
from onediffusion.tasks import build_task

pytestmark = pytest.mark.skipif(not (MINI_MODEL / "transformer").is_dir(), reason="OneDiffusion-Mini not shipped")


@pytest.fixture(scope="module")
def evaluator(pipe):
    return Evaluator(pipe, samples=8, steps=30, seed=7)


def test_text_to_image_draws_the_named_colour(evaluator):
    """Measured here (8 samples) with the Mini before the views stages: 1.0 against chance 0.125 (the evaluation,
    192 samples: 0.990; the shipped Mini: 1.0 here, 0.911 on 192)."""
    assert evaluator.text2image().ours >= 3 * CHANCE


def test_depth_estimation_beats_a_constant(evaluator):
    """The photo is a clean condition and the depth map the target: swap the roles, or read the
    condition's timestep as noise, and the output is no depth map. Measured here: AbsRel 0.037 against 0.276."""
    result = evaluator.image2depth()
    assert result.ours <= 0.5 * result.baseline


def test_semantic_map_to_image_paints_each_region_its_named_colour(evaluator):
    """Masks are drawn in colours other than their objects' own, so only reading the labels' binding
    (mask colour -> named object) scores. Measured here: 0.82 against chance 0.125 (the previous Mini, whose
    conditions were trained below the pipeline's condition timestep: 0.24 in the evaluation)."""
    assert evaluator.semanticmap2image().ours >= 3 * CHANCE


def test_segmentation_finds_each_named_object(pipe):
    """On 16 scenes, as 8 (17 objects) are too few for the 2x bar: measured IoU 0.219 against 0.097 for the
    whole image (2.3x; on the first 8 scenes 1.1x; the evaluation's 192 scenes: 3.2x; the Mini before the
    condition-timestep fix: 1.7x in the evaluation)."""
    result = Evaluator(pipe, samples=16, steps=30, seed=7).image2semanticmap()
    assert result.ours >= 2 * result.baseline


def test_camera_estimation_is_far_better_than_the_identity(evaluator):
    """Cameras of views 1 and 2 relative to view 0, from the images alone (the camera slots start from pure
    noise). Measured here: median rotation error 12.1 degrees against the identity's 108.6 (the evaluation's
    192 scenes: 17.0 against 92.8; the Mini shipped before the views stages: 90.7, no better than the identity)."""
    result = evaluator.camera_estimation()
    assert result.ours <= 0.5 * result.baseline


def test_novel_views_beat_copying_the_input_view(evaluator):
    """Measured here: 13.90 dB against 13.33 for copying the input view into every novel view (the
    evaluation's 192 scenes: 14.00 against 13.51, short of issue 22's +1.5 dB; the Mini shipped before the
    views stages: 12.96, below copying)."""
    result = evaluator.image2multiview()
    assert result.ours > result.baseline


def test_depth_to_image_follows_the_depth_maps_layout(pipe):
    """The depth map is a condition at the schedule's last timestep (52 at 30 steps). A network that
    reads that timestep as noise draws objects where its noise puts them, as the previous Mini did: the
    generated objects then overlap the scene's no better than another scene's. Measured: 0.73 against
    0.24 (the previous Mini: 0.20 against 0.28)."""
    ours, other = [], []
    rng = np.random.default_rng(HELD_OUT + 7000)
    views = [_view(rng) for _ in range(9)]
    for i, ((scene, view), (_, next_view)) in enumerate(zip(views, views[1:])):
        spec = build_task("depth2image", condition=depth_image(view), caption=scene.caption(view.camera))
        out = pipe(
            **{**spec.kwargs(), "guidance_scale": 3.0},
            num_inference_steps=30,
            height=32,
            width=32,
            output_type="np",
            generator=torch.Generator().manual_seed(i),
        )
        drawn = saturated(np.round(out.images[0] * 255))
        ours.append(iou(drawn, view.ids > 0))
        other.append(iou(drawn, next_view.ids > 0))
    assert np.mean(ours) >= 2 * np.mean(other), (np.mean(ours), np.mean(other))


def camera_denoising_error(pipe, record, rays_of, sigma: float = 0.6, seed: int = 0) -> float:
    """Mean squared velocity error of the model on the camera slots of a three-view camera-estimation
    layout ([image, camera] x 3, the images clean at the pipeline's condition timestep) noised to
    ``sigma``, with the ray maps ``rays_of(cameras)``."""
    generator = torch.Generator().manual_seed(seed)
    images = [Image.fromarray(rgb) for rgb in record.images["rgb"][:3]]
    latents = pipe.encode_images(images, 32, 32, "cpu", generator)
    rays = rays_to_latent(rays_of(record.cameras[:3]), latents.shape[1])
    x0 = torch.stack([slot for pair in zip(latents, rays) for slot in pair])[None]
    t_condition = float(pipe.prepare_timesteps(30, 3, 32, 32, "cpu")[-1]) / 1000
    sigmas = torch.tensor([[t_condition, sigma] * 3])
    noise = torch.randn(x0.shape, generator=generator)
    s = torch.tensor([[0.0, sigma] * 3])[..., None, None, None]
    states, mask = pipe.encode_prompt("[[multiview]]", "cpu", do_classifier_free_guidance=False)
    with torch.no_grad():
        velocity = pipe.transformer(
            samples=(1 - s) * x0 + s * noise,
            timesteps=sigmas * 1000,
            encoder_hidden_states=states,
            encoder_attention_mask=mask,
        )
        return float(((velocity - (noise - x0)) ** 2)[0, 3::2].mean())


def test_camera_rays_are_read_in_the_frame_of_the_first_camera(pipe):
    """Mini learnt ray maps in the frame of camera 0, as the pipeline writes them. The same cameras'
    rays in world coordinates are, to it, nothing it has seen: its denoising error grows tens of times
    (measured with the shipped Mini: 0.022 against 1.82 on four held-out scenes)."""
    from onediffusion.mini.training.data import make_record

    def world_frame(cameras):
        return rays_for_cameras([Camera(np.eye(4), cameras[0].focal_length), *cameras], 8)[1:]

    records = [make_record(HELD_OUT + i) for i in range(4)]
    ours = np.mean(
        [camera_denoising_error(pipe, r, lambda c: rays_for_cameras(c, 8), seed=i) for i, r in enumerate(records)]
    )
    world = np.mean([camera_denoising_error(pipe, r, world_frame, seed=i) for i, r in enumerate(records)])
    assert ours <= 0.2 * world, (ours, world)
