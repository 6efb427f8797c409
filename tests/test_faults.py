"""Faults, end to end through the real CLI: nothing written before is lost.

SIGKILL of the training process (failed, checkpoint intact, resume continues the step count),
graceful stops (hftui stop, Ctrl-C), the terminal's process dying while the run goes on, a
second run on a busy output folder, an unwritable state or output folder. (Process handling with
a stand-in worker, e.g. a second Ctrl-C or a crash, is in test_runs.py.)
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import hftui_cmd
from tiny_presets import sft_preset
from hftui.core.run.events import read_all

TIMEOUT = 240


def write_preset(folder: Path, max_steps: int, save_steps: int, column: str = "text") -> Path:
    words = ["red", "green", "blue", "cyan", "magenta", "yellow"]
    with open(folder / "data.jsonl", "w") as fh:
        for i in range(48):
            fh.write(json.dumps({"text": " ".join(words[(i * 5 + j) % 6] for j in range(8))}) + "\n")
    path = folder / "tiny.toml"
    args = dict(max_steps=max_steps, per_device_train_batch_size=4, logging_steps=1, save_steps=save_steps, seed=3)
    path.write_text(sft_preset("tiny-faults", text_column=column, args=args))
    return path


def run_cli(*args: str, cwd: Path, timeout: float = TIMEOUT, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(hftui_cmd(*args), cwd=cwd, capture_output=True, text=True, timeout=timeout, **kw)


def wait_for(predicate, timeout: float = TIMEOUT, what: str = "", poll: float = 0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError(f"timed out waiting for {what}")


def run_dirs(output_dir: Path) -> list[Path]:
    root = output_dir / ".hftui"
    if not root.is_dir():
        return []
    return sorted((d for d in root.iterdir() if (d / "run.json").is_file()), key=lambda d: d.name)


def record(run_dir: Path) -> dict:
    return json.loads((run_dir / "run.json").read_text())


def events(run_dir: Path) -> list[dict]:
    return read_all(run_dir / "events.jsonl").events


def logged_step(run_dir: Path, at_least: int = 1) -> bool:
    return any(e["event"] == "log" and e["step"] >= at_least for e in events(run_dir))


def final(run_dir: Path, timeout: float = TIMEOUT) -> dict:
    return wait_for(lambda: (r := record(run_dir))["status"] in ("completed", "stopped", "failed") and r,
                    timeout, "the run to end", poll=0.2)


def detach(preset: Path, cwd: Path) -> Path:
    result = run_cli("run", str(preset), "--detach", cwd=cwd, timeout=60)
    assert result.returncode == 0, result.stderr
    run_dir = [d for d in run_dirs(cwd / "out") if d.name == result.stdout.strip()]
    assert run_dir, result.stdout
    return run_dir[0]


def stop_checkpoint_ok(run_dir: Path, output_dir: Path) -> int:
    """The stopped run saved a checkpoint at the step it ended on; returns that step."""
    evs = events(run_dir)
    end = evs[-1]
    assert end["event"] == "end" and end["status"] == "stopped", evs[-3:]
    saved = [e for e in evs if e["event"] == "checkpoint"]
    assert saved and saved[-1]["step"] == end["step"]
    assert (output_dir / f"checkpoint-{end['step']}" / "trainer_state.json").is_file()
    return end["step"]


@pytest.mark.slow
def test_sigkill_mid_run_then_resume_continues(tmp_path):
    preset = write_preset(tmp_path, max_steps=60, save_steps=5)
    first = detach(preset, tmp_path)
    wait_for(lambda: any(e["event"] == "checkpoint" for e in events(first)), what="a first checkpoint")
    os.killpg(record(first)["pgid"], signal.SIGKILL)
    info = final(first)
    assert info["status"] == "failed" and info["error"] == "killed by signal 9 (SIGKILL, out of memory?)" and info["exit_code"] == 137
    end = events(first)[-1]
    assert end["event"] == "end" and end["status"] == "failed" and end["step"] < 60
    saved = [e["step"] for e in events(first) if e["event"] == "checkpoint"]
    last = tmp_path / "out" / f"checkpoint-{saved[-1]}"
    assert (last / "trainer_state.json").is_file() and (last / "model.safetensors").is_file()
    assert json.loads((last / "trainer_state.json").read_text())["global_step"] == saved[-1]
    listed = json.loads(run_cli("runs", "--json", cwd=tmp_path, timeout=60).stdout)
    assert listed[0]["id"] == first.name and listed[0]["status"] == "failed"

    resumed = run_cli("run", str(preset), "--resume", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    second = [d for d in run_dirs(tmp_path / "out") if d != first][0]
    info = record(second)
    assert info["status"] == "completed" and info["resume_from"] == "last"
    steps = [e["step"] for e in events(second) if e["event"] == "log"]
    newest = max(int(p.name.split("-")[1]) for p in (tmp_path / "out").glob("checkpoint-*") if p.name.split("-")[1].isdigit() and int(p.name.split("-")[1]) < 60)
    assert steps and steps[0] > saved[-1] - 1 and steps[0] <= newest + 1, (steps[:3], saved)
    assert steps[-1] == 60 and events(second)[-1]["step"] == 60
    assert len(steps) < 60  # continued, not restarted


@pytest.mark.slow
def test_ctrl_c_on_the_foreground_run_stops_with_a_checkpoint(tmp_path):
    preset = write_preset(tmp_path, max_steps=5000, save_steps=100000)
    out = open(tmp_path / "screen.txt", "w")
    proc = subprocess.Popen(hftui_cmd("run", str(preset)), cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT)
    try:
        run_dir = wait_for(lambda: run_dirs(tmp_path / "out") and run_dirs(tmp_path / "out")[0], what="the run folder")
        wait_for(lambda: logged_step(run_dir), what="training to start")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=TIMEOUT) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
        out.close()
    screen = (tmp_path / "screen.txt").read_text()
    assert "stopping: saving a checkpoint; press Ctrl-C again to kill" in screen
    assert "Traceback" not in screen and "stopped" in screen
    assert record(run_dir)["status"] == "stopped"
    stop_checkpoint_ok(run_dir, tmp_path / "out")


@pytest.mark.slow
def test_the_run_outlives_its_terminal_keeps_its_folder_and_stops_gracefully(tmp_path):
    preset = write_preset(tmp_path, max_steps=5000, save_steps=100000)
    proc = subprocess.Popen(hftui_cmd("run", str(preset)), cwd=tmp_path, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    run_dir = wait_for(lambda: run_dirs(tmp_path / "out") and run_dirs(tmp_path / "out")[0], what="the run folder")
    wait_for(lambda: logged_step(run_dir), what="training to start")
    proc.kill()  # the terminal's process dies (SSH dropped)
    proc.wait(timeout=30)
    before = max(e["step"] for e in events(run_dir))
    wait_for(lambda: max(e["step"] for e in events(run_dir)) > before + 3, what="training to go on")
    assert record(run_dir)["status"] == "running"
    # a second run on the same output folder is refused, naming the running one
    second = run_cli("run", str(preset), cwd=tmp_path, timeout=60)
    assert second.returncode == 2, second.stdout + second.stderr
    assert run_dir.name in second.stderr and "in use" in second.stderr
    assert len(run_dirs(tmp_path / "out")) == 1
    stopped = run_cli("stop", run_dir.name[-4:], "--wait", "--timeout", "180", cwd=tmp_path)
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert "asked to stop" in stopped.stdout and "stopped" in stopped.stdout
    info = record(run_dir)
    assert info["status"] == "stopped" and info["exit_code"] == 130
    stop_checkpoint_ok(run_dir, tmp_path / "out")


def test_unwritable_state_dir_is_refused_before_training(tmp_path, monkeypatch):
    preset = write_preset(tmp_path, max_steps=4, save_steps=2)
    blocked = tmp_path / "state-is-a-file"
    blocked.write_text("not a folder")
    env = dict(os.environ, HFTUI_HOME=str(blocked))
    result = run_cli("run", str(preset), cwd=tmp_path, timeout=60, env=env)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "state folder" in result.stderr and "HFTUI_HOME" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()
    assert blocked.read_text() == "not a folder"
    # an output folder that cannot be made is refused the same way
    (tmp_path / "taken").write_text("")
    result = run_cli("run", str(preset), "--set", "args.output_dir=taken/out", cwd=tmp_path, timeout=60)
    assert result.returncode == 2 and "args.output_dir" in result.stderr and "file" in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("target", ["supervisor", "worker"])
def test_sigterm_to_a_detached_run_stops_it_with_a_checkpoint(tmp_path, target):
    """A scheduler's or a person's `kill -TERM` is a stop request, whichever process gets it."""
    preset = write_preset(tmp_path, max_steps=5000, save_steps=100000)
    run_dir = detach(preset, tmp_path)
    wait_for(lambda: logged_step(run_dir, at_least=2), what="training to start")
    info = record(run_dir)
    pid = info["pid"] if target == "supervisor" else wait_for(lambda: record(run_dir).get("worker_pid"), what="the worker pid")
    os.kill(pid, signal.SIGTERM)
    info = final(run_dir)
    assert info["status"] == "stopped" and info["exit_code"] == 130, info
    step = stop_checkpoint_ok(run_dir, tmp_path / "out")
    assert step < 5000
