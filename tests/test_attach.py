"""`hftui attach`: the post-mortem of a finished run, the run list, a run that outlives the app."""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
from textual.app import App
from textual.widgets import Static

from conftest import hftui_cmd
from hftui.core.run.events import EventWriter, read_all
from hftui.core.run.record import RunRecord
from hftui.tui.attach_app import AttachApp
from hftui.tui.screens.monitor import MonitorScreen
from hftui.tui.screens.runs import RunsScreen
from hftui.tui.widgets.run_curves import RunCurves
from hftui.tui.widgets.run_eval_table import RunEvalTable
from hftui.tui.widgets.run_progress import RunProgress
from hftui.tui.widgets.run_summary import RunSummary

SIZE = (120, 40)


async def wait_for(pilot, condition, timeout: float = 20.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await pilot.pause(0.05)
        if condition():
            return
    raise AssertionError(f"timed out waiting for {what}")


def progress_text(screen) -> str:
    return " ".join(str(s.render()) for s in screen.query_one(RunProgress).query(Static))


def _finished_run(folder: Path, steps: int = 500) -> Path:
    run_dir = folder / ".hftui" / "20260102-030405-abcd"
    run_dir.mkdir(parents=True)
    RunRecord(id=run_dir.name, name="post-mortem", preset_path=None, run_dir=run_dir, output_dir=str(folder),
              status="completed", created=time.time() - 100, started=time.time() - 100,
              ended=time.time() - 1, exit_code=0, max_steps=steps).save()
    w = EventWriter(run_dir / "events.jsonl")
    w.write("start", 0, max_steps=steps, preset="post-mortem", trainer_type="trainer", device="cpu")
    for s in range(1, steps + 1):
        w.write("log", s, loss=2.0 / (1 + s / 50), learning_rate=1e-3, epoch=s / 100)
        if s % 100 == 0:
            w.write("eval", s, eval_loss=1.5 / (1 + s / 100), eval_f1=s / (steps + 100))
    w.write("end", steps, status="completed", error=None, output_dir=str(folder), runtime=99.0)
    w.close()
    (run_dir / "log.txt").write_text("training\ndone\n")
    return run_dir


async def test_attach_a_finished_run_opens_the_whole_history(tmp_path):
    run_dir = _finished_run(tmp_path / "out")
    app = AttachApp(run_dir)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen))
        screen = app.screen
        await wait_for(pilot, lambda: screen.first_full_render is not None, what="the history")
        assert screen.state.loss.count == 500 and screen.state.step == 500
        summary = screen.query_one(RunSummary)
        await wait_for(pilot, lambda: summary.has_class("-shown"))
        assert "DONE" in progress_text(screen) and "step 500/500" in progress_text(screen)
        assert screen.query_one(RunEvalTable).values()["f1"] == ("0.8333", "0.8333", "500")
        assert len(screen.query_one(RunCurves).drawn["loss"]["loss"][0]) == 500
        await pilot.press("escape")  # leaving the only pane quits the app
        await wait_for(pilot, lambda: not app.is_running, what="the app to exit")


async def test_attach_without_a_run_lists_the_runs(tmp_path):
    run_dir = _finished_run(tmp_path / "out", steps=20)
    index = Path(os.environ["HFTUI_HOME"]) / "runs"
    index.mkdir()
    (index / f"{run_dir.name}.json").write_text(json.dumps({"id": run_dir.name, "run_dir": str(run_dir), "created": 1}))
    app = AttachApp()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen) and app.screen.loaded)
        assert [r.id for r in app.screen.shown_rows()] == [run_dir.name]
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen))
        await wait_for(pilot, lambda: app.screen.state.step == 20)


def test_attach_an_unknown_run_is_a_clear_error():
    proc = subprocess.run(hftui_cmd("attach", "no-such-run"), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "no run 'no-such-run'" in proc.stderr and "Traceback" not in proc.stderr + proc.stdout
    assert "fix:" in proc.stderr


TINY_PRESET = """\
schema = 1
name = "tiny-e2e"
[model]
task = "causal-lm"
[model.scratch]
architecture = "llama"
tokenizer = "byte"
hidden_size = 32
num_hidden_layers = 1
num_attention_heads = 2
num_key_value_heads = 2
intermediate_size = 64
[dataset]
path = "json"
data_files = "data.jsonl"
text_column = "text"
eval_fraction = 0.1
max_length = 32
[trainer]
type = "sft"
[args]
output_dir = "out"
max_steps = {max_steps}
per_device_train_batch_size = 4
logging_steps = 5
eval_strategy = "steps"
eval_steps = {eval_steps}
save_steps = {save_steps}
report_to = "none"
"""


@pytest.mark.slow
async def test_a_run_started_from_the_app_outlives_it_and_attach_shows_it_all(tmp_path, monkeypatch):
    from hftui.core.run.start import start_run
    from hftui.core.run.stop import wait_for_end
    from hftui.tui.screens import monitor

    monkeypatch.setattr(monitor, "POLL_S", 0.1)  # see two steps early, so the app leaves mid-run

    rng = random.Random(0)
    with open(tmp_path / "data.jsonl", "w", encoding="utf-8") as fh:
        for _ in range(80):
            a, b = rng.randint(0, 9), rng.randint(0, 9)
            fh.write(json.dumps({"text": f"{a} plus {b} is {a + b}."}) + "\n")
    max_steps = 300
    preset = tmp_path / "tiny.toml"
    preset.write_text(TINY_PRESET.format(max_steps=max_steps, eval_steps=100, save_steps=150))

    class Wizardish(App):
        """Starts the run the way the wizard's Run does, then shows its live pane."""

        record: RunRecord | None = None

        async def on_mount(self) -> None:
            self.record = await asyncio.to_thread(start_run, preset)
            self.push_screen(MonitorScreen(self.record.run_dir))

    app = Wizardish()
    seen_steps: list[int] = []
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen), timeout=30, what="the live pane")
        screen = app.screen

        def advancing() -> bool:
            step = screen.state.step
            if step and (not seen_steps or step != seen_steps[-1]):
                seen_steps.append(step)
            return len(seen_steps) >= 2

        await wait_for(pilot, advancing, timeout=90, what="progress to advance")
        await wait_for(pilot, lambda: "RUNNING" in progress_text(screen) and f"/{max_steps}" in progress_text(screen),
                       what="the progress line")
        curves = screen.query_one(RunCurves)
        await wait_for(pilot, lambda: len(curves.drawn["loss"].get("loss", ([], []))[0]) >= 2,
                       what="the loss curve to fill")
        record = app.record
        assert record is not None and not screen.state.finished
    # The app is gone; the run goes on in its own session.
    assert record.refresh().is_active, "the run should still be going when the app exits"
    record = wait_for_end(record, timeout=180)
    assert record.status == "completed", (record.status, record.error, record.log_path.read_text()[-2000:])

    events = read_all(record.events_path).events
    logs = [e for e in events if e["event"] == "log" and "loss" in e]
    evals = [e for e in events if e["event"] == "eval"]
    assert len(logs) == max_steps // 5 and len(evals) == max_steps // 100

    attach = AttachApp(record.run_dir)
    async with attach.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(attach.screen, MonitorScreen))
        screen = attach.screen
        await wait_for(pilot, lambda: screen.query_one(RunSummary).has_class("-shown"), what="the summary")
        state = screen.state
        assert state.status == "completed" and state.step == max_steps
        assert state.loss.count == len(logs)
        assert state.loss.points()[1] == [e["loss"] for e in logs]
        assert state.metrics["eval_loss"].history.count == len(evals)
        assert "loss" in screen.query_one(RunEvalTable).values()
        assert f"step {max_steps}/{max_steps}" in str(screen.query_one(RunSummary).render())
        assert [c[0] for c in state.checkpoints] == [150, 300]

    # The person's path: `hftui attach ID-PREFIX` in a real terminal shows the finished run.
    if shutil.which("tmux"):
        session = f"hftui-attach-{os.getpid()}"
        sock = ["tmux", "-L", session]
        env_cmd = " ".join(f"{k}={v}" for k, v in (("HFTUI_HOME", os.environ["HFTUI_HOME"]),))
        cmd = " ".join(hftui_cmd("attach", record.id[:17]))
        subprocess.run(sock + ["new-session", "-d", "-x", "100", "-y", "30", f"env {env_cmd} {cmd}"], check=True)
        try:
            screen_text = ""
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                time.sleep(0.5)
                screen_text = subprocess.run(sock + ["capture-pane", "-p"], capture_output=True, text=True).stdout
                if "DONE" in screen_text and f"step {max_steps}/{max_steps}" in screen_text:
                    break
            assert "DONE" in screen_text and f"step {max_steps}/{max_steps}" in screen_text, screen_text
            subprocess.run(sock + ["send-keys", "escape"], check=True)
        finally:
            subprocess.run(sock + ["kill-server"], capture_output=True)


def _listed(run_dir: Path) -> None:
    index = Path(os.environ["HFTUI_HOME"]) / "runs"
    index.mkdir(exist_ok=True)
    (index / f"{run_dir.name}.json").write_text(json.dumps({"id": run_dir.name, "run_dir": str(run_dir), "created": 1}))


def test_attach_without_a_run_opens_the_one_run_still_going(tmp_path):
    from hftui.tui.commands.attach import only_live_run

    _listed(_finished_run(tmp_path / "old"))
    assert only_live_run() is None  # nothing going: the list lets the person choose
    live = tmp_path / "new" / ".hftui" / "20260102-030406-beef"
    live.mkdir(parents=True)
    RunRecord(id=live.name, name="just started", preset_path=None, run_dir=live, output_dir=str(tmp_path / "new"),
              status="starting", created=time.time(), started=None, ended=None, exit_code=None, max_steps=10,
              host=socket.gethostname()).save()
    _listed(live)
    assert only_live_run() == live
    second = tmp_path / "other" / ".hftui" / "20260102-030407-cafe"
    second.mkdir(parents=True)
    RunRecord(id=second.name, name="also going", preset_path=None, run_dir=second, output_dir=str(tmp_path / "other"),
              status="starting", created=time.time(), started=None, ended=None, exit_code=None, max_steps=10,
              host=socket.gethostname()).save()
    _listed(second)
    assert only_live_run() is None  # two going: choose from the list
