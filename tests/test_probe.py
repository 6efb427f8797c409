"""`hftui probe`: a measured fit. Real training steps of the tiny scratch Llama on the CPU, two
batch sizes; an out-of-memory candidate is a row; --apply keeps the preset's comments."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from tiny_presets import sft_preset

from hftui.core.preset import load
from hftui.core.train import probe as probe_child
from hftui.core.train import probe_plan

COMMENT = "# my batch notes: keep me"


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    """Both candidates trained once for the module: batch 1 and 4, three steps each."""
    folder = tmp_path_factory.mktemp("probe")
    (folder / "data.jsonl").write_text("".join(json.dumps({"text": f"row {i} " * 6}) + "\n" for i in range(32)))
    path = folder / "p.toml"
    path.write_text(COMMENT + "\n" + sft_preset("probe-test", args={"max_steps": 50, "per_device_train_batch_size": 2}))
    preset = load(path)
    results = {b: probe_child.measure(preset, b, 3) for b in (1, 4)}
    return path, results


def test_each_candidate_trains_and_reports_memory_and_speed(measured):
    _, results = measured
    for batch, result in results.items():
        assert result["device"] == "cpu" and result["oom"] is False and result["error"] is None
        assert result["peak_bytes"] > 50 * 1024**2  # the process's peak resident memory
        assert result["tokens_per_second"] > 0
        assert result["total_params"] > 0 and result["layers"] == 1
    # every token of a step is counted: four rows carry about four times the tokens of one
    assert results[4]["seq"] == pytest.approx(results[1]["seq"], rel=0.5)
    rows = [probe_plan.row_of(r) for r in results.values()]
    assert [r.status for r in rows] == ["ok", "ok"]
    assert all(r.mfu is None for r in rows)  # a CPU has no known peak
    assert probe_plan.recommend(rows).batch == 4


def test_an_out_of_memory_candidate_is_a_row_and_larger_ones_are_skipped(measured, monkeypatch):
    path, results = measured
    tried = []

    def candidate(preset_path, overrides, batch, steps, timeout):
        tried.append(batch)
        if batch >= 8:
            return {"batch": batch, "oom": True, "error": "CUDA out of memory. Tried to allocate 2.00 GiB"}
        return results[batch]

    monkeypatch.setattr(probe_plan, "run_candidate", candidate)
    rows = probe_plan.probe(str(path), [], [4, 1, 8, 16], 3)
    assert tried == [1, 4, 8]
    assert [(r.batch, r.status) for r in rows] == [(1, "ok"), (4, "ok"), (8, "oom"), (16, "skipped")]
    assert probe_plan.recommend(rows).batch == 4
    # a peak beyond the headroom is not recommended
    big = dict(results[4], capacity_bytes=results[4]["peak_bytes"])
    assert probe_plan.row_of(big).status == "over headroom"


def test_the_command_prints_the_table_and_applies_keeping_comments(measured, monkeypatch, capsys, tmp_path):
    path, results = measured
    monkeypatch.setattr(probe_plan, "run_candidate", lambda p, o, batch, steps, timeout: results[batch])
    from hftui.tui.cli import main

    assert main(["probe", str(path), "--batch-sizes", "1,4", "--steps", "3", "--apply"]) == 0
    out = capsys.readouterr().out
    assert "recommended: per_device_train_batch_size = 4 (the preset has 2)" in out
    table = [line.split() for line in out.splitlines() if line.strip() and line.split()[0] in ("1", "4")]
    assert [row[0] for row in table] == ["1", "4"] and all(row[-1] == "ok" for row in table)
    text = path.read_text()
    assert text.startswith(COMMENT) and "per_device_train_batch_size = 4" in text and "max_steps = 50" in text

    assert main(["probe", str(path), "--batch-sizes", "1,x"]) == 2
    assert "not a list of positive whole numbers" in capsys.readouterr().err


def test_the_child_process_turns_a_failure_into_a_result(tmp_path):
    """The real child, in its own process: a preset it cannot load is a failed row, exit 0."""
    request, result = tmp_path / "request.json", tmp_path / "result.json"
    request.write_text(json.dumps({"preset": str(tmp_path / "missing.toml"), "batch": 2, "steps": 3}))
    run = subprocess.run([sys.executable, "-m", probe_plan.PROBE_MODULE, str(request), str(result)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    row = probe_plan.row_of(json.loads(result.read_text()))
    assert row.status == "failed" and row.batch == 2 and row.result["error"]
