"""Live speed and the run state after a resume: tokens/s and MFU in the `log` events (from a real
tiny run), on the live pane and in the headless display; the ETA of a resumed run from its own
rate; the checkpoint count after save_total_limit's rotation."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from tiny_presets import scratch_llama, toml_text

from hftui.core import preset as preset_mod
from hftui.core.run.events import EventWriter, read_all
from hftui.core.run.folder import EVENTS_FILE
from hftui.core.run.state import fold
from hftui.core.train import speed
from hftui.core.train.flops import flops_per_token
from hftui.core.train.worker import train

FAKE_PEAK = 1e9  # FLOP/s of the pretended GPU: a CPU's rate gives an MFU that reads as a number


def _preset(folder: Path, **args):
    rows = [{"text": f"item {i % 7} is {'good' if i % 2 else 'bad'} " * (1 + i % 3)} for i in range(40)]
    (folder / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    data = {
        "schema": 1, "name": "speed",
        "model": {"task": "causal-lm", "scratch": scratch_llama(kv_heads=2)},
        "dataset": {"path": "json", "data_files": "train.jsonl", "max_length": 32},
        "trainer": {"type": "trainer"},
        "args": {"output_dir": "out", "report_to": "none", "per_device_train_batch_size": 4, "learning_rate": 1e-3,
                 "logging_steps": 2, "seed": 7, **args},
    }
    path = folder / "speed.toml"
    path.write_text(toml_text(data), encoding="utf-8")
    return preset_mod.load(path)


def _events(run_dir: Path) -> list[dict]:
    return read_all(run_dir / EVENTS_FILE).events


@pytest.fixture(scope="module")
def cpu_run(tmp_path_factory):
    """A real CPU run: 6 steps, a log and a checkpoint every 2, two checkpoints kept."""
    folder = tmp_path_factory.mktemp("cpu")
    preset = _preset(folder, max_steps=6, save_strategy="steps", save_steps=2, save_total_limit=2)
    assert train(preset, folder / "run", run_id="cpu") == "completed"
    return folder, _events(folder / "run")


@pytest.fixture(scope="module")
def gpu_run(tmp_path_factory):
    """The same model with the Trainer counting tokens, on a pretended GPU of known peak."""
    folder = tmp_path_factory.mktemp("gpu")
    preset = _preset(folder, max_steps=4, save_strategy="no", include_num_input_tokens_seen=True)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(speed, "gpu_name", lambda args: "NVIDIA H200")
        mp.setattr("hftui.core.gpus.peak_flops", lambda name, bf16=True: FAKE_PEAK if "H200" in name else None)
        assert train(preset, folder / "run", run_id="gpu") == "completed"
    return folder, _events(folder / "run")


def test_cpu_logs_carry_estimated_tokens_per_second_and_no_mfu(cpu_run):
    _, evts = cpu_run
    logs = [e for e in evts if e["event"] == "log"]
    assert [e["step"] for e in logs] == [2, 4, 6]
    for e in logs:
        assert e["tokens_per_second"] > 0 and e["samples_per_second"] > 0
        assert e["tokens_estimated"] is True  # nothing counted tokens: samples x mean row length
        assert "mfu" not in e
        # the estimate is samples/s x the mean tokenized row (bounded by dataset.max_length = 32)
        assert 1 < e["tokens_per_second"] / e["samples_per_second"] <= 32


def test_checkpoint_events_say_what_rotation_kept(cpu_run):
    folder, evts = cpu_run
    checkpoints = [e for e in evts if e["event"] == "checkpoint"]
    assert [c["step"] for c in checkpoints] == [2, 4, 6]
    assert checkpoints[-1]["kept"] == [4, 6]
    on_disk = sorted(p.name for p in (folder / "out").glob("checkpoint-*"))
    assert on_disk == ["checkpoint-4", "checkpoint-6"]
    state = fold(evts)
    assert state.checkpoint_count == 2 and state.kept_checkpoints == [4, 6]
    assert state.latest_checkpoint.endswith("checkpoint-6")


def test_mfu_on_a_known_gpu_is_the_formula(gpu_run):
    _, evts = gpu_run
    (start,) = [e for e in evts if e["event"] == "start"]
    logs = [e for e in evts if e["event"] == "log"]
    assert [e["step"] for e in logs] == [2, 4]
    shape = scratch_llama()
    for e in logs:
        assert "tokens_estimated" not in e  # the Trainer counted them
        tps, sps = e["tokens_per_second"], e["samples_per_second"]
        seq = round(tps / sps)  # mean tokens per row over the interval
        expected = tps * flops_per_token(start["total_params"], shape["num_hidden_layers"], shape["hidden_size"], seq) / FAKE_PEAK
        assert e["mfu"] == pytest.approx(expected, rel=2e-3)
        assert 0 < e["mfu"] < math.inf


def _resumed_run(path: Path) -> None:
    """A run stopped at step 100 of 700 after 100 s (1 step/s), resumed 900 s later."""
    w = EventWriter(path)
    w.write("start", 0, time=0.0, max_steps=700)
    for s in range(10, 101, 10):
        w.write("log", s, time=float(s), loss=1.0, tokens_per_second=2048.0)
    w.write("checkpoint", 100, time=100.0, path="/out/checkpoint-100", kept=[50, 100])
    w.write("end", 100, time=101.0, status="stopped")
    w.write("start", 100, time=1000.0, max_steps=700, kept=[50, 100])


def test_eta_after_a_resume_comes_from_this_runs_rate(tmp_path):
    path = tmp_path / EVENTS_FILE
    _resumed_run(path)
    state = fold(read_all(path).events)
    # nothing trained since the resume yet: no rate, so no ETA (not 900 s of standing still
    # spread over the 100 steps before it)
    assert state.eta(1005.0) is None
    w = EventWriter(path)
    w.write("log", 110, time=1005.0, loss=1.0, samples_per_second=8.0, tokens_per_second=1000.0,
            tokens_estimated=True, mfu=0.214)
    state = fold(read_all(path).events)
    # 10 steps in 5 s since the resume: 590 steps left at 2 steps/s
    assert state.eta(1005.0) == pytest.approx(295.0)
    assert state.mfu == pytest.approx(0.214) and state.tokens_estimated
    # checkpoint count: the folders the start event found, not every save ever announced
    assert state.checkpoint_count == 2


def test_eta_without_max_steps_uses_this_runs_progress(tmp_path):
    state = fold([
        {"event": "start", "step": 0, "time": 0.0, "num_train_epochs": 4},
        {"event": "log", "step": 10, "time": 100.0, "epoch": 1.0},
        {"event": "end", "step": 10, "time": 101.0, "status": "stopped"},
        {"event": "start", "step": 10, "time": 5000.0, "num_train_epochs": 4},
        {"event": "log", "step": 12, "time": 5100.0, "epoch": 2.0},
    ])
    state._rate_window.clear()  # no step rate: the fallback by progress
    # one epoch in this run took 100 s; two are left
    assert state.eta(5100.0) == pytest.approx(200.0)


def test_checkpoints_without_a_kept_list_count_distinct_saves():
    state = fold([{"event": "checkpoint", "step": s, "path": f"/o/checkpoint-{s}"} for s in (5, 10, 10)])
    assert state.checkpoint_count == 2


async def test_pane_shows_speed_mfu_eta_and_kept_checkpoints(tmp_path):
    """The live pane over a run folder whose resumed run logs a measured rate and MFU."""
    import socket
    import subprocess
    import sys
    import time

    from textual.app import App
    from textual.widgets import Static

    from hftui.core.run.liveness import process_start_time
    from hftui.core.run.record import RunRecord
    from hftui.tui.screens.monitor import MonitorScreen
    from hftui.tui.widgets.run_progress import RunProgress

    supervisor = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        run_dir = tmp_path / "out" / ".hftui" / "r-speed"
        run_dir.mkdir(parents=True)
        now = time.time()
        RunRecord(id="r-speed", name="speed", preset_path=None, run_dir=run_dir, output_dir=str(tmp_path / "out"),
                  host=socket.gethostname(), pid=supervisor.pid, pid_start=process_start_time(supervisor.pid),
                  status="running", created=now - 1100, started=now - 1100, max_steps=700).save()
        (run_dir / "log.txt").write_text("", encoding="utf-8")
        w = EventWriter(run_dir / EVENTS_FILE)
        w.write("start", 0, time=now - 1100, max_steps=700)
        for s in range(10, 101, 10):
            w.write("log", s, time=now - 1100 + s, loss=1.0, tokens_per_second=2048.0)
        for s in (50, 100):
            w.write("checkpoint", s, time=now - 1000, path=str(tmp_path / "out" / f"checkpoint-{s}"), kept=[50, 100][: s // 50])
        w.write("start", 100, time=now - 10, max_steps=700, kept=[50, 100])
        # 2 steps/s since the resume: 580 steps left take 4m50s
        w.write("log", 120, time=now, loss=1.0, tokens_per_second=34329.0, samples_per_second=16.0, mfu=0.214)

        class Host(App):
            def on_mount(self) -> None:
                self.push_screen(MonitorScreen(run_dir))

        def figures(screen) -> str:
            return str(screen.query_one(RunProgress).query_one("#run-figures", Static).render())

        async with Host().run_test(size=(120, 40)) as pilot:
            for _ in range(200):
                await pilot.pause(0.05)
                if isinstance(pilot.app.screen, MonitorScreen) and "MFU" in figures(pilot.app.screen):
                    break
            text = figures(pilot.app.screen)
            eta = pilot.app.screen.state.eta(now)
        assert "34,329 tokens/s" in text and "MFU 21.4%" in text, text
        assert eta == pytest.approx(290.0)
        assert "ETA 4m" in text and "2 checkpoints" in text, text
    finally:
        supervisor.kill()
        supervisor.wait()


def test_headless_lines_show_speed(tmp_path):
    from hftui.tui.speed_text import event_speed_parts

    assert event_speed_parts({"tokens_per_second": 812.4, "tokens_estimated": True}) == ["~812 tokens/s (est.)"]
    assert event_speed_parts({"tokens_per_second": 34329.0, "mfu": 0.2141}) == ["34,329 tokens/s", "MFU 21.4%"]
    assert event_speed_parts({"samples_per_second": 3.5}) == ["3.5 samples/s"]


def test_row_tokens_of_preference_pairs_count_the_prompt_twice():
    from datasets import Dataset

    pairs = Dataset.from_dict({"prompt_input_ids": [[1, 2, 3]] * 4, "chosen_input_ids": [[4, 5]] * 4,
                               "rejected_input_ids": [[6]] * 4})
    assert speed.row_tokens(pairs) == (2 * 3 + 2 + 1, 2)
    assert speed.row_tokens(Dataset.from_dict({"input_ids": [[1, 2], [1, 2, 3, 4]]})) == (3.0, 1)
    assert speed.row_tokens(None, max_length=128) == (128.0, 1) and speed.row_tokens(None) == (None, 1)


def test_time_spent_evaluating_and_saving_is_not_training_time(monkeypatch):
    from types import SimpleNamespace

    clock = iter([0.0, 10.0, 14.0, 20.0])  # begin, pause (eval starts), resume (next step), log
    monkeypatch.setattr(speed.time, "time", lambda: next(clock))
    args = SimpleNamespace(per_device_train_batch_size=2, gradient_accumulation_steps=1, world_size=1, device=None)
    state = SimpleNamespace(global_step=0, num_input_tokens_seen=0)
    meter = speed.SpeedMeter({"trainer_type": "trainer"})
    meter.begin(args, state, None, SimpleNamespace(dataset=None))
    meter.pause()
    meter.resume()
    state.global_step, state.num_input_tokens_seen = 8, 1600
    out = meter.measure(args, state, {})
    # 8 steps x 2 rows in 20 s, of which 4 s were evaluation: 16 rows and 1600 tokens in 16 s
    assert out == {"samples_per_second": 1.0, "tokens_per_second": 100.0}
