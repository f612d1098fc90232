"""Error wording: engine argument names become widget labels; each kind of failure its own plain message."""

from __future__ import annotations

import gradio as gr
import torch

from onediffusion import ModelLoadError
from ui.errors import OUT_OF_MEMORY, plain_words, preview_warning, user_error
from ui.inputs import InputError


def test_plain_words_names_widgets_not_arguments():
    assert plain_words("`num_inference_steps` must be at least 1, got 0.") == "Steps must be at least 1, got 0."
    assert plain_words("`foo_bar` is odd") == "Foo bar is odd"
    assert plain_words("A slot needs a `camera`.") == "A slot needs a camera."


def test_each_failure_gets_its_own_message():
    bad_input = user_error(ValueError("`guidance_scale` must be positive."), "text_to_image")
    assert bad_input.message == "Guidance must be positive." and not bad_input.print_exception
    assert user_error(InputError("Add a photo first."), "understand").message == "Add a photo first."
    assert user_error(torch.OutOfMemoryError("CUDA"), "control").message == OUT_OF_MEMORY
    assert user_error(ModelLoadError("No model at ./x."), "control").message == "No model at ./x."
    unexpected = user_error(KeyError("views"), "slots").message
    assert unexpected.startswith("Something went wrong on our side (KeyError: 'views'). The app is still running")
    shown = gr.Error("Stopped.")
    assert user_error(shown, "slots") is shown


def test_previews_show_the_problem_in_the_box():
    assert preview_warning(InputError("`labels` apply to maps only.")) == "⚠️ Classes apply to maps only."
