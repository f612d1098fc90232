"""`python -m onediffusion.batch` on the tiny checkpoint: every input kind, resume, --overwrite, bad input,
exit codes, --batch-size, and two Accelerate processes against one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
import torch
from PIL import Image

from onediffusion.batch import MANIFEST, build_parser, groups, load_run, main, prepare, read_items
from onediffusion.grid import GRID_KEY
from onediffusion.metadata import read_png
from tests.helpers import free_port

ROOT = Path(__file__).resolve().parents[2]
FAST = ["--steps", "2", "--guidance", "2.0"]


def _photo(path: Path, seed: int, size: tuple[int, int] = (40, 32)) -> Path:
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path


def _manifest(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / MANIFEST).read_text().splitlines()]


def _pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image, dtype=np.int16)


def _run(tiny_model_dir, task: str | None, source: Path, out: Path, *extra: str) -> int:
    return main(
        [
            *([task] if task else []),
            "--input",
            str(source),
            "--output",
            str(out),
            "--model",
            str(tiny_model_dir),
            *FAST,
            *extra,
        ]
    )


@pytest.fixture
def prompts(tmp_path) -> Path:
    path = tmp_path / "prompts.txt"
    path.write_text("a red fox in the snow\n\n# a comment line\na blue bird\na green frog on a leaf\n")
    return path


def test_folder_of_images_for_an_image_task(tiny_model_dir, tmp_path, capsys):
    photos = tmp_path / "photos"
    photos.mkdir()
    _photo(photos / "kitchen.png", 0)
    _photo(photos / "garden.jpg", 1, (32, 48))
    (photos / "notes.txt").write_text("not an image: not an item")
    out = tmp_path / "depth"
    assert _run(tiny_model_dir, "image2depth", photos, out, "--size", "32x32") == 0
    lines = _manifest(out)
    assert [line["name"] for line in lines] == ["garden", "kitchen"]
    for index, line in enumerate(lines):
        assert line["status"] == "done" and line["outputs"] == [f"{line['name']}.png"]
        assert line["seed"] == index and line["task"] == "image2depth" and line["model"] == str(tiny_model_dir)
        assert (line["steps"], line["guidance"], line["width"], line["height"]) == (2, 2.0, 32, 32)
        assert line["prompt"].startswith("[[depth2image]]")
        settings = read_png(out / line["outputs"][0]).settings
        assert settings is not None and settings.as_dict() == {k: line[k] for k in settings.as_dict()}
    assert "2 items: 2 done, 0 skipped (outputs exist), 0 failed." in capsys.readouterr().err


def test_prompts_file_resumes_and_keeps_what_exists(tiny_model_dir, prompts, tmp_path):
    out = tmp_path / "out"
    assert _run(tiny_model_dir, "text2image", prompts, out, "--size", "32x32", "--seed", "100") == 0
    names = ["0001-a-red-fox-in-the-snow.png", "0004-a-blue-bird.png", "0005-a-green-frog-on-a-leaf.png"]
    assert sorted(p.name for p in out.glob("*.png")) == sorted(names)
    assert [line["seed"] for line in _manifest(out)] == [100, 101, 102]
    first = {name: (out / name).read_bytes() for name in names}
    (out / names[1]).unlink()  # as if the run had been interrupted
    (out / names[2]).write_bytes(b"edited by hand")
    assert _run(tiny_model_dir, "text2image", prompts, out, "--size", "32x32", "--seed", "100") == 0
    assert [line["status"] for line in _manifest(out)] == ["skipped", "done", "skipped"]
    assert (out / names[1]).read_bytes() == first[names[1]]  # the same seed, the same image
    assert (out / names[2]).read_bytes() == b"edited by hand"  # never overwritten without --overwrite
    assert _run(tiny_model_dir, "text2image", prompts, out, "--size", "32x32", "--seed", "100", "--overwrite") == 0
    assert [line["status"] for line in _manifest(out)] == ["done"] * 3
    assert {name: (out / name).read_bytes() for name in names} == first
    assert not list(out.glob(".*"))  # no part files left behind


def _jsonl(path: Path, lines: list) -> Path:
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n")
    return path


def test_jsonl_with_mixed_tasks_and_bad_items(tiny_model_dir, tmp_path, capsys):
    _photo(tmp_path / "photo.png", 2, (32, 32))
    _photo(tmp_path / "small_mask.png", 3, (16, 16))
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not an image")
    specs = _jsonl(
        tmp_path / "specs.jsonl",
        [
            {"task": "text2image", "prompt": "a lighthouse", "seed": 7, "size": [48, 32], "name": "lighthouse"},
            {"task": "semanticmap2image", "prompt": "a street", "images": ["photo.png"], "labels": "car:red, tree"},
            {"task": "text2multiview", "prompt": "a chair", "cameras": [[0, 0], [90, 10, 2.0]], "size": "32x32"},
            {
                "task": "image2multiview",
                "images": ["photo.png"],
                "cameras": [{"azimuth": 0, "elevation": 0}, {"azimuth": 180, "elevation": 0}],
            },
            "{not json",
            {"task": "image2sketch", "prompt": "x"},
            {"task": "text2image", "prompt": "word " * 400},
            {"task": "image2depth", "images": ["broken.png"]},
            {"task": "inpainting", "images": ["photo.png", "small_mask.png"]},
        ],
    )
    out = tmp_path / "out"
    assert _run(tiny_model_dir, None, specs, out, "--size", "32x32") == 0
    lines = {line["index"]: line for line in _manifest(out)}
    assert [lines[i]["status"] for i in range(9)] == ["done"] * 4 + ["failed"] * 5
    assert lines[0]["outputs"] == ["lighthouse.png"] and lines[0]["seed"] == 7
    assert (lines[0]["width"], lines[0]["height"]) == (48, 32) and Image.open(out / "lighthouse.png").size == (48, 32)
    assert "<#FF0000 red mask: car>" in lines[1]["prompt"] and "<#00FF00 lime mask: tree>" in lines[1]["prompt"]
    assert lines[2]["outputs"] == ["0003-text2multiview_view01.png", "0003-text2multiview_view02.png"]
    assert lines[3]["outputs"] == ["0004-image2multiview_view01.png"]  # view 1 is the given photo
    assert all((out / name).exists() for i in range(4) for name in lines[i]["outputs"])
    assert "not JSON" in lines[4]["error"] and "unknown task 'image2sketch'" in lines[5]["error"]
    assert "tokens long; the model reads at most 300" in lines[6]["error"]
    assert "cannot read the image" in lines[7]["error"] and "broken.png" in lines[7]["error"]
    assert "must have one size" in lines[8]["error"] and "small_mask.png is 16x16" in lines[8]["error"]
    assert len(list(out.glob("*.png"))) == 5
    assert "9 items: 4 done, 0 skipped (outputs exist), 5 failed" in capsys.readouterr().err


def test_camera_estimation_writes_cameras(tiny_model_dir, tmp_path):
    photos = [str(_photo(tmp_path / f"view{i}.png", i, (32, 32))) for i in range(2)]
    specs = _jsonl(tmp_path / "cams.jsonl", [{"task": "camera_estimation", "images": photos, "name": "object"}])
    out = tmp_path / "out"
    assert _run(tiny_model_dir, None, specs, out) == 0
    data = json.loads((out / "object_cameras.json").read_text())
    assert len(data["cameras"]) == 2 and np.asarray(data["cameras"][0]["c2w"]).shape == (4, 4)
    assert data["task"] == "camera_estimation" and data["seed"] == 0


def test_exit_codes(tiny_model_dir, tmp_path, prompts):
    _photo(tmp_path / "photo.png", 4)
    bad = _jsonl(
        tmp_path / "bad.jsonl",
        [
            "[1, 2]",
            {"task": "text2image", "prompt": "x", "seed": "one"},
            {"task": "editing", "images": ["photo.png"]},
            {"prompt": "no task"},
        ],
    )
    assert _run(tiny_model_dir, None, bad, tmp_path / "bad") == 1  # every item failed
    lines = _manifest(tmp_path / "bad")
    assert [line["status"] for line in lines] == ["failed"] * 4
    assert "must be a JSON object" in lines[0]["error"] and "`seed` must be a whole number" in lines[1]["error"]
    assert "task editing missing 1 required positional argument: 'instruction'" in lines[2]["error"]
    assert "no task" in lines[3]["error"]
    for args in (["text2image", "--mask", "m.png"], [], ["text2image", "--size", "33x32"]):  # usage errors
        with pytest.raises(SystemExit) as exit_info:
            main([*args, "--input", str(prompts), "--output", str(tmp_path / "x")])
        assert exit_info.value.code == 2
    empty = tmp_path / "empty.txt"
    empty.write_text("\n# nothing\n")
    with pytest.raises(SystemExit) as exit_info:
        _run(tiny_model_dir, "text2image", empty, tmp_path / "y")
    assert exit_info.value.code == 2


def test_batch_size_gives_the_same_images(tiny_model_dir, tmp_path):
    path = _jsonl(
        tmp_path / "four.jsonl",
        [{"task": "text2image", "prompt": p} for p in ("a fox", "a long red bus on a bridge", "snow", "a cat")],
    )
    one, four = tmp_path / "one", tmp_path / "four"
    assert _run(tiny_model_dir, None, path, one, "--size", "32x32") == 0
    assert _run(tiny_model_dir, None, path, four, "--size", "32x32", "--batch-size", "4") == 0
    names = sorted(p.name for p in one.glob("*.png"))
    assert len(names) == 4 and names == sorted(p.name for p in four.glob("*.png"))
    for name in names:  # the same up to float rounding: at most one level of 255 apart
        assert np.abs(_pixels(one / name) - _pixels(four / name)).max() <= 1
    assert np.abs(_pixels(one / names[0]) - _pixels(one / names[1])).max() > 10  # each item its own seed


def test_only_items_of_one_shape_without_condition_images_share_a_call(tiny_model_dir, tmp_path):
    _photo(tmp_path / "photo.png", 5)
    path = _jsonl(
        tmp_path / "mixed.jsonl",
        [
            {"task": "text2image", "prompt": "a"},
            {"task": "image2depth", "images": ["photo.png"]},
            {"task": "text2image", "prompt": "b", "size": "48x32"},
            {"task": "text2image", "prompt": "c", "seed": 9},
            {"task": "image2depth", "images": ["photo.png"]},
            {"task": "text2image", "prompt": "d", "steps": 3},
        ],
    )
    args = build_parser().parse_args(["--input", str(path), "--output", str(tmp_path), "--model", str(tiny_model_dir)])
    run = load_run(args, "cpu")
    jobs = [prepare(item, run) for item in read_items(path, None, {}, 0)]
    assert [[job.item.index for job in group] for group in groups(jobs, 4)] == [[0, 3], [1], [2], [4], [5]]
    assert [[job.item.index for job in group] for group in groups(jobs, 1)] == [[0], [3], [1], [2], [4], [5]]


@pytest.mark.slow
def test_two_accelerate_processes_match_one(tiny_model_dir, tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(3):
        _photo(photos / f"photo{i}.png", 10 + i)
    # Every launch setting on the command line and HF_HOME empty: no accelerate config file is read. In
    # accelerate 1.15 `--cpu` starts one process (several need mpirun); --multi_gpu starts them with
    # torchrun, and ACCELERATE_USE_CPU makes them share the items over gloo on the CPU.
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": str(ROOT),
        "ACCELERATE_USE_CPU": "1",
        "HF_HOME": str(tmp_path / "hf"),
        "CUDA_VISIBLE_DEVICES": "",
    }
    batch = [
        "-m",
        "onediffusion.batch",
        "image2canny",
        "--input",
        str(photos),
        "--model",
        str(tiny_model_dir),
        "--size",
        "32x32",
        *FAST,
    ]
    launch = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--multi_gpu",
        "--num_processes",
        "2",
        "--num_machines",
        "1",
        "--mixed_precision",
        "no",
        "--dynamo_backend",
        "no",
        "--num_cpu_threads_per_process",
        "1",
        "--main_process_port",
        str(free_port()),
    ]
    one, two = tmp_path / "one", tmp_path / "two"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as each launched process runs
    try:
        assert main([*batch[2:], "--output", str(one)]) == 0
    finally:
        torch.set_num_threads(threads)
    double = subprocess.run(
        [*launch, *batch, "--output", str(two)], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert double.returncode == 0, double.stderr[-2000:]
    assert "process 1" in double.stderr  # both processes ran items
    files = sorted(p.name for p in one.iterdir())
    assert files == ["manifest.jsonl", "photo0.png", "photo1.png", "photo2.png"]
    assert files == sorted(p.name for p in two.iterdir())
    for name in files:
        assert (one / name).read_bytes() == (two / name).read_bytes(), name


def test_a_model_that_cannot_be_had_falls_back_to_the_demo_model(tmp_path, capsys):
    from onediffusion.serving import demo_checkpoint

    prompts = tmp_path / "one.txt"
    prompts.write_text("a red cube on a table\n")
    out = tmp_path / "out"
    code = main(
        [
            "text2image",
            "--input",
            str(prompts),
            "--output",
            str(out),
            "--model",
            str(tmp_path / "missing"),
            "--steps",
            "2",
            "--size",
            "32x32",
        ]
    )
    assert code == 0
    (line,) = _manifest(out)
    assert line["status"] == "done" and line["model"] == str(demo_checkpoint()[0])
    assert f"Could not load {tmp_path / 'missing'}" in capsys.readouterr().err


def test_upscaling_makes_each_photo_larger_window_by_window(tiny_model_dir, tmp_path):
    source = tmp_path / "in"
    source.mkdir()
    _photo(source / "small.png", 1, (48, 32))
    out = tmp_path / "out"
    assert _run(tiny_model_dir, "upscaling", source, out, "--factor", "4", "--tile", "64", "--overlap", "16") == 0
    (line,) = _manifest(out)
    assert line["status"] == "done" and (line["width"], line["height"]) == (192, 128)
    result = read_png(out / "small.png")
    assert Image.open(out / "small.png").size == (192, 128) and result.settings.prompt == "[[deblurring]]"


def test_an_orbit_per_photo(tiny_model_dir, tmp_path):
    source = tmp_path / "in"
    source.mkdir()
    _photo(source / "toy.png", 2, (64, 64))
    out = tmp_path / "out"
    assert _run(tiny_model_dir, "orbit", source, out, "--views", "5", "--fps", "10", "--caption", "toys") == 0
    (line,) = _manifest(out)
    folder = out / "toy_orbit"
    assert line["status"] == "done" and line["outputs"] == ["toy_orbit/video.mp4"]
    assert imageio_ffmpeg.count_frames_and_secs(str(folder / "video.mp4"))[0] == 5
    assert len(json.loads((folder / "transforms.json").read_text())["frames"]) == 5


def test_each_prompt_as_a_compare_grid(tiny_model_dir, prompts, tmp_path):
    out = tmp_path / "grids"
    grid = ["--x-axis", "seed", "--x-values", "1-3 (+1)", "--y-axis", "guidance", "--y-values", "1, 4"]
    assert _run(tiny_model_dir, "text2image", prompts, out, "--size", "64x48", *grid) == 0
    lines = _manifest(out)
    assert [line["status"] for line in lines] == ["done"] * 3 and lines[0]["outputs"] == [
        lines[0]["name"] + "_grid.png"
    ]
    path = out / lines[0]["outputs"][0]
    record = json.loads(Image.open(path).text[GRID_KEY])
    assert (record["done"], record["total"]) == (6, 6)
    assert [c["values"] for c in record["cells"][:2]] == [["seed 1", "guidance 1"], ["seed 2", "guidance 1"]]
    assert read_png(path).settings.seed == 1  # the first cell's settings, as every result carries
    cells = sorted((out / f"{lines[0]['name']}_grid").iterdir())
    assert len(cells) == 6 and Image.open(cells[-1]).size == (64, 48)
    last = read_png(cells[-1]).settings
    assert (last.seed, last.guidance) == (3, 4.0)
    # Each cell is the run the same settings make alone.
    alone = tmp_path / "alone"
    assert _run(tiny_model_dir, "text2image", prompts, alone, "--size", "64x48", "--seed", "3", "--guidance", "4") == 0
    first = _manifest(alone)[0]
    assert np.array_equal(_pixels(cells[-1]), _pixels(alone / first["outputs"][0]))


def test_grid_usage_errors_and_tasks_that_cannot_grid(tiny_model_dir, prompts, tmp_path, capsys):
    for extra, words in (
        (["--x-axis", "seed", "--x-values", "1-4 (-1)"], "step must be +"),
        (["--x-axis", "seed", "--x-values", "1-100"], "cells is more than the 64"),
        (["--y-axis", "seed", "--y-values", "1, 2"], "a grid starts with --x-axis"),
        (["--x-axis", "steps", "--x-values", ""], "has no values"),
    ):
        with pytest.raises(SystemExit) as exit_info:
            _run(tiny_model_dir, "text2image", prompts, tmp_path / "x", *extra)
        assert exit_info.value.code == 2 and words in capsys.readouterr().err
    with pytest.raises(SystemExit):
        _run(tiny_model_dir, "upscaling", prompts, tmp_path / "x", "--x-axis", "seed", "--x-values", "1, 2")
    assert "cannot run as a grid" in capsys.readouterr().err
    swap = ["--x-axis", "prompt", "--x-values", "bird, cat"]  # only one of the prompts holds "bird"
    assert _run(tiny_model_dir, "text2image", prompts, tmp_path / "swap", "--size", "64x48", *swap) == 0
    lines = _manifest(tmp_path / "swap")
    assert [line["status"] for line in lines] == ["failed", "done", "failed"]
    assert "does not contain" in lines[0]["error"]
