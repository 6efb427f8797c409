"""`hftui run`, `hftui runs` and `hftui stop` through the real CLI, training a tiny scratch model."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from conftest import hftui_cmd
from tiny_presets import sft_preset
from hftui.core.run.events import read_all

TIMEOUT = 240


def write_preset(folder: Path, max_steps: int = 6, save_steps: int = 3) -> Path:
    words = ["alpha", "beta", "gamma", "delta", "epsilon"]
    with open(folder / "data.jsonl", "w") as fh:
        for i in range(48):
            fh.write(json.dumps({"text": " ".join(words[(i * 7 + j) % 5] for j in range(8))}) + "\n")
    path = folder / "tiny.toml"
    args = dict(max_steps=max_steps, per_device_train_batch_size=4, logging_steps=1, save_steps=save_steps, seed=7)
    path.write_text(sft_preset("tiny-cli", args=args))
    return path


def run_cli(*args: str, cwd: Path, timeout: float = TIMEOUT) -> subprocess.CompletedProcess:
    return subprocess.run(hftui_cmd(*args), cwd=cwd, capture_output=True, text=True, timeout=timeout)


def only_run_dir(output_dir: Path) -> Path:
    dirs = [d for d in (output_dir / ".hftui").iterdir() if d.is_dir()]
    assert len(dirs) == 1, dirs
    return dirs[0]


@pytest.mark.slow
def test_run_trains_records_and_lists(tmp_path, hftui_home):
    preset = write_preset(tmp_path, max_steps=6, save_steps=3)
    result = run_cli("run", str(preset), "--set", "args.learning_rate=1e-3", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert "completed" in result.stdout and "step 6/6" in result.stdout
    run_dir = only_run_dir(tmp_path / "out")
    info = json.loads((run_dir / "run.json").read_text())
    assert info["status"] == "completed" and info["exit_code"] == 0
    assert info["max_steps"] == 6 and info["name"] == "tiny-cli" and info["ended"] >= info["started"]
    assert (run_dir / "preset.toml").is_file() and (run_dir / "log.txt").stat().st_size > 0
    assert "learning_rate = 0.001" in (run_dir / "preset.toml").read_text()
    events = read_all(run_dir / "events.jsonl").events
    kinds = [e["event"] for e in events]
    assert kinds[0] in ("start", "notice") and "start" in kinds and "log" in kinds and kinds[-1] == "end"
    assert events[-1]["status"] == "completed" and events[-1]["step"] == 6
    assert [e["step"] for e in events if e["event"] == "checkpoint"] == [3, 6]
    assert (tmp_path / "out" / "checkpoint-6").is_dir()
    assert json.loads((hftui_home / "runs" / f"{info['id']}.json").read_text())["run_dir"] == str(run_dir)

    listed = run_cli("runs", cwd=tmp_path)
    assert listed.returncode == 0
    assert info["id"] in listed.stdout and "completed" in listed.stdout and "6/6" in listed.stdout
    as_json = json.loads(run_cli("runs", "--json", cwd=tmp_path).stdout)
    assert [(r["id"], r["status"], r["step"], r["max_steps"]) for r in as_json] == [(info["id"], "completed", 6, 6)]
    # stopping a finished run says so; an unknown run lists the recent ones
    assert "not running" in run_cli("stop", info["id"][-4:], cwd=tmp_path).stdout
    unknown = run_cli("stop", "no-such-run", cwd=tmp_path)
    assert unknown.returncode == 2 and info["id"] in unknown.stderr and "Traceback" not in unknown.stderr


@pytest.mark.slow
def test_detach_returns_at_once_and_the_run_finishes(tmp_path):
    preset = write_preset(tmp_path, max_steps=30, save_steps=10)
    started = time.time()
    result = run_cli("run", str(preset), "--detach", "--name", "detached", cwd=tmp_path, timeout=60)
    took = time.time() - started
    assert result.returncode == 0, result.stderr
    run_id = result.stdout.strip()
    assert f"hftui attach {run_id}" in result.stderr and f"hftui stop {run_id}" in result.stderr
    run_dir = only_run_dir(tmp_path / "out")
    assert run_dir.name == run_id
    info = json.loads((run_dir / "run.json").read_text())
    assert info["status"] in ("starting", "running"), (took, info)  # returned before training ended
    assert not any(e["event"] == "end" for e in read_all(run_dir / "events.jsonl").events)
    deadline = time.time() + TIMEOUT
    while time.time() < deadline:
        info = json.loads((run_dir / "run.json").read_text())
        if info["status"] not in ("starting", "running", "stopping"):
            break
        time.sleep(0.5)
    assert info["status"] == "completed", (run_dir / "log.txt").read_text()[-3000:]
    assert read_all(run_dir / "events.jsonl").events[-1]["step"] == 30
    listed = json.loads(run_cli("runs", "--json", cwd=tmp_path).stdout)
    assert listed[0]["name"] == "detached" and listed[0]["status"] == "completed"


def test_invalid_preset_exits_2_before_anything_starts(tmp_path, hftui_home):
    preset = write_preset(tmp_path)
    bad_toml = tmp_path / "bad.toml"
    bad_toml.write_text("schema = 1\n[args\nmax_steps = 3\n")
    result = run_cli("run", str(bad_toml), cwd=tmp_path)
    assert result.returncode == 2 and "not valid TOML" in result.stderr and "Traceback" not in result.stderr
    missing = run_cli("run", str(tmp_path / "nope.toml"), cwd=tmp_path)
    assert missing.returncode == 2 and "no such file" in missing.stderr
    # two bad overrides: both reported at once
    result = run_cli("run", str(preset), "--set", "args.max_steps=lots", "--set", "args.learning_rate=fast", cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "args.max_steps" in result.stderr and "args.learning_rate" in result.stderr
    result = run_cli("run", str(preset), "--set", "args.max_step=3", "--set", "dataset.text_column=body", cwd=tmp_path)
    assert result.returncode == 2 and "max_steps" in result.stderr and "body" in result.stderr, result.stderr
    assert not (tmp_path / "out").exists()
    assert not (hftui_home / "runs").exists() or not list((hftui_home / "runs").glob("*.json"))
    # remote code needs consent
    remote = tmp_path / "remote.toml"
    remote.write_text(preset.read_text().replace('task = "causal-lm"', 'task = "causal-lm"\ntrust_remote_code = true'))
    result = run_cli("run", str(remote), cwd=tmp_path)
    assert result.returncode == 2 and "--trust-remote-code" in result.stderr and "model.trust_remote_code" in result.stderr
    assert not (tmp_path / "out").exists()


def test_runs_with_no_runs(tmp_path):
    result = run_cli("runs", cwd=tmp_path, timeout=60)
    assert result.returncode == 0 and "no runs yet" in result.stdout
    assert json.loads(run_cli("runs", "--json", cwd=tmp_path, timeout=60).stdout) == []


def _finished_run(tmp_path: Path, status: str, error: str | None = None):
    from hftui.core.run.events import EventWriter
    from hftui.core.run.record import RunRecord

    run_dir = tmp_path / "out" / ".hftui" / "20260101-000000-abcd"
    run_dir.mkdir(parents=True)
    now = time.time()
    rec = RunRecord(id=run_dir.name, name="shown", preset_path=str(tmp_path / "p.toml"), run_dir=run_dir,
                    output_dir=str(tmp_path / "out"), status=status, created=now - 70, started=now - 65,
                    ended=now, exit_code={"completed": 0, "stopped": 130}.get(status, 1), max_steps=4, error=error)
    rec.save()
    w = EventWriter(run_dir / "events.jsonl")
    w.write("start", 0, max_steps=4, model="scratch:llama", device="cpu")
    for step in range(1, 5 if status == "completed" else 3):
        w.write("log", step, loss=2.0 / step, learning_rate=1e-3, epoch=step / 4)
    w.write("eval", 2, eval_loss=0.9, eval_accuracy=0.75, epoch=0.5)
    w.write("checkpoint", 2, path=str(tmp_path / "out" / "checkpoint-2"))
    w.write("end", 4 if status == "completed" else 2, status=status, error=error)
    w.close()
    (run_dir / "log.txt").write_text("\n".join(f"log line {i}" for i in range(40)) + "\nValueError: boom\n")
    return rec


def test_headless_display_live_and_summary(tmp_path):
    import io

    from rich.console import Console

    from hftui.tui.headless import HeadlessDisplay

    rec = _finished_run(tmp_path, "completed")
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=True, width=120, color_system=None)
    display = HeadlessDisplay(rec, console)
    assert display.live
    display.follow()
    display.print_summary()
    text = buf.getvalue()
    assert "step 4/4" in text and "loss 0.5" in text and "1m05s" in text
    assert "accuracy 0.75" in text and "checkpoint-2" in text
    assert "accuracy 0.75 at step 2" in text  # the task metric is the headline, not the loss
    assert display.exit_code() == 0


def test_headless_plain_lines_and_failed_summary(tmp_path):
    import io

    from rich.console import Console

    from hftui.tui.headless import HeadlessDisplay

    rec = _finished_run(tmp_path, "failed", error="ValueError: boom")
    text = rec.events_path.read_text().splitlines()
    text.insert(2, '{"event": "log", "step": 9, "lo')  # a torn line (a crash mid-write)
    rec.events_path.write_text("\n".join(text) + "\n")
    buf = io.StringIO()
    display = HeadlessDisplay(rec, Console(file=buf, width=100, color_system=None))
    assert not display.live
    display.follow()
    display.print_summary()
    lines = buf.getvalue().splitlines()
    assert any(line.startswith("step 1/4  epoch 0.25  loss 2  learning_rate 0.001") for line in lines)
    assert "skipped 1 garbled line(s) of events.jsonl" in lines
    assert any(line.startswith("eval at step 2:") and "0.75" in line for line in lines)
    assert "error: ValueError: boom" in lines
    tail = lines[lines.index(next(line for line in lines if line.startswith("last lines of"))) + 1:]
    assert len(tail) == 15 and tail[-1].strip() == "ValueError: boom" and tail[0].strip() == "log line 26"
    assert display.exit_code() == 1
