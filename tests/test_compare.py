"""`hftui compare`, the environment record and `hftui run --again`, on two runs trained here.

One pair of tiny scratch-Llama runs is trained for the whole module, side by side; they differ
only in the learning rate.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import pytest
import tomlkit

from conftest import _catalog_dir
from tiny_presets import sft_preset
from hftui.core import preset as preset_mod
from hftui.core.run import environment
from hftui.core.run.folder import ENVIRONMENT_FILE, FINAL_STATUSES, PRESET_FILE
from hftui.core.run.record import RunRecord
from hftui.core.run.replay import run_of_preset
from hftui.tui import cli

TIMEOUT = 300
LEARNING_RATES = (1e-3, 1e-4)


@dataclass
class Pair:
    home: Path  # HFTUI_HOME holding the two runs' index entries
    data: Path
    runs: list[RunRecord]


def _preset_text(name: str, lr: float) -> str:
    args = dict(max_steps=4, per_device_train_batch_size=4, per_device_eval_batch_size=4, logging_steps=1,
                eval_strategy="steps", eval_steps=2, save_strategy="no", seed=7, learning_rate=lr, output_dir=f"out-{name}")
    doc = tomlkit.parse(sft_preset("tiny-compare", args=args))
    doc["dataset"]["eval_fraction"] = 0.25
    return tomlkit.dumps(doc)


def _wait(record: RunRecord, timeout: float = TIMEOUT) -> RunRecord:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record.reload()
        if record.status in FINAL_STATUSES:
            return record
        time.sleep(0.2)
    raise AssertionError(f"run {record.id} did not end within {timeout} s (status {record.status})")


@pytest.fixture(scope="module")
def pair(tmp_path_factory, catalog_home, request) -> Pair:
    from hftui.core.run.start import start_run

    folder = tmp_path_factory.mktemp("compare")
    home = folder / "home"
    home.mkdir()
    (home / "catalog").symlink_to(_catalog_dir(catalog_home), target_is_directory=True)
    words = ["alpha", "beta", "gamma", "delta", "epsilon"]
    data = folder / "data.jsonl"
    data.write_text("".join(json.dumps({"text": " ".join(words[(i * 7 + j) % 5] for j in range(8))}) + "\n" for i in range(48)))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HFTUI_HOME", str(home))
        started = []
        for name, lr in zip("ab", LEARNING_RATES):
            path = folder / f"{name}.toml"
            path.write_text(_preset_text(name, lr))
            # both train at once; the presets are known to be valid (validation is tested elsewhere)
            started.append(start_run(preset_mod.load(path), validate=False))
        request.getfixturevalue("warm_catalog")  # the defaults compare applies: read while they train
        runs = [_wait(r) for r in started]
    for r in runs:
        assert r.status == "completed", (r.log_path.read_text()[-3000:])
    return Pair(home, data, runs)


def _cli(argv: list[str], capsys) -> tuple[int, str, str]:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_compare_names_the_learning_rate_and_nothing_else(pair, monkeypatch, capsys):
    monkeypatch.setenv("HFTUI_HOME", str(pair.home))
    a, b = pair.runs
    code, out, err = _cli(["compare", a.id, b.id, "--json"], capsys)
    assert code == 0, err
    result = json.loads(out)
    assert [r["id"] for r in result["runs"]] == [a.id, b.id]
    assert [(k["key"], k["values"]) for k in result["differing_keys"]] == [("args.learning_rate", list(LEARNING_RATES))]
    assert result["environment_differences"] == []
    metrics = {m["key"]: m for m in result["metrics"]}
    assert metrics["steps"]["values"] == [4, 4] and metrics["steps"]["best"] == []
    for key in ("final_loss", "best_eval_loss", "runtime", "tokens_per_second"):
        values = metrics[key]["values"]
        assert all(isinstance(v, float) for v in values), key
        pick = min if metrics[key]["better"] == "lower" else max
        assert [values[i] for i in metrics[key]["best"]] == [pick(values)], key

    # the table a person reads: one run named by id, the other by its folder
    code, out, err = _cli(["compare", a.id, str(b.run_dir)], capsys)
    assert code == 0, err
    keys = out.split("preset keys that differ", 1)[1].split("metrics", 1)[0]
    assert [line.split()[0] for line in keys.splitlines()[2:] if line.strip()] == ["args.learning_rate"]
    assert "0.001" in keys and "0.0001" in keys
    assert "(best)" in out and "final eval loss" in out and "tokens/s" in out
    assert "environment: the same for these runs" in out


def test_unknown_single_or_unreadable_runs_exit_2_with_a_message(pair, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("HFTUI_HOME", str(pair.home))
    code, out, err = _cli(["compare", pair.runs[0].id, "no-such-run"], capsys)
    assert code == 2 and "no run 'no-such-run'" in err and pair.runs[1].id in err and "Traceback" not in err
    code, out, err = _cli(["compare", pair.runs[0].id, pair.runs[0].id[-4:]], capsys)
    assert code == 2 and "two or more different runs" in err
    gone = tmp_path / "copy" / pair.runs[1].id
    shutil.copytree(pair.runs[1].run_dir, gone)
    (gone / PRESET_FILE).unlink()
    code, out, err = _cli(["compare", pair.runs[0].id, str(gone)], capsys)
    assert code == 2 and f"its preset {gone / PRESET_FILE}: no such file" in err and "Traceback" not in err


def test_every_run_folder_holds_its_environment_record(pair):
    digest = hashlib.sha256(pair.data.read_bytes()).hexdigest()
    for run in pair.runs:
        record = json.loads((run.run_dir / ENVIRONMENT_FILE).read_text())
        assert record["versions"]["transformers"] == version("transformers")
        assert record["versions"]["torch"] == version("torch") and record["python"] == "%d.%d.%d" % sys.version_info[:3]
        assert record["seed"] == 7 and record["seed_from"] == "preset"
        assert record["model"] == {"source": "scratch", "architecture": "llama"}
        [train] = record["data"]["files"]["train"]
        assert train["sha256"] == digest and train["size"] == pair.data.stat().st_size and train["hashed"] == "whole file"


STAND_IN_WORKER = """
import json, os, sys
from pathlib import Path
from hftui.core.run.events import EventWriter
run_dir = Path(os.environ["HFTUI_RUN_DIR"])
w = EventWriter(run_dir / "events.jsonl")
w.write("start", 0, max_steps=1, device="cpu")
w.write("log", 1, loss=1.0)
w.write("end", 1, status="completed", error=None)
"""


def test_again_lists_what_changed_then_starts(pair, tmp_path, monkeypatch, capsys):
    """A copy of run A whose record says it ran elsewhere: `--again` lists the differences, then
    starts (the worker is a stand-in that speaks the worker's contract: training is tested above)."""
    from hftui.core import launch as launch_mod

    old = tmp_path / "elsewhere" / ".hftui" / pair.runs[0].id
    shutil.copytree(pair.runs[0].run_dir, old)
    record = json.loads((old / ENVIRONMENT_FILE).read_text())
    record["versions"]["transformers"] = "4.57.1"
    record["gpus"], record["driver"] = [{"index": 0, "name": "NVIDIA H100 80GB HBM3", "memory_total": 85 << 30}], "550.54.15"
    (old / ENVIRONMENT_FILE).write_text(json.dumps(record))

    # the run folder's own preset.toml is a replay too; here its output folder holds run A's model
    code, out, err = _cli(["run", str(pair.runs[0].run_dir / PRESET_FILE)], capsys)
    assert code == 2 and f"replaying run {pair.runs[0].id} in the environment it ran in" in err
    assert "earlier run" in err and run_of_preset(old / PRESET_FILE).id == pair.runs[0].id

    script = tmp_path / "stand_in_worker.py"
    script.write_text(STAND_IN_WORKER)
    monkeypatch.setattr(launch_mod, "resolve_launch", lambda preset, run_dir, gpus=None: launch_mod.Launch(
        [sys.executable, str(script)], {}, "single", 1, 1, "test", {}))
    new_out = tmp_path / "again"
    code, out, err = _cli(["run", "--again", str(old), "--set", f"args.output_dir={new_out}", "--detach"], capsys)
    assert code == 0, err
    lines = err.splitlines()
    assert lines[0] == f"replaying run {pair.runs[0].id} in a different environment (3 differences):"
    assert lines[1].split() == ["transformers", "4.57.1", "→", version("transformers")]
    assert "NVIDIA H100 80GB HBM3 → none" in lines[2] and "550.54.15 → none" in lines[3]
    new = _wait(RunRecord.load(next(d for d in (new_out / ".hftui").iterdir() if d.is_dir())), timeout=60)
    assert new.status == "completed" and new.id == out.strip()
    assert environment.read(new.run_dir)["versions"]["transformers"] == version("transformers")
    assert "learning_rate = 0.001" in new.preset_file.read_text()  # run A's preset, trained again


def test_again_without_a_run_exits_2(capsys):
    code, out, err = _cli(["run", "--again", "no-such-run"], capsys)
    assert code == 2 and "no run 'no-such-run'" in err
    code, out, err = _cli(["run"], capsys)
    assert code == 2 and "hftui run --again RUN" in err


async def test_runs_screen_marks_two_runs_and_opens_the_compare_view(pair, monkeypatch):
    from textual.app import App

    from hftui.tui.screens.compare import CompareScreen
    from hftui.tui.screens.runs import MARK, RunsScreen

    monkeypatch.setenv("HFTUI_HOME", str(pair.home))

    class Host(App):
        def on_mount(self) -> None:
            self.push_screen(RunsScreen())

    async def wait_for(pilot, condition, what: str, timeout: float = 20.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            await pilot.pause(0.05)
            if condition():
                return
        raise AssertionError(f"timed out waiting for {what}")

    app = Host()
    async with app.run_test(size=(140, 45)) as pilot:
        runs = app.screen
        await wait_for(pilot, lambda: runs.loaded, "the run list")
        assert not runs.check_action("compare", ())
        await pilot.press("space")  # marks the newest and moves on
        await pilot.press("c")  # one marked: nothing to compare yet
        assert app.screen is runs
        await pilot.press("space")
        assert len(runs.marked) == 2 and runs.check_action("compare", ())
        assert all(runs.query_one("DataTable").get_cell(d, "mark") == MARK for d in runs.marked)
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen) and app.screen.result is not None,
                       "the compare view")
        view = app.screen
        newest_first = sorted(pair.runs, key=lambda r: (r.created, r.id), reverse=True)
        assert view.key_values() == {"args.learning_rate": [f"{lr:g}" for lr in _lrs(newest_first)]}
        loss = view.drawn["loss"]
        assert sorted(loss) == ["A eval_loss", "A loss", "B eval_loss", "B loss"]
        assert loss["A loss"][0] == [1, 2, 3, 4] and loss["B eval_loss"][0] == [2, 4]
        assert {"A loss", "B loss"} <= set(view.drawn["eval"])
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is runs, "back to the runs")


def _lrs(records: list[RunRecord]) -> list[float]:
    return [preset_mod.load(r.preset_file).get("args.learning_rate") for r in records]
