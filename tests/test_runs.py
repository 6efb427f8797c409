"""Run folders, the index, lookup, liveness and the supervisor, with a small stand-in worker.

The stand-in worker speaks the worker's contract (events, the stop file, exit codes 0/130/1)
without training, so these tests exercise the process handling in a second or two. The real
worker is exercised end to end in test_cli_run.py and test_faults.py.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from hftui.core import launch as launch_mod
from hftui.core.run import start as runs
from hftui.core.run.events import last_progress, read_all
from hftui.core.run.index import RunLookupError, find_run, list_runs
from hftui.core.run.liveness import process_start_time
from hftui.core.run.record import VANISHED, RunRecord
from hftui.core.run.redact import is_secret_name, redact
from hftui.core.run.stop import kill_run, request_stop, wait_for_end
from hftui.core.preset import from_text
from hftui.core.problems import PresetError

FAKE_WORKER = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from hftui.core.run.events import EventWriter
    run_dir = Path(os.environ["HFTUI_RUN_DIR"])
    steps, delay, mode = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
    w = EventWriter(run_dir / "events.jsonl")
    w.write("start", 0, max_steps=steps, num_processes=1)
    print("fake worker starting", flush=True)
    for step in range(1, steps + 1):
        time.sleep(delay)
        w.write("log", step, loss=1.0 / step, epoch=step / steps)
        if mode == "crash" and step == 2:
            raise ValueError("the data ran out")
        if (run_dir / "stop").exists():
            w.write("checkpoint", step, path=str(run_dir / f"checkpoint-{step}"))
            w.write("end", step, status="stopped", error=None)
            sys.exit(130)
    if mode == "hang":
        time.sleep(600)
    w.write("end", steps, status="completed", error=None)
    """
)


def _preset(tmp_path: Path, extra: str = "") -> object:
    text = textwrap.dedent(
        f"""
        schema = 1
        name = "unit"
        [model]
        task = "causal-lm"
        [model.scratch]
        architecture = "llama"
        tokenizer = "byte"
        hidden_size = 32
        [dataset]
        path = "json"
        data_files = "data.jsonl"
        text_column = "text"
        [trainer]
        type = "sft"
        [args]
        output_dir = "out"
        max_steps = 5
        {extra}
        """
    )
    path = tmp_path / "unit.toml"
    path.write_text(text)
    (tmp_path / "data.jsonl").write_text('{"text": "hello"}\n')
    return from_text(text, path)


@pytest.fixture
def fake_launch(monkeypatch, tmp_path):
    """Make start_run launch the stand-in worker; returns a setter for its arguments."""
    script = tmp_path / "fake_worker.py"
    script.write_text(FAKE_WORKER)
    settings = {"steps": 5, "delay": 0.05, "mode": "ok"}

    def fake(preset, run_dir, gpus=None):
        argv = [sys.executable, str(script), str(settings["steps"]), str(settings["delay"]), settings["mode"], str(run_dir)]
        return launch_mod.Launch(argv, {"HFTUI_FAKE": "1"}, "single", 1, 1, "test", {"use_cpu": True})

    monkeypatch.setattr(launch_mod, "resolve_launch", fake)
    monkeypatch.setattr(runs, "_validate", lambda preset: [])
    return settings


def test_record_round_trip(tmp_path):
    run_dir = tmp_path / "out" / ".hftui" / "r1"
    run_dir.mkdir(parents=True)
    rec = RunRecord(id="r1", name="n", preset_path=None, run_dir=run_dir, output_dir=str(tmp_path / "out"),
                         command=["x"], status="completed", created=1.0, max_steps=3)
    rec.save()
    back = RunRecord.load(run_dir)
    assert back.id == "r1" and back.max_steps == 3 and back.run_dir == run_dir
    assert back.events_path == run_dir / "events.jsonl"
    assert back.stop_path == run_dir / "stop"
    data = json.loads((run_dir / "run.json").read_text())
    for key in ("id", "name", "preset_path", "run_dir", "output_dir", "host", "pid", "pgid", "command", "status",
                "created", "started", "ended", "exit_code", "resume_from", "backend", "num_processes",
                "num_machines", "max_steps", "error"):
        assert key in data, key
    assert stat.S_IMODE((run_dir / "run.json").stat().st_mode) == 0o600


def test_refresh_marks_a_dead_supervisor_failed(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()  # a pid that existed and is gone
    run_dir = tmp_path / "o" / ".hftui" / "dead"
    run_dir.mkdir(parents=True)
    rec = RunRecord(id="dead", name="d", preset_path=None, run_dir=run_dir, output_dir=str(tmp_path / "o"),
                         pid=proc.pid, status="running", created=time.time() - 5)
    rec.save()
    rec.refresh()
    assert rec.status == "failed" and rec.error == VANISHED
    assert RunRecord.load(run_dir).status == "failed"


def test_refresh_keeps_a_live_run_but_not_a_reused_pid(tmp_path):
    run_dir = tmp_path / "o" / ".hftui" / "live"
    run_dir.mkdir(parents=True)
    # our own pid with its real start time: alive
    rec = RunRecord(id="live", name="l", preset_path=None, run_dir=run_dir, output_dir=str(tmp_path / "o"),
                         pid=os.getpid(), pid_start=process_start_time(os.getpid()), status="running",
                         created=time.time())
    rec.save()
    assert rec.refresh().status == "running"
    # the same pid with another start time: a different process now, so the run is gone
    rec.pid_start = "1"
    rec.save()
    assert rec.refresh().status == "failed"


@pytest.mark.slow
def test_start_run_layout_index_and_completion(tmp_path, fake_launch, hftui_home):
    preset = _preset(tmp_path)
    rec = runs.start_run(preset, overrides=["args.max_steps=7"], name="first")
    assert rec.run_dir.parent == (tmp_path / "out" / ".hftui").resolve()
    assert stat.S_IMODE(rec.run_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((hftui_home / "runs").stat().st_mode) == 0o700
    entry = json.loads((hftui_home / "runs" / f"{rec.id}.json").read_text())
    assert entry["run_dir"] == str(rec.run_dir)
    written = from_text(rec.preset_file.read_text(), rec.preset_file, migrate=False)
    assert written.get("args.max_steps") == 7
    assert written.get("args.output_dir") == str((tmp_path / "out").resolve())
    assert written.get("dataset.data_files") == str((tmp_path / "data.jsonl").resolve())
    assert written.get("args.use_cpu") is True  # the launch's overrides are merged
    done = wait_for_end(rec, timeout=30)
    assert done.status == "completed" and done.exit_code == 0, rec.log_path.read_text()
    assert done.ended and done.started and done.pid
    kinds = [e["event"] for e in read_all(rec.events_path).events]
    assert kinds[0] == "start" and kinds[-1] == "end" and kinds.count("end") == 1
    assert "fake worker starting" in rec.log_path.read_text()
    listed = list_runs()
    assert [r.id for r in listed] == [rec.id]
    assert last_progress(listed[0].events_path, listed[0].max_steps) == (5, 7)
    assert find_run(rec.id).id == rec.id
    assert find_run(rec.id[:17]).id == rec.id
    assert find_run("first").id == rec.id
    assert find_run(str(rec.run_dir)).id == rec.id
    with pytest.raises(RunLookupError) as err:
        find_run("nope")
    assert err.value.candidates and err.value.candidates[0].id == rec.id


@pytest.mark.slow
def test_crash_is_failed_with_the_error_line(tmp_path, fake_launch):
    fake_launch["mode"] = "crash"
    rec = wait_for_end(runs.start_run(_preset(tmp_path)), timeout=30)
    assert rec.status == "failed" and rec.exit_code == 1
    assert rec.error == "ValueError: the data ran out"
    end = read_all(rec.events_path).events[-1]
    assert end["event"] == "end" and end["status"] == "failed" and end["step"] == 2


@pytest.mark.slow
def test_stop_request_is_graceful_and_busy_output_dir_refused(tmp_path, fake_launch):
    fake_launch.update(steps=400, delay=0.05)
    rec = runs.start_run(_preset(tmp_path))
    with pytest.raises(PresetError) as err:
        runs.start_run(_preset(tmp_path))
    assert rec.id in str(err.value) and "in use" in str(err.value)
    time.sleep(0.5)
    request_stop(rec)
    assert RunRecord.load(rec.run_dir).status in ("stopping", "stopped")
    done = wait_for_end(rec, timeout=30)
    assert done.status == "stopped" and done.exit_code == 130
    assert any(e["event"] == "checkpoint" for e in read_all(rec.events_path).events)
    # the folder is free again
    again = runs.start_run(_preset(tmp_path))
    request_stop(again)
    assert wait_for_end(again, timeout=30).status == "stopped"


@pytest.mark.slow
def test_stop_timeout_kills_and_sigkill_is_reported(tmp_path, fake_launch, monkeypatch):
    monkeypatch.setenv("HFTUI_STOP_TIMEOUT", "0.5")
    fake_launch.update(steps=1, delay=0.01, mode="hang")
    rec = runs.start_run(_preset(tmp_path))
    time.sleep(0.5)
    request_stop(rec)
    done = wait_for_end(rec, timeout=30)
    assert done.status == "stopped" and "signal 15" in done.error
    # an unrequested SIGKILL of the worker: failed, and an end event says so
    rec2 = runs.start_run(_preset(tmp_path))
    deadline = time.time() + 10
    while not RunRecord.load(rec2.run_dir).pgid and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    os.killpg(RunRecord.load(rec2.run_dir).pgid, signal.SIGKILL)
    done = wait_for_end(rec2, timeout=30)
    assert done.status == "failed" and done.error == "killed by signal 9 (SIGKILL, out of memory?)" and done.exit_code == 137
    end = read_all(rec2.events_path).events[-1]
    assert end["event"] == "end" and end["status"] == "failed" and end["error"] == done.error


@pytest.mark.slow
def test_kill_run_and_sigterm_to_the_supervisor(tmp_path, fake_launch):
    fake_launch.update(steps=400, delay=0.05)
    rec = runs.start_run(_preset(tmp_path))
    time.sleep(0.3)
    os.kill(RunRecord.load(rec.run_dir).pid, signal.SIGTERM)  # = a stop request
    assert wait_for_end(rec, timeout=30).status == "stopped"
    fake_launch.update(mode="hang", steps=1)
    rec2 = runs.start_run(_preset(tmp_path))
    time.sleep(0.5)
    done = kill_run(rec2, grace=2)
    assert done.status == "stopped" and not done.workers_alive()


def test_refusals_come_before_anything_starts(tmp_path, fake_launch, monkeypatch, hftui_home):
    preset = _preset(tmp_path, extra="")
    remote = preset.with_value("model.trust_remote_code", True)
    with pytest.raises(PresetError) as err:
        runs.start_run(remote)
    assert err.value.problems[0].path == "model.trust_remote_code"
    # the state dir is a file: refused with a clear message, nothing created
    blocked = tmp_path / "blocked-home"
    blocked.write_text("")
    monkeypatch.setenv("HFTUI_HOME", str(blocked))
    with pytest.raises(PresetError) as err:
        runs.start_run(preset)
    assert "state folder" in str(err.value) and "HFTUI_HOME" in str(err.value)
    assert not (tmp_path / "out" / ".hftui").exists()
    monkeypatch.setenv("HFTUI_HOME", str(hftui_home))
    # the output dir is a file
    (tmp_path / "out-file").write_text("")
    with pytest.raises(PresetError) as err:
        runs.start_run(preset.with_value("args.output_dir", "out-file"))
    assert err.value.problems[0].path == "args.output_dir"
    # resume with nothing to resume from
    with pytest.raises(PresetError) as err:
        runs.start_run(preset, resume_from="last")
    assert "no checkpoint" in str(err.value)


@pytest.mark.slow
def test_secrets_never_written(tmp_path, fake_launch, monkeypatch, hftui_home):
    monkeypatch.setenv("HF_TOKEN", "hf_unitSECRETtoken123")
    monkeypatch.setenv("MY_SERVICE_API_KEY", "k-unit-secret-456")
    preset = _preset(tmp_path, extra='hub_token = "hf_unitSECRETtoken123"')
    rec = wait_for_end(runs.start_run(preset), timeout=30)
    assert rec.status == "completed"
    for path in [*rec.run_dir.iterdir(), *(hftui_home / "runs").iterdir()]:
        text = path.read_text(errors="replace")
        assert "hf_unitSECRETtoken123" not in text and "k-unit-secret-456" not in text, path


@pytest.mark.slow
def test_resume_run_and_runs_whose_folder_is_gone(tmp_path, fake_launch):
    import shutil

    first = wait_for_end(runs.start_run(_preset(tmp_path), name="again"), timeout=30)
    assert first.status == "completed" and first.resume_from is None
    (tmp_path / "out" / "checkpoint-3").mkdir()
    second = runs.resume_run(first)
    assert second.id != first.id and second.resume_from == "last" and second.name == "again"
    assert RunRecord.load(second.run_dir).resume_from == "last"  # what the worker reads
    assert wait_for_end(second, timeout=30).status == "completed"
    assert find_run("again").id == second.id  # a name means its latest run
    shutil.rmtree(first.run_dir)
    assert [r.id for r in list_runs()] == [second.id]
    gone = [r for r in list_runs(include_missing=True) if r.missing]
    assert [r.id for r in gone] == [first.id]


def test_last_progress_reads_only_the_tail_and_skips_garbled_lines(tmp_path):
    run_dir = tmp_path / "o" / ".hftui" / "r"
    run_dir.mkdir(parents=True)
    rec = RunRecord(id="r", name="r", preset_path=None, run_dir=run_dir, output_dir=str(tmp_path / "o"))
    lines = [json.dumps({"event": "start", "time": 0, "step": 0, "max_steps": 9000})]
    lines += [json.dumps({"event": "log", "time": 0, "step": i, "loss": 1.0}) for i in range(1, 5000)]
    lines += ["{not json", json.dumps({"event": "log", "time": 0, "step": 5000}) + "\n{\"event\": \"log\", \"ti"]
    rec.events_path.write_text("\n".join(lines))
    assert last_progress(rec.events_path, rec.max_steps) == (5000, 9000)


@pytest.mark.slow
def test_a_lost_supervisor_takes_its_worker_along(tmp_path, fake_launch):
    fake_launch.update(steps=400, delay=0.05)
    rec = runs.start_run(_preset(tmp_path))
    deadline = time.time() + 10
    while not RunRecord.load(rec.run_dir).worker_pid and time.time() < deadline:
        time.sleep(0.05)
    os.kill(RunRecord.load(rec.run_dir).pid, signal.SIGKILL)  # the supervisor only: nothing trains unwatched
    done = wait_for_end(rec, timeout=10)
    assert done.status == "failed" and done.error == VANISHED and not rec.workers_alive()
    # a run whose processes all vanished without an end event: failed, and an end event is added
    fake_launch.update(steps=400, delay=0.05)
    rec2 = runs.start_run(_preset(tmp_path))
    while not RunRecord.load(rec2.run_dir).worker_pid and time.time() < deadline + 10:
        time.sleep(0.05)
    info = RunRecord.load(rec2.run_dir)
    os.kill(info.pid, signal.SIGKILL)
    os.killpg(info.pgid, signal.SIGKILL)
    time.sleep(0.3)
    assert wait_for_end(rec2, timeout=10).status == "failed" and rec2.error == VANISHED
    assert read_all(rec2.events_path).events[-1]["event"] == "end"


def test_secret_names_and_redaction(monkeypatch):
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "WANDB_API_KEY", "AWS_SECRET_ACCESS_KEY", "DB_PASSWORD", "my_secret"):
        assert is_secret_name(name), name
    for name in ("TOKENIZERS_PARALLELISM", "KEYBOARD", "HF_HUB_OFFLINE", "MONKEY"):
        assert not is_secret_name(name), name
    monkeypatch.setenv("HF_TOKEN", "hf_abcdefghijkl")
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "disabled-for-tests")
    assert redact("token hf_abcdefghijkl and disabled-for-tests") == "token <redacted> and disabled-for-tests"


@pytest.mark.slow
def test_foreground_ctrl_c_twice_kills_a_run_that_does_not_stop(tmp_path, fake_launch, capsys):
    import argparse
    import threading

    from hftui.tui.commands import run as run_cmd

    fake_launch.update(steps=1, delay=0.01, mode="hang")  # ignores the stop file
    preset = _preset(tmp_path)
    args = argparse.Namespace(preset=str(preset.path), again=None, overrides=[], detach=False, resume=False,
                              trust_remote_code=False, name=None)

    def press_ctrl_c_twice():
        deadline = time.time() + 60
        while time.time() < deadline:
            dirs = list((tmp_path / "out" / ".hftui").glob("*/run.json"))
            if dirs and json.loads(dirs[0].read_text()).get("worker_pid"):
                break
            time.sleep(0.05)
        time.sleep(0.3)
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.6)
        os.kill(os.getpid(), signal.SIGINT)

    presser = threading.Thread(target=press_ctrl_c_twice, daemon=True)
    presser.start()
    assert run_cmd.main(args) == 130
    presser.join(5)
    out = capsys.readouterr().out
    assert "stopping: saving a checkpoint; press Ctrl-C again to kill" in out and "killing the run's processes" in out
    record = RunRecord.load(next((tmp_path / "out" / ".hftui").glob("*/run.json")).parent)
    assert record.status == "stopped" and "signal" in record.error and not record.workers_alive()


@pytest.mark.slow
def test_foreground_failure_exits_1_with_the_error_and_the_log_tail(tmp_path, fake_launch, capsys):
    import argparse

    from hftui.tui.commands import run as run_cmd

    fake_launch["mode"] = "crash"
    preset = _preset(tmp_path)
    args = argparse.Namespace(preset=str(preset.path), again=None, overrides=[], detach=False, resume=False,
                              trust_remote_code=False, name=None)
    assert run_cmd.main(args) == 1
    out = capsys.readouterr().out
    assert "error: ValueError: the data ran out" in out and "last lines of" in out
    assert "fake worker starting" in out and "Traceback" in out  # the log's tail, kept short
    assert len(out.splitlines()) < 45


def test_a_launch_that_cannot_be_resolved_leaves_no_run_behind(tmp_path, monkeypatch, hftui_home):
    from hftui.core.problems import Problem

    def refuse(preset, run_dir, gpus=None):
        raise PresetError([Problem("launch.num_processes", "error", "8 processes but this machine has 1 GPU")])

    monkeypatch.setattr(launch_mod, "resolve_launch", refuse)
    monkeypatch.setattr(runs, "_validate", lambda preset: [])
    with pytest.raises(PresetError) as err:
        runs.start_run(_preset(tmp_path))
    assert err.value.problems[0].path == "launch.num_processes"
    assert [p for p in (tmp_path / "out" / ".hftui").iterdir() if p.is_dir()] == []
    assert list_runs() == []
