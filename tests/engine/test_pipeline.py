"""Pipeline behaviour: slot roles and timesteps (with an oracle network), camera estimation, seeds,
batching, callbacks, interrupts, precision, long prompts and the errors bad input gets. Offload and
prompt caching: tests/perf/test_speed.py."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from onediffusion import Camera, CameraSlot, ImageSlot, build_task
from onediffusion.cameras import rays_for_cameras, rays_to_latent, rotation_angle_deg
from tests.helpers import load_pipeline

PROMPT = "[[text2image]] a red cube on a wooden table"


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


class Oracle:
    """Replaces the network by the exact flow velocity towards known clean latents x0:
    v = (x_t - x0) / sigma with sigma = t / 1000, per element. Records what it was given."""

    def __init__(self, pipe, clean: torch.Tensor):
        self.pipe, self.clean, self.calls = pipe, clean, []

    def __enter__(self):
        self.forward = self.pipe.transformer.forward

        def velocity(samples, timesteps, **kwargs):
            self.calls.append((samples.clone(), timesteps.clone()))
            sigma = (timesteps / 1000).clamp_min(1e-6)[:, :, None, None, None]  # one per view
            return (samples - self.clean.expand_as(samples)) / sigma

        self.pipe.transformer.forward = velocity
        return self

    def __exit__(self, *exc):
        self.pipe.transformer.forward = self.forward


def test_oracle_targets_land_on_clean_latents_and_conditions_stay_clean(tiny_pipe):
    condition = Image.new("RGB", (64, 64), (30, 120, 200))
    views = [ImageSlot.target(), ImageSlot.condition(condition)]
    clean = torch.randn(1, 2, 16, 8, 8, generator=seeded(5))
    with Oracle(tiny_pipe, clean) as oracle:
        out = tiny_pipe(
            "[[depth2image]]", views, 64, 64, num_inference_steps=4, guidance_scale=1.0, output_type="latent"
        )
    torch.testing.assert_close(out.latents[:, 0], clean[:, 0], atol=1e-4, rtol=0)
    timesteps = tiny_pipe.scheduler.timesteps
    first_samples = oracle.calls[0][0]
    for step, (samples, t) in enumerate(oracle.calls):
        assert torch.all(t[:, 0] == timesteps[step])  # the target carries the current timestep
        assert torch.all(t[:, 1] == timesteps[-1])  # the condition carries the schedule's last one
        torch.testing.assert_close(samples[:, 1], first_samples[:, 1])  # and stays clean


def test_oracle_camera_pose_estimation_returns_the_cameras(tiny_pipe):
    truth = [Camera.orbit(a, e, 1.8, f) for a, e, f in ((0, 15, 1.3), (70, 30, 1.5), (200, 10, 1.1))]
    spec = build_task("camera_estimation", images=[Image.new("RGB", (64, 64), c) for c in ("red", "green", "blue")])
    clean = torch.zeros(1, 6, 16, 8, 8)
    clean[0, 1::2] = rays_to_latent(rays_for_cameras(truth, 8))
    with Oracle(tiny_pipe, clean):
        out = tiny_pipe(**{**spec.kwargs(), "guidance_scale": 1.0}, height=64, width=64, num_inference_steps=3)
    assert out.images == [] and len(out.cameras) == 1
    np.testing.assert_allclose(out.cameras[0][0].c2w, np.eye(4), atol=1e-9)  # camera 0 is the frame
    frame = np.linalg.inv(truth[0].c2w)
    for estimated, true in zip(out.cameras[0], truth):
        expected = frame @ true.c2w
        assert rotation_angle_deg(estimated.c2w[:3, :3], expected[:3, :3]) < 0.1
        np.testing.assert_allclose(estimated.centre, expected[:3, 3], atol=1e-3)
        assert estimated.focal_length == pytest.approx(true.focal_length, rel=0.01)


def test_estimated_cameras_are_anchored_on_the_estimated_first_camera(tiny_pipe):
    """When camera 0 is itself a target, the others come back relative to its estimate: a model
    whose rays are all off by one rotation still gives exact relative poses, camera 0 the identity."""
    truth = [Camera.orbit(a, 20, 2.0) for a in (0, 90, 200)]
    off = Camera.orbit(12, 28, 2.0)  # the frame the "model" drew its rays in
    spec = build_task("camera_estimation", images=[Image.new("RGB", (64, 64), c) for c in ("red", "green", "blue")])
    clean = torch.zeros(1, 6, 16, 8, 8)
    clean[0, 1::2] = rays_to_latent(rays_for_cameras([off, *truth], 8)[1:])
    with Oracle(tiny_pipe, clean):
        out = tiny_pipe(**{**spec.kwargs(), "guidance_scale": 1.0}, height=64, width=64, num_inference_steps=3)
    np.testing.assert_allclose(out.cameras[0][0].c2w, np.eye(4), atol=1e-9)
    frame = np.linalg.inv(truth[0].c2w)
    for estimated, true in zip(out.cameras[0][1:], truth[1:]):
        assert rotation_angle_deg(estimated.c2w[:3, :3], (frame @ true.c2w)[:3, :3]) < 0.2


def test_reference_img2img_can_estimate_cameras(tiny_pipe):
    """The authors' API fails when a camera slot is a target; ours runs it and returns cameras."""
    image = Image.new("RGB", (64, 64), "white")
    out = tiny_pipe.img2img(
        image=[image, image],
        prompt="[[multiview]]",
        denoise_mask=[0, 1, 0, 1],
        is_multiview=True,
        multiview_azimuths=[0, 90],
        multiview_elevations=[0, 0],
        multiview_distances=1.7,
        height=64,
        width=64,
        num_inference_steps=1,
        guidance_scale=1.0,
    )
    first, second = out.cameras[0]
    np.testing.assert_allclose(first.c2w, np.eye(4), atol=1e-9)  # camera 0: identity rotation, at the origin
    assert np.isfinite(second.c2w).all() and second.focal_length > 0


def test_same_seed_same_result_and_different_seed_differs(tiny_pipe):
    def run(seed):
        return tiny_pipe(PROMPT, num_inference_steps=2, generator=seeded(seed), output_type="np").images

    np.testing.assert_array_equal(run(3), run(3))
    assert np.abs(run(3) - run(4)).mean() > 1e-3


def test_batching_prompts_images_per_prompt_and_generator_lists(tiny_pipe):
    out = tiny_pipe(
        [PROMPT, "[[text2image]] a house"],
        num_images_per_prompt=2,
        num_inference_steps=1,
        generator=[seeded(i) for i in range(4)],
        output_type="np",
    )
    assert out.images.shape == (4, 64, 64, 3) and out.latents.shape == (4, 1, 16, 8, 8)
    single = tiny_pipe(PROMPT, num_inference_steps=1, generator=seeded(1), output_type="np").images
    np.testing.assert_allclose(out.images[1], single[0], atol=1e-5)


def test_callback_sees_every_step_and_can_change_latents(tiny_pipe):
    steps = []

    def callback(pipe, i, t, values):
        steps.append((i, float(t)))
        return {"latents": torch.zeros_like(values["latents"])}

    out = tiny_pipe(
        PROMPT, num_inference_steps=3, callback_on_step_end=callback, output_type="latent", generator=seeded()
    )
    assert [i for i, _ in steps] == [0, 1, 2]
    assert [t for _, t in steps] == tiny_pipe.scheduler.timesteps.tolist()
    assert torch.count_nonzero(out.latents) == 0


def test_interrupt_stops_the_loop(tiny_pipe):
    seen = []

    def stop_after_first(pipe, i, t, values):
        seen.append(i)
        pipe._interrupt = True
        return values

    out = tiny_pipe(PROMPT, num_inference_steps=5, callback_on_step_end=stop_after_first, generator=seeded())
    assert seen == [0] and len(out.images) == 1
    tiny_pipe(PROMPT, num_inference_steps=1, generator=seeded())  # the next call runs normally
    assert not tiny_pipe.interrupt


@pytest.mark.parametrize("output_type, kind", [("pil", list), ("np", np.ndarray), ("pt", torch.Tensor)])
def test_output_types(tiny_pipe, output_type, kind):
    images = tiny_pipe(PROMPT, num_inference_steps=1, output_type=output_type, generator=seeded()).images
    assert isinstance(images, kind)
    if output_type == "pil":
        assert images[0].size == (64, 64) and images[0].mode == "RGB"
    else:
        assert 0 <= float(images.min()) and float(images.max()) <= 1


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_half_precision_on_cpu_stays_close_to_float32(tiny_model_dir, tiny_pipe, dtype):
    half = load_pipeline(tiny_model_dir, torch_dtype=dtype)
    assert half.transformer.dtype == dtype
    assert half.vae.dtype == torch.float32  # float16 overflows; bfloat16 convolutions crawl on a CPU (vae_dtype)
    kwargs = dict(num_inference_steps=2, output_type="np", guidance_scale=4.0)
    ours = half(PROMPT, generator=seeded(), **kwargs).images
    ref = tiny_pipe(PROMPT, generator=seeded(), **kwargs).images
    assert np.isfinite(ours).all() and np.abs(ours - ref).mean() < 0.05


def test_long_prompt_warns_and_says_what_was_cut(tiny_pipe):
    prompt = "[[text2image]] " + "a red cube on a wooden table, " * 60 + "and a cat sitting on a chair"
    for _ in range(2):  # the second call hits the prompt cache and must still warn
        with pytest.warns(UserWarning, match="was cut: .*a cat sitting on a chair"):
            tiny_pipe(prompt, num_inference_steps=1, guidance_scale=1.0, generator=seeded())


def test_default_size_follows_the_first_condition_image(tiny_pipe):
    wide = Image.new("RGB", (200, 100), "white")
    out = tiny_pipe(
        "[[depth2image]]",
        [ImageSlot.condition(wide), ImageSlot.target()],
        num_inference_steps=1,
        guidance_scale=1.0,
        generator=seeded(),
    )
    assert out.images[0].size == (704, 352)  # the 512-table entry for h/w = 0.5


BAD_INPUTS = [
    ({"height": 60}, "`height`"),
    ({"width": 4096}, "`width`"),
    ({"views": []}, "`views` is empty"),
    ({"views": [ImageSlot.target()] * 17}, "at most 16"),
    ({"views": [ImageSlot.condition(Image.new("RGB", (8, 8)))]}, "no target"),
    ({"guidance_scale": -1.0}, "`guidance_scale`"),
    ({"guidance_scale": float("nan")}, "`guidance_scale`"),
    ({"num_inference_steps": 0}, "`num_inference_steps`"),
    ({"num_images_per_prompt": 0}, "`num_images_per_prompt`"),
    ({"output_type": "jpeg"}, "`output_type`"),
    ({"prompt": 42}, "`prompt`"),
]


@pytest.mark.parametrize("kwargs, match", BAD_INPUTS)
def test_bad_input_names_the_argument(tiny_pipe, kwargs, match):
    with pytest.raises(ValueError, match=match):
        tiny_pipe(**{"prompt": PROMPT, "num_inference_steps": 1, **kwargs})


def test_bad_slots_are_refused_on_construction():
    with pytest.raises(ValueError, match="needs an `image`"):
        ImageSlot.condition(None)
    with pytest.raises(ValueError, match="needs a `camera`"):
        CameraSlot.condition(None)
    with pytest.raises(ValueError, match="`role`"):
        ImageSlot("given")
    with pytest.raises(ValueError, match="finite"):
        CameraSlot.condition(Camera(np.full((4, 4), np.inf)))


def test_first_camera_defines_the_frame(tiny_pipe):
    views = [
        ImageSlot.target(),
        CameraSlot.target(),
        ImageSlot.target(),
        CameraSlot.condition(Camera.orbit(90, 0, 1.7)),
    ]
    with pytest.raises(ValueError, match="first camera slot"):
        tiny_pipe("[[multiview]]", views, num_inference_steps=1)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"image": [], "denoise_mask": [1, 0]}, "condition image slots"),
        ({"image": [Image.new("RGB", (64, 64))] * 2, "denoise_mask": [1, 0]}, "condition image slots"),
        ({"image": [], "denoise_mask": [1, 2]}, "`denoise_mask`"),
        ({"image": [], "denoise_mask": [1, 0, 1], "is_multiview": True}, "even"),
        (
            {
                "image": [],
                "denoise_mask": [1, 0, 1, 0],
                "is_multiview": True,
                "multiview_azimuths": [0, float("nan")],
                "multiview_elevations": [0, 0],
            },
            "finite",
        ),
        (
            {
                "image": [],
                "denoise_mask": [1, 0, 1, 0],
                "is_multiview": True,
                "multiview_azimuths": [0],
                "multiview_elevations": [0],
            },
            "2 views but 1 cameras",
        ),
    ],
)
def test_reference_api_bad_input(tiny_pipe, kwargs, match):
    with pytest.raises(ValueError, match=match):
        tiny_pipe.img2img(prompt="[[depth2image]]", num_inference_steps=1, **kwargs)


def test_rgba_condition_is_composited_on_white(tiny_pipe):
    transparent = Image.new("RGBA", (64, 64), (255, 0, 0, 0))
    white = Image.new("RGB", (64, 64), "white")

    def run(image):
        views = [ImageSlot.condition(image), ImageSlot.target()]
        return tiny_pipe(
            "[[depth2image]]", views, 64, 64, num_inference_steps=1, generator=seeded(), output_type="np"
        ).images

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(run(transparent), run(white), atol=1e-6)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16])
def test_cuda_runs_and_offloads(tiny_model_dir, dtype):
    pipe = load_pipeline(tiny_model_dir, torch_dtype=dtype).to("cuda")
    on_gpu = pipe(PROMPT, num_inference_steps=2, generator=seeded(), output_type="np").images
    pipe.to("cpu")
    pipe.enable_model_cpu_offload()
    offloaded = pipe(PROMPT, num_inference_steps=2, generator=seeded(), output_type="np").images
    assert np.isfinite(on_gpu).all()
    np.testing.assert_allclose(offloaded, on_gpu, atol=1e-2)
