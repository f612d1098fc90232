"""The batch benchmark end to end on the tiny checkpoint with tiny counts: every measurement ran in its own
process through onediffusion.batch's runner, and the JSON and the table hold what they should (no timing asserts)."""

from __future__ import annotations

import json

import pytest

from benchmarks import batch_throughput


def test_plan_runs_each_count_batched_and_one_at_a_time():
    assert batch_throughput.plan(["tiny"], [1, 4]) == [("tiny", 1, 1), ("tiny", 4, 4), ("tiny", 4, 1)]


def test_an_unknown_size_is_refused():
    with pytest.raises(SystemExit):
        batch_throughput.parse_args(["--sizes", "huge"])


@pytest.mark.slow
def test_the_benchmark_runs_on_the_tiny_checkpoint(tmp_path, capsys):
    out = tmp_path / "results.json"
    batch_throughput.main(
        [
            "--sizes",
            "tiny",
            "--counts",
            "1,2",
            "--memory-items",
            "5",
            "--repeats",
            "1",
            "--steps",
            "2",
            "--json",
            str(out),
        ]
    )
    report = json.loads(out.read_text())
    assert {"command", "commit", "date", "machine", "throughput", "memory"} <= set(report)
    runs = report["throughput"]
    assert [(r["count"], r["batch_size"]) for r in runs] == [(1, 1), (2, 2), (2, 1)]
    for result in runs:
        assert "error" not in result, result.get("error")
        assert len(result["seconds"]) == 1 and result["items_per_s"] > 0 and result["load_s"] > 0
    memory = report["memory"]
    assert "error" not in memory, memory.get("error")
    assert len(memory["peak_rss_mib"]) == 5 and memory["edge"] == 2
    assert 0 < memory["first_mean_mib"] <= memory["max_rss_mib"]
    table = capsys.readouterr().out
    assert "| tiny | 64x64 | 2 | 2 |" in table and "memory over 5 tiny items" in table
