"""A named pipe, a device or a symbolic link loop where a preset or a data file should be: hftui
says what the path is and exits 2, at once, in `validate`, `run` and the wizard, where reading it
would block for good (a pipe), never end (/dev/zero) or crash (a loop)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import hftui_cmd
from hftui.core import preset as preset_mod
from hftui.core.regular_file import check_regular, read_capped
from hftui.tui import cli
from hftui.tui.app import HftuiApp
from hftui.tui.widgets.dataset_preview import load_preview

PRESET = """schema = 1
[model]
task = "causal-lm"
[model.scratch]
architecture = "llama"
tokenizer = "byte"
hidden_size = 32
num_hidden_layers = 1
num_attention_heads = 4
intermediate_size = 64

[dataset]
path = "json"
data_files = "{data}"

[trainer]
type = "sft"

[args]
output_dir = "runs/x"
max_steps = 2
"""


def write_preset(folder: Path, data: str) -> Path:
    path = folder / "p.toml"
    path.write_text(PRESET.format(data=data), encoding="utf-8")
    return path


def unblock(fifo: Path, seconds: float = 2.0) -> None:
    """Open a pipe for writing and close it, so that a reader stuck opening it gets an empty
    file: a test of a hang fails instead of hanging the session."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:
            pass
        time.sleep(0.05)


def run_cli(argv, capsys) -> tuple[int, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.fixture(autouse=True)
def _catalog(warm_catalog):
    return warm_catalog


@pytest.fixture
def fifo(tmp_path) -> Path:
    path = tmp_path / "pipe.jsonl"
    os.mkfifo(path)
    yield path
    unblock(path, 0.2)


def test_what_a_path_is(tmp_path, fifo):
    (tmp_path / "f.txt").write_text("x")
    os.symlink("loop", tmp_path / "loop")
    os.symlink("missing", tmp_path / "dangling")
    assert check_regular(tmp_path / "f.txt") is None
    assert "named pipe" in check_regular(fifo).reason
    assert "character device" in check_regular("/dev/zero").reason
    assert "symbolic link loop" in check_regular(tmp_path / "loop").reason
    assert "'missing', which does not exist" in check_regular(tmp_path / "dangling").reason
    assert check_regular(tmp_path).reason.startswith("is a folder")
    assert read_capped(tmp_path / "f.txt", 10) == (b"x", False)


@pytest.mark.parametrize("command", ["validate", "run"])
def test_a_named_pipe_as_data_file_is_refused_at_once(tmp_path, fifo, command):
    preset = write_preset(tmp_path, fifo.name)
    out = subprocess.run(hftui_cmd(command, str(preset)), cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2, out.stdout + out.stderr
    assert f"dataset.data_files: error: data file {fifo} is a named pipe (FIFO), not a regular file" in out.stderr
    assert not (tmp_path / "runs").exists()


def test_a_named_pipe_as_preset(tmp_path, fifo):
    out = subprocess.run(hftui_cmd("validate", str(fifo)), capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "is a named pipe (FIFO), not a regular file" in out.stderr, out.stderr


def test_devices_and_symlink_loops(tmp_path, capsys):
    code, out = run_cli(["validate", str(write_preset(tmp_path, "/dev/zero"))], capsys)
    assert code == 2 and "data file /dev/zero is a character device" in out
    code, out = run_cli(["validate", "/dev/zero"], capsys)
    assert code == 2 and "/dev/zero: error: is a character device" in out
    os.symlink("loop.jsonl", tmp_path / "loop.jsonl")
    os.symlink("p2.toml", tmp_path / "p2.toml")
    code, out = run_cli(["validate", str(write_preset(tmp_path, "loop.jsonl"))], capsys)
    assert code == 2 and "loop.jsonl is a symbolic link loop" in out and "internal error" not in out
    for command in ("validate", "run"):
        code, out = run_cli([command, str(tmp_path / "p2.toml")], capsys)
        assert code == 2 and "p2.toml: error: is a symbolic link loop" in out and "internal error" not in out, out


def test_the_dataset_preview_refuses_a_named_pipe(tmp_path, fifo):
    preset = preset_mod.load(write_preset(tmp_path, fifo.name))
    result = {}
    worker = threading.Thread(target=lambda: result.setdefault("preview", load_preview(preset)), daemon=True)
    worker.start()
    worker.join(10)
    if worker.is_alive():
        unblock(fifo)
    assert "preview" in result, "the preview blocked on the pipe"
    assert "is a named pipe" in result["preview"].error


async def test_the_wizard_quits_at_once_with_a_named_pipe_as_data(tmp_path, fifo):
    app = HftuiApp(preset_mod.load(write_preset(tmp_path, fifo.name)), gpus=[])
    times = {}

    async def session() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause(0.3)
            app.screen.goto("dataset")
            summary = app.screen.query_one("#dataset-summary")
            end = time.monotonic() + 10
            while "named pipe" not in str(summary.render()) and time.monotonic() < end:
                await pilot.pause(0.1)
            times["preview"] = str(summary.render())
            times["quit"] = time.monotonic()
            await pilot.press("ctrl+q")
        times["gone"] = time.monotonic()

    try:
        await asyncio.wait_for(session(), timeout=15)
    except asyncio.TimeoutError:
        unblock(fifo)
        raise
    assert "is a named pipe" in times["preview"]
    assert times["gone"] - times["quit"] < 1.0
