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
    return load_pipeline(tiny_model_dir, quantize="int8")  # float32 on this CPU (Q.int8_dtype)


def text_to_image(pipe):
    return pipe(
        "[[text2image]] a red cube",
        num_inference_steps=3,
        output_type="latent",
        generator=torch.Generator().manual_seed(0),
    ).latents


def check_quantized(pipe, dtype):
    assert pipe.quantize == "int8" and pipe.transformer.dtype == dtype
    block = pipe.transformer.layers[0]
    for linear in (block.attention.wq, block.attention.wk_y, block.feed_forward.w2, block.adaLN_modulation[1]):
        assert type(linear.weight).__name__ == "Int8Tensor" and linear.weight.dtype == dtype
        assert linear.weight.qdata.dtype == torch.int8
    for name in Q.KEEP_PRECISION:  # small layers every token's modulation goes through: kept in the load dtype
        weights = [p for n, p in pipe.transformer.named_parameters() if n.startswith(name) and n.endswith("weight")]
        assert weights and all(type(w) is torch.nn.Parameter and w.dtype == dtype for w in weights)
    t5_linear = pipe.text_encoder.encoder.block[0].layer[0].SelfAttention.q
    assert type(t5_linear.weight).__name__ == "Int8Tensor"
    assert type(pipe.vae.decoder.conv_in.weight) is torch.nn.Parameter  # the VAE stays as it is
    assert pipe.vae.dtype == torch.float32  # bfloat16 convolutions crawl on a CPU (onediffusion.loading.vae_dtype)


def test_int8_load_path(int8_pipe):
    assert not torch.cuda.is_available()  # the tests run on a CPU: the default computes in float32 there
    check_quantized(int8_pipe, torch.float32)


def test_int8_in_bfloat16(tiny_model_dir):
    pipe = load_pipeline(tiny_model_dir, torch_dtype=torch.bfloat16, quantize="int8")  # a GPU's default
    check_quantized(pipe, torch.bfloat16)
    reference = load_pipeline(tiny_model_dir, torch_dtype=torch.bfloat16)
    ours, plain = text_to_image(pipe), text_to_image(reference)
    assert torch.isfinite(ours).all() and 0 < rel_err(ours, plain) < 0.2


def test_int8_runs_close_to_unquantized(int8_pipe, tiny_model_dir):
    plain = load_pipeline(tiny_model_dir)
    ours, reference = text_to_image(int8_pipe), text_to_image(plain)
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
    plain = hub_need(Info(), torch.bfloat16)
    # int8 bytes, the unquantized share in bfloat16 (2 bytes), T5's embedding table (5.4%) as stored, the scales;
    # the VAE as it is (in float32 on a CPU).
    assert need.largest == int(5_600_000_000 // 2 * (1 + 0.003 * 2 + 0.01))
    assert need.total == need.largest + int(2_440_000_000 // 2 * (1 + 0.001 * 2 + 0.054 * 2 + 0.01)) + 336_000_000
    assert need.total < 0.55 * plain.total
    eight_gb = 8 * 10**9
    assert with_margin(need.total) <= eight_gb < with_margin(plain.total)
    assert plan_fit(need, "cpu", eight_gb, None, explicit=True).action == "load"
    assert plan_fit(need, "cuda", 32 * 10**9, eight_gb).action == "load"
    # On a CPU int8 computes in float32: the kept share takes 4 bytes a weight; 8 GB still hold it.
    wide = hub_need(Info(), torch.float32, quantize="int8")
    assert wide.total == (
        int(5_600_000_000 // 2 * (1 + 0.003 * 4 + 0.01))
        + int(2_440_000_000 // 2 * (1 + 0.001 * 4 + 0.054 * 2 + 0.01))
        + 336_000_000
    )
    assert with_margin(wide.total) <= eight_gb


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


def test_int8_dtypes(tiny_model_dir):
    with pytest.raises(ValueError, match="runs in bfloat16 or float32, got torch_dtype=torch.float16") as caught:
        load_pipeline(tiny_model_dir, torch_dtype=torch.float16, quantize="int8")
    assert "\n" not in str(caught.value)
    assert Q.check_dtype("int8", None) == Q.int8_dtype() == torch.float32  # no GPU here
    assert Q.int8_dtype("cuda") == torch.bfloat16 and Q.int8_dtype("cpu") == torch.float32
    assert (
        Q.check_dtype("int8", torch.bfloat16) == torch.bfloat16 and Q.check_dtype(None, torch.float16) == torch.float16
    )


def test_release_pages_gives_back_whole_pages_only():
    tensor = torch.ones(3 << 20, dtype=torch.float32)  # 12 MiB: its own mapping
    view = tensor[1000:-1000]  # starts and ends inside a page
    Q.release_pages(view)
    start, end, page = view.data_ptr(), view.data_ptr() + view.numel() * 4, Q._PAGE
    first, last = -(-start // page) * page, end // page * page
    index = (torch.arange(tensor.numel()) * 4 + tensor.data_ptr()).numpy()
    inside = (index >= first) & (index + 4 <= last)
    values = tensor.numpy()
    assert (values[inside] == 0).all()  # given back: the system maps fresh zero pages on the next read
    assert (values[~inside] == 1).all() and (~inside).sum() > 2000  # the partial pages at both ends are kept


class Tied(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.table = torch.nn.Embedding(10, 64, dtype=torch.bfloat16)
        self.a, self.b, self.kept = (torch.nn.Linear(64, 64, dtype=torch.bfloat16) for _ in range(3))
        self.b.weight = self.a.weight


def test_quantize_network_shares_tied_weights_keeps_tables_and_the_named_layers():
    net = Q.quantize_network(Tied(), torch.float32, keep=["kept"])
    assert type(net.a.weight.data).__name__ == "Int8Tensor" and net.b.weight is net.a.weight
    assert net.kept.weight.dtype == torch.float32 and type(net.kept.weight.data) is torch.Tensor
    assert net.a.bias.dtype == torch.float32
    assert net.table.weight.dtype == torch.bfloat16  # as stored: only a prompt's rows are read
    assert net.table(torch.tensor([1, 2])).dtype == torch.float32  # its output in the activations' dtype


def test_a_linear_tied_to_a_table_leaves_the_table_intact():
    net = Tied()
    net.a.weight.data = torch.randn(64, 64, dtype=torch.bfloat16)
    net.table = torch.nn.Embedding(64, 64, dtype=torch.bfloat16)
    net.table.weight = net.a.weight  # as a language model's output layer shares its input table
    before = net.a.weight.detach().clone()
    Q.quantize_network(net, torch.float32)
    assert torch.equal(net.table.weight.detach(), before)  # its pages were not given back
