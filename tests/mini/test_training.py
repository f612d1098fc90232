"""The training package: scene records, task layouts (the same as the inference presets), the
objective's conventions (checked with an oracle network), and the evaluation metrics."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch

from onediffusion import CameraSlot, ImageSlot, build_task
from onediffusion.mini.evaluate import abs_rel, color_masks, dominant_color, iou, psnr, shuffled_labels
from onediffusion.mini.training.data import (
    IMAGE_SIZE,
    SCENE_KINDS,
    UPSCALE_KINDS,
    VIEW_KINDS,
    LatentStore,
    make_record,
)
from onediffusion.mini.training.tasks import ALL_TASKS, TRAIN_TASKS, VIEW_COUNTS
from onediffusion.mini.training.trainer import TrainConfig, Trainer
from onediffusion.mini.world import render, sample_cameras, sample_scene


def test_records_are_deterministic_and_complete(records):
    again = make_record(3)
    for kind in VIEW_KINDS + SCENE_KINDS + UPSCALE_KINDS:
        np.testing.assert_array_equal(again.images[kind], records[3].images[kind])
    assert records[0].images["rgb"].shape == (4, IMAGE_SIZE, IMAGE_SIZE, 3)
    assert records[0].images["edited"].shape == (IMAGE_SIZE, IMAGE_SIZE, 3)
    assert records[0].instruction.startswith("make the ")
    assert not np.array_equal(records[0].images["edited"], records[0].images["rgb"][0])


def _preset_layout(task: str, sample, record) -> tuple[str, list[str]]:
    """The prompt's first token and the slot layout the inference preset builds for ``task``."""
    img = record.images["rgb"][0]
    cams = record.cameras[: sum(s.kind == "camera" for s in sample.sources)]
    inputs = {
        "text2image": dict(caption="x"),
        "inpainting": dict(image=img, mask=np.full((32, 32), 255, np.uint8)),
        "deblurring": dict(image=img),
        "upscaling": dict(image=img),
        "editing": dict(image=img, instruction="x"),
        "identity": dict(
            references=[img] * (len(sample.sources) - 1),
            reference_captions=["a"] * (len(sample.sources) - 1),
            target_caption="x",
        ),
        "image2multiview": dict(image=img, cameras=cams),
        "text2multiview": dict(cameras=cams, caption="x"),
        "camera_estimation": dict(images=[img] * len(cams)),
    }
    spec = build_task(task, **inputs.get(task, {"condition" if task.endswith("2image") else "image": img}))
    kinds = [f"{'image' if isinstance(s, ImageSlot) else 'camera'}:{s.role}" for s in spec.views]
    return spec.prompt.split()[0], kinds


@pytest.mark.parametrize("task", sorted(set(ALL_TASKS) - {"multiview"}))
def test_training_layouts_are_the_inference_presets(records, task):
    rng = np.random.default_rng(0)
    n = VIEW_COUNTS.get(task, (1, 1))[1]
    sample = ALL_TASKS[task](records[0], rng, n)
    kinds = [
        f"{'camera' if s.kind == 'camera' else 'image'}:{'target' if t else 'condition'}"
        for s, t in zip(sample.sources, sample.targets)
    ]
    assert (sample.prompt.split()[0], kinds) == _preset_layout(task, sample, records[0])


def test_mixed_multiview_roles_always_have_a_target(records):
    rng = np.random.default_rng(1)
    for _ in range(50):
        sample = TRAIN_TASKS["multiview"](records[1], rng, 2)
        assert any(sample.targets) and [s.kind for s in sample.sources] == ["rgb", "camera", "rgb", "camera"]


def tiny_parts(records):
    """Frozen parts for ``records`` (seeds 0-5: ``render_records(0, 6)``): a real tokenizer, text encoder
    and VAE, random latents."""
    from diffusers import AutoencoderKL

    from onediffusion.mini.training.components import MINI_VAE, build_text_encoder, build_tokenizer
    from onediffusion.mini.training.state import Parts, records_digest

    store = LatentStore(
        view={k: torch.randn(len(records), 4, 2, 16, 8, 8).abs() * 0.5 for k in VIEW_KINDS},
        scene={k: torch.randn(len(records), 2, 16, 8, 8).abs() * 0.5 for k in SCENE_KINDS + UPSCALE_KINDS},
    )
    prompts = [TRAIN_TASKS[t](r, np.random.default_rng(0), 2).prompt for t in TRAIN_TASKS for r in records]
    folder = Path(tempfile.mkdtemp()) / "tok"
    tokenizer = build_tokenizer(folder, prompts, vocab_size=150)
    data = {"seed": 0, "scenes": len(records), "digest": records_digest(records)}
    encoder = build_text_encoder(len(tokenizer), 0)
    return Parts(records, folder, tokenizer, encoder, AutoencoderKL(**MINI_VAE), store, data)


def tiny_config(**changes) -> TrainConfig:
    tiny = {"hidden_size": 48, "depth": 1}
    return TrainConfig(
        **{"steps": 2, "micro_batch": 3, "transformer": {**TrainConfig().transformer, **tiny}, **changes}
    )


def _tiny_trainer(records, parts=None, **changes):
    parts = parts or tiny_parts(records)
    return Trainer(tiny_config(**changes), records, parts.store, parts.tokenizer, parts.text_encoder)


def test_objective_uses_the_pipelines_conventions(records):
    """An oracle that returns (x_t - x0) / sigma, with sigma = t / 1000, has zero loss: the trainer
    noises targets as x_t = (1 - sigma) x0 + sigma eps and regresses eps - x0, exactly what the
    sampler's Euler step integrates. Condition slots are clean and carry the timestep the pipeline
    gives them: the last of a schedule of ``condition_steps`` steps."""
    trainer = _tiny_trainer(records)
    batch = trainer.sample_batch("depth2image")
    seen = {}

    def oracle(samples, timesteps, **kwargs):
        seen["samples"], seen["t"] = samples, timesteps
        return (samples - batch.x0) / (timesteps[:, :, None, None, None] / 1000)

    trainer.model.forward = oracle
    assert trainer.loss(batch).item() < 1e-8
    assert torch.equal(seen["samples"][:, 1], batch.x0[:, 1])  # the condition, clean
    assert not torch.equal(seen["samples"][:, 0], batch.x0[:, 0])  # the target, noised
    assert torch.isin(seen["t"][:, 1], trainer.condition_t[1]).all()  # one target slot: row 1
    assert torch.all(seen["t"][:, 0] > 0) and torch.all(seen["t"][:, 0] < 1000)


def test_condition_timesteps_are_those_the_pipeline_gives():
    """Conditions must look in training as they do at inference, whatever the step count: a network
    trained on conditions below t = 50 reads the t = 52 of a 30-step schedule as noise and ignores
    the condition (the first Mini did: depth to image, novel views and camera estimation lost their
    inputs). The table is the pipeline's own schedule for the Mini's 32-px views."""
    from onediffusion import OneDiffusionPipeline
    from onediffusion.mini import MINI_MODEL
    from onediffusion.mini.training.trainer import MINI_TRANSFORMER, condition_timesteps

    pipe = OneDiffusionPipeline.from_pretrained(MINI_MODEL)
    table = condition_timesteps((8, 100), MINI_TRANSFORMER)
    for steps in (8, 30, 50, 100):
        for targets in (1, 3, 8):
            t_last = pipe.prepare_timesteps(steps, targets, 32, 32, "cpu")[-1]
            assert table[targets, steps - 8].item() == pytest.approx(float(t_last), rel=1e-6)
    assert 51 < table[1, 30 - 8] < 53  # Mini's 30 steps: above the 50 the first recipe stopped at
    with pytest.raises(ValueError, match="condition_steps"):
        condition_timesteps((0, 10), MINI_TRANSFORMER)


def test_camera_slots_hold_the_views_rays(records):
    trainer = _tiny_trainer(records)
    batch = trainer.sample_batch("camera_estimation")
    assert batch.targets[0].tolist()[:4] == [False, True, False, True]
    rays = batch.x0[:, 1::2]
    assert torch.allclose(rays[:, 0, :6], rays[:, 0, 6:12])  # tiled ray channels
    assert torch.allclose(rays[:, 0, 3:6], torch.zeros_like(rays[:, 0, 3:6]), atol=1e-5)  # camera 0: no moment


def test_camera_pure_trains_that_share_of_camera_targets_from_pure_noise(records):
    """--camera-pure: the sampler places a camera in its first steps, from pure noise, which LogNorm(0, 1) draws
    1.4% of the time; camera_pure = 1 puts every target camera slot at sigma = 1 and leaves the image slots'
    draws alone; 0 (the default) draws exactly as before, so runs without it are unchanged."""
    trainer = _tiny_trainer(records, camera_pure=1.0)
    batch = trainer.sample_batch("multiview")
    assert batch.cameras.tolist() == [False, True] * (batch.targets.shape[1] // 2)
    sigma = trainer.target_sigmas(batch)
    assert torch.all(sigma[:, batch.cameras] == 1.0)
    assert torch.all(sigma[:, ~batch.cameras] < 1.0)
    plain, pure = _tiny_trainer(records), _tiny_trainer(records, camera_pure=0.5)
    batch = plain.sample_batch("camera_estimation")
    assert torch.equal(pure.sample_batch("camera_estimation").x0, batch.x0)
    before = plain.gen.get_state()
    drawn = plain.target_sigmas(batch)
    assert torch.equal(
        drawn, torch.sigmoid(torch.randn(*batch.targets.shape, generator=torch.Generator().set_state(before)))
    )
    half = torch.cat([pure.target_sigmas(batch)[:, batch.cameras] for _ in range(40)])
    assert 0.35 < (half == 1.0).float().mean() < 0.65


def test_a_training_step_runs_and_updates_the_ema(records):
    trainer = _tiny_trainer(records)
    before = [p.clone() for p in trainer.ema.parameters()]
    losses = trainer.train_step()
    assert len(losses) == 2 and all(np.isfinite(v) for v in losses.values())
    assert any(not torch.equal(a, b) for a, b in zip(before, trainer.ema.parameters()))


def test_metrics_on_ground_truth_renders():
    """The evaluation's measurements read the world's own renders correctly."""
    hits = 0
    for seed in range(40):
        rng = np.random.default_rng(seed)
        scene = sample_scene(rng, 1)
        view = render(scene, sample_cameras(rng, 1)[0], 32)
        hits += dominant_color(view.rgb) == scene.objects[0].color
        labels = shuffled_labels(scene, rng)
        semantic = np.array([(0, 0, 0)] + [label.rgb for label in labels], np.uint8)[view.ids]
        assert iou(color_masks(semantic, [label.color for label in labels])[0], view.ids == 1) == 1.0
        assert all(label.color != obj.color for label, obj in zip(labels, scene.objects))
        truth = 1.0 / view.depth
        assert abs_rel(np.where(np.isfinite(view.depth), truth, 0.0), view.depth) < 1e-6
        assert abs_rel(np.zeros_like(truth), view.depth) > 0.05
    assert hits >= 38
    assert dominant_color(np.full((8, 8, 3), 160.0)) is None  # grey: no object
    assert psnr(np.zeros((4, 4)), np.full((4, 4), 25.5)) == pytest.approx(20.0)


def test_shipped_checkpoint_is_small_and_loads():
    from onediffusion import OneDiffusionPipeline
    from onediffusion.mini import MINI_MODEL

    if not (MINI_MODEL / "transformer").is_dir():
        pytest.skip("OneDiffusion-Mini is not trained yet")
    size = sum(f.stat().st_size for f in MINI_MODEL.rglob("*") if f.is_file())
    assert size < 50e6
    pipe = OneDiffusionPipeline.from_pretrained(MINI_MODEL)
    assert pipe.image_side == 32 and pipe.studio["negative_prompt"] == ""
    assert isinstance(
        build_task("camera_estimation", images=[np.zeros((32, 32, 3), np.uint8)] * 2).views[1], CameraSlot
    )


def test_validation_scenes_are_not_the_test_scenes():
    from onediffusion.mini.evaluate import GUIDANCE, Evaluator

    pipe = type("Pipe", (), {"image_side": 32})()
    test, validation = Evaluator(pipe), Evaluator(pipe, split="validation", guidance={"image2depth": 2.5})
    assert sample_scene(test.rng(7)) != sample_scene(validation.rng(7))
    assert validation.guidance == {**GUIDANCE, "image2depth": 2.5} and test.guidance == GUIDANCE
    with pytest.raises(ValueError, match="split"):
        Evaluator(pipe, split="train")


def test_the_swapped_camera_control_swaps_only_the_target_cameras():
    from onediffusion.mini.evaluate import Evaluator

    class Recorder:
        image_side = 32

        def __init__(self):
            self.calls = []

        def __call__(self, views, **kwargs):
            self.calls.append([slot.camera for slot in views if isinstance(slot, CameraSlot)])
            return type("Out", (), {"images": [np.zeros((32, 32, 3))] * 2})()

    pipe = Recorder()
    Evaluator(pipe, samples=1).image2multiview()
    Evaluator(pipe, samples=1).image2multiview(swap_cameras=True)
    (a, b, c), swapped = pipe.calls
    assert [cam.c2w.tolist() for cam in swapped] == [cam.c2w.tolist() for cam in (a, c, b)]


def test_guidance_overrides_name_known_tasks_with_numbers(capsys):
    from onediffusion.mini.evaluate import guidance_overrides, main

    assert guidance_overrides("camera_estimation=2,image2multiview=1.5") == {
        "camera_estimation": 2.0,
        "image2multiview": 1.5,
    }
    for bad in ("camera=2", "text2image", "text2image=high"):
        with pytest.raises(SystemExit):
            main(["--guidance", bad])
        assert "--guidance" in capsys.readouterr().err


def test_stop_at_ends_training_early_on_the_full_schedule(records):
    trainer = _tiny_trainer(records)
    trainer.config.steps, trainer.config.stop_at, lrs = 8, 3, []
    trainer.run(log=lambda m: None, checkpoint=lambda tr: lrs.append(tr.opt.param_groups[0]["lr"]), every=1)
    assert trainer.step == 3 and len(lrs) == 3
    assert lrs[-1] == pytest.approx(trainer.lr_at(2)) and trainer.lr_at(2) > trainer.lr_at(7)


def test_tasks_restricts_what_a_step_draws(records):
    trainer = _tiny_trainer(records)
    config = TrainConfig(**{**trainer.config.__dict__, "tasks": ("camera_estimation",), "micro_batches": 1})
    trainer = Trainer(config, records, trainer.store, trainer.tokenizer, trainer.text_encoder)
    assert all(list(trainer.train_step()) == ["camera_estimation"] for _ in range(2))
    for bad in ({"tasks": ("camera_estimation",)}, {"tasks": ("no_such_task", "text2image")}):
        with pytest.raises(ValueError, match="`tasks`"):
            Trainer(
                TrainConfig(**{**config.__dict__, "micro_batches": 2, **bad}),
                records,
                trainer.store,
                trainer.tokenizer,
                trainer.text_encoder,
            )


def test_context_targets_are_each_positions_neighbours():
    from onediffusion.mini.training.components import context_targets

    ids = torch.tensor([[5, 6, 7, 1, 0]])
    mask = torch.tensor([[1, 1, 1, 1, 0]])
    targets = context_targets(ids, mask, window=2)  # offsets -2, -1, +1, +2
    assert targets.shape == (1, 5, 4)
    assert targets[0, 0].tolist() == [-100, -100, 6, 7]
    assert targets[0, 2].tolist() == [5, 6, 1, -100]  # +2 is padding
    assert targets[0, 4].tolist() == [-100] * 4  # a padding position predicts nothing


def test_text_encoder_pretraining_teaches_each_token_its_context(records):
    """A short run on the records' prompts: the context loss falls well below its start, the
    encoder comes back frozen, and the same seed gives the same weights."""
    from onediffusion.mini.training.components import build_text_encoder, build_tokenizer, pretrain_text_encoder

    prompts = [TRAIN_TASKS[t](r, np.random.default_rng(0), 2).prompt for t in TRAIN_TASKS for r in records]
    tokenizer = build_tokenizer(Path(tempfile.mkdtemp()) / "tok", prompts, vocab_size=150)

    def run():
        encoder = build_text_encoder(len(tokenizer), 0)
        return pretrain_text_encoder(encoder, tokenizer, prompts, steps=60, seed=0, batch=16, log=lambda m: None)

    encoder, losses = run()
    assert np.mean(losses[-5:]) < 0.6 * np.mean(losses[:5])
    assert not encoder.training and not any(p.requires_grad for p in encoder.parameters())
    again, _ = run()
    assert all(torch.equal(a, b) for a, b in zip(encoder.parameters(), again.parameters()))


def test_the_upscaling_pair_comes_after_every_other_draw(records, monkeypatch):
    """A record's earlier images are what every stage before the upscale stage rendered: the pair's draws
    come last (a record made without them is the same but for the pair)."""
    from onediffusion.conditions import shrunk_and_enlarged
    from onediffusion.mini.training import data

    sharp, upscaled = records[2].images["sharp"], records[2].images["upscaled"]
    assert sharp.shape == upscaled.shape == (IMAGE_SIZE, IMAGE_SIZE, 3) and sharp.dtype == np.uint8
    assert not np.array_equal(sharp, upscaled)  # the enlarged window lost detail
    blank = np.zeros((IMAGE_SIZE, IMAGE_SIZE, 3), np.uint8)
    monkeypatch.setattr(data, "upscale_pair", lambda *args: (blank, blank))
    without = data.make_record(2)
    for kind in VIEW_KINDS + SCENE_KINDS:
        np.testing.assert_array_equal(without.images[kind], records[2].images[kind])
    small = shrunk_and_enlarged(records[2].images["rgb"][0], 2)  # the degradation keeps the size
    assert small.size == (IMAGE_SIZE, IMAGE_SIZE)


def test_later_tasks_are_drawn_only_where_a_stage_names_them(records):
    from onediffusion.mini.training.tasks import STAGES
    from onediffusion.mini.training.trainer import default_tasks, task_probabilities

    assert default_tasks(None) == list(TRAIN_TASKS) and "upscaling" not in default_tasks({"image2depth": 2.0})
    tasks = default_tasks(STAGES["upscale"])
    assert tasks == [*TRAIN_TASKS, "upscaling"]
    p = task_probabilities(tasks, TrainConfig(task_weights=STAGES["upscale"]))
    assert p[-1] == pytest.approx(6 / 22) and p[0] == pytest.approx(1 / 22)
    trainer = _tiny_trainer(records, tasks=("upscaling", "deblurring"))
    batch = trainer.sample_batch("upscaling")
    assert batch.x0.shape[1] == 2  # the restored window and the enlarged one


def test_the_seam_check_looks_where_windows_meet():
    from onediffusion.mini.evaluate import Evaluator

    pipe = type("Pipe", (), {"image_side": 32, "vae_scale_factor": 4})()
    evaluator = Evaluator(pipe)
    borders = evaluator.tile_borders(32, 2)  # a x2 upscale to 64 px in overlapping 32 px windows
    naive = evaluator.tile_borders(32, 2, overlap_px=0)  # two 32 px tiles side by side: one border, in the middle
    assert naive == [32]
    assert borders and all(0 < b < 64 and b % 4 == 0 for b in borders) and len(borders) > len(naive)
