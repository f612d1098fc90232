"""The service layer on the tiny checkpoint, without a browser: every endpoint's outputs, seeds,
sizes, assembled prompts, progress, cancelling, plain-words errors and the model fallback."""

from __future__ import annotations

import threading
import time
import zipfile
from pathlib import Path
from types import SimpleNamespace

import gradio as gr
import numpy as np
import pytest
import trimesh
from PIL import Image

from onediffusion.conditions import blur, canny_edges
from onediffusion.prompts import scaled_size
from ui.service import CONTROL_CONDITIONS, UNDERSTANDING_TARGETS, plain_words

RUN = {"steps": 2, "guidance": 4.0, "seed": 11, "randomize_seed": False}


@pytest.fixture(scope="module")
def photo(examples) -> Image.Image:
    return Image.open(examples / "scene_az000.png").convert("RGB").resize((96, 64))  # 3:2, not square


def pixels(item) -> np.ndarray:
    image = item[0] if isinstance(item, tuple) else item
    return np.asarray(image)


# Text to image ----------------------------------------------------------------------------------


def test_text_to_image_gives_the_asked_size_count_and_prompt(studio):
    gallery, seed, prompt = studio.text_to_image("a red cube", "", size="64x32", num_images=2, **RUN)
    assert [image.size for image, _ in gallery] == [(64, 32), (64, 32)]
    assert seed == 11 and [caption for _, caption in gallery] == ["image 1 · seed 11", "image 2 · seed 11"]
    assert prompt == "[[text2image]] a red cube"
    assert not np.array_equal(pixels(gallery[0]), pixels(gallery[1]))  # a batch, not copies


def test_the_returned_seed_reproduces_the_image(studio):
    first, seed, _ = studio.text_to_image("a blue sphere", "", "64x64", 2, 4.0, 0, True, 1)
    again, same_seed, _ = studio.text_to_image("a blue sphere", "", "64x64", 2, 4.0, seed, False, 1)
    other, _, _ = studio.text_to_image("a blue sphere", "", "64x64", 2, 4.0, seed + 1, False, 1)
    assert same_seed == seed
    assert np.array_equal(pixels(first[0]), pixels(again[0]))
    assert not np.array_equal(pixels(first[0]), pixels(other[0]))


def test_random_seeds_differ_and_default_size_is_native(studio):
    seeds = {studio.text_to_image("a cube", "", "auto", 1, 4.0, 0, True, 1)[1] for _ in range(3)}
    assert len(seeds) == 3
    gallery, _, _ = studio.text_to_image("a cube", "", "auto", 1, 4.0, 0, True, 1)
    assert gallery[0][0].size == (studio.native_side, studio.native_side) == (64, 64)
    assert studio.default_size() == "64x64" and studio.size_choices(auto=True)[0][1] == "auto"


def test_prompt_previews_match_what_runs(studio):
    assert studio.text_to_image_prompt("a cat") == "[[text2image]] a cat"
    labels = [["sky", "blue"], ["tree", ""]]
    assert studio.control_prompt("semanticmap", "a park", labels) == (
        "[[semanticmap2image]] <#0000FF blue mask: sky> <#FF0000 red mask: tree> a park"
    )
    assert studio.control_prompt("editing", "").startswith("⚠️ Write the instruction first")
    assert (
        studio.understand_prompt("boundingbox", [["head", "cyan"]])
        == "[[boundingbox2image]] <#00FFFF cyan boundingbox: head>"
    )
    assert studio.multiview_prompt("a toy") == "[[multiview]] a toy"


# Control ----------------------------------------------------------------------------------------


def _control_inputs(condition: str, photo: Image.Image) -> dict:
    if condition == "inpainting":
        mask = Image.new("RGBA", photo.size, (0, 0, 0, 0))
        mask.paste((255, 255, 255, 255), (10, 10, 40, 40))
        return {"condition_image": None, "inpainting": {"background": photo, "layers": [mask]}}
    labels = [["cube", "red"]] if condition in ("semanticmap", "boundingbox") else None
    return {
        "condition_image": photo,
        "labels": labels,
        "caption": "make it green" if condition == "editing" else "toys",
    }


@pytest.mark.parametrize("condition", list(CONTROL_CONDITIONS))
def test_control_runs_every_condition_beside_its_condition(studio, photo, condition):
    shown, gallery, seed, prompt = studio.control(condition, **_control_inputs(condition, photo), size="auto", **RUN)
    expected = scaled_size(photo.height, photo.width, studio.native_side)  # from the condition's aspect ratio
    assert shown.size == gallery[0][0].size == (expected[1], expected[0])
    assert seed == 11 and gallery[0][1] == "generated 1 · seed 11"
    token = {"inpainting": "image_inpainting", "editing": "image_editing", "hed": "hed2img"}.get(condition)
    assert prompt.startswith(f"[[{token or condition + ('' if condition == 'deblurring' else '2image')}]]")
    if condition == "inpainting":  # the model sees the masked region grey
        assert tuple(np.asarray(shown)[shown.height // 3, shown.width // 4]) == (128, 128, 128)


def test_make_condition_computes_canny_and_blur_here_and_the_rest_with_the_model(studio, photo):
    assert np.array_equal(np.asarray(studio.make_condition("canny", photo)), np.asarray(canny_edges(photo)))
    assert np.array_equal(np.asarray(studio.make_condition("deblurring", photo)), np.asarray(blur(photo)))
    assert studio.make_condition("editing", photo).size == photo.size
    depth = studio.make_condition("depth", photo, None, 2, 3)
    assert depth.size == (80, 48)  # the model's output at the native scale of the photo's aspect ratio
    again = studio.make_condition("depth", photo, None, 2, 3)
    assert np.array_equal(np.asarray(depth), np.asarray(again))  # fixed seed: same condition


def test_control_errors_are_plain_words(studio, photo):
    with pytest.raises(gr.Error, match="Add a condition image first"):
        studio.control("depth", None, **RUN)
    with pytest.raises(gr.Error, match="Write the instruction first"):
        studio.control("editing", photo, caption=" ", **RUN)
    with pytest.raises(gr.Error, match="Paint over the region"):
        studio.control("inpainting", None, {"background": photo, "layers": []}, **RUN)
    with pytest.raises(gr.Error, match="Colour 'sky' is not one the model knows"):
        studio.control("semanticmap", photo, labels=[["cloud", "sky"]], **RUN)


# Understanding ----------------------------------------------------------------------------------


def test_understand_depth_gives_colour_16_bit_and_a_mesh(studio, photo):
    shown, raw, mesh, files, regions, seed, prompt = studio.understand(photo, "depth", None, "", **RUN)
    assert shown.size == raw.size == (80, 48) and regions == [] and prompt == "[[depth2image]]"
    names = sorted(Path(f).name for f in files)
    assert names == ["depth_16bit.png", "depth_colour.png", "depth_mesh.glb"]
    png16 = np.asarray(Image.open(next(f for f in files if f.endswith("16bit.png"))))
    assert png16.dtype == np.uint16 and png16.shape == (48, 80)
    assert len(trimesh.load(mesh, force="mesh").vertices) == 48 * 80


@pytest.mark.parametrize("target", [t for t in UNDERSTANDING_TARGETS if t != "depth"])
def test_understand_overlays_maps_on_the_photo(studio, photo, target):
    labels = [["cube", "red"], ["sphere", "blue"]]
    shown, raw, mesh, files, regions, _, prompt = studio.understand(photo, target, labels, "", **RUN)
    assert shown.size == raw.size and mesh is None and len(files) == 2
    assert not np.array_equal(np.asarray(shown), np.asarray(raw))  # the photo shows through
    if target in ("semanticmap", "boundingbox"):
        assert [r["class"] for r in regions] == ["cube", "sphere"] and "<#FF0000 red" in prompt
    else:
        assert regions == []


def test_understand_segmentation_needs_classes(studio, photo):
    with pytest.raises(gr.Error, match="Name at least one class"):
        studio.understand(photo, "semanticmap", [["", ""]], "", **RUN)


# Identity ---------------------------------------------------------------------------------------


def test_identity_assembles_img_markers_for_the_references_given(studio, photo):
    gallery, _, prompt = studio.identity("identity", photo, "a man", None, "", photo, "a man smiling", None, "",
                                         "a man on a beach", "", "", "64x64", **RUN, num_images=2)  # fmt: skip
    assert prompt == "[[faceid]] [[img0]] a man on a beach [[img1]] a man [[img2]] a man smiling"
    assert len(gallery) == 2 and gallery[0][0].size == (64, 64)
    preview = studio.identity_prompt("identity", photo, "a man", None, "", photo, "a man smiling", None, "",
                                     "a man on a beach", "")  # fmt: skip
    assert preview == prompt


def test_subject_driven_uses_one_photo_and_its_name(studio, photo):
    _, _, prompt = studio.identity("subject_driven", photo, "a toy robot", target_caption="the robot at sea",
                                   subject_name="robot", size="64x64", **RUN)  # fmt: skip
    assert prompt == "[[subject_driven]] <item: robot> [[img0]] the robot at sea [[img1]] a toy robot"
    with pytest.raises(gr.Error, match="exactly one reference photo"):
        studio.identity("subject_driven", photo, "", photo, "", target_caption="x", subject_name="robot", **RUN)
    with pytest.raises(gr.Error, match="Subject name"):
        studio.identity("subject_driven", photo, "", target_caption="x", subject_name=" ", **RUN)
    with pytest.raises(gr.Error, match="Add at least one reference photo"):
        studio.identity("identity", None, "", target_caption="x", **RUN)


# Multiview and cameras --------------------------------------------------------------------------


def test_multiview_from_a_photo_returns_views_gif_zip_and_figure(studio, photo):
    rows = [[0, 0, 1.7], [90, 0, 1.7], [180, 10, 1.7]]
    gallery, gif, archive, figure, seed, prompt = studio.multiview(photo, "toys", rows, "", "auto", **RUN)
    assert [image.size for image, _ in gallery] == [(64, 64)] * 3  # square at the native side
    assert gallery[0][1].endswith("your photo (condition)") and gallery[2][1].startswith(
        "view 3 · azimuth 180°, elevation 10°"
    )
    assert Image.open(gif).n_frames == 3 and prompt == "[[multiview]] toys"
    with zipfile.ZipFile(archive) as z:
        assert sorted(z.namelist()) == ["run.json", "view_01.png", "view_02.png", "view_03.png"]
    roles = [t.name for t in figure.data if t.type == "scatter3d" and t.legendgroup and t.showlegend]
    assert roles == ["given (condition)", "to generate (target)"]


def test_multiview_from_text_generates_every_view(studio):
    gallery, *_ = studio.multiview(None, "a red cube", [[0, 0, 1.7], [120, 0, 1.7]], "", "64x64", **RUN)
    assert len(gallery) == 2 and all(caption.endswith("generated") for _, caption in gallery)
    with pytest.raises(gr.Error, match="Add a photo, or describe the object"):
        studio.multiview(None, " ", [[0, 0, 1.7]], **RUN)


def test_camera_preset_and_live_preview(studio, photo):
    rows = studio.camera_preset("Front, then from behind (azimuth 180°)")
    assert rows == [[0, 0, 1.7], [180, 0, 1.7]]
    figure = studio.camera_preview(rows, photo)
    assert sum(1 for t in figure.data if t.legendgroup) == 2
    with pytest.raises(gr.Error, match="Row 1: distance"):
        studio.camera_preview([[0, 0, 0]])


def test_estimate_cameras_places_photo_1_in_front(studio, examples):
    photos = [Image.open(examples / f"scene_az{a:03d}.png") for a in (0, 90, 180)]
    figure, rows, seed, prompt = studio.estimate_cameras([(p, None) for p in photos], "", **RUN)
    assert [row[0] for row in rows] == [1, 2, 3] and rows[0][1:4] == [0.0, 0.0, 1.7]
    assert all(row[4] > 0 for row in rows)  # a fitted focal length per photo
    assert sum(1 for t in figure.data if t.name == "estimated") == 3
    with pytest.raises(gr.Error, match="Give 2 to 4 photos; 1 was given"):
        studio.estimate_cameras([photos[0]], "", **RUN)


# Slots ------------------------------------------------------------------------------------------


def test_slots_generate_targets_beside_their_conditions(studio, photo):
    rows = [["image", "condition", 1, None, None, None], ["camera", "condition", None, 0, 20, 1.7],
            ["image", "target", None, None, None, None], ["camera", "target", None, None, None, None]]  # fmt: skip
    gallery, cameras, figure, seed, prompt = studio.slots("[[multiview]] toys", rows, [photo], "", "64x64", **RUN)
    assert [caption for _, caption in gallery] == ["slot 0 · condition", "slot 2 · generated · image 1 · seed 11"]
    assert [row[:2] for row in cameras] == [[1, "condition"], [3, "estimated"]]
    assert cameras[0][2:5] == [0.0, 20.0, 1.7]  # the given camera stays where it was given
    assert figure is not None and prompt == "[[multiview]] toys"


def test_slots_joint_targets_and_plain_errors(studio):
    two = [["image", "target"], ["image", "target"]]
    gallery, cameras, figure, _, _ = studio.slots("[[depth2image]] a cube", two, None, "", "64x64", **RUN, num_images=2)
    assert len(gallery) == 4 and cameras == [] and figure is None
    with pytest.raises(gr.Error, match="Slot 0: kind must be 'image' or 'camera'"):
        studio.slots("[[text2image]] x", [["picture", "target"]], None, **RUN)
    with pytest.raises(gr.Error, match="Slot 0 is an image condition but no image is left for it"):
        studio.slots("[[text2image]] x", [["image", "condition"], ["image", "target"]], None, **RUN)
    with pytest.raises(gr.Error, match="Slot 1 asks for image 3, but only 1 were added"):
        studio.slots(
            "[[text2image]] x", [["image", "target"], ["image", "condition", 3]], [Image.new("RGB", (8, 8))], **RUN
        )
    frame_last = [
        ["image", "target"],
        ["camera", "target"],
        ["image", "target"],
        ["camera", "condition", None, 0, 0, 1.7],
    ]
    with pytest.raises(gr.Error) as err:  # an engine ValueError, turned into plain words
        studio.slots("[[multiview]] x", frame_last, None, **RUN)
    assert "first camera slot has no camera" in str(err.value) and "`" not in str(err.value)


def test_slots_warn_without_a_task_token(studio):
    with pytest.warns(UserWarning, match="no task token"):
        studio.slots("a cube", [["image", "target"]], None, "", "64x64", **RUN)


# Progress, warnings, cancelling, failures -------------------------------------------------------


def test_progress_is_reported_per_step(studio):
    calls = []
    studio.text_to_image("a cube", "", "64x64", 3, 4.0, 1, False, 1, progress=lambda *a, **k: calls.append((a, k)))
    steps = [a[0] for a, k in calls if k.get("desc") == "Denoising"]
    assert steps == [(1, 3), (2, 3), (3, 3)]


def test_long_prompts_warn_in_plain_words(studio):
    with pytest.warns(UserWarning, match=r"tokens long; the model reads only the first 300"):
        studio.text_to_image("a red cube on a table " * 80, "", "64x64", 1, 4.0, 1, False, 1)


def _run_in_thread(studio, steps: int, session: str, progress) -> dict:
    result: dict = {}

    def work():
        try:
            result["out"] = studio.text_to_image("a cube", "", "64x64", steps, 1.0, 1, False, 1, progress,
                                                 SimpleNamespace(session_hash=session))  # fmt: skip
        except gr.Error as err:
            result["error"] = err.message

    thread = threading.Thread(target=work)
    thread.start()
    result["thread"] = thread
    return result


def _wait_for(condition, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)


def test_stop_interrupts_the_callers_run_only(studio):
    seen: list = []
    run = _run_in_thread(studio, 200, "alice", lambda *a, **k: seen.append(a))
    _wait_for(lambda: len(seen) >= 3)
    studio.cancel(SimpleNamespace(session_hash="bob"))  # someone else's Stop: no effect
    count = len(seen)
    _wait_for(lambda: len(seen) >= count + 2)
    studio.cancel(SimpleNamespace(session_hash="alice"))
    run["thread"].join(60)
    assert run["error"] == "Stopped before the end: nothing was generated."
    assert len(seen) < 150  # stopped long before the 200th step
    gallery, _, _ = studio.text_to_image("a cube", "", "64x64", 1, 1.0, 1, False, 1)  # and the next run works
    assert gallery[0][0].size == (64, 64)


def test_unexpected_failures_keep_the_service_up(studio, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("the GPU caught fire")

    monkeypatch.setattr(studio, "_call_on_gpu", broken)
    with pytest.raises(gr.Error, match="Something went wrong on our side .RuntimeError: the GPU caught fire.") as err:
        studio.text_to_image("a cube", "", "64x64", 1, 1.0, 1, False, 1)
    assert "Traceback" not in str(err.value)
    monkeypatch.undo()
    assert studio.text_to_image("a cube", "", "64x64", 1, 1.0, 1, False, 1)[0]


def test_plain_words_names_widgets_not_arguments():
    assert plain_words("`num_inference_steps` must be at least 1, got 0.") == "Steps must be at least 1, got 0."
    assert plain_words("`foo_bar` is odd") == "Foo bar is odd"
    assert plain_words("A slot needs a `camera`.") == "A slot needs a camera."


def test_a_cancelled_event_interrupts_the_pipeline(studio):
    """What Gradio does on Stop, a client's job.cancel() or a closed tab: cancel the event's task."""
    import asyncio

    seen: list = []
    run = studio.cancellable(studio.text_to_image)

    async def cancel_mid_run():
        task = asyncio.ensure_future(run("a cube", "", "64x64", 200, 1.0, 1, False, 1, lambda *a, **k: seen.append(a)))
        while len(seen) < 3:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        started = time.monotonic()
        gallery, _, _ = await studio.cancellable(studio.text_to_image)("a cube", "", "64x64", 1, 1.0, 1, False, 1)
        return time.monotonic() - started, gallery

    result = {}  # on a thread of its own: a session-wide Playwright may own this thread's event loop
    worker = threading.Thread(target=lambda: result.update(out=asyncio.run(cancel_mid_run())))
    worker.start()
    worker.join(120)
    waited, gallery = result["out"]
    assert gallery[0][0].size == (64, 64) and len(seen) < 150
    assert waited < 20  # the next run did not wait for 200 steps
