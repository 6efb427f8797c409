"""The live pane and the runs screen, driven with Pilot over recorded run folders."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from textual.app import App
from textual.widgets import DataTable, Input, Static

from hftui.core.run.events import EventWriter
from hftui.core.run.liveness import process_start_time
from hftui.core.run.record import RunRecord
from hftui.tui.screens.monitor import ConfirmScreen, MonitorScreen
from hftui.tui.screens.runs import RunsScreen
from hftui.tui.widgets.run_curves import RunCurves
from hftui.tui.widgets.run_eval_table import RunEvalTable
from hftui.tui.widgets.run_failure import RunFailure
from hftui.tui.widgets.run_gpu import RunGpu
from hftui.tui.widgets.run_log import RunLog
from hftui.tui.widgets.run_progress import RunProgress
from hftui.tui.widgets.run_summary import RunSummary

SIZE = (120, 40)


class Host(App):
    """A bare app that shows one screen, the way the wizard and `hftui attach` push them."""

    def __init__(self, screen_factory):
        super().__init__()
        self._factory = screen_factory

    def on_mount(self) -> None:
        self.push_screen(self._factory())


async def wait_for(pilot, condition, timeout: float = 15.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await pilot.pause(0.05)
        if condition():
            return
    raise AssertionError(f"timed out waiting for {what}")


def make_run(home_out: Path, run_id: str, *, status="running", name="tiny", pid=None, max_steps=None,
             created=None, index=True) -> RunRecord:
    """A run folder and index entry laid out as core.runs writes them."""
    run_dir = home_out / ".hftui" / run_id
    run_dir.mkdir(parents=True)
    record = RunRecord(id=run_id, name=name, preset_path=None, run_dir=run_dir, output_dir=str(home_out),
                       host=socket.gethostname(), pid=pid, pid_start=process_start_time(pid) if pid else None,
                       status=status, created=created or time.time(), started=created or time.time(),
                       max_steps=max_steps)
    record.save()
    (run_dir / "log.txt").write_text("", encoding="utf-8")
    (run_dir / "events.jsonl").write_text("", encoding="utf-8")
    if index:
        from hftui.core.fsutil import state_dir

        folder = state_dir() / "runs"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{run_id}.json").write_text(json.dumps(
            {"id": run_id, "run_dir": str(run_dir), "created": record.created}), encoding="utf-8")
    return record


@pytest.fixture
def sleeper():
    """A live process standing in for a run's supervisor (so the run counts as alive)."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield proc
    proc.kill()
    proc.wait()


def progress_text(screen) -> str:
    widget = screen.query_one(RunProgress)
    return " ".join(str(s.render()) for s in widget.query(Static))


async def test_monitor_follows_a_growing_run_to_its_end(tmp_path, sleeper):
    record = make_run(tmp_path / "out", "r-live", pid=sleeper.pid, max_steps=40)
    writer = EventWriter(record.events_path)
    writer.write("start", 0, max_steps=40, num_train_epochs=1, preset="tiny", trainer_type="sft", device="cpu")
    writer.write("notice", 0, message="no GPU: running on CPU")
    for s in range(1, 6):
        writer.write("log", s, loss=3.0 - 0.05 * s, learning_rate=1e-3, epoch=s / 40, samples_per_second=8.0)
    with open(record.log_path, "a", encoding="utf-8") as log:
        log.write("hftui: 1,234 of 1,234 parameters train (100.00%)\n")

    app = Host(lambda: MonitorScreen(record.run_dir))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        assert isinstance(screen, MonitorScreen)
        await wait_for(pilot, lambda: screen.state.step == 5, what="the recorded steps")
        await wait_for(pilot, lambda: "step 5/40" in progress_text(screen), what="the progress line")
        assert "RUNNING" in progress_text(screen)
        assert "8 samples/s" in progress_text(screen)
        curves = screen.query_one(RunCurves)
        await wait_for(pilot, lambda: len(curves.drawn["loss"].get("loss", ([], []))[0]) == 5, what="the loss curve")
        assert screen.query_one(RunGpu).text() == "no GPU: running on CPU"
        await wait_for(pilot, lambda: "parameters train" in "\n".join(screen.query_one(RunLog).lines_seen))

        # The run goes on while the pane is open: more steps, an eval, a checkpoint.
        for s in range(6, 21):
            writer.write("log", s, loss=3.0 - 0.05 * s, learning_rate=1e-3 * (1 - s / 40), epoch=s / 40)
        writer.write("eval", 20, eval_loss=2.1, eval_accuracy=0.4, eval_runtime=0.2, epoch=0.5)
        writer.write("checkpoint", 20, path=str(tmp_path / "out" / "checkpoint-20"))
        await wait_for(pilot, lambda: "step 20/40" in progress_text(screen), what="progress to advance")
        await wait_for(pilot, lambda: len(curves.drawn["loss"]["loss"][0]) == 20, what="the curve to grow")
        table = screen.query_one(RunEvalTable)
        await wait_for(pilot, lambda: "accuracy" in table.values(), what="the eval table")
        assert table.values()["accuracy"] == ("0.4", "0.4", "20")
        assert table.values()["loss"] == ("2.1", "2.1", "20")

        for s in range(21, 41):
            writer.write("log", s, loss=2.0 - 0.02 * s, learning_rate=1e-3 * (1 - s / 40), epoch=s / 40)
        writer.write("eval", 40, eval_loss=2.3, eval_accuracy=0.7, eval_runtime=0.2, epoch=1.0)
        await wait_for(pilot, lambda: table.values().get("accuracy", ("",))[0] == "0.7", what="a second eval")
        assert table.values()["loss"] == ("2.3", "2.1", "20")  # latest got worse; best stays
        assert set(curves.drawn["eval"]) == {"loss", "accuracy"}
        assert not screen.query_one(RunSummary).has_class("-shown")

        writer.write("end", 40, status="completed", error=None, best_metric=2.1,
                     best_checkpoint=str(tmp_path / "out" / "checkpoint-20"), output_dir=str(tmp_path / "out"),
                     runtime=12.5)
        writer.close()
        from hftui.core.run.record import update_record

        update_record(record.run_dir, status="completed", exit_code=0, ended=time.time())  # the supervisor's final word
        summary = screen.query_one(RunSummary)
        await wait_for(pilot, lambda: summary.has_class("-shown"), what="the end summary")
        text = str(summary.render())
        assert "completed" in text and "step 40/40" in text
        assert "accuracy 0.7 (step 40)" in text and "checkpoint-20" in text
        assert "DONE" in progress_text(screen)
        assert not screen.check_action("stop", ())  # nothing left to stop


async def test_gpu_panel_from_recorded_gpu_events(tmp_path):
    record = make_run(tmp_path / "out", "r-gpu", status="completed")
    writer = EventWriter(record.events_path)
    writer.write("start", 0, max_steps=10, device="cuda", num_processes=2)
    gib = 2**30
    for i in range(1, 6):
        writer.write("gpu", i, devices=[
            {"index": 0, "name": "NVIDIA H100 80GB HBM3", "used": (20 + i) * gib, "total": 80 * gib, "util": 90 + i},
            {"index": 1, "name": "NVIDIA H100 80GB HBM3", "used": 10 * gib, "total": 80 * gib, "util": None}])
    writer.close()
    app = Host(lambda: MonitorScreen(record.run_dir))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        gpu = screen.query_one(RunGpu)
        await wait_for(pilot, lambda: len(gpu.query("GpuCard")) == 2, what="two GPU cards")
        await pilot.pause(0.2)
        text = gpu.text()
        assert "GPU 0 NVIDIA H100 80GB HBM3  25.0 GiB / 80.0 GiB  util 95%" in text
        assert "GPU 1" in text and "util —" in text
        assert "no GPU" not in text
        card = gpu.query_one("#gpu-0")
        from textual.widgets import ProgressBar, Sparkline

        assert card.query_one(ProgressBar).progress == pytest.approx(31.2, abs=0.1)
        assert list(card.query_one(Sparkline).data) == [(20 + i) * gib for i in range(1, 6)]


async def test_cpu_run_says_no_gpu(tmp_path):
    record = make_run(tmp_path / "out", "r-cpu", status="completed")
    writer = EventWriter(record.events_path)
    writer.write("notice", 0, message="no GPU: running on CPU")
    writer.write("start", 0, max_steps=10, device="cpu")
    writer.close()
    app = Host(lambda: MonitorScreen(record.run_dir))
    async with app.run_test(size=SIZE) as pilot:
        gpu = app.screen.query_one(RunGpu)
        await wait_for(pilot, lambda: gpu.text() == "no GPU: running on CPU", what="the CPU note")
        assert gpu.has_class("-cpu")


async def test_failure_shows_the_error_and_the_log_around_it(tmp_path):
    record = make_run(tmp_path / "out", "r-fail", status="failed")
    writer = EventWriter(record.events_path)
    writer.write("start", 0, max_steps=100, device="cpu")
    writer.write("log", 3, loss=2.0)
    writer.write("end", 3, status="failed", error="ValueError: column 'text' not found in the dataset")
    writer.close()
    noise = [f"step {i} ok" for i in range(300)]
    traceback = ["Traceback (most recent call last):",
                 '  File "worker.py", line 10, in main',
                 "    build(preset)",
                 "ValueError: column 'text' not found in the dataset"]
    record.log_path.write_text("\n".join(noise + ["UserWarning: something odd"] + traceback + ["hftui: run failed"]) + "\n")
    app = Host(lambda: MonitorScreen(record.run_dir))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        failure = screen.query_one(RunFailure)
        await wait_for(pilot, lambda: failure.has_class("-shown"), what="the failure panel")
        await wait_for(pilot, lambda: "Traceback (most recent call last):" in failure.excerpt, what="the excerpt")
        assert failure.error == "ValueError: column 'text' not found in the dataset"
        assert traceback[-1] in failure.excerpt and "step 0 ok" not in failure.excerpt
        assert "FAILED" in progress_text(screen)
        # it failed before saving a checkpoint: nothing to resume, so Resume is not offered
        assert not screen.check_action("resume", ()) and not screen.check_action("stop", ())
        assert not screen.query_one("#action-resume").display
        log = screen.query_one(RunLog)
        assert "ValueError: column 'text' not found in the dataset" in log.lines_seen


async def test_garbled_partial_lines_and_a_deleted_run_dir_never_crash(tmp_path):
    record = make_run(tmp_path / "out", "r-bad", status="running", created=time.time())
    with open(record.events_path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"event": "start", "time": time.time(), "step": 0, "max_steps": 10}) + "\n")
        fh.write("\x00\x00garbage {{{\n")
        fh.write(json.dumps({"event": "log", "time": time.time(), "step": 2, "loss": 1.0}) + "\n")
        fh.write(json.dumps({"event": "log", "time": time.time(), "step": 3, "loss": 0.9})[:17])  # being written
    app = Host(lambda: MonitorScreen(record.run_dir))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: "1 garbled line in events.jsonl skipped" in screen.notice_text,
                       what="the garbled-line notice")
        assert screen.state.step == 2
        with open(record.events_path, "a", encoding="utf-8") as fh:  # the rest of the half line
            fh.write(json.dumps({"event": "log", "time": time.time(), "step": 3, "loss": 0.9})[17:] + "\n")
        await wait_for(pilot, lambda: screen.state.step == 3, what="the completed line")
        shutil.rmtree(record.run_dir)
        await wait_for(pilot, lambda: "was deleted" in screen.notice_text, what="the deleted-folder notice")
        await pilot.pause(0.6)
        assert screen.is_current and screen.state.step == 3  # history kept, nothing crashed
        assert "step 3/10" in progress_text(screen)


async def test_stop_asks_first_then_requests_a_graceful_stop(tmp_path, sleeper):
    record = make_run(tmp_path / "out", "r-stop", pid=sleeper.pid)
    writer = EventWriter(record.events_path)
    writer.write("start", 0, max_steps=100, device="cpu")
    writer.write("log", 1, loss=2.0)
    writer.close()
    app = Host(lambda: MonitorScreen(record.run_dir))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.state.step == 1)
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the confirmation")
        await pilot.press("n")
        await wait_for(pilot, lambda: app.screen is screen)
        assert not record.stop_path.exists()
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: record.stop_path.exists(), what="the stop request")
        await wait_for(pilot, lambda: "STOPPING" in progress_text(screen), what="the stopping badge")
        assert json.loads(record.record_path.read_text())["status"] == "stopping"


async def test_runs_screen_lists_filters_and_attaches(tmp_path, sleeper):
    now = time.time()
    live = make_run(tmp_path / "a", "20260101-000001-aaaa", name="sst2-lora", pid=sleeper.pid, max_steps=50,
                    created=now - 10)
    EventWriter(live.events_path).write("log", 12, loss=1.0)
    done = make_run(tmp_path / "b", "20260101-000002-bbbb", name="quickstart", status="completed",
                    max_steps=30, created=now - 5)
    w = EventWriter(done.events_path)
    w.write("start", 0, max_steps=30)
    w.write("log", 30, loss=0.5)
    w.write("end", 30, status="completed", error=None)
    w.close()
    app = Host(RunsScreen)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.loaded, what="the run list")
        rows = screen.shown_rows()
        assert [r.name for r in rows] == ["quickstart", "sst2-lora"]  # newest first
        assert rows[0].status == "completed" and rows[0].step == "30/30"
        assert rows[1].status == "running" and rows[1].step == "12/50"
        assert rows[1].output_dir == str(tmp_path / "a")
        await pilot.press("slash")
        await pilot.press(*"lora")
        assert [r.name for r in screen.shown_rows()] == ["sst2-lora"]
        await pilot.press("enter")  # back to the table
        assert screen.query_one(DataTable).has_focus
        await pilot.press("enter")  # attach
        await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen), what="the live pane")
        assert app.screen.run_dir == live.run_dir
        await wait_for(pilot, lambda: app.screen.state.step == 12)
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen, what="back to the list")
        screen.query_one("#runs-filter", Input).value = ""
        await pilot.pause(0.1)
        await pilot.press("r")  # resume on a running run: refused, nothing started
        assert len(screen.rows) == 2
        assert screen.selected_run().name == "sst2-lora"  # the cursor stayed on the attached run
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the confirmation")
        await pilot.press("y")
        await wait_for(pilot, lambda: live.stop_path.exists(), what="the stop request")
        await wait_for(pilot, lambda: [r.status for r in screen.shown_rows()] == ["completed", "stopping"],
                       what="the list to show it stopping")
        assert not done.stop_path.exists()


async def test_runs_screen_with_no_runs_says_so(tmp_path):
    app = Host(RunsScreen)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.loaded)
        assert screen.query_one("#runs-empty").has_class("-shown")


STAND_IN_WORKER = """
import json, os, sys, time
from pathlib import Path
from hftui.core.run.events import EventWriter
run_dir = Path(os.environ["HFTUI_RUN_DIR"])
info = json.loads((run_dir / "run.json").read_text())
out = Path(info["output_dir"])
steps, start = 150, 0
# slow until stopped (the test stops it), quick once resumed
if info.get("resume_from"):
    start = max(int(p.name.split("-")[1]) for p in out.glob("checkpoint-*"))
w = EventWriter(run_dir / "events.jsonl")
w.write("start", start, max_steps=steps, device="cpu")
print("resuming from step %d" % start if start else "training from scratch", flush=True)
for step in range(start + 1, steps + 1):
    time.sleep(0.1 if start == 0 else 0.005)
    w.write("log", step, loss=1.0 / step)
    if (run_dir / "stop").exists():
        (out / f"checkpoint-{step}" / f"global_step{step}").mkdir(parents=True)  # sharded state, as DeepSpeed saves it
        (out / f"checkpoint-{step}" / "trainer_state.json").write_text(json.dumps({"global_step": step}))
        w.write("checkpoint", step, path=str(out / f"checkpoint-{step}"))
        w.write("end", step, status="stopped", error=None)
        sys.exit(130)
w.write("end", steps, status="completed", error=None)
"""


@pytest.mark.slow
async def test_stop_then_resume_from_the_pane_follows_the_new_run(tmp_path, monkeypatch):
    """Stop and Resume drive the real run machinery (supervisor, run folders); the worker is a
    stand-in that speaks the worker's contract, so this takes seconds, not a training."""
    from hftui.core import launch as launch_mod
    from hftui.core.run import start as runs
    from hftui.core.preset import from_text

    script = tmp_path / "stand_in_worker.py"
    script.write_text(STAND_IN_WORKER)
    monkeypatch.setattr(launch_mod, "resolve_launch", lambda preset, run_dir, gpus=None: launch_mod.Launch(
        [sys.executable, str(script)], {}, "single", 1, 1, "test", {}))
    monkeypatch.setattr(runs, "_validate", lambda preset: [])
    preset_path = tmp_path / "p.toml"
    text = ('schema = 1\nname = "resumable"\n[model]\ntask = "causal-lm"\n[model.scratch]\narchitecture = "llama"\n'
            'tokenizer = "byte"\n[dataset]\npath = "json"\ndata_files = "d.jsonl"\ntext_column = "text"\n'
            '[trainer]\ntype = "sft"\n[args]\noutput_dir = "out"\nmax_steps = 150\n')
    preset_path.write_text(text)
    (tmp_path / "d.jsonl").write_text('{"text": "x"}\n')
    record = runs.start_run(from_text(text, preset_path))

    app = Host(lambda: MonitorScreen(record.run_dir))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.state.step >= 5, what="the run to start")
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: screen.state.status == "stopped", what="the run to stop")
        stopped_at = screen.state.step
        assert 5 <= stopped_at < 150
        await wait_for(pilot, lambda: screen.query_one(RunSummary).has_class("-shown"), what="the stopped summary")
        assert screen.check_action("resume", ())
        await pilot.press("r")
        await wait_for(pilot, lambda: screen.run_dir != record.run_dir, what="the resumed run")
        await wait_for(pilot, lambda: screen.state.status == "completed", timeout=30, what="the resumed run to end")
        assert screen.state.step == 150
        # one continuous history: steps before the stop and after it, counted once each
        assert screen.state.loss.count == 150
        assert screen.state.loss.points()[0][stopped_at - 1: stopped_at + 1] == [stopped_at, stopped_at + 1]
        await wait_for(pilot, lambda: "DONE" in progress_text(screen) and "step 150/150" in progress_text(screen),
                       what="the pane to show the end")
        await wait_for(pilot, lambda: f"resuming from step {stopped_at}" in screen.query_one(RunLog).lines_seen,
                       what="the resumed run's log")
    new = RunRecord.load(screen.run_dir)
    assert new.resume_from == "last" and new.status == "completed"


async def test_a_run_folder_that_does_not_exist_says_so(tmp_path):
    missing = tmp_path / "out" / ".hftui" / "nope"
    app = Host(lambda: MonitorScreen(missing))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: f"there is no run folder {missing}" in screen.notice_text)
        assert screen.is_current and not screen.check_action("stop", ())
