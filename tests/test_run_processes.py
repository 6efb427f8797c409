"""Every process of a run dies with its run, and what an ended run left running is found, keeps
new runs out of its folder and is ended by `hftui stop`.

Stand-in processes play the supervisor's child, torchrun and its ranks (command lines as theirs,
ranks in sessions of their own as torchrun starts them), so each test takes a second or two;
test_faults_distributed.py does the same with real torchrun ranks.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from hftui.core import preset as preset_mod
from hftui.core.problems import PresetError
from hftui.core.run import liveness
from hftui.core.run import start as runs
from hftui.core.run.record import RunRecord
from hftui.core.run.stop import refuse_leftovers
from hftui.core.run.supervise import killed_by, killed_rank
from hftui.tui import cli
from tiny_presets import sft_preset

WORKER = "hftui.core.train.worker"
SLEEP = "import time; time.sleep(120)"


def gone(pid: int, timeout: float = 5.0) -> bool:
    """Has `pid` ended (a zombie counts as ended) within `timeout` seconds?"""
    deadline = time.time() + timeout
    while time.time() < deadline:
        stat = liveness.proc_stat(pid)
        if stat is None or stat[0] in ("Z", "X"):
            return True
        time.sleep(0.05)
    return False


def wait_for_file(path: Path, timeout: float = 20.0) -> str:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if path.exists() and path.read_text().strip():
            return path.read_text().strip()
        time.sleep(0.05)
    raise AssertionError(f"{path} never written")


def run_folder(tmp_path: Path, run_id: str = "20260101-000000-abcd") -> Path:
    run_dir = tmp_path / "out" / ".hftui" / run_id
    run_dir.mkdir(parents=True)
    return run_dir


RANK = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from hftui.core.run.liveness import die_with_launcher
    armed = die_with_launcher(sys.argv[1])
    Path(sys.argv[2]).write_text(str(armed))
    time.sleep(120)
    """
)

LAUNCHER = textwrap.dedent(
    """
    import os, subprocess, sys, time
    from pathlib import Path
    rank = subprocess.Popen([sys.executable, "-c", sys.argv[1], sys.argv[4], sys.argv[2], "-m", sys.argv[6]],
                            start_new_session=True)
    Path(sys.argv[3]).write_text(str(rank.pid))
    time.sleep(120)
    """
)


def test_a_rank_dies_with_its_launcher_though_it_sits_in_a_session_of_its_own(tmp_path):
    run_dir = run_folder(tmp_path)
    env = {**os.environ, "HFTUI_RUN_DIR": str(run_dir)}
    # the launcher's command line names the worker module and the run folder, as torchrun's does
    launcher = subprocess.Popen([sys.executable, "-c", LAUNCHER, RANK, str(tmp_path / "armed"), str(tmp_path / "pid"),
                                 str(run_dir), "-m", WORKER], env=env, start_new_session=True)
    try:
        rank = int(wait_for_file(tmp_path / "pid"))
        assert wait_for_file(tmp_path / "armed") == "True"
        assert sorted(liveness.run_processes(run_dir)) == sorted([launcher.pid, rank])
        launcher.kill()
        launcher.wait()
        assert gone(rank), "the rank trains on after its launcher was killed"
        assert liveness.run_processes(run_dir) == []
    finally:
        launcher.kill()
        for pid in liveness.run_processes(run_dir):  # what a failed test would leave
            os.kill(pid, signal.SIGKILL)


def test_a_rank_whose_launcher_is_already_gone_ends_itself(tmp_path):
    """Its parent is no process of the run (the launcher died before the rank armed itself)."""
    run_dir = run_folder(tmp_path)
    rank = subprocess.run([sys.executable, "-c", RANK, str(run_dir), str(tmp_path / "armed")],
                          env={**os.environ, "HFTUI_RUN_DIR": str(run_dir)}, timeout=60)
    assert rank.returncode == -signal.SIGKILL
    assert not (tmp_path / "armed").exists()


def test_a_worker_started_by_hand_keeps_the_usual_rules(tmp_path):
    run_dir = run_folder(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "HFTUI_RUN_DIR"}
    code = RANK.replace("time.sleep(120)", "")
    rank = subprocess.run([sys.executable, "-c", code, str(run_dir), str(tmp_path / "armed")], env=env, timeout=60)
    assert rank.returncode == 0 and (tmp_path / "armed").read_text() == "False"


def test_the_training_process_dies_with_a_killed_supervisor(tmp_path):
    run_dir = run_folder(tmp_path)
    rec = RunRecord(id=run_dir.name, name="t", preset_path=None, run_dir=run_dir, output_dir=str(tmp_path / "out"),
                    command=[sys.executable, "-c", SLEEP, "-m", WORKER, str(run_dir)], created=time.time())
    rec.save()
    supervisor = subprocess.Popen([sys.executable, "-m", liveness.SUPERVISOR_MODULE, str(run_dir)],
                                  stdout=open(rec.log_path, "ab"), stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.time() + 30
        while not RunRecord.load(run_dir).worker_pid and time.time() < deadline:
            time.sleep(0.05)
        worker = RunRecord.load(run_dir).worker_pid
        assert worker and not gone(worker, 0.3)
        supervisor.kill()  # SIGKILL: no handler runs, as with the OOM killer
        supervisor.wait()
        assert gone(worker), "the training process outlived its supervisor"
        after = RunRecord.load(run_dir).refresh()
        assert after.status == "failed" and after.error
    finally:
        supervisor.kill()


def test_leftovers_of_an_ended_run_refuse_a_resume_until_hftui_stop_ends_them(tmp_path, capsys):
    (tmp_path / "data.jsonl").write_text('{"text": "hello"}\n')
    preset_path = tmp_path / "p.toml"
    preset_path.write_text(sft_preset("leftovers", args={"max_steps": 2}))
    run_dir = run_folder(tmp_path)
    RunRecord(id=run_dir.name, name="leftovers", preset_path=str(preset_path), run_dir=run_dir,
              output_dir=str(tmp_path / "out"), status="failed", error="killed by signal 9", created=time.time()).save()
    (tmp_path / "out" / "checkpoint-2").mkdir()
    # a rank that outlived its run, alone in its session as torchrun leaves it
    rank = subprocess.Popen([sys.executable, "-c", SLEEP, "-m", WORKER, str(run_dir)], start_new_session=True)
    try:
        preset = preset_mod.load(preset_path)
        with pytest.raises(PresetError) as refused:
            runs.start_run(preset, resume_from="last", validate=False)
        problem = refused.value.problems[0]
        assert problem.path == "args.output_dir" and str(rank.pid) in problem.message and run_dir.name in problem.message
        assert f"hftui stop {run_dir.name}" in problem.hint
        assert [d.name for d in (tmp_path / "out" / ".hftui").iterdir() if d.is_dir()] == [run_dir.name]  # nothing started
        code = cli.main(["stop", str(run_dir)])
        out = capsys.readouterr().out
        assert code == 0 and str(rank.pid) in out, out
        assert rank.wait(timeout=10) is not None
        refuse_leftovers(tmp_path / "out")  # the folder is free again
    finally:
        rank.kill()


TORCHRUN_REPORT = """
torch.distributed.elastic.multiprocessing.errors.ChildFailedError:
=======================================================
hftui.core.train.worker FAILED
-------------------------------------------------------
Failures:
[1]:
  time      : 2026-12-03_07:48:00
  host      : localhost
  rank      : 0 (local_rank: 0)
  exitcode  : {other} (pid: 25844)  (SIGTERM)
  error_file: <N/A>
  traceback : Signal 15 (SIGTERM) received by PID 25844
-------------------------------------------------------
Root Cause (first observed failure):
[0]:
  time      : 2026-12-03_07:48:00
  host      : localhost
  rank      : 1 (local_rank: 1)
  exitcode  : {root} (pid: 25845)  (SIGKILL)
  error_file: <N/A>
  traceback : Signal 9 (SIGKILL) received by PID 25845
=======================================================
"""


@pytest.mark.parametrize("root, other, expected", [(-9, -15, (1, 9)), (1, -15, None), (-15, -9, (0, 9)), (-11, 1, (1, 11))])
def test_the_rank_torchrun_reports_killed(tmp_path, root, other, expected):
    log = tmp_path / "log.txt"
    log.write_text("{'loss': 1.0}\n" + TORCHRUN_REPORT.format(root=root, other=other))
    assert killed_rank(log) == expected


def test_a_sigkill_reads_as_a_likely_out_of_memory():
    assert killed_by(9) == "killed by signal 9 (SIGKILL, out of memory?)"
    assert killed_by(11) == "killed by signal 11 (SIGSEGV)"
    assert killed_by(200) == "killed by signal 200"
