"""A preset from someone else: its names, keys and values reach the terminal with their control
characters shown escaped (a name cannot clear the screen or retitle the terminal), and a preset
that uploads to the Hugging Face Hub with the person's token says so in `validate`, before the
run starts and in the run's first lines.

The runs here use a stand-in worker (a few lines writing events), so each test takes seconds.
"""

from __future__ import annotations

import io
import json
import sys
import textwrap

import pytest
from rich.console import Console
from tiny_presets import sft_preset

from hftui.core import launch as launch_mod
from hftui.core.run.events import read_all
from hftui.core.run.record import RunRecord
from hftui.tui import cli
from hftui.tui.headless import HeadlessDisplay

ESC_NAME = "n\x1b[2J\x1b]0;owned\x07\u202eeman\x9b31m"
# What must never reach the terminal raw: ESC, BEL, the C1 CSI, a right-to-left override.
RAW = ("\x1b", "\x07", "\x9b", "\u202e")

# Writes what a worker would, each piece carrying terminal escapes, then fails.
STAND_IN = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from hftui.core.run.events import EventWriter
    run_dir = Path(os.environ["HFTUI_RUN_DIR"])
    w = EventWriter(run_dir / "events.jsonl")
    w.write("start", 0, max_steps=2, num_processes=1, model="m\\x1b[2J", device="cpu\\x1b[31m")
    w.write("notice", 0, message="note \\x1b]0;retitled\\x07 here")
    w.write("log", 1, loss=1.0, epoch=0.5)
    w.write("checkpoint", 1, path=str(run_dir / "checkpoint-1\\x1b[2J"))
    print("log line \\x1b[2J\\x9b1m with escapes", flush=True)
    w.write("end", 1, status="failed", error="bad \\x1b[2J thing")
    sys.exit(1)
    """
)


@pytest.fixture
def stand_in(monkeypatch, tmp_path):
    script = tmp_path / "stand_in_worker.py"
    script.write_text(STAND_IN)

    def fake(preset, run_dir, gpus=None):
        return launch_mod.Launch([sys.executable, str(script)], {}, "single", 1, 1, "test", {"use_cpu": True})

    monkeypatch.setattr(launch_mod, "resolve_launch", fake)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data.jsonl").write_text("".join(json.dumps({"text": f"row {i}"}) + "\n" for i in range(8)))
    return tmp_path


def hftui(capsys, *argv: str) -> tuple[int, str]:
    capsys.readouterr()
    try:
        code = cli.main(list(argv))
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out + out.err


def assert_escaped(output: str) -> None:
    for raw in RAW:
        assert raw not in output, f"{raw!r} reached the terminal:\n{output!r}"


def test_validate_and_export_show_escapes_in_names_keys_values_and_file_names(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data.jsonl").write_text(json.dumps({"text": "row"}) + "\n")
    text = sft_preset(ESC_NAME, args={"max_steps": 2, "optim": "adamw\x1b[2J\u202e", "lr\x1b[2J": 1})
    text += '\n["sect\\u009b\\u001b[2J"]\nkey = 1\n'
    preset = tmp_path / "p\x1b[2J.toml"
    preset.write_text(text)
    code, output = hftui(capsys, "validate", preset.name)
    assert code == 2
    assert_escaped(output)
    assert "p\\x1b[2J.toml: invalid" in output  # the file, as its name is spelled
    assert "args.lr\\x1b[2J" in output and "\\x9b" in output
    code, output = hftui(capsys, "export", preset.name, "--to", "python")
    assert code == 2 and "args.lr\\x1b[2J" in output
    assert_escaped(output)


def test_run_runs_stop_and_attach_show_escapes(stand_in, capsys):
    preset = stand_in / "p.toml"
    preset.write_text(sft_preset(ESC_NAME, args={"max_steps": 2}))
    code, output = hftui(capsys, "run", str(preset))
    assert code == 1, output
    assert_escaped(output)
    assert "n\\x1b[2J" in output  # the name, escaped
    assert "note \\x1b]0;retitled\\x07 here" in output and "bad \\x1b[2J thing" in output
    assert "log line \\x1b[2J\\x9b1m with escapes" in output  # the log's last lines
    # the live panel a terminal gets, drawn once from the same events
    run_dir = next((stand_in / "out" / ".hftui").glob("*/run.json")).parent
    panel = Console(file=io.StringIO(), width=200, color_system=None)
    display = HeadlessDisplay(RunRecord.load(run_dir), panel, live=True)
    display.follower.read_events()
    panel.print(display.render())
    assert_escaped(panel.file.getvalue())
    assert "note \\x1b]0;retitled\\x07 here" in panel.file.getvalue()

    code, output = hftui(capsys, "runs")
    assert code == 0 and "n\\x1b[2J" in output
    assert_escaped(output)
    for command in ("stop", "attach"):
        code, output = hftui(capsys, command, "\x1b[2Jno-such-run\u202e")
        assert code == 2 and "\\x1b[2Jno-such-run\\u202e" in output, output
        assert_escaped(output)
    code, output = hftui(capsys, "stop", ESC_NAME)  # found by its name: it has ended
    assert code == 0 and "is not running" in output
    assert_escaped(output)


HUB = {"push_to_hub": True, "hub_model_id": "someone-else/their-model"}


def test_validate_warns_that_a_preset_uploads_with_the_token_of_this_environment(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data.jsonl").write_text(json.dumps({"text": "row"}) + "\n")
    (tmp_path / "p.toml").write_text(sft_preset("shared", args={"max_steps": 2, **HUB}))
    code, output = hftui(capsys, "validate", "p.toml")
    assert code == 0 and "p.toml: valid (1 warning)" in output
    warning = next(line for line in output.splitlines() if "args.push_to_hub: warning" in line)
    assert '"someone-else/their-model"' in warning and "token" in warning and "HF_TOKEN" in warning
    # without hub_model_id the repo is named after the output folder, under the person's account
    (tmp_path / "q.toml").write_text(sft_preset("shared", args={"max_steps": 2, "push_to_hub": True, "output_dir": "runs/tiny-gpt"}))
    code, output = hftui(capsys, "validate", "q.toml")
    assert code == 0 and '"tiny-gpt"' in output and "under your account" in output
    code, output = hftui(capsys, "validate", "p.toml", "--set", "args.push_to_hub=false")
    assert code == 0 and "push_to_hub" not in output


def test_a_run_that_uploads_says_so_in_its_first_lines(stand_in, capsys):
    (stand_in / "p.toml").write_text(sft_preset("shared", args={"max_steps": 2, **HUB}))
    code, output = hftui(capsys, "run", "p.toml")
    assert code == 1, output  # the stand-in fails; the notice came before it started
    run_dir = next((stand_in / "out" / ".hftui").glob("*/run.json")).parent
    first = read_all(run_dir / "events.jsonl").events[0]
    assert first["event"] == "notice" and first["step"] == 0
    assert "args.push_to_hub = true" in first["message"] and "someone-else/their-model" in first["message"]
    assert (run_dir / "log.txt").read_text().startswith("hftui: warning: args.push_to_hub = true")
    # the headless display prints it as the run's first line
    lines = output.splitlines()
    started = next(i for i, line in enumerate(lines) if "started; Ctrl-C stops it" in line)
    assert lines[started + 1].startswith("note: warning: args.push_to_hub = true")


@pytest.mark.usefixtures("warm_catalog")
async def test_the_wizard_review_shows_the_upload_and_the_name_escaped(tmp_path):
    import time

    from hftui.core import preset as preset_mod
    from hftui.tui.app import HftuiApp
    from hftui.tui.widgets.review_panel import ReviewPanel

    (tmp_path / "data.jsonl").write_text(json.dumps({"text": "row"}) + "\n")
    path = tmp_path / "p.toml"
    path.write_text(sft_preset(ESC_NAME, args={"max_steps": 2, **HUB}))
    app = HftuiApp(preset_mod.load(path), gpus=[])
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.3)
        app.screen.goto("review")
        box = app.screen.query_one(ReviewPanel).query_one("#review-problems")
        deadline = time.monotonic() + 20
        prompts: list[str] = []
        while not any("push_to_hub" in p for p in prompts) and time.monotonic() < deadline:
            await pilot.pause(0.1)
            prompts = [str(box.get_option_at_index(i).prompt) for i in range(box.option_count)]
        assert any("someone-else/their-model" in p and "token" in p for p in prompts), prompts
        assert any("name: " in p and "n\\x1b[2J" in p for p in prompts), prompts
        assert_escaped("".join(prompts))
        assert app.screen.title == "hftui · " + "n\\x1b[2J\\x1b]0;owned\\x07\\u202eeman\\x9b31m"
