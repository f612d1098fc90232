"""Describe this photo: the host's lazy captioner behind one /describe_photo endpoint and a button under every
input photo; greyed out with the reason when it cannot work; a failure leaves the caption box as it was.
The page is served for real (in this process) on the tiny OneDiffusion checkpoint, with a tiny random
SmolVLM-class captioner built here, and driven by gradio_client."""

from __future__ import annotations

import dataclasses

import gradio as gr
import pytest
import torch
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from tests.helpers import free_port
from ui.captioner import DEFAULT_CAPTIONER, Captioner, build_tiny_captioner
from ui.cli import build_parser, check
from ui.layout import build_demo, launch_options
from ui.service import Studio
from ui.tabs.captions import LABEL

PLACES = {"Reference photo 1", "Reference photo 2", "Reference photo 3", "Reference photo 4", "Photo",
          "Photo of the object (optional: leave empty to work from the caption)", "Photo (given to the model)",
          "Photo of the object, from the front (or leave empty and describe it)",
          "Photo to upscale (at most 2048 pixels a side)"}  # fmt: skip


@pytest.fixture(scope="module")
def tiny_captioner_dir(tmp_path_factory):
    return build_tiny_captioner(tmp_path_factory.mktemp("tiny-captioner"))


def studio_with(tiny_pipe, captioner: str | None) -> Studio:
    studio = Studio.for_pipeline(tiny_pipe, name="tiny")
    studio.settings = dataclasses.replace(studio.settings, captioner=captioner)
    return studio


@pytest.fixture(scope="module")
def captioning(tiny_pipe, tiny_captioner_dir) -> Studio:
    studio = studio_with(tiny_pipe, str(tiny_captioner_dir))
    # The host's own captioner, its answers capped at 24 tokens: random tiny weights write until the cap.
    studio.captioner = Captioner(tiny_captioner_dir, studio.info.device, studio.pipe.dtype, max_new_tokens=24)
    return studio


@pytest.fixture(scope="module")
def served(captioning):
    demo = build_demo(captioning)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, **launch_options())
    yield demo, Client(f"http://127.0.0.1:{port}/", verbose=False)
    demo.close()


def describe_buttons(demo: gr.Blocks) -> list[gr.Button]:
    return [b for b in demo.blocks.values() if isinstance(b, gr.Button) and b.value == LABEL]


def test_the_host_loads_its_captioner_on_first_use(tiny_pipe, tiny_captioner_dir, photo):
    studio = studio_with(tiny_pipe, str(tiny_captioner_dir))
    captioner = studio.captioner
    assert captioner is studio.captioner and captioner.name == str(tiny_captioner_dir) and not captioner.loaded
    assert captioner.device == torch.device(studio.info.device) and captioner.dtype == studio.pipe.dtype
    assert studio.captions_available() == (True, None)


def test_a_caption_for_each_purpose_within_the_token_budget(captioning, photo):
    for purpose in ("scene", "identity", "subject_driven", "multiview"):
        caption = captioning.describe_photo(photo, purpose)
        assert caption.strip() and len(captioning.pipe.tokenizer(caption).input_ids) <= 150
    assert captioning.describe_photo(photo, "identity") == captioning.describe_photo(photo, "identity")
    with pytest.raises(gr.Error, match="`purpose` must be one of|Purpose must be one of"):
        captioning.describe_photo(photo, "poem")


def test_every_input_photo_has_a_describe_button_writing_its_caption_box(served):
    demo, _ = served
    config = demo.get_config_file()
    ids = {c["id"]: c for c in config["components"]}
    buttons = {b._id for b in describe_buttons(demo)}
    events = [d for d in config["dependencies"] if any(target in buttons for target, _ in d["targets"])]
    assert len(buttons) == len(events) == 8
    for event in events:
        photo, caption = (ids[i]["props"] for i in (event["inputs"][0], event["outputs"][0]))
        assert len(event["outputs"]) == 1 and ids[event["outputs"][0]]["type"] == "textbox"
        assert photo["label"] in PLACES and "aption" in caption["label"]
    assert sum(d["api_name"] == "describe_photo" for d in config["dependencies"]) == 1


def test_describe_photo_through_the_api(served, examples):
    _, client = served
    caption = client.predict(handle_file(str(examples / "scene_az000.png")), "scene", api_name="/describe_photo")
    assert isinstance(caption, str) and caption.strip()


def test_a_failure_mid_run_is_plain_words_and_leaves_the_caption_box_as_it_was(served, captioning, examples):
    _, client = served
    photo = handle_file(str(examples / "scene_az000.png"))
    client.predict(photo, "scene", api_name="/describe_photo")  # loaded and working
    model = captioning.captioner._model

    def broken(*args, **kwargs):
        raise RuntimeError("CUDA error: device-side assert triggered")

    model.generate = broken
    try:
        job = client.submit(photo, "scene", api_name="/describe_photo")
        with pytest.raises(AppError, match=r"The captioner could not describe this photo \(RuntimeError\)\."):
            job.result()
        assert job.outputs() == []  # nothing sent to the caption box, which keeps its text
    finally:
        del model.generate
    assert client.predict(photo, "scene", api_name="/describe_photo").strip()


def test_switched_off_the_buttons_are_greyed_out_and_say_why(tiny_pipe, photo):
    studio = studio_with(tiny_pipe, "none")
    demo = build_demo(studio)
    assert describe_buttons(demo) and not any(b.interactive for b in describe_buttons(demo))
    notes = [b.value for b in demo.blocks.values() if isinstance(b, gr.Markdown) and "describe-note" in b.elem_classes]
    assert notes and all("switched off" in note and "--captioner none" in note for note in notes)
    with pytest.raises(gr.Error, match="switched off"):
        studio.describe_photo(photo, "scene")


def test_offline_the_default_captioner_is_unavailable_in_plain_words(tiny_pipe, photo, monkeypatch):
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    studio = Studio.for_pipeline(tiny_pipe, name="tiny")  # no --captioner: the default
    available, reason = studio.captions_available()
    assert studio.settings.captioner == DEFAULT_CAPTIONER and not available
    assert "not downloaded and the machine is offline" in reason and "Traceback" not in reason
    with pytest.raises(gr.Error, match="not downloaded"):
        studio.describe_photo(photo, "identity")


def test_the_launcher_passes_captioner(tmp_path):
    parse = build_parser().parse_args
    assert check(parse([]), {}).captioner is None  # the loader's default
    assert check(parse(["--captioner", "none"]), {}).captioner == "none"
    assert check(parse(["--captioner", str(tmp_path)]), {}).captioner == str(tmp_path)


def test_the_launched_app_without_captioner_offline_says_why(client, examples):
    """``python app.py --model <tiny>`` offline, no --captioner: the default captioner is not downloaded."""
    with pytest.raises(AppError, match="not downloaded and the machine is offline"):
        client.predict(handle_file(str(examples / "scene_az000.png")), "scene", api_name="/describe_photo")
