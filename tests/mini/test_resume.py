"""Resumable training: N steps in one go equal N/2, a stop, a resume and N/2 more, bit for bit; the command
saves on SIGTERM and on its wall-clock budget and continues with --resume; a next stage starts from a
finished state's weights and draws its tasks with the new weights."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from onediffusion.mini.training.__main__ import main, parse_args, start_run, train
from onediffusion.mini.training.state import (
    StopRequest,
    find_state,
    load_parts,
    load_trainer_state,
    read_info,
    restore,
    save_state,
)
from onediffusion.mini.training.tasks import STAGES, TRAIN_TASKS
from onediffusion.mini.training.trainer import Trainer
from tests.mini.test_training import _tiny_trainer, tiny_config, tiny_parts

TINY_RUN = ["--scenes", "6", "--vae-steps", "2", "--text-steps", "2", "--steps", "1000", "--micro-batch", "2"]


def _same_state(a: Trainer, b: Trainer) -> bool:
    pairs = [*zip(a.model.state_dict().values(), b.model.state_dict().values())]
    pairs += [*zip(a.ema.state_dict().values(), b.ema.state_dict().values())]
    pairs += [(s[k], t[k]) for s, t in zip(a.opt.state.values(), b.opt.state.values()) for k in s]
    return a.step == b.step and all(torch.equal(x, y) for x, y in pairs)


def test_n_steps_equal_half_a_stop_and_a_resume(records, tmp_path):
    """4 steps in one go against 2 steps, a stop (the saved state and nothing else kept), a new process's
    worth of objects loaded from the folder, and 2 more: the same weights, EMA and optimiser, exactly."""
    parts = tiny_parts(records)
    whole = _tiny_trainer(records, parts, steps=4)
    whole.run(log=lambda m: None)

    half = _tiny_trainer(records, parts, steps=4)
    assert half.run(log=lambda m: None, stop=lambda: "a test" if half.step == 2 else None) == "a test"
    folder = save_state(tmp_path / "state", half, parts, {"out": "x", "meta": {}})
    assert folder.name == "step-000002" and not read_info(folder)["finished"]
    torch.manual_seed(123), np.random.seed(123)  # a new process's generators: restore must set them back

    loaded = load_parts(find_state(tmp_path / "state"), tmp_path / "tokenizer")
    assert torch.equal(loaded.store.view["rgb"], parts.store.view["rgb"])
    resumed = Trainer(tiny_config(steps=4), loaded.records, loaded.store, loaded.tokenizer, loaded.text_encoder)
    restore(resumed, load_trainer_state(folder))
    lines = []
    assert resumed.run(log=lines.append, log_every=1) is None
    assert [line.split()[1] for line in lines] == ["3/4", "4/4"]  # the log continues the step count
    assert _same_state(whole, resumed)


def test_saving_again_replaces_the_folder_and_keeps_one(records, tmp_path):
    parts = tiny_parts(records)
    trainer = _tiny_trainer(records, parts, steps=2)
    first = save_state(tmp_path, trainer, parts, {"meta": {"n": 1}})
    trainer.train_step()
    second = save_state(tmp_path, trainer, parts, {"meta": {"n": 2}})
    again = save_state(tmp_path, trainer, parts, {"meta": {"n": 3}})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step-000001"] and not first.exists()
    assert second == again and read_info(again)["run"]["meta"]["n"] == 3
    assert os.stat(again / "store.pt").st_nlink == 1  # the linked-from folders are gone


def test_a_stop_request_answers_signals_and_the_deadline():
    with StopRequest() as stop:
        assert stop() is None
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop() == "SIGTERM"
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    assert StopRequest(deadline=time.time() - 1)() == "the --max-minutes budget"
    assert StopRequest(deadline=time.time() + 60)() is None


def test_task_weights_shape_the_draws(records):
    """A preset's weights, one task switched off: over 400 steps each task is drawn as often as sampling two
    without replacement, each in proportion to its weight among those left, says (within 4.5 sigma)."""
    weights = {**STAGES["views"], "editing": 0.0}
    trainer = _tiny_trainer(records, task_weights=weights)
    draws = 400
    counts = {task: 0 for task in trainer.tasks}
    for _ in range(draws):
        for task in trainer.draw_tasks():
            counts[task] += 1
    p = np.array([weights.get(t, 1.0) for t in trainer.tasks]) / sum(weights.get(t, 1.0) for t in trainer.tasks)
    expected = p + p * (np.sum(p / (1 - p)) - p / (1 - p))  # first draw, or second after another task
    observed = np.array([counts[t] for t in trainer.tasks]) / draws
    assert np.all(np.abs(observed - expected) <= 4.5 * np.sqrt(expected * (1 - expected) / draws) + 1e-9)
    assert counts["editing"] == 0 and counts["camera_estimation"] > 2 * counts["text2image"]


def test_without_weights_the_draws_are_the_recipes(records):
    """No weights: the same uniform draws as before weights existed, so the shipped recipe trains as it did."""
    trainer = _tiny_trainer(records)
    reference = np.random.default_rng(trainer.config.seed)
    for _ in range(20):
        assert trainer.draw_tasks() == [str(t) for t in reference.choice(trainer.tasks, size=2, replace=False)]
    for bad in ({"editing": -1.0}, {"no_such_task": 1.0}, {t: 0.0 for t in list(TRAIN_TASKS)[1:]}):
        with pytest.raises(ValueError, match="`task_weights`"):
            _tiny_trainer(records, task_weights=bad)


def test_flags_that_would_change_a_resumed_run_are_refused(capsys):
    for argv, message in [
        (["--resume", "x", "--scenes", "10"], "--scenes cannot be given"),
        (["--resume", "x", "--init-from", "y"], "give one of them"),
        (["--init-from", "x", "--vae-steps", "5"], "--vae-steps cannot be given"),
        (["--task-weights", "editing=much"], "must be a number"),
        (["--task-weights", "camera=2"], "expected task=weight"),
        (["--save-every", "-1"], ">= 0"),
        (["--camera-pure", "1.5"], "a share of the camera slots, 0 to 1"),
    ]:
        with pytest.raises(SystemExit):
            parse_args(argv)
        assert message in capsys.readouterr().err
    args = parse_args(["--stage", "views", "--task-weights", "editing=0"])
    assert args.weights == {**STAGES["views"], "editing": 0.0} and parse_args([]).weights is None
    assert parse_args(["--camera-pure", "0.5"]).camera_pure == 0.5 and parse_args([]).camera_pure == 0.0


@pytest.fixture(scope="module")
def stopped_run(tmp_path_factory):
    """The command killed with SIGTERM once it trains the transformer: (folder, its output, exit status)."""
    folder = tmp_path_factory.mktemp("cli")
    command = [sys.executable, "-m", "onediffusion.mini.training", "--out", str(folder / "run"), *TINY_RUN]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"}
    )
    output = []
    for line in process.stdout:
        output.append(line)
        if "transformer from step 0" in line:
            process.send_signal(signal.SIGTERM)
    return folder, "".join(output), process.wait(timeout=300)


def test_sigterm_saves_the_state_and_resume_continues(stopped_run, capsys):
    folder, output, status = stopped_run
    assert status == 75, output
    state = find_state(folder / "run.state")
    info = read_info(state)
    assert not info["finished"] and "SIGTERM" in output and (folder / "run.partial" / "transformer").is_dir()
    assert not (folder / "run").exists()  # the checkpoint is published only at the end
    step = info["step"]

    assert main(["--resume", str(folder / "run.state"), "--max-minutes", "0"]) == 75  # the budget: no step
    assert "stopped at step" in capsys.readouterr().out and read_info(find_state(folder / "run.state"))["step"] == step
    assert main(["--resume", str(folder / "run.state"), "--stop-at", str(step + 2)]) == 0
    log = capsys.readouterr().out
    assert f"resumed {state} at step {step}" in log and f"step {step + 2}/1000" in log
    studio = (folder / "run" / "studio.json").read_text()
    assert f'"trained_steps": {step + 2}' in studio and '"resumed"' in studio
    assert read_info(find_state(folder / "run.state"))["finished"]


def test_a_stage_starts_from_a_finished_state_with_new_weights(stopped_run):
    folder = stopped_run[0]
    if not read_info(find_state(folder / "run.state"))["finished"]:
        pytest.skip("needs the finished run of test_sigterm_saves_the_state_and_resume_continues")
    source = find_state(folder / "run.state")
    argv = ["--init-from", str(folder / "run.state"), "--stage", "views", "--steps", "1"]
    argv += ["--micro-batch", "2", "--out", str(folder / "stage2")]
    run = start_run(parse_args(argv), argv, log=lambda m: None)
    previous = load_trainer_state(source)
    assert all(torch.equal(v, previous["model"][k]) for k, v in run.trainer.model.state_dict().items())
    assert all(torch.equal(v, previous["ema"][k]) for k, v in run.trainer.ema.state_dict().items())
    assert run.trainer.step == 0 and not run.trainer.opt.state  # a new schedule and optimiser
    assert run.trainer.config.task_weights == STAGES["views"]
    assert train(run, parse_args(argv), time.time(), log=lambda m: None) == 0
    studio = (folder / "stage2" / "studio.json").read_text()
    assert '"previous_stages"' in studio and f'"image2multiview": {STAGES["views"]["image2multiview"]}' in studio
    assert (
        Path(folder / "stage2" / "tokenizer" / "spiece.model").read_bytes()
        == (source / "tokenizer" / "spiece.model").read_bytes()
    )
