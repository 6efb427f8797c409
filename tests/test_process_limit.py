"""`[launch] num_processes` is bounded by the machine: one process per visible GPU, or without
GPUs one per usable CPU core. Beyond that `validate` and the run refuse it, before anything forks.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from hftui.core import launch
from hftui.core.checks import machine, validate
from hftui.core.gpu import GpuInfo
from hftui.core.preset import from_text
from hftui.core.run import liveness
from hftui.core.run.record import RunRecord
from hftui.core.run.supervise import too_many_processes
from hftui.tui import cli
from tiny_presets import sft_preset


@pytest.fixture
def cpus(monkeypatch):
    """A machine without GPUs and with 4 usable CPU cores."""
    monkeypatch.setattr(machine, "visible_gpus", lambda: [])
    monkeypatch.setattr(launch, "usable_cpus", lambda: 4)


def preset(tmp_path: Path, nproc: int):
    (tmp_path / "data.jsonl").write_text('{"text": "hello"}\n')
    text = sft_preset("limits", args={"max_steps": 2}, launch={"backend": "ddp", "num_processes": nproc})
    path = tmp_path / "p.toml"
    path.write_text(text)
    return from_text(text, path)


def problems_at(tmp_path, nproc: int, for_run: bool = False):
    return [p for p in validate(preset(tmp_path, nproc), for_run=for_run) if p.path == "launch.num_processes"]


def test_a_million_processes_on_a_cpu_machine_is_an_error_naming_number_and_limit(tmp_path, cpus):
    found = problems_at(tmp_path, 1_000_000)
    assert [p.severity for p in found] == ["error"]
    assert "num_processes = 1000000" in found[0].message and "4 usable CPU core(s)" in found[0].message
    assert "at most 4" in found[0].message and "num_processes = 4" in found[0].hint


def test_a_gpu_machines_count_on_a_cpu_machine_warns_and_is_refused_for_a_run(tmp_path, cpus):
    """Checked here for a GPU machine (an export), 8 processes are plausible; run here, not."""
    assert [p.severity for p in problems_at(tmp_path, 8)] == ["warning"]
    assert [p.severity for p in problems_at(tmp_path, 8, for_run=True)] == ["error"]
    assert problems_at(tmp_path, 4, for_run=True) == []
    assert [p.severity for p in problems_at(tmp_path, 17)] == ["error"]  # more than any machine's GPUs


def test_with_gpus_the_bound_is_the_visible_gpus(tmp_path, monkeypatch):
    monkeypatch.setattr(machine, "visible_gpus", lambda: [GpuInfo(i, "NVIDIA A100", 80 << 30, (8, 0)) for i in range(2)])
    found = problems_at(tmp_path, 3)
    assert [p.severity for p in found] == ["error"] and "2 visible GPU(s)" in found[0].message
    assert problems_at(tmp_path, 2) == []


def test_hftui_run_refuses_before_any_process_starts(tmp_path, cpus, capsys, monkeypatch):
    preset(tmp_path, 2)
    monkeypatch.chdir(tmp_path)
    code = cli.main(["run", "p.toml", "--set", "launch.num_processes=1000000", "--detach"])
    err = capsys.readouterr().err
    assert code == 2 and "launch.num_processes" in err and "1000000" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_the_supervisor_refuses_too_many_processes_before_forking(tmp_path, monkeypatch):
    """Whatever started the run (a preset changed after it was checked), nothing forks."""
    monkeypatch.setattr(launch, "usable_cpus", lambda: 4)
    assert too_many_processes(4) is None
    assert "launch.num_processes = 1000000" in too_many_processes(1_000_000)
    run_dir = tmp_path / "out" / ".hftui" / "r1"
    run_dir.mkdir(parents=True)
    marker = tmp_path / "started"
    rec = RunRecord(id="r1", name="t", preset_path=None, run_dir=run_dir, output_dir=str(tmp_path / "out"),
                    command=[sys.executable, "-c", f"open({str(marker)!r}, 'w')"], num_processes=1_000_000,
                    backend="ddp", created=time.time())
    rec.save()
    # the same machine for the supervisor's process: its cores seen as 4
    code = ("import sys; from hftui.core import launch; launch.usable_cpus = lambda: 4; "
            "from hftui.core.run import supervise; sys.exit(supervise.main(sys.argv[1:]))")
    assert subprocess.run([sys.executable, "-c", code, str(run_dir)], capture_output=True, timeout=60).returncode == 1
    done = RunRecord.load(run_dir)
    assert done.status == "failed" and "1000000" in done.error and "at most" in done.error
    assert not marker.exists() and liveness.run_processes(run_dir) == []
