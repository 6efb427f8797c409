"""Run records that cannot be trusted, and runs that outlive what shows them: a damaged or forged
run.json never breaks the commands for the other runs; a stray `end` line never ends a run that
goes on; a run whose folder was deleted while it trains is still listed and still stoppable.

The commands run through the real command line (`hftui.tui.cli.main`) in this process.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from test_monitor import SIZE, Host, make_run, progress_text, sleeper, wait_for  # noqa: F401 (fixture)
from test_runs import _preset, fake_launch  # noqa: F401 (fixture)
from hftui.core.fsutil import state_dir
from hftui.core.problems import PresetError
from hftui.core.run import start as runs
from hftui.core.run.events import EventWriter
from hftui.core.run.index import find_run, list_runs
from hftui.core.run.record import RecordError, RunRecord, update_record
from hftui.core.run.state import fold
from hftui.core.run.stop import wait_for_end
from hftui.tui import cli
from hftui.tui.screens.monitor import MonitorScreen


def _cli(argv, capsys) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _broken_run(out: Path, run_id: str, text: str) -> Path:
    """A run folder whose run.json holds `text`, listed in the index like any other."""
    run_dir = out / ".hftui" / run_id
    run_dir.mkdir(parents=True)
    (run_dir / "run.json").write_text(text, encoding="utf-8")
    (run_dir / "events.jsonl").write_text("", encoding="utf-8")
    index = state_dir() / "runs"
    index.mkdir(parents=True, exist_ok=True)
    (index / f"{run_id}.json").write_text(json.dumps({"id": run_id, "run_dir": str(run_dir), "created": time.time()}))
    return run_dir


# -- damaged records ------------------------------------------------------------------------------------
def test_a_broken_record_is_listed_as_broken_and_never_breaks_the_others(tmp_path, capsys):
    out = tmp_path / "out"
    good = make_run(out, "20240101-000000-good", status="completed", name="fine")
    base = {"id": "x", "name": "n", "output_dir": str(out), "status": "running"}
    bad = {
        "20240101-000001-pid": json.dumps({**base, "pid": "abc"}),
        "20240101-000002-list": json.dumps([1, 2, 3]),
        "20240101-000003-cut": json.dumps({**base, "pid": 4242})[:30],
        "20240101-000004-when": json.dumps({**base, "status": "completed", "created": "yesterday"}),
        "20240101-000005-group": json.dumps({**base, "pgid": -1}),
    }
    dirs = {run_id: _broken_run(out, run_id, text) for run_id, text in bad.items()}
    (state_dir() / "runs" / "garbage.json").write_text("{\"run_dir\": ")  # a damaged index entry too

    code, stdout, err = _cli(["runs"], capsys)
    assert code == 0, stdout + err
    assert "internal error" not in stdout + err and "Traceback" not in stdout + err
    lines = stdout.splitlines()
    assert any(good.id in line and "completed" in line for line in lines), stdout
    for run_id, run_dir in dirs.items():
        (line,) = [ln for ln in lines if str(run_dir / "run.json") in ln]
        assert line.startswith("broken run record"), line
    assert '"pid" is "abc", not a whole number' in stdout
    assert "not a JSON object" in stdout and "not valid JSON" in stdout and '"created" is "yesterday"' in stdout
    assert '"pgid" is -1, not a process id' in stdout
    assert any("garbage.json" in ln and "not valid JSON" in ln for ln in lines), stdout

    code, stdout, err = _cli(["runs", "--json"], capsys)
    listed = {r["id"]: r for r in json.loads(stdout)}
    assert listed[good.id]["status"] == "completed"
    assert {listed[run_id]["status"] for run_id in bad} == {"broken"}

    code, stdout, err = _cli(["stop", good.id], capsys)
    assert code == 0 and "is not running" in stdout, stdout + err
    code, stdout, err = _cli(["stop", "20240101-000001-pid"], capsys)
    assert code == 0 and "is not running" in stdout and "internal error" not in err, stdout + err
    code, stdout, err = _cli(["attach", "nothing-like-it"], capsys)
    assert code == 2 and "no run 'nothing-like-it'" in err and "did you mean" in err, stdout + err
    assert find_run(str(dirs["20240101-000001-pid"])).status == "broken"  # by folder too
    assert find_run("fine").id == good.id


async def test_the_runs_screen_lists_a_broken_record_beside_the_others(tmp_path):
    from hftui.tui.screens.runs import RunsScreen

    good = make_run(tmp_path / "out", "20240101-000000-good", status="completed", name="fine", created=time.time() - 5)
    broken = _broken_run(tmp_path / "out", "20240101-000001-pid", json.dumps({"status": "running", "pid": "abc"}))
    app = Host(RunsScreen)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.loaded, what="the run list")
        rows = screen.shown_rows()
        assert [r.id for r in rows] == ["20240101-000001-pid", good.id]
        assert rows[0].status == "broken" and rows[0].name.startswith(f"broken record {broken / 'run.json'}")
        assert rows[1].status == "completed"


def test_records_are_read_with_their_types_checked(tmp_path):
    run_dir = tmp_path / "o" / ".hftui" / "r"
    run_dir.mkdir(parents=True)
    ok = RunRecord(id="r", name="n", preset_path=None, run_dir=run_dir, output_dir=str(tmp_path / "o"), pid=4242,
                   command=["python", "-m", "x"], launch_env={"A": "1"}, created=1.5)
    ok.save()
    assert RunRecord.load(run_dir) == ok
    for field, value, words in [("pid", 1, "not a process id"), ("pid", True, "not a whole number"),
                                ("command", "python", "not a list"), ("status", "done", "not a run status"),
                                ("launch_env", [], "not an object"), ("created", 1e300, "not a time"),
                                ("trust_remote_code_allowed", "yes", "not true or false")]:
        data = {**ok.to_dict(), field: value}
        (run_dir / "run.json").write_text(json.dumps(data))
        with pytest.raises(RecordError) as err:
            RunRecord.load(run_dir)
        assert words in str(err.value) and str(run_dir / "run.json") in str(err.value)
    (run_dir / "run.json").write_text(json.dumps({**ok.to_dict(), "name": None, "future_field": 3}))
    assert RunRecord.load(run_dir).name == "r"  # a missing name is the id; unknown fields are ignored


# -- a stray end line -----------------------------------------------------------------------------------
def test_an_end_line_does_not_end_a_run_whose_record_says_it_goes_on():
    events = [{"event": "start", "time": 1.0, "step": 0, "max_steps": 40},
              {"event": "log", "time": 2.0, "step": 5, "loss": 1.0},
              {"event": "end", "time": 3.0, "step": 5, "status": "completed", "error": None}]
    assert fold(events).status == "completed"  # events alone: the end is the end
    state = fold(events, {"status": "running"})
    assert state.status == "running" and not state.finished
    state.apply_run_info({"status": "stopping"})
    assert state.status == "stopping"
    state.apply_run_info({"status": "completed"})
    assert state.status == "completed" and state.finished


async def test_a_forged_end_line_leaves_the_pane_live_and_stop_enabled(tmp_path, sleeper):  # noqa: F811
    record = make_run(tmp_path / "out", "r-forged", pid=sleeper.pid, max_steps=40)
    writer = EventWriter(record.events_path)
    writer.write("start", 0, max_steps=40, device="cpu")
    for s in range(1, 6):
        writer.write("log", s, loss=3.0 - 0.05 * s)
    writer.write("end", 5, status="completed", error=None)  # not the supervisor's: the run goes on
    app = Host(lambda: MonitorScreen(record.run_dir))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.state.ended and "step 5/40" in progress_text(screen), what="the events")
        await pilot.pause(0.6)
        assert screen.state.status == "running" and "DONE" not in progress_text(screen)
        assert screen.check_action("stop", ())
        writer.write("log", 6, loss=2.0)  # training goes on
        await wait_for(pilot, lambda: "step 6/40" in progress_text(screen), what="the run to go on")
        writer.close()
        update_record(record.run_dir, status="completed", exit_code=0, ended=time.time())  # the supervisor's word
        await wait_for(pilot, lambda: "DONE" in progress_text(screen), what="the real end")
        assert not screen.check_action("stop", ())


# -- a run folder deleted while the run trains --------------------------------------------------------------
@pytest.mark.slow
def test_a_run_whose_folder_was_deleted_is_listed_and_stoppable(tmp_path, fake_launch, capsys, hftui_home):  # noqa: F811
    fake_launch.update(steps=600, delay=0.05)
    rec = runs.start_run(_preset(tmp_path))
    entry = json.loads((hftui_home / "runs" / f"{rec.id}.json").read_text())
    assert entry["pid"] and entry["pgid"] and entry["pid_start"]  # what it takes to stop it without its folder
    time.sleep(0.3)
    shutil.rmtree(tmp_path / "out")  # the whole output folder, run record and all

    code, stdout, err = _cli(["runs"], capsys)
    assert code == 0 and any(rec.id in ln and "folder deleted" in ln for ln in stdout.splitlines()), stdout + err
    with pytest.raises(PresetError) as busy:  # it still writes there: a new run is kept out
        runs.start_run(_preset(tmp_path))
    assert "in use" in str(busy.value)

    code, stdout, err = _cli(["stop", rec.id[-4:], "--wait", "--timeout", "30"], capsys)
    assert code == 0 and "asked to stop" in stdout and "Traceback" not in err, stdout + err
    done = wait_for_end(find_run(rec.id), timeout=30)
    assert done.status == "stopped" and not done.workers_alive()
    assert [r.status for r in list_runs() if r.id == rec.id] == ["stopped"]
