"""RunState: the fold of events.jsonl that the live pane, attach and the headless display share."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from hftui.core.run.events import EventTail, EventWriter
from hftui.core.run.series import Series, lower_is_better
from hftui.core.run.state import RunState, fold
from hftui.tui.format import fmt_bytes, fmt_duration


def _run(n_steps=20, max_steps=20, eval_every=5, t0=1000.0, dt=0.5):
    """A plausible recorded run: start, a log per step, evals, checkpoints, an end."""
    evs = [{"event": "start", "time": t0, "step": 0, "max_steps": max_steps, "num_processes": 1,
            "preset": "tiny", "trainer_type": "sft", "device": "cpu"},
           {"event": "notice", "time": t0, "step": 0, "message": "no GPU: running on CPU"}]
    for s in range(1, n_steps + 1):
        t = t0 + s * dt
        evs.append({"event": "log", "time": t, "step": s, "loss": 4.0 - 0.1 * s,
                    "learning_rate": 1e-3 * (1 - s / max_steps), "grad_norm": 1.0, "epoch": s / 10})
        if s % eval_every == 0:
            evs.append({"event": "eval", "time": t, "step": s, "eval_loss": 3.0 - 0.05 * s + (0.5 if s == 15 else 0),
                        "eval_accuracy": [0.2, 0.5, 0.4, 0.45][s // eval_every - 1] if s <= 20 else 0.5,
                        "eval_runtime": 0.3, "eval_samples_per_second": 100.0, "epoch": s / 10})
            evs.append({"event": "checkpoint", "time": t, "step": s, "path": f"/out/checkpoint-{s}"})
    return evs


def test_fold_tracks_progress_metrics_and_end():
    evs = _run()
    state = fold(evs[:-2])  # before the last eval and checkpoint
    assert state.status == "running"
    assert state.step == 20 and state.max_steps == 20
    assert state.progress == 1.0
    state = RunState()
    state.apply(evs)
    state.apply([{"event": "end", "time": 1011.0, "step": 20, "status": "completed", "error": None,
                  "best_metric": 0.5, "best_checkpoint": "/out/checkpoint-10", "output_dir": "/out", "runtime": 11.0}])
    assert state.status == "completed" and state.finished
    assert state.loss.count == 20 and state.latest_loss == pytest.approx(2.0)
    assert state.learning_rate.count == 20
    # Smoothed loss lags the raw one on a falling curve, and starts at the first raw value.
    xs, smooth = state.smoothed_loss()
    assert smooth[0] == pytest.approx(3.9)
    assert smooth[-1] > state.latest_loss
    # eval bookkeeping keys are not metrics; loss improves downwards, accuracy upwards
    assert set(state.metrics) == {"eval_loss", "eval_accuracy"}
    acc = state.metrics["eval_accuracy"]
    assert (acc.latest, acc.best, acc.best_step) == (0.45, 0.5, 10)
    loss = state.metrics["eval_loss"]
    assert loss.lower_is_better and loss.best == pytest.approx(2.0) and loss.best_step == 20
    assert [c[0] for c in state.checkpoints] == [5, 10, 15, 20]
    assert state.latest_checkpoint == "/out/checkpoint-20"
    assert state.best_checkpoint == "/out/checkpoint-10" and state.output_dir == "/out"
    assert state.elapsed() == pytest.approx(11.0)  # frozen at the end
    assert state.eta() is None
    assert state.no_gpu and "no GPU: running on CPU" in state.notices


def test_incremental_apply_matches_whole_fold():
    evs = _run(n_steps=40, max_steps=40)
    whole = fold(evs)
    parts = RunState()
    for i in range(0, len(evs), 7):
        parts.apply(evs[i:i + 7])
    assert parts.summary() == whole.summary()
    assert parts.smoothed_loss() == whole.smoothed_loss()


def test_rate_eta_and_throughput():
    evs = _run(n_steps=10, max_steps=100, eval_every=100, dt=0.5)
    state = fold(evs)
    assert state.steps_per_second == pytest.approx(2.0)
    # 90 steps left at 2 steps/s, seen right at the last event
    assert state.eta(now=1005.0) == pytest.approx(45.0)
    assert state.throughput() == (pytest.approx(2.0), "steps/s")
    state.apply([{"event": "log", "time": 1005.5, "step": 11, "loss": 1.0, "samples_per_second": 64.0}])
    assert state.throughput() == (64.0, "samples/s")
    state.apply([{"event": "log", "time": 1006.0, "step": 12, "loss": 1.0, "tokens_per_second": 4096}])
    assert state.throughput() == (4096.0, "tokens/s")
    assert state.elapsed(now=1010.0) == pytest.approx(10.0)


def test_epoch_based_progress_when_max_steps_unknown():
    state = fold([{"event": "start", "time": 0.0, "step": 0, "max_steps": -1, "num_train_epochs": 4},
                  {"event": "log", "time": 10.0, "step": 5, "loss": 1.0, "epoch": 1.0}])
    assert state.max_steps is None
    assert state.progress == pytest.approx(0.25)
    assert state.eta(now=10.0) == pytest.approx(30.0)


def test_statuses_from_events_run_json_and_stop_request():
    state = RunState({"id": "r1", "name": "tiny", "status": "starting"})
    assert state.status == "starting" and state.run_id == "r1"
    state.apply([{"event": "start", "time": 0.0, "step": 0, "max_steps": 10}])
    assert state.status == "running"
    state.apply([{"event": "notice", "time": 1.0, "step": 3, "message": "evaluating", "phase": "evaluating"}])
    assert state.status == "evaluating"
    state.apply([{"event": "eval", "time": 2.0, "step": 3, "eval_loss": 1.0}])
    assert state.status == "running"
    state.set_stop_requested(True)
    assert state.status == "stopping"
    # The process died without an end event: run.json's final word counts.
    state.apply_run_info({"id": "r1", "status": "failed", "error": "killed by signal 9"})
    assert state.status == "failed" and state.error == "killed by signal 9"
    # A resumed run starts again.
    state2 = fold([{"event": "start", "time": 0.0, "step": 0, "max_steps": 10},
                   {"event": "log", "time": 1.0, "step": 4, "loss": 1.0},
                   {"event": "end", "time": 2.0, "step": 4, "status": "stopped", "error": None},
                   {"event": "start", "time": 10.0, "step": 4, "max_steps": 10},
                   {"event": "log", "time": 11.0, "step": 6, "loss": 0.9}])
    assert state2.status == "running" and state2.step == 6 and state2.loss.count == 2
    assert state2.start_time == 0.0  # elapsed counts from the first start


def test_failure_keeps_error_and_step():
    state = fold(_run(n_steps=3, max_steps=10) + [
        {"event": "end", "time": 1002.0, "step": 3, "status": "failed",
         "error": "RuntimeError: CUDA out of memory"}])
    assert state.status == "failed" and state.error == "RuntimeError: CUDA out of memory"
    assert state.step == 3


def test_gpu_devices_and_history():
    evs = [{"event": "start", "time": 0.0, "step": 0, "max_steps": 10, "device": "cuda"}]
    for i in range(5):
        evs.append({"event": "gpu", "time": float(i), "step": i, "devices": [
            {"index": 0, "name": "NVIDIA H100", "used": (10 + i) * 2**30, "total": 80 * 2**30, "util": 90},
            {"index": 1, "name": "NVIDIA H100", "used": 5 * 2**30, "total": 80 * 2**30, "util": None}]})
    state = fold(evs)
    assert not state.no_gpu and sorted(state.gpus) == [0, 1]
    g0 = state.gpus[0]
    assert g0.name == "NVIDIA H100" and g0.used == 14 * 2**30 and g0.util == 90
    assert g0.memory_fraction == pytest.approx(14 / 80)
    assert g0.memory.points()[1] == [(10 + i) * 2**30 for i in range(5)]
    assert state.gpus[1].util is None and state.gpus[1].utilisation.count == 0


def test_odd_values_do_not_break_the_fold():
    state = fold([
        {"event": "start", "time": 0.0, "step": 0, "max_steps": "ten"},
        {"event": "log", "time": 1.0, "step": 1, "loss": "nan?", "learning_rate": None},
        {"event": "log", "time": 2.0, "step": 2, "loss": float("nan")},
        {"event": "log", "time": 3.0, "step": 3, "loss": 2.0},
        {"event": "gpu", "time": 3.0, "step": 3, "devices": ["bogus", {"index": 0, "used": "x"}]},
        {"event": "eval", "time": 3.0, "step": 3, "eval_loss": float("inf"), "eval_note": "text"},
        {"event": "mystery", "time": 3.0, "step": 3},
        {"event": "log", "time": "late", "step": "x"},
    ])
    assert state.step == 3 and state.latest_loss == 2.0
    assert state.metrics["eval_loss"].best is None  # inf is shown as latest but never "best"
    assert state.bad_lines == 1  # the log with step "x"
    assert state.counts["mystery"] == 1


def test_series_stays_bounded_and_keeps_the_newest_point():
    series = Series(limit=100)
    for i in range(100_000):
        series.add(i, float(i))
    assert len(series) < 100 and series.count == 100_000
    xs, ys = series.points()
    assert xs[0] == 0 and xs[-1] == 99_999
    assert xs == sorted(xs)
    # evenly thinned: the gaps are all the same stride
    gaps = {b - a for a, b in zip(xs[:-2], xs[1:-1])}
    assert len(gaps) == 1


def test_a_long_run_folds_into_bounded_memory():
    state = RunState(series_points=500)
    batch = []
    for s in range(1, 60_001):
        batch.append({"event": "log", "time": float(s), "step": s, "loss": 1.0 / s, "learning_rate": 1e-4})
        if s % 10 == 0:
            batch.append({"event": "gpu", "time": float(s), "step": s,
                          "devices": [{"index": 0, "used": s, "total": 10**9, "util": 50}]})
        if len(batch) >= 5000:
            state.apply(batch)
            batch = []
    state.apply(batch)
    assert state.loss.count == 60_000 and len(state.loss) <= 500
    assert len(state.learning_rate) <= 500 and len(state.gpus[0].memory) <= 500
    assert state.events_seen == 66_000


def test_take_changes_reports_what_to_redraw():
    state = RunState()
    state.apply([{"event": "start", "time": 0.0, "step": 0, "max_steps": 5}])
    assert {"progress", "info"} <= state.take_changes()
    assert state.take_changes() == set()
    state.apply([{"event": "gpu", "time": 1.0, "step": 0, "devices": [{"index": 0, "used": 1, "total": 2}]}])
    assert state.take_changes() == {"gpu"}
    state.apply([{"event": "eval", "time": 1.0, "step": 1, "eval_f1": 0.5}])
    assert "eval" in state.take_changes()


def test_tailing_a_growing_file_with_partial_and_garbled_lines(tmp_path):
    path = tmp_path / "events.jsonl"
    writer = EventWriter(path)
    writer.write("start", 0, max_steps=4)
    writer.write("log", 1, loss=2.0)
    tail, state = EventTail(path), RunState()
    state.apply(tail.read().events)
    assert state.step == 1
    with open(path, "a", encoding="utf-8") as fh:
        fh.write("{not json}\n")
        fh.write(json.dumps({"event": "log", "time": 2.0, "step": 2, "loss": 1.5})[:20])  # half a line
    result = tail.read()
    state.apply(result.events)
    assert result.bad_lines == 1 and state.step == 1
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"event": "log", "time": 2.0, "step": 2, "loss": 1.5})[20:] + "\n")
    state.apply(tail.read().events)
    assert state.step == 2 and state.latest_loss == 1.5
    writer.close()


def test_formatting_helpers():
    assert fmt_duration(None) == "—"
    assert fmt_duration(5) == "5s" and fmt_duration(65) == "1m05s" and fmt_duration(3725) == "1h02m"
    assert fmt_bytes(80 * 2**30) == "80.0 GiB"
    assert lower_is_better("eval_loss") and lower_is_better("eval_wer") and lower_is_better("perplexity")
    assert not lower_is_better("eval_accuracy") and not lower_is_better("eval_f1")


def test_runstate_imports_only_the_standard_library():
    code = ("import sys, hftui.core.run.state; "
            "bad = [m for m in ('textual', 'rich', 'torch', 'transformers') if m in sys.modules]; "
            "print(bad); raise SystemExit(1 if bad else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _synthetic_lines(n_steps: int) -> list[bytes]:
    evs = [{"event": "start", "time": 0.0, "step": 0, "max_steps": n_steps}]
    for s in range(1, n_steps + 1):
        evs.append({"event": "log", "time": s * 0.1, "step": s, "loss": 5.0 / s, "learning_rate": 1e-4 * s,
                    "grad_norm": 1.0 + s % 3, "epoch": s / 100, "samples_per_second": float(s % 7)})
        if s % 5 == 0:
            evs.append({"event": "gpu", "time": s * 0.1, "step": s, "devices": [
                {"index": i, "name": "GPU", "used": s + i, "total": 10**6, "util": s % 100} for i in range(2)]})
        if s % 250 == 0:
            evs.append({"event": "eval", "time": s * 0.1, "step": s, "eval_loss": 1.0 / s, "eval_f1": s / n_steps})
    return [json.dumps(e).encode() for e in evs]


@pytest.mark.parametrize("batch", [1, 7, 1000, 10**9])
def test_apply_lines_matches_parsing_every_line(batch):
    lines = _synthetic_lines(6000)
    lines.insert(100, b"{garbled")
    lines.insert(200, b'{"event": "log", "time": 1, "step": 3, "loss": 1.0, "learning_rate": 0.1, "grad_norm": 1, '
                      b'{"event": "eval", "time": 2.0, "step": 20, "eval_loss": 9.0}')  # two lines glued by a crash
    full = RunState(series_points=64)
    bad = 0
    for raw in lines:
        try:
            full.apply([json.loads(raw)])
        except ValueError:
            bad += 1
    full.bad_lines = bad
    fast = RunState(series_points=64)
    for i in range(0, len(lines), batch):
        fast.apply_lines(lines[i:i + batch])
    assert fast.bad_lines == bad == 2
    assert fast.events_seen == full.events_seen and fast.counts == full.counts
    for name in ("loss", "learning_rate", "grad_norm"):
        assert getattr(fast, name).points() == getattr(full, name).points(), name
        assert getattr(fast, name).count == getattr(full, name).count == 6000
    for i in (0, 1):
        assert fast.gpus[i].memory.points() == full.gpus[i].memory.points()
        assert fast.gpus[i].utilisation.count == full.gpus[i].utilisation.count == 1200
    assert fast.summary() == full.summary()
    assert fast.latest_log == full.latest_log and fast.samples_per_second == full.samples_per_second
    assert fast.smoothed_loss() == full.smoothed_loss()
    assert len(fast.loss) < 64


def test_event_tail_hands_out_raw_lines_by_offset(tmp_path):
    from hftui.core.run.follow import fold_file

    path = tmp_path / "events.jsonl"
    tail = EventTail(path)
    assert tail.read_lines() == [] and tail.missing
    path.write_bytes(b'{"event": "start", "time": 0, "step": 0, "max_steps": 3}\n{"event": "log", "ti')
    assert tail.read_lines() == [b'{"event": "start", "time": 0, "step": 0, "max_steps": 3}'] and not tail.missing
    with open(path, "ab") as fh:
        fh.write(b'me": 1, "step": 1, "loss": 2.0}\n')
    assert tail.read_lines() == [b'{"event": "log", "time": 1, "step": 1, "loss": 2.0}']
    state = fold_file(path)
    assert state.step == 1 and state.latest_loss == 2.0
    path.write_bytes(b'{"event": "log", "time": 1, "step": 9, "loss": 1.0}\n')  # replaced by a shorter file
    assert tail.read_lines() == [b'{"event": "log", "time": 1, "step": 9, "loss": 1.0}']


def test_smoothing_spans_the_same_steps_however_thinned():
    short = RunState(series_points=10_000)
    thinned = RunState(series_points=50)
    evs = [{"event": "log", "time": float(s), "step": s, "loss": 2.0 if s < 5000 else 1.0} for s in range(1, 10_001)]
    short.apply(evs)
    thinned.apply(evs)
    xs, ys = short.smoothed_loss()
    txs, tys = thinned.smoothed_loss()
    assert ys[0] == 2.0 and tys[0] == 2.0
    # both have settled at the new level well before the end, neither jumps straight to it
    assert ys[-1] == pytest.approx(1.0, abs=1e-3) and tys[-1] == pytest.approx(1.0, abs=1e-2)
    assert 1.0 < ys[xs.index(5001)] < 2.0


def test_a_downloads_progress_keeps_one_notice_and_the_warnings_before_it():
    state = RunState()
    state.apply([{"event": "notice", "step": 0, "message": "this run pushes to the Hub as you"}])
    state.apply([{"event": "notice", "step": 0, "message": f"downloading 2 files, {i} MiB of 480 MiB"} for i in range(100)])
    state.apply([{"event": "notice", "step": 0, "message": "downloaded 2 files, 480.0 MiB"}])
    assert list(state.notices) == ["this run pushes to the Hub as you", "downloading 2 files, 99 MiB of 480 MiB",
                             "downloaded 2 files, 480.0 MiB"]
