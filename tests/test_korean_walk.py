"""Every screen in Korean (HFTUI_LANG=ko): the wizard's steps (with every option shown), search,
Review (clean, then with an error and a warning), the quit question, the runs screen, the live pane's tabs, compare and the Try pane, over two
runs trained in Korean. No English sentence may be left on any of them: option names, values,
numbers, paths and the libraries' own log lines aside."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest
from textual.widgets import TabbedContent

from conftest import hftui_cmd
from hftui.core import preset as preset_mod
from hftui.tui.app import HftuiApp
from hftui.tui.widgets.dataset_preview import BACKGROUND_THREAD
from screen_text import english_sentences, screen_text

SIZE = (150, 60)
PRESETS = Path(__file__).resolve().parents[1] / "presets"
DESCRIPTION = "작은 llama로 단어 뒤집기를 배우는 예제"
SKIP = ("RunLog",)  # the training log: the libraries' own lines


@pytest.fixture(scope="module")
def korean_runs(tmp_path_factory, catalog_home, warm_catalog):
    """A copy of the quickstart preset described in Korean, and two short runs of it trained with
    HFTUI_LANG=ko (they differ in the learning rate, for compare)."""
    folder = tmp_path_factory.mktemp("ko-walk")
    shutil.copytree(PRESETS / "data", folder / "data")
    text = (PRESETS / "quickstart.toml").read_text(encoding="utf-8")
    text = text.replace('description = "SFT of a tiny scratch llama on a generated word-reversal task"',
                        f'description = "{DESCRIPTION}"')
    preset = folder / "walk.toml"
    preset.write_text(text, encoding="utf-8")
    home = folder / "home"
    home.mkdir()
    (home / "catalog").symlink_to(catalog_home / "catalog", target_is_directory=True)
    env = {**os.environ, "HFTUI_HOME": str(home), "HFTUI_LANG": "ko"}
    runs = [subprocess.Popen(
        hftui_cmd("run", str(preset), "--set", "args.max_steps=4", "--set", "args.eval_steps=2",
                  "--set", "args.logging_steps=1", "--set", "args.save_steps=4", "--set", f"args.learning_rate={lr}",
                  "--set", f"args.output_dir={out}", "--set", "args.warmup_steps=1"),
        cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for lr, out in (("3e-3", "runs/a"), ("1e-3", "runs/b"))]  # side by side: two cores
    printed = []
    for run in runs:
        output, _unused = run.communicate(timeout=300)
        assert run.returncode == 0, output
        printed.append(output)
    return folder, home, "\n".join(printed)


def test_hftui_run_prints_korean(korean_runs):
    found = english_sentences(korean_runs[2], allowed=(DESCRIPTION,))
    assert not found, f"`hftui run` printed English in Korean mode: {found}"


async def _settle(pilot, seconds: float = 0.15) -> None:
    deadline = time.monotonic() + 60
    await pilot.pause()
    while any(t.name == BACKGROUND_THREAD for t in threading.enumerate()) and time.monotonic() < deadline:
        await pilot.pause(0.1)
    await pilot.pause(seconds)


async def test_every_screen_reads_in_korean(korean_runs, monkeypatch):
    folder, home, _printed = korean_runs
    monkeypatch.chdir(folder)
    monkeypatch.setenv("HFTUI_HOME", str(home))
    monkeypatch.setenv("HFTUI_LANG", "ko")
    seen: dict[str, list[str]] = {}

    def look(where: str, app) -> None:
        text = screen_text(app, skip=SKIP)
        found = english_sentences(text, allowed=(DESCRIPTION,))
        if found and os.environ.get("HFTUI_WALK_DUMP"):
            print(f"===== {where}\n{text}")
        if found:
            seen[where] = found

    app = HftuiApp(preset_mod.load(folder / "walk.toml"), gpus=[])
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot, 1.0)
        steps = len(app.screen.steps) if hasattr(app.screen, "steps") else 11
        for index in range(steps):
            await _settle(pilot)
            look(f"step {index + 1}", app)
            await pilot.press("ctrl+t")
            await _settle(pilot)
            look(f"step {index + 1}, every option", app)
            await pilot.press("ctrl+t")
            await pilot.press("ctrl+n")
        await pilot.press("ctrl+e")
        await _settle(pilot, 1.0)
        look("review", app)

        await pilot.press("ctrl+f")
        await _settle(pilot)
        await pilot.press(*"learning")
        await _settle(pilot)
        look("search", app)
        await pilot.press("escape")

        await pilot.press("ctrl+o")
        await _settle(pilot, 1.0)
        look("runs", app)
        await pilot.press("space", "down", "space", "c")
        await _settle(pilot, 1.0)
        look("compare", app)
        await pilot.press("escape")
        await _settle(pilot)

        await pilot.press("enter")
        await _settle(pilot, 1.0)
        tabs = app.screen.query(TabbedContent)
        for tabbed in tabs:
            for pane in tabbed.query("TabPane"):
                tabbed.active = pane.id
                await _settle(pilot)
                look(f"live pane, tab {pane.id}", app)
        look("live pane", app)
        await pilot.press("t")
        await _settle(pilot, 2.0)
        look("try", app)
        await pilot.press("escape")
        await _settle(pilot)
        await pilot.press("escape")
        await _settle(pilot)
        await pilot.press("escape")
        await _settle(pilot)

        app.edit("args.learning_rate", -1.0)  # an error
        app.edit("args.eval_steps", 9999)  # and a warning in plain words: beyond max_steps
        await pilot.press("ctrl+e")
        deadline = time.monotonic() + 30
        while not app.has_errors() and time.monotonic() < deadline:
            await pilot.pause(0.1)
        await _settle(pilot, 0.5)
        assert app.has_errors()
        look("review with problems", app)
        await pilot.press("ctrl+q")
        await _settle(pilot)
        look("quit question", app)

    assert not seen, "English left in Korean mode:\n" + "\n".join(
        f"  {where}: {sentence}" for where, found in seen.items() for sentence in found)
