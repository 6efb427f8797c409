"""Faults of a two-process run (torchrun, two CPU ranks over gloo), each followed by a resume.

SIGKILL of the supervisor, SIGKILL of one rank, and a rank killed as the kernel's OOM killer
kills (SIGKILL, no handler runs): no rank trains on, the run's status says what happened, and
the resume continues from the last checkpoint without repeating or skipping a step.

The faults come one after another in one training, each resume the next fault's run: four
starts of two ranks instead of six, the slow part of these tests. Each kill lands right after
a checkpoint, so that no save is cut in half (a partial checkpoint is another fault, tested on
its own).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from pathlib import Path

import pytest

from hftui.core import preset as preset_mod
from hftui.core.run import liveness
from hftui.core.run import start as runs
from hftui.core.run.events import read_all
from hftui.core.run.record import RunRecord
from hftui.core.run.stop import kill_run, wait_for_end
from hftui.tui import cli
from tiny_presets import scratch_llama, sft_preset

pytestmark = [pytest.mark.slow, pytest.mark.dist]

MAX_STEPS = 30
SAVE_STEPS = 5
TIMEOUT = 180


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_preset(tmp_path: Path) -> Path:
    words = ["red", "green", "blue", "cyan", "magenta", "yellow"]
    with open(tmp_path / "data.jsonl", "w") as fh:
        for i in range(64):
            fh.write(json.dumps({"text": " ".join(words[(i * 5 + j) % 6] for j in range(8))}) + "\n")
    path = tmp_path / "tiny.toml"
    path.write_text(sft_preset(
        "dist-faults", task=None, scratch=scratch_llama(heads=4, kv_heads=4),
        args=dict(max_steps=MAX_STEPS, per_device_train_batch_size=2, logging_steps=1, save_steps=SAVE_STEPS, seed=3),
        launch=dict(backend="ddp", num_processes=2, main_process_port=free_port()),
    ))
    return path


def wait_for(predicate, what: str, timeout: float = TIMEOUT, poll: float = 0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError(f"timed out waiting for {what}")


def trained_steps(run: RunRecord) -> list[int]:
    return [e["step"] for e in read_all(run.events_path).events if e["event"] == "log" and "loss" in e]


def right_after_a_checkpoint(run: RunRecord, resumed_at: int) -> int:
    """Wait until training is one step past a checkpoint of this run (the next save is steps
    away); returns that step."""
    def ready():
        steps = trained_steps(run)
        return steps and steps[-1] > resumed_at + SAVE_STEPS and steps[-1] % SAVE_STEPS == 1 and steps[-1]
    try:
        return wait_for(ready, "a step right after a checkpoint", poll=0.02)
    except AssertionError:
        raise AssertionError(run.log_path.read_text()[-3000:]) from None


def ranks(run: RunRecord) -> dict[int, int]:
    """{rank: pid} of the training processes torchrun started."""
    found = {}
    for pid in liveness.run_processes(run.run_dir):
        try:
            env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        rank = next((int(v[5:]) for v in env if v.startswith(b"RANK=")), None)
        if rank is not None and pid != run.pgid:
            found[rank] = pid
    return found


def nothing_left(run: RunRecord, timeout: float) -> None:
    """Every process of the run ends within `timeout` seconds, and no step is logged after."""
    wait_for(lambda: not liveness.run_processes(run.run_dir), "every process of the run to end", timeout)
    steps = trained_steps(run)
    time.sleep(1.0)
    assert trained_steps(run) == steps, "a rank trained on"


def listed(run_id: str, capsys) -> dict:
    """The run as `hftui runs --json` lists it."""
    capsys.readouterr()
    assert cli.main(["runs", "--json"]) == 0
    return next(r for r in json.loads(capsys.readouterr().out) if r["id"] == run_id)


def newest_checkpoint(output_dir: Path) -> int:
    return max(int(p.name.split("-")[1]) for p in output_dir.glob("checkpoint-*") if (p / "trainer_state.json").is_file())


def kill_supervisor(run: RunRecord) -> str:
    assert len(ranks(run)) == 2
    os.kill(run.pid, signal.SIGKILL)
    nothing_left(run, timeout=5)
    return ""  # the record says why (the processes vanished); any reason will do


def kill_rank(victim: int):
    def kill(run: RunRecord) -> str:
        pids = ranks(run)
        assert sorted(pids) == [0, 1]
        os.kill(pids[victim], signal.SIGKILL)  # what the OOM killer sends
        wait_for_end(run, timeout=60)  # torchrun tears the other rank down
        nothing_left(run, timeout=5)
        return f"rank {victim} was killed by signal 9 (SIGKILL, out of memory?)"
    return kill


def test_supervisor_killed_then_a_rank_then_a_rank_out_of_memory_each_resumed(tmp_path, capsys):
    output_dir = tmp_path / "out"
    run = runs.start_run(preset_mod.load(write_preset(tmp_path)), validate=False)
    resumed_at = 0
    faults = [("SIGKILL of the supervisor", kill_supervisor), ("SIGKILL of rank 1", kill_rank(1)),
              ("OOM kill of rank 0, the events writer", kill_rank(0))]
    try:
        for fault, kill in faults:
            at = right_after_a_checkpoint(run, resumed_at)
            expected = kill(run)
            # this run (a resume, after the first fault) trained on from its checkpoint: no step again, none skipped
            assert trained_steps(run)[: at - resumed_at] == list(range(resumed_at + 1, at + 1)), (fault, trained_steps(run))
            info = listed(run.id, capsys)
            assert info["status"] == "failed" and info["error"], (fault, info)
            assert not expected or info["error"] == expected, (fault, info["error"], run.log_path.read_text()[-3000:])
            assert RunRecord.load(run.run_dir).status == "failed"
            assert read_all(run.events_path).events[-1]["event"] == "end", fault
            saved = newest_checkpoint(output_dir)
            assert saved == at - 1, (fault, saved, at)
            run = runs.resume_run(run, validate=False)
            resumed_at = saved
        run = wait_for_end(run, timeout=TIMEOUT)
    finally:
        if run.is_active:
            kill_run(run)
    assert run.status == "completed", run.log_path.read_text()[-3000:]
    assert trained_steps(run) == list(range(resumed_at + 1, MAX_STEPS + 1))
    assert read_all(run.events_path).events[-1]["step"] == MAX_STEPS
