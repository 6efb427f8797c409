"""The live pane's remaining points: Hub download progress while a run starts, the run's notices,
eval charts with room at 80x24 and 120x36, and the runs screen's cursor after a Resume."""

from __future__ import annotations

import json
import threading

import pytest
from textual.widgets import DataTable, TabbedContent

from hftui.core.run.events import EventWriter, read_all
from hftui.core.run.state import fold
from hftui.core.train import download_progress
from hftui.core.train.download_progress import DownloadProgress, follow_hub_bars, reported
from hftui.tui.screens import monitor as monitor_mod
from hftui.tui.screens import runs as runs_mod
from hftui.tui.screens.monitor import MonitorScreen
from hftui.tui.screens.runs import RunsScreen
from hftui.tui.widgets.run_curves import EVAL_MIN_COLS, EVAL_MIN_ROWS, RunCurves
from hftui.tui.widgets.run_notes import run_notes
from test_monitor import Host, make_run, sleeper, wait_for  # noqa: F401 (fixture)

MiB = 1 << 20
SMALL, LARGE = (80, 24), (120, 36)


def _hub_file_bar(desc: str, total: int):
    """A bar exactly as huggingface_hub's http_get opens one for a file it downloads."""
    from huggingface_hub.utils.tqdm import _get_progress_bar_context

    return _get_progress_bar_context(desc=desc, log_level=30, total=total, name="huggingface_hub.http_get")


def test_hub_bars_become_throttled_download_notices(tmp_path):
    from huggingface_hub.utils.tqdm import tqdm as hub_tqdm

    methods = {name: hub_tqdm.__dict__.get(name) for name in ("__init__", "update", "close")}
    now = [0.0]
    writer = EventWriter(tmp_path / "events.jsonl")
    progress = DownloadProgress(lambda text: writer.write("notice", 0, message=text), clock=lambda: now[0])
    undo = follow_hub_bars(progress)
    try:
        weights, tokenizer = _hub_file_bar("model.safetensors", 400 * MiB), _hub_file_bar("tokenizer.json", 80 * MiB)
        weights.update(100 * MiB)  # the first progress is told at once
        tokenizer.update(10 * MiB)  # within the same 2 s: not told
        now[0] += 5
        tokenizer.update(10 * MiB)
        assert progress.message() == "downloading 2 files, 120.0 MiB of 480.0 MiB"
        tokenizer.update(60 * MiB)
        tokenizer.close()
        assert progress.figures()[:2] == (2, 1)
    finally:
        undo()
    assert {name: hub_tqdm.__dict__.get(name) for name in methods} == methods  # the Hub's class is as it was
    weights.update(MiB)  # no longer followed
    progress.finish()
    writer.close()
    messages = [e["message"] for e in read_all(tmp_path / "events.jsonl").events]
    assert messages == ["downloading 2 files, 100.0 MiB of 480.0 MiB",
                        "downloading 2 files, 120.0 MiB of 480.0 MiB",
                        "downloaded 2 files, 180.0 MiB"]


def test_a_snapshot_counts_its_files_and_its_bytes_once():
    """snapshot_download: a "Fetching N files" bar, one byte bar for all files, and its ".transfer"
    twin that repeats those bytes; files come down in threads."""
    from huggingface_hub.utils.tqdm import _create_progress_bar, hf_thread_map, tqdm as hub_tqdm

    progress = DownloadProgress()
    undo = follow_hub_bars(progress)
    try:
        common = dict(cls=hub_tqdm, log_level=30, total=0, initial=0, unit="B", unit_scale=True)
        transfer = _create_progress_bar(name="huggingface_hub.snapshot_download.transfer", desc="bytes", **common)
        reconstruct = _create_progress_bar(name="huggingface_hub.snapshot_download", desc="files", **common)
        lock = threading.Lock()

        def one_file(size: int) -> None:
            with lock:
                reconstruct.total += size
                transfer.total += size
            reconstruct.update(size // 2)
            transfer.update(size // 2)

        hf_thread_map(one_file, [100 * MiB, 200 * MiB, 300 * MiB], desc="Fetching 3 files", max_workers=3)
        assert progress.figures() == (3, 3, 300 * MiB, 600 * MiB)
        assert progress.message() == "downloading 3 files, 300.0 MiB of 600.0 MiB"
    finally:
        undo()


def test_reported_writes_nothing_when_nothing_came_down(tmp_path):
    writer = EventWriter(tmp_path / "events.jsonl")
    with reported(writer) as progress:
        cached = _hub_file_bar("config.json", 0)  # a bar with no bytes: nothing to say
        cached.close()
        assert progress is not None and progress.message() == ""
    writer.close()
    assert read_all(tmp_path / "events.jsonl").events == []
    with reported(None) as nothing:  # ranks other than 0 write no events
        assert nothing is None


def test_notes_keep_the_newest_download_only_while_starting():
    events = [{"event": "notice", "time": 1.0, "step": 0, "message": m} for m in (
        "no GPU: running on CPU", "warning: the model may not fit (fix: lower the batch size)",
        download_progress.DOWNLOADING + "1 file, 1.0 MiB of 2.0 MiB",
        download_progress.DOWNLOADING + "1 file, 2.0 MiB of 2.0 MiB")]
    state = fold(events)
    assert run_notes(state) == ["warning: the model may not fit (fix: lower the batch size)",
                                "⇣ downloading 1 file, 2.0 MiB of 2.0 MiB"]
    state.apply([{"event": "start", "time": 2.0, "step": 0, "max_steps": 10}])
    assert run_notes(state) == ["warning: the model may not fit (fix: lower the batch size)"]


@pytest.mark.parametrize("size", [SMALL, LARGE])
async def test_pane_shows_download_progress_then_the_run(tmp_path, sleeper, size):
    record = make_run(tmp_path / "out", "r-download", status="starting", pid=sleeper.pid, max_steps=10)
    writer = EventWriter(record.events_path)
    writer.write("notice", 0, message="warning: an upload to the Hub follows the run")
    progress = DownloadProgress(lambda text: writer.write("notice", 0, message=text), interval=0)
    undo = follow_hub_bars(progress)
    try:
        weights, tokenizer = _hub_file_bar("model.safetensors", 400 * MiB), _hub_file_bar("tokenizer.json", 80 * MiB)
        weights.update(100 * MiB)
        tokenizer.update(20 * MiB)
    finally:
        undo()
    app = Host(lambda: MonitorScreen(record.run_dir))
    async with app.run_test(size=size) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: "downloading 2 files, 120.0 MiB of 480.0 MiB" in screen.notice_text,
                       what="the download progress")
        assert "warning: an upload to the Hub follows the run" in screen.notice_text
        await wait_for(pilot, lambda: screen.query_one("#monitor-notice").region.height >= 2,  # shown, not hidden
                       what="the notice laid out")
        writer.write("start", 0, max_steps=10, device="cpu")
        writer.write("log", 1, loss=1.0)
        await wait_for(pilot, lambda: "downloading" not in screen.notice_text, what="the download line to go")
        assert "upload to the Hub" in screen.notice_text
    writer.close()


def _finished_run(tmp_path, metrics: list[str]):
    record = make_run(tmp_path / "out", "r-eval", status="completed", max_steps=40, index=False)
    writer = EventWriter(record.events_path)
    writer.write("start", 0, max_steps=40)
    for s in range(1, 41):
        writer.write("log", s, loss=1.0 / s, learning_rate=1e-3)
        if s % 10 == 0:
            writer.write("eval", s, **{f"eval_{k}": 0.5 + s / 100 for k in metrics})
    writer.write("end", 40, status="completed", error=None)
    writer.close()
    return record


@pytest.mark.parametrize("size", [SMALL, LARGE])
@pytest.mark.parametrize("metrics", [["loss", "accuracy"], ["loss", "accuracy", "f1", "precision", "recall"]])
async def test_eval_charts_have_room(tmp_path, size, metrics):
    record = _finished_run(tmp_path, metrics)
    app = Host(lambda: MonitorScreen(record.run_dir))
    async with app.run_test(size=size) as pilot:
        screen = app.screen
        curves = screen.query_one(RunCurves)
        await wait_for(pilot, lambda: len(curves.drawn["eval"]) == len(metrics), what="the eval plots")
        curves.query_one(TabbedContent).active = "tab-eval"
        await pilot.pause(0.3)
        visible = curves.query_one("#eval-scroll").size.height
        sizes = curves.eval_plot_sizes()
        assert len(sizes) == len(metrics)
        assert visible >= 7
        for width, height in sizes.values():
            assert min(EVAL_MIN_ROWS, visible) <= height <= visible  # never squeezed, never cut
            assert width >= EVAL_MIN_COLS
        if size == LARGE and len(metrics) == 2:  # side by side, the whole height each
            assert all(h == visible for _, h in sizes.values())


def _stopped_run(tmp_path, run_id: str, created: float):
    record = make_run(tmp_path / run_id, run_id, status="stopped", max_steps=10, created=created)
    checkpoint = tmp_path / run_id / "checkpoint-5"
    (checkpoint / "global_step5").mkdir(parents=True)  # sharded state: complete for resuming
    (checkpoint / "trainer_state.json").write_text(json.dumps({"global_step": 5}))
    writer = EventWriter(record.events_path)
    writer.write("start", 0, max_steps=10)
    writer.write("log", 5, loss=1.0)
    writer.write("checkpoint", 5, path=str(checkpoint))
    writer.write("end", 5, status="stopped", error=None)
    writer.close()
    return record


@pytest.mark.parametrize("where", ["runs screen", "live pane"])
async def test_after_resume_then_escape_the_cursor_is_on_the_new_run(tmp_path, monkeypatch, sleeper, where):
    import time

    now = time.time()
    old = _stopped_run(tmp_path, "20260101-000001-old", now - 20)
    make_run(tmp_path / "other", "20260101-000002-other", status="completed", created=now - 10)
    started = []

    def resume_run(record):  # the new run a Resume starts, listed newest first
        assert record.id == old.id
        started.append(make_run(tmp_path / "new", "20260101-000003-new", pid=sleeper.pid, max_steps=10,
                                created=time.time()))
        return started[-1]

    monkeypatch.setattr(runs_mod, "resume_run", resume_run)
    monkeypatch.setattr(monitor_mod, "resume_run", resume_run)
    app = Host(RunsScreen)
    async with app.run_test(size=SMALL) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.loaded and len(screen.rows) == 2, what="the run list")
        table = screen.query_one(DataTable)
        table.move_cursor(row=[r.id for r in screen.shown_rows()].index(old.id))
        await pilot.pause(0.05)
        assert screen.selected_run().id == old.id
        if where == "runs screen":
            await pilot.press("r")
        else:
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen), what="the live pane")
            pane = app.screen
            await wait_for(pilot, lambda: pane.check_action("resume", ()), what="Resume to be offered")
            await pilot.press("r")
            await wait_for(pilot, lambda: started and pane.run_dir == started[-1].run_dir, what="the pane to follow")
        await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen) and started
                       and app.screen.run_dir == started[-1].run_dir, what="the new run's pane")
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen and len(screen.rows) == 3, what="back to the list")
        await wait_for(pilot, lambda: screen.selected_run().id == started[-1].id, what="the cursor on the new run")
        assert [r.id for r in screen.shown_rows()][0] == started[-1].id  # the newest, listed first


@pytest.mark.slow
def test_a_training_run_reports_its_downloads_before_it_starts(tmp_path, monkeypatch):
    """The worker follows the Hub's bars while it builds: a model load that downloads (here one
    that drives the Hub's own bar, as from_pretrained would) shows in events.jsonl before `start`."""
    from tiny_presets import sft_preset

    from hftui.core import preset as preset_mod
    from hftui.core.train import modeling
    from hftui.core.train.worker import train

    (tmp_path / "data.jsonl").write_text("".join(json.dumps({"text": f"hello {i}"}) + "\n" for i in range(8)))
    path = tmp_path / "p.toml"
    path.write_text(sft_preset("downloads", args={"max_steps": 2, "per_device_train_batch_size": 2}))
    real_load = modeling.load_model

    def load_model(*args, **kwargs):
        with _hub_file_bar("model.safetensors", 4 * MiB) as bar:
            for _ in range(4):
                bar.update(MiB)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(modeling, "load_model", load_model)
    assert train(preset_mod.load(path), tmp_path / "run") == "completed"
    events = read_all(tmp_path / "run" / "events.jsonl").events
    kinds = [(e["event"], e.get("message", "")) for e in events]
    start = kinds.index(("start", ""))
    said = [m for k, m in kinds[:start] if k == "notice" and m.startswith(("downloading", "downloaded"))]
    assert said[0] == "downloading 1 file, 1.0 MiB of 4.0 MiB"
    assert said[-1] == "downloaded 1 file, 4.0 MiB"
    from huggingface_hub.utils.tqdm import tqdm as hub_tqdm

    assert "update" not in hub_tqdm.__dict__  # the hook is gone once the run is built
