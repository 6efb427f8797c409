"""The runs list, the compare view and the Try pane on an 80x24 terminal, over recorded run
folders (no training): what tells runs apart stays on the screen; the runs list in Korean."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from textual.widgets import DataTable, Select, Static

from hftui.core.run.events import EventWriter
from hftui.core.run.folder import PRESET_FILE
from hftui.tui.screens import try_model
from hftui.tui.screens.compare import CompareScreen
from hftui.tui.screens.runs import RunsScreen, fit, path_end
from hftui.tui.screens.try_model import TryModelScreen
from test_monitor import Host, make_run, wait_for

SMALL = (80, 24)
LONG = "/srv/team/experiments/2026/december/sweeps/learning-rate"


def inside(widget, size=SMALL) -> bool:
    """The widget's whole region is on the screen."""
    r = widget.region
    return r.width > 0 and r.height > 0 and r.x >= 0 and r.y >= 0 and r.right <= size[0] and r.bottom <= size[1]


def cell(table: DataTable, row: int, column: str) -> str:
    return str(table.get_cell_at((row, list(table.columns).index(column))))


def test_a_folder_keeps_its_end_and_ids_give_their_date_first():
    assert path_end("/home/me/runs/quickstart", 18) == "…/runs/quickstart"
    assert path_end("/home/me/runs/quickstart", 40) == "/home/me/runs/quickstart"
    assert path_end("/a/averyveryverylongfoldername", 10) == "…oldername"
    row = ["", "20260101-000001-aaaa", "quickstart", "running", "12/50", "3m", LONG + "/a"]
    headers = [" ", "id", "name", "status", "step", "age", "output dir"]
    (fitted,) = fit([list(row)], headers, 56)
    assert fitted[1] == "000001-aaaa" and fitted[2].plain == "quickstart" and fitted[6].endswith("/learning-rate/a")
    (roomy,) = fit([list(row)], headers, 200)
    assert roomy[1] == row[1] and roomy[6] == row[6]


async def test_runs_list_at_80x24_shows_the_end_that_tells_two_folders_apart(tmp_path):
    now = time.time()
    for i, tail in enumerate(("lr-1e-3", "lr-3e-4")):
        run = make_run(tmp_path / LONG.strip("/") / tail, f"20260101-00000{i}-{tail[-4:]}", name="sweep",
                       status="completed", max_steps=50, created=now - 100 + i)
        w = EventWriter(run.events_path)
        w.write("log", 50, loss=1.0)
        w.close()
    app = Host(RunsScreen)
    async with app.run_test(size=SMALL) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.loaded and len(screen.rows) == 2, what="the run list")
        await pilot.pause(0.1)
        table = screen.query_one(DataTable)
        assert table.virtual_size.width <= table.size.width  # no column beyond the right edge
        folders = [cell(table, i, "output") for i in range(2)]
        assert [f[0] for f in folders] == ["…", "…"]
        assert {f.rsplit("/", 2)[-1] for f in folders} == {"lr-1e-3", "lr-3e-4"}
        assert all(f.endswith("/sweeps/learning-rate/" + f.rsplit("/", 1)[-1]) for f in folders), folders
        assert [cell(table, i, "name") for i in range(2)] == ["sweep", "sweep"]
        assert [cell(table, i, "status") for i in range(2)] == ["completed", "completed"]
        assert cell(table, 0, "step") == "50/50" and cell(table, 0, "age").endswith("m")
        assert screen.shown_rows()[0].output_dir.endswith("lr-3e-4")  # the row keeps the whole path
        await pilot.resize_terminal(120, 36)
        await pilot.pause(0.1)
        assert cell(table, 0, "output").startswith("…/srv/team/")  # more room: more of the folder


PRESET = """schema = 1
name = "{name}"
[model]
task = "causal-lm"
name_or_path = "sshleifer/tiny-gpt2"
[dataset]
path = "json"
data_files = {{ train = "train.jsonl" }}
[trainer]
type = "sft"
[args]
output_dir = "out-{name}"
learning_rate = {lr}
max_steps = 10
"""


def recorded_pair(tmp_path: Path) -> list[Path]:
    dirs = []
    for i, (name, lr) in enumerate((("base", "3e-4"), ("lower", "1e-4"))):
        run = make_run(tmp_path / f"out-{name}", f"20260101-00000{i}-{name}", name=name, status="completed",
                       max_steps=10, created=time.time() - 60 + i)
        (run.run_dir / PRESET_FILE).write_text(PRESET.format(name=name, lr=lr), encoding="utf-8")
        w = EventWriter(run.events_path)
        for step in range(2, 11, 2):
            w.write("log", step, loss=2.0 - step / 10 - i / 10)
        for step in (5, 10):
            w.write("eval", step, eval_loss=1.9 - step / 20 - i / 10, eval_mean_token_accuracy=0.2 + step / 100 + i / 50)
        w.write("end", 10, status="completed", error=None, train_runtime=12.5 + i, train_loss=1.5 - i / 10)
        w.close()
        dirs.append(run.run_dir)
    return dirs


async def test_compare_at_80x24_puts_the_tables_below_the_chart_with_every_run(tmp_path, monkeypatch):
    def no_catalog(*args):
        raise KeyError("no catalog in this test")  # the presets' own keys are compared

    monkeypatch.setattr("hftui.core.run.compare.get_catalog", no_catalog)
    dirs = recorded_pair(tmp_path)
    app = Host(lambda: CompareScreen(dirs))
    async with app.run_test(size=SMALL) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.result is not None, what="the comparison")
        await pilot.pause(0.2)
        assert screen.has_class("-narrow")
        assert inside(screen.query_one("#compare-loss")) and inside(screen.query_one("#compare-legend"))
        assert screen.key_values() == {"args.learning_rate": ["0.0003", "0.0001"]}
        metrics = screen.query_one("#compare-metrics", DataTable)
        assert metrics.virtual_size.width <= metrics.size.width  # both runs' columns fit
        assert metrics.region.x == 1 and metrics.region.right <= SMALL[0]
        assert "best eval mean_token_accuracy" in [str(metrics.get_row(k)[0]) for k in metrics.rows]
        legend = str(screen.query_one("#compare-legend", Static).render())
        assert "20260101-000000-base base" in legend and "20260101-000001-lower lower" in legend
        await pilot.resize_terminal(120, 36)
        await pilot.pause(0.2)
        side, chart = screen.query_one("#compare-side"), screen.query_one("#compare-tabs")
        assert not screen.has_class("-narrow") and side.region.x >= chart.region.right  # side by side
        assert metrics.virtual_size.width <= metrics.size.width


class FakeClient:
    """The model's child process as the pane reads it: a few events, then quiet until closed."""

    EVENTS: list[dict] = []

    def __init__(self, run_dir, checkpoint=None):
        self.closed = threading.Event()

    def events(self):
        yield from self.EVENTS
        self.closed.wait(30)

    def send(self, text) -> bool:
        return False

    def close(self) -> None:
        self.closed.set()


@pytest.mark.parametrize("events, shown", [
    ([{"event": "ready", "model": "final model", "kind": "generate"}], "final model ready: type a prompt"),
    ([{"event": "error", "message": "cannot load the model in " + LONG + "/out: its config.json names an "
       "architecture this transformers does not know (LlamaForSomethingNew)",
       "hint": "upgrade transformers, or try a checkpoint saved by this version"}], "saved by this version"),
])
async def test_try_pane_at_80x24_shows_the_model_the_status_and_the_input(tmp_path, monkeypatch, events, shown):
    run = make_run(tmp_path / "out", "20260101-000001-try", status="completed")
    monkeypatch.setattr(FakeClient, "EVENTS", events)
    monkeypatch.setattr(try_model, "InferClient", FakeClient)
    app = Host(lambda: TryModelScreen(run.run_dir))
    async with app.run_test(size=SMALL) as pilot:
        screen = app.screen
        status = screen.query_one("#try-status", Static)
        await wait_for(pilot, lambda: shown in str(status.render()).replace("\n", " "), what="the status")
        await pilot.pause(0.1)
        for part in (screen.query_one("#try-model", Select), status, screen.query_one("#try-input")):
            assert inside(part), part
        assert status.virtual_size.height <= status.outer_size.height  # the whole message, however long
        assert status.outer_size.height >= (4 if "error" in events[0].values() else 2)
        assert screen.query_one("#try-transcript").size.height >= 5


async def test_runs_screen_speaks_korean(tmp_path, monkeypatch):
    monkeypatch.setenv("HFTUI_LANG", "ko")
    app = Host(RunsScreen)
    async with app.run_test(size=SMALL) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.loaded, what="the run list")
        empty = screen.query_one("#runs-empty", Static)
        assert empty.has_class("-shown") and "이 컴퓨터에는 아직 실행이 없습니다" in str(empty.render())
        headers = [str(c.label) for c in screen.query_one(DataTable).columns.values()]
        assert headers[1:] == ["ID", "이름", "상태", "스텝", "시작", "출력 폴더"]
        assert screen.active_bindings["slash"].binding.description == "필터"
        make_run(tmp_path / "ko", "20260101-000001-ko", name="한국어", status="completed", created=time.time() - 600)
        await pilot.press("f5")
        await wait_for(pilot, lambda: len(screen.rows) == 1, what="the new run")
        table = screen.query_one(DataTable)
        assert cell(table, 0, "status") == "완료" and cell(table, 0, "age") == "10분 전"
