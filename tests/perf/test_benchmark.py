"""The benchmark command end to end on the tiny size: one step, valid JSON, a table (no timing asserts)."""

from __future__ import annotations

import json

import pytest

from benchmarks import run, worker
from benchmarks.presets import CASES, ISSUE_CASES, SIZES


def test_presets():
    assert set(ISSUE_CASES) <= set(CASES) and {"tiny", "medium", "full"} <= set(SIZES)
    full = SIZES["full"].transformer
    assert (full["hidden_size"], full["depth"], full["num_heads"], full["caption_channels"]) == (2304, 32, 32, 2048)
    assert SIZES["full"].t5["d_model"] == full["caption_channels"]
    mv = CASES["mv4x512"].pipe_kwargs(1)
    assert len(mv["views"]) == 8 and mv["height"] == 512


def test_parse_args_defaults_and_errors():
    args = run.parse_args(["--device", "cpu"])
    assert (args.dtype, args.steps, args.cases) == ("float32", 2, list(ISSUE_CASES))
    with pytest.raises(SystemExit):
        run.parse_args(["--sizes", "huge"])


@pytest.mark.slow
def test_benchmark_command_writes_json(tmp_path, capsys):
    out = tmp_path / "results.json"
    flags = "--device cpu --sizes tiny --cases t2i256 --steps 1 --repeats 1 --step-repeats 1 --no-memory"
    run.main([*flags.split(), "--json", str(out)])
    report = json.loads(out.read_text())
    assert {"command", "date", "machine", "settings", "results"} <= set(report)
    (result,) = report["results"]
    assert "error" not in result, result.get("error")
    assert (result["size"], result["case"], result["ours_backend"], result["batch"]) == ("tiny", "t2i256", "chunked", 2)
    assert result["tokens"] == (256 // 16) ** 2
    for part in ("step", "pipeline"):
        assert result[part]["ours"]["n"] == 1 and result[part]["reference"]["median_s"] > 0
    assert result["step"]["relative_error"] < 1e-5
    assert result["flops"]["step"]["total"] > 0 and result["floor"]["pipeline_floor_s"] > 0
    assert "| tiny | t2i256 |" in capsys.readouterr().out


def test_memory_only_worker():
    cfg = worker.CaseConfig("tiny", "t2i256", memory_only="chunked")
    memory = worker.measure_case(cfg)["memory"]
    assert memory["backend"] == "chunked"
    assert memory["peak_rss_gib"] >= memory["models_rss_gib"] > 0
