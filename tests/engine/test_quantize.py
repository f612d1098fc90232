"""Weight-only int8 as a load option: the tiny checkpoint loads and runs quantized, the fit check counts it,
and settings a machine cannot honour are refused in one line."""

from __future__ import annotations

import importlib.util

import pytest
import torch

from onediffusion import quantize as Q
from onediffusion.fit import folder_need
from tests.helpers import load_pipeline, rel_err

torchao = pytest.importorskip("torchao", reason="torchao is in requirements.txt; the int8 path needs it")


@pytest.fixture(scope="module")
def int8_pipe(tiny_model_dir):
    return load_pipeline(tiny_model_dir, quantize="int8")


def text_to_image(pipe):
    return pipe(
        "[[text2image]] a red cube",
        num_inference_steps=3,
        output_type="latent",
        generator=torch.Generator().manual_seed(0),
    ).latents


def test_int8_load_path(int8_pipe):
    pipe = int8_pipe
    assert pipe.quantize == "int8" and pipe.transformer.dtype == torch.bfloat16
    block = pipe.transformer.layers[0]
    for linear in (block.attention.wq, block.attention.wk_y, block.feed_forward.w2, block.adaLN_modulation[1]):
        assert type(linear.weight).__name__ == "Int8Tensor"
    for name in Q.KEEP_PRECISION:  # small layers every token's modulation goes through: kept in bfloat16
        weights = [p for n, p in pipe.transformer.named_parameters() if n.startswith(name) and n.endswith("weight")]
        assert weights and all(type(w) is torch.nn.Parameter and w.dtype == torch.bfloat16 for w in weights)
    t5_linear = pipe.text_encoder.encoder.block[0].layer[0].SelfAttention.q
    assert type(t5_linear.weight).__name__ == "Int8Tensor"
    assert type(pipe.vae.decoder.conv_in.weight) is torch.nn.Parameter  # the VAE stays as it is


def test_int8_runs_close_to_bfloat16(int8_pipe, tiny_model_dir):
    bf16 = load_pipeline(tiny_model_dir, torch_dtype=torch.bfloat16)
    ours, reference = text_to_image(int8_pipe), text_to_image(bf16)
    assert torch.isfinite(ours).all()
    assert 0 < rel_err(ours, reference) < 0.2  # not exact, but the same image (benchmarks/RESULTS.md has the figures)


def test_int8_with_step_caching(int8_pipe):
    int8_pipe.enable_cache()
    try:
        assert torch.isfinite(text_to_image(int8_pipe)).all()
    finally:
        int8_pipe.disable_cache()


def test_fit_counts_int8(tiny_model_dir):
    plain = folder_need(tiny_model_dir, torch.bfloat16)
    int8 = folder_need(tiny_model_dir, torch.bfloat16, quantize="int8")
    # bfloat16 takes 2 bytes a weight; int8 (with its scales) about 1, in the transformer and text encoder only.
    assert int8.total < plain.total and int8.largest <= plain.largest


def test_fit_of_the_published_model_in_int8():
    # The published files: a 5.6 GB bfloat16 transformer and T5-XL's encoder (1.22 B parameters), the VAE.
    class File:
        def __init__(self, name, size):
            self.rfilename, self.size = name, size

    class Info:
        safetensors = None
        siblings = [
            File("transformer/diffusion_pytorch_model.safetensors", 5_600_000_000),
            File("text_encoder/model.safetensors", 2_440_000_000),
            File("vae/diffusion_pytorch_model.safetensors", 168_000_000),
        ]

    from onediffusion.fit import hub_need, plan_fit, with_margin

    need = hub_need(Info(), torch.bfloat16, quantize="int8")
    assert need.total < 4.4e9
    eight_gb = 8 * 10**9
    assert with_margin(need.total) <= eight_gb < with_margin(hub_need(Info(), torch.bfloat16).total)
    assert plan_fit(need, "cpu", eight_gb, None, explicit=True).action == "load"
    assert plan_fit(need, "cuda", 32 * 10**9, eight_gb).action == "load"


@pytest.mark.parametrize(
    "quantize, device, words",
    [
        ("int4", "cpu", "`quantize` must be one of ('int8',) or None, got 'int4'."),
        ("int8", "mps", "has no int8 kernels on mps"),
    ],
)
def test_bad_settings_one_line(quantize, device, words):
    with pytest.raises(ValueError, match="quantize") as caught:
        Q.check_quantize(quantize, device)
    assert words in str(caught.value) and "\n" not in str(caught.value)


def test_torchao_missing(monkeypatch, tiny_model_dir):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "torchao" else real(name, *a))
    with pytest.raises(ValueError, match=r"needs torchao, which is not installed: `pip install torchao==0\.18\.0`"):
        load_pipeline(tiny_model_dir, quantize="int8")


def test_int8_runs_in_bfloat16(tiny_model_dir):
    with pytest.raises(ValueError, match="runs in bfloat16"):
        load_pipeline(tiny_model_dir, torch_dtype=torch.float32, quantize="int8")
    assert Q.check_dtype("int8", None) == torch.bfloat16 and Q.check_dtype(None, torch.float32) == torch.float32
