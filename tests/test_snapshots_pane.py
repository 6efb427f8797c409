"""The live pane of a finished run, at 80x24 and 120x36: snapshots, room for its charts and its eval
table, and the pane in Korean (regenerate the snapshots with:
pytest tests/test_snapshots_pane.py --snapshot-update).

Deterministic by construction: the events carry fixed times, the run folder and its output
directory are relative to a test folder, nothing reads the clock of a finished run.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import TabbedContent
from textual_plotext import PlotextPlot

from hftui.core.run.events import EventWriter
from hftui.tui.screens.monitor import MonitorScreen
from hftui.tui.widgets.run_curves import EVAL_MIN_ROWS, RunCurves
from hftui.tui.widgets.run_eval_table import RunEvalTable
from hftui.tui.widgets.run_gpu import RunGpu
from hftui.tui.widgets.run_summary import RunSummary
from test_monitor import Host, make_run, progress_text, wait_for

SMALL, LARGE = (80, 24), (120, 36)
T0 = 1_700_000_000.0  # the run's first event; every later one a fixed number of seconds after it


def _write_finished_run(folder: Path) -> Path:
    """40 steps with an eval every 10 (loss and accuracy), a checkpoint, a clean end."""
    record = make_run(Path("out"), "r-snap", status="completed", max_steps=40, created=T0, index=False)
    writer = EventWriter(record.events_path)
    writer.write("notice", 0, time=T0, message="no GPU: running on CPU")
    writer.write("start", 0, time=T0, max_steps=40, num_train_epochs=1, preset="tiny", trainer_type="sft",
                 device="cpu", model="scratch:llama", output_dir="out")
    for s in range(1, 41):
        writer.write("log", s, time=T0 + 2 * s, loss=3.0 / (1 + 0.1 * s), learning_rate=1e-3 * (1 - s / 40),
                     epoch=s / 40, samples_per_second=8.0)
        if s % 10 == 0:
            writer.write("eval", s, time=T0 + 2 * s + 1, eval_loss=2.4 - 0.02 * s + (0.3 if s == 40 else 0),
                         eval_accuracy=0.3 + 0.01 * s, eval_runtime=0.5)
    writer.write("checkpoint", 40, time=T0 + 82, path="out/checkpoint-40", kept=[40])
    writer.write("end", 40, time=T0 + 83, status="completed", error=None, output_dir="out", runtime=83.0)
    writer.close()
    record.log_path.write_text("hftui: 140,096 of 140,096 parameters train (100.00%)\ntraining\ndone\n",
                               encoding="utf-8")
    return record.run_dir


@pytest.fixture
def finished_run(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return _write_finished_run(tmp_path)


async def _loaded(pilot) -> MonitorScreen:
    screen = pilot.app.screen
    assert isinstance(screen, MonitorScreen)
    curves = screen.query_one(RunCurves)
    await wait_for(pilot, lambda: screen.first_full_render is not None, what="the history")
    await wait_for(pilot, lambda: screen.query_one(RunSummary).has_class("-shown"), what="the end summary")
    await wait_for(pilot, lambda: set(screen.query_one(RunEvalTable).values()) == {"loss", "accuracy"},
                   what="the eval table")
    await wait_for(pilot, lambda: set(curves.drawn["eval"]) == {"loss", "accuracy"}, what="the eval charts")
    return screen


def _open_tab(screen: MonitorScreen, tab: str) -> None:
    screen.query_one(RunCurves).query_one(TabbedContent).active = tab


@pytest.mark.parametrize("size", [SMALL, LARGE], ids=["80x24", "120x36"])
@pytest.mark.parametrize("tab", ["tab-loss", "tab-eval"])
def test_finished_run(snap_compare, finished_run, size, tab):
    async def run_before(pilot):
        screen = await _loaded(pilot)
        _open_tab(screen, tab)
        await pilot.pause(0.3)

    assert snap_compare(Host(lambda: MonitorScreen(finished_run)), terminal_size=size, run_before=run_before)


def test_finished_run_eval_table_tab_at_80x24(snap_compare, finished_run):
    async def run_before(pilot):
        screen = await _loaded(pilot)
        _open_tab(screen, "tab-table")
        await pilot.pause(0.3)

    assert snap_compare(Host(lambda: MonitorScreen(finished_run)), terminal_size=SMALL, run_before=run_before)


async def test_at_80x24_the_eval_table_shows_every_column_and_each_chart_has_room(finished_run):
    app = Host(lambda: MonitorScreen(finished_run))
    async with app.run_test(size=SMALL) as pilot:
        screen = await _loaded(pilot)
        curves = screen.query_one(RunCurves)
        _open_tab(screen, "tab-table")  # too narrow for a side column: the table has a tab
        await pilot.pause(0.3)
        table = screen.query_one(RunEvalTable)
        assert table.region.width > 0 and table.region.right <= SMALL[0]
        assert table.max_scroll_x == 0  # every column (metric, latest, best, step) fits, none cut
        assert [str(c.label) for c in table.columns.values()] == ["metric", "latest", "best", "step"]
        assert table.region.height >= 1 + len(table.rows)  # the header and every row
        assert table.values()["loss"] == ("1.9", "1.8", "30")  # the last eval was not the best

        for tab, plot_id in (("tab-loss", "#plot-loss"), ("tab-lr", "#plot-lr")):
            _open_tab(screen, tab)
            await pilot.pause(0.3)
            plot = curves.query_one(plot_id, PlotextPlot)
            assert plot.size.height >= EVAL_MIN_ROWS, f"{plot_id} has {plot.size.height} rows"
        _open_tab(screen, "tab-eval")
        await pilot.pause(0.3)
        sizes = curves.eval_plot_sizes()
        assert len(sizes) == 2
        for width, height in sizes.values():
            assert height >= EVAL_MIN_ROWS and width >= 30

        _open_tab(screen, "tab-gpu")
        await pilot.pause(0.3)
        assert screen.query_one(RunGpu).region.height >= 1
        assert screen.query_one(RunGpu).text() == "no GPU: running on CPU"


async def test_widening_the_terminal_moves_the_table_beside_the_curves(finished_run):
    app = Host(lambda: MonitorScreen(finished_run))
    async with app.run_test(size=SMALL) as pilot:
        screen = await _loaded(pilot)
        await pilot.resize_terminal(*LARGE)
        await wait_for(pilot, lambda: screen.query_one(RunEvalTable).parent.id == "monitor-side", what="the move")
        table = screen.query_one(RunEvalTable)
        await wait_for(pilot, lambda: "accuracy" in table.values(), what="the moved table to be drawn")
        assert table.values()["accuracy"] == ("0.7", "0.7", "40")
        assert table.region.width > 0 and table.max_scroll_x == 0
        tabs = screen.query_one(RunCurves).query_one(TabbedContent)
        assert tabs.get_tab("tab-table").display is False


async def test_the_pane_in_korean(finished_run, monkeypatch):
    monkeypatch.setenv("HFTUI_LANG", "ko")
    app = Host(lambda: MonitorScreen(finished_run))
    async with app.run_test(size=SMALL) as pilot:
        screen = await _loaded(pilot)
        head = progress_text(screen)
        assert "완료" in head and "DONE" not in head  # the badge; run.json still says "completed"
        assert "스텝 40/40" in head and "경과 1m23s" in head
        tabs = screen.query_one(RunCurves).query_one(TabbedContent)
        assert str(tabs.get_tab("tab-loss").label) == "손실"
        assert str(tabs.get_tab("tab-table").label) == "평가 표"
        table = screen.query_one(RunEvalTable)
        assert [str(c.label) for c in table.columns.values()] == ["지표", "최근", "최고", "스텝"]
        assert screen.query_one(RunGpu).text() == "GPU 없음: CPU에서 실행 중"
        summary = str(screen.query_one(RunSummary).render())
        assert "1m23s 만에 완료" in summary and "마지막 체크포인트: out/checkpoint-40" in summary
        footer = {active.binding.description for active in screen.active_bindings.values()}
        assert "뒤로" in footer and "Back" not in footer
