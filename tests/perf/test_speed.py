"""Speed and memory switches on the tiny checkpoint: offload hooks, compile, batched guidance."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from onediffusion.speed import compile_transformer, enable_low_memory
from tests.helpers import load_pipeline

KWARGS = {"prompt": "[[text2image]] a red cube", "height": 32, "width": 48, "num_inference_steps": 2}


def generate(pipe, **kwargs) -> np.ndarray:
    out = pipe(**KWARGS, **kwargs, generator=torch.Generator().manual_seed(3), output_type="np")
    return out.images


@pytest.fixture
def fresh_pipe(tiny_model_dir):
    return load_pipeline(tiny_model_dir)


def test_offload_sequence_runs_and_changes_nothing(fresh_pipe):
    # diffusers refuses offload without an accelerator unless given a device; on CPU the hooks
    # are installed and run in ``model_cpu_offload_seq`` order without moving anything.
    expected = generate(fresh_pipe)
    enable_low_memory(fresh_pipe, device="cpu")
    assert fresh_pipe.vae.use_tiling
    hooked = [name for name in ("text_encoder", "transformer", "vae") if hasattr(getattr(fresh_pipe, name), "_hf_hook")]
    assert hooked == ["text_encoder", "transformer", "vae"]
    np.testing.assert_allclose(generate(fresh_pipe), expected, atol=1e-5)


def test_offload_needs_an_accelerator_or_a_device(fresh_pipe):
    if torch.cuda.is_available():
        pytest.skip("this machine has an accelerator")
    with pytest.raises(RuntimeError, match="accelerator"):
        enable_low_memory(fresh_pipe)


def test_guidance_is_one_batched_forward(fresh_pipe):
    calls = []
    fresh_pipe.transformer.register_forward_pre_hook(
        lambda m, a, kw: calls.append(kw["samples"].shape[0]), with_kwargs=True
    )
    generate(fresh_pipe, guidance_scale=4.0)
    assert calls == [2, 2]  # negative and positive in one batch, one forward per step


def test_repeated_prompts_are_encoded_once(fresh_pipe):
    encoded = []
    fresh_pipe.text_encoder.register_forward_pre_hook(lambda m, a: encoded.append(a[0].shape[0]))
    generate(fresh_pipe)
    generate(fresh_pipe)
    assert encoded == [2]  # the prompt and the empty negative, once for both requests


def test_compile_transformer_rejects_unknown_mode(fresh_pipe):
    with pytest.raises(ValueError, match="`mode`"):
        compile_transformer(fresh_pipe, mode="everything")


@pytest.mark.slow
def test_compiled_blocks_match_eager(fresh_pipe):
    expected = generate(fresh_pipe)
    assert compile_transformer(fresh_pipe, "blocks") is fresh_pipe.transformer
    np.testing.assert_allclose(generate(fresh_pipe), expected, atol=1e-4)
