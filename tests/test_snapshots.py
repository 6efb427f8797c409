"""Snapshots of the wizard's key screens (regenerate with: pytest tests/test_snapshots.py --snapshot-update).

Deterministic by construction: the hardware is injected as "no GPU", the preset lives in a
folder of its own and only its file name is shown, the interpreter path is fixed, no clock.
"""

from __future__ import annotations

import sys
import time

import pytest

from hftui.core import preset as preset_mod
from hftui.tui.app import HftuiApp
from hftui.tui.widgets.option_field import field_id

# Laid out for 80x24 first; 120x36 shows what a larger terminal gains (full step titles, room).
SIZES = pytest.mark.parametrize("size", [(80, 24), (120, 36)], ids=["80x24", "120x36"])

PRESET = """\
# snapshot preset
schema = 1
name = "snap"

[model]
task = "causal-lm"

[model.scratch]
architecture = "llama"
tokenizer = "byte"
hidden_size = 32
num_hidden_layers = 1
num_attention_heads = 2

[dataset]
path = "json"
data_files = "train.jsonl"
max_length = 32

[trainer]
type = "sft"

[args]
output_dir = "out"
max_steps = 10
learning_rate = 1e-3
"""



@pytest.fixture
def snap_app(tmp_path, monkeypatch, warm_catalog):
    folder = tmp_path / "snap"
    folder.mkdir()
    (folder / "train.jsonl").write_text('{"text": "hello"}\n{"text": "world"}\n', encoding="utf-8")
    path = folder / "snap.toml"
    path.write_text(PRESET, encoding="utf-8")
    monkeypatch.chdir(folder)
    monkeypatch.setattr(sys, "executable", "/usr/bin/python3")

    def make() -> HftuiApp:
        return HftuiApp(preset_mod.load(path), gpus=[])

    return make


async def _settle(pilot, seconds: float = 0.3) -> None:
    await pilot.pause()
    await pilot.pause(seconds)


@SIZES
def test_model_step(snap_compare, snap_app, size):
    assert snap_compare(snap_app(), terminal_size=size, run_before=_settle)


@SIZES
@pytest.mark.options_snapshot  # the step lists the installed options (see conftest.py)
def test_training_step(snap_compare, snap_app, size):
    async def run_before(pilot):
        await _settle(pilot)
        pilot.app.screen.goto("training")
        await _settle(pilot)

    assert snap_compare(snap_app(), terminal_size=size, run_before=run_before)


@SIZES
@pytest.mark.options_snapshot  # the step lists the installed options (see conftest.py)
def test_training_step_with_an_invalid_value(snap_compare, snap_app, size):
    async def run_before(pilot):
        await _settle(pilot)
        app = pilot.app
        app.screen.goto("training")
        await _settle(pilot)
        control = app.screen.query_one(f"#{field_id('args.max_steps')} #control")
        control.focus()
        control.value = ""
        await pilot.press(*"ten")
        await _settle(pilot)
        app.screen.query_one("#step-training").scroll_to_widget(app.screen.query_one(f"#{field_id('args.max_steps')}"), top=True, animate=False)
        control.blur()
        await _settle(pilot)

    assert snap_compare(snap_app(), terminal_size=size, run_before=run_before)


@SIZES
def test_review_step(snap_compare, snap_app, size):
    async def run_before(pilot):
        await _settle(pilot)
        app = pilot.app
        app.screen.goto("review")
        end = time.monotonic() + 90
        memory = app.screen.query_one("#review-memory")
        while (str(memory.render()) == "…" or not app.validated) and time.monotonic() < end:
            await pilot.pause(0.2)
        await _settle(pilot)

    assert snap_compare(snap_app(), terminal_size=size, run_before=run_before)


@SIZES
def test_search(snap_compare, snap_app, size):
    async def run_before(pilot):
        await _settle(pilot)
        await pilot.press("slash")
        await _settle(pilot)
        await pilot.press(*"learning")
        await _settle(pilot)

    assert snap_compare(snap_app(), terminal_size=size, run_before=run_before)
