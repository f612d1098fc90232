"""The roofline benchmark end to end on the tiny size (no timing asserts): FLOPs, peak, the profiled parts."""

from __future__ import annotations

import json

from benchmarks import roofline
from benchmarks.flops import TransformerShape, transformer_flops
from onediffusion.sizes import SIZES


def test_roofline_tiny(tmp_path, capsys):
    out = tmp_path / "roofline.json"
    flags = "--sizes tiny --px 64 --dtypes float32 --repeats 1 --profile --peak-n 256 --threads 1"
    roofline.main([*flags.split(), "--json", str(out)])
    (result,) = json.loads(out.read_text())["results"]
    shape = TransformerShape.from_config(SIZES["tiny"].transformer)
    # One text-to-image step with guidance: 2 samples of (64/16)^2 tokens, the caption's projections left out.
    assert result["step_flops"] == transformer_flops(shape, 16, 300, 2, 1, caption_kv=False).total
    assert result["step_flops"] < transformer_flops(shape, 16, 300, 2, 1).total
    assert result["achieved_tflops"] > 0 and result["peak"]["n"] == 256 and result["achieved_over_peak"] > 0
    profile = result["profile"]
    assert set(profile["parts_ms"]) == set(roofline.PARTS)
    assert all(profile["parts_ms"][part] > 0 for part in ("linear", "self_attention", "norms", "rope"))
    assert sum(profile["parts_ms"].values()) <= profile["step_ms"] * 1.01
    assert "| tiny | 64 | float32 |" in capsys.readouterr().out
