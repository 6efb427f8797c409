"""What a first-time user trips over in the wizard: search that works from a text field, every
problem said at its field, plain-words warnings for settings that do not fit together, and a
first start that never makes keys or quitting wait for the option catalog."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
import time
from pathlib import Path

import pytest
from textual.widgets import Footer, Input, Static

from hftui.core import preset as preset_mod
from hftui.core.checks import validate
from hftui.core.options import catalog_build
from hftui.core.options.catalog import get_catalog
from hftui.core.options.steps import STEPS, step_fields
from hftui.core.preset import Preset
from hftui.tui.app import HftuiApp
from hftui.tui.screens.search import SearchItem, SearchScreen, rank
from hftui.tui.widgets.option_field import OptionField, field_id

SIZE = (120, 40)

PRESET = """\
schema = 1
name = "ux"

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
max_steps = 30
"""


def write_preset(folder: Path, extra: str = "", rows: list[dict] | None = None, data: str = "train.jsonl") -> Path:
    rows = rows if rows is not None else [{"text": f"row {i}: hello"} for i in range(8)]
    (folder / data).write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    path = folder / "ux.toml"
    path.write_text(PRESET.replace('data_files = "train.jsonl"', f'data_files = "{data}"') + extra, encoding="utf-8")
    return path


async def settle(pilot, seconds: float = 0.2) -> None:
    await pilot.pause()
    await pilot.pause(seconds)


async def wait_for(pilot, condition, timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise AssertionError("condition not met in time")
        await pilot.pause(0.1)


def field(app, path: str) -> OptionField:
    return app.screen.query_one(f"#{field_id(path)}", OptionField)


def review_lines(screen) -> list[str]:
    box = screen.query_one("#review-problems")
    return [str(box.get_option_at_index(i).prompt) for i in range(box.option_count)]


def shown_error(app, path: str) -> str:
    return str(field(app, path).query_one(".field-error", Static).render())


# -- search ---------------------------------------------------------------------------------
def test_search_ranks_exact_then_prefix_then_substring_of_names_before_help(warm_catalog):
    catalog = get_catalog("sft")
    blank = Preset(data={"schema": 1, "trainer": {"type": "sft"}})
    basic = {p for s in STEPS for p, _ in step_fields(s, blank, catalog)}
    items = [SearchItem(s, p, f, p not in basic) for s in STEPS for p, f in step_fields(s, blank, catalog, advanced=True)]
    assert rank(items, "learning")[0].path == "args.learning_rate"
    assert rank(items, "learning rate")[0].path == "args.learning_rate"
    assert rank(items, "max_steps")[0].path == "args.max_steps"  # exact
    gpu = [i.path for i in rank(items, "gpu")]
    assert gpu and gpu[0] != "args.push_to_hub"
    assert "args.push_to_hub" not in gpu[:5]
    # names that start with the query come before names that merely hold it
    batch = [i.path for i in rank(items, "eval")]
    first_inner = next(i for i, p in enumerate(batch) if not p.rpartition(".")[2].startswith("eval"))
    assert all(p.rpartition(".")[2].startswith("eval") for p in batch[:first_inner])
    assert all(not p.rpartition(".")[2].startswith("eval") for p in batch[first_inner:])


async def test_ctrl_f_opens_search_from_a_text_field_and_slash_types_a_slash(tmp_path, warm_catalog):
    app = HftuiApp(preset_mod.load(write_preset(tmp_path)), gpus=[])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        footer_keys = {k.key for k in app.screen.query_one(Footer).query("FooterKey")}
        assert "ctrl+f" in footer_keys and "slash" not in footer_keys
        app.screen.goto("training")
        await settle(pilot)
        control = field(app, "args.output_dir").query_one("#control", Input)
        control.focus()
        await settle(pilot)
        await pilot.press("end", "slash", "x")
        await settle(pilot)
        assert control.value == "out/x" and not isinstance(app.screen, SearchScreen)
        await wait_for(pilot, lambda: app.preset.get("args.output_dir") == "out/x")
        await pilot.press("ctrl+f")
        await settle(pilot)
        assert isinstance(app.screen, SearchScreen)
        await pilot.press(*"learning")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot, 0.4)
        assert app.screen.step == "optimizer"
        assert app.focused is not None and app.focused.parent.id == field_id("args.learning_rate")
        # outside a text field "/" still opens it
        app.screen.query_one("#sidebar").focus()
        await settle(pilot)
        await pilot.press("slash")
        await settle(pilot)
        assert isinstance(app.screen, SearchScreen)


# -- every problem at its field ---------------------------------------------------------------
async def test_every_problem_validate_reports_shows_at_its_field(tmp_path, warm_catalog):
    path = write_preset(tmp_path, "per_device_train_batch_size = 0\n")
    text = path.read_text(encoding="utf-8").replace('type = "sft"', 'type = "sft"\nmetrics = ["acuracy"]')
    path.write_text(text, encoding="utf-8")
    preset = preset_mod.load(path)
    said = {p.path: p.message for p in validate(preset) if p.is_error}
    assert "args.per_device_train_batch_size" in said and "trainer.metrics" in said
    app = HftuiApp(preset, gpus=[])
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.validated)
        app.screen.goto("training")
        await settle(pilot)
        batch = shown_error(app, "args.per_device_train_batch_size")
        assert said["args.per_device_train_batch_size"] in batch and batch.startswith("✗")
        assert field(app, "args.per_device_train_batch_size").has_class("-invalid")
        app.screen.goto("evaluation")
        await settle(pilot)
        assert said["trainer.metrics"] in shown_error(app, "trainer.metrics")
        # fixed at the field: the words go away
        app.screen.goto("training")
        await settle(pilot)
        control = field(app, "args.per_device_train_batch_size").query_one("#control", Input)
        control.focus()
        with control.prevent(Input.Changed):
            control.value = ""
        await pilot.press("4")
        await wait_for(pilot, lambda: app.validated and app.preset.get("args.per_device_train_batch_size") == 4
                       and not any(p.path == "args.per_device_train_batch_size" for p in app.problems))
        await settle(pilot)
        assert shown_error(app, "args.per_device_train_batch_size") == ""


async def test_the_sidebar_and_the_step_agree_when_the_data_cannot_be_read(tmp_path, warm_catalog):
    # a csv whose quote never closes: the loader fails on it, validation has nothing to say
    path = write_preset(tmp_path)
    (tmp_path / "train.csv").write_text('text\n"a\n', encoding="utf-8")
    path.write_text(path.read_text(encoding="utf-8").replace('path = "json"\ndata_files = "train.jsonl"', 'path = "csv"\ndata_files = "train.csv"'), encoding="utf-8")
    app = HftuiApp(preset_mod.load(path), gpus=[])
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.validated)
        assert not [p for p in app.problems if p.is_error]  # the premise: only the loader can tell
        app.screen.goto("dataset")
        await wait_for(pilot, lambda: app.data_read is not None, timeout=60)
        await settle(pilot)
        summary = str(app.screen.query_one("#dataset-summary", Static).render())
        assert "could not read the dataset" in summary
        assert app.screen.query_one("#sidebar").states["dataset"] == "error"
        assert "could not read the dataset" in shown_error(app, "dataset.data_files")
        assert app.has_errors()


# -- mismatches in plain words ----------------------------------------------------------------
CLASSIFICATION_ROWS = [{"sentence": f"review {i}", "label": i % 2} for i in range(8)]


def test_mismatches_are_warnings_in_plain_words(tmp_path, warm_catalog):
    extra = 'warmup_steps = 20\neval_strategy = "steps"\neval_steps = 50\n'
    path = write_preset(tmp_path, extra, rows=CLASSIFICATION_ROWS)
    text = path.read_text(encoding="utf-8").replace('max_length = 32', 'max_length = 32\ntext_column = "sentence"\neval_fraction = 0.25')
    path.write_text(text, encoding="utf-8")
    found = {p.path: p for p in validate(preset_mod.load(path))}
    assert not [p for p in found.values() if p.is_error], found
    assert found["trainer.type"].severity == "warning" and "looks like classification" in found["trainer.type"].message
    assert "sequence-classification" in found["trainer.type"].hint
    assert "no evaluation happens" in found["args.eval_steps"].message and "eval_steps = 15" in found["args.eval_steps"].hint
    assert "more than half" in found["args.warmup_steps"].message and "warmup_steps = 3" in found["args.warmup_steps"].hint
    # the same settings within their limits say nothing
    fine = text.replace("warmup_steps = 20", "warmup_steps = 3").replace("eval_steps = 50", "eval_steps = 10")
    fine = fine.replace('text_column = "sentence"', 'text_column = "sentence"\ncompletion_column = "label_text"')
    path.write_text(fine, encoding="utf-8")
    rows = [dict(r, label_text="positive" if r["label"] else "negative", prompt="Review:") for r in CLASSIFICATION_ROWS]
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    paths = {p.path for p in validate(preset_mod.load(path))}
    assert not paths & {"trainer.type", "args.eval_steps", "args.warmup_steps"}


def test_an_unset_eval_interval_that_follows_logging_steps_is_said(tmp_path, warm_catalog):
    path = write_preset(tmp_path, 'eval_strategy = "steps"\nlogging_steps = 100\n', rows=[{"text": f"r{i}"} for i in range(8)])
    path.write_text(path.read_text(encoding="utf-8").replace("max_length = 32", "max_length = 32\neval_fraction = 0.25"), encoding="utf-8")
    (p,) = [p for p in validate(preset_mod.load(path)) if p.path == "args.eval_steps"]
    assert "follows logging_steps = 100" in p.message and p.severity == "warning"


async def test_mismatch_warnings_show_at_the_field_and_in_review(tmp_path, warm_catalog):
    path = write_preset(tmp_path, 'warmup_steps = 20\n')
    app = HftuiApp(preset_mod.load(path), gpus=[])
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.validated)
        app.screen.goto("optimizer")
        await settle(pilot)
        words = shown_error(app, "args.warmup_steps")
        assert words.startswith("!") and "more than half of the run's 30 steps" in words
        assert field(app, "args.warmup_steps").has_class("-warned")
        assert app.screen.query_one("#sidebar").states["optimizer"] == "warning"
        app.screen.goto("review")
        await settle(pilot)
        assert any("more than half of the run's 30 steps" in line for line in review_lines(app.screen))


# -- the first start: the catalog is built in a child process ---------------------------------
def _copy_cache_argv(source: Path, go: Path) -> tuple[str, ...]:
    """A child that does what the real one does, minus importing transformers: it writes the
    cache (once the test lets it, so the wizard is seen without it first)."""
    code = ("import os, shutil, time\n"
            f"while not os.path.exists({str(go)!r}): time.sleep(0.05)\n"
            f"shutil.copytree({str(source / 'catalog')!r}, os.path.join(os.environ['HFTUI_HOME'], 'catalog'), dirs_exist_ok=True)\n")
    return ("-c", code)


async def test_the_wizard_picks_up_the_catalog_the_child_builds(tmp_path, warm_catalog, monkeypatch):
    empty = tmp_path / "empty-home"
    empty.mkdir()
    go = tmp_path / "go"
    monkeypatch.setenv("HFTUI_HOME", str(empty))
    monkeypatch.setattr(catalog_build, "CHILD_ARGV", _copy_cache_argv(warm_catalog, go))
    app = HftuiApp(preset_mod.load(write_preset(tmp_path)), gpus=[])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        try:
            assert app.catalog() is None and app._catalog_build is not None
            child = app._catalog_build.process
            app.screen.goto("training")
            await settle(pilot)
            assert not app.screen.query(f"#{field_id('args.max_steps')}")
            assert "Reading the options" in str(app.screen.query_one("#note-training", Static).render())
        finally:
            go.touch()
        await wait_for(pilot, lambda: app.state.catalog is not None, timeout=30)
        await wait_for(pilot, lambda: app.validated, timeout=30)
        await settle(pilot)
        assert field(app, "args.max_steps").display
        assert "Reading the options" not in str(app.screen.query_one("#note-training", Static).render())
        assert child.poll() == 0


async def test_quitting_never_waits_for_the_catalog_child(tmp_path, monkeypatch):
    empty = tmp_path / "empty-home"
    empty.mkdir()
    monkeypatch.setenv("HFTUI_HOME", str(empty))
    monkeypatch.setattr(catalog_build, "CHILD_ARGV", ("-c", "import time; time.sleep(60)"))
    app = HftuiApp(preset_mod.load(write_preset(tmp_path)), gpus=[])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        child = app._catalog_build.process
        assert child.poll() is None
        started = time.monotonic()
        await pilot.press("ctrl+q")
    took = time.monotonic() - started
    try:
        # far below the child's minute (the first start in tmux measures the second it takes)
        assert took < 10.0, took
        assert child.poll() is None  # left to finish on its own, never waited for
    finally:
        child.kill()
        child.wait()


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_first_start_in_tmux_quits_at_once_and_leaves_the_cache_built(tmp_path):
    """The real command with an empty HFTUI_HOME: Ctrl+Q as soon as the first frame shows ends
    it within a second; the child it started still writes the option cache for next time."""
    from test_tmux import Tmux

    home = tmp_path / "empty-home"
    home.mkdir()
    preset = write_preset(tmp_path)
    tmux = Tmux(f"hftui-first-{os.getpid()}", "first")
    env = {"HFTUI_HOME": str(home), "HFTUI_LANG": "en", "HF_HUB_OFFLINE": "1", "TERM": "xterm-256color", "TEXTUAL_ANIMATIONS": "none"}
    ended = tmp_path / "ended"  # the shell writes the time the wizard's process ended
    command = (" ".join(f"{k}={shlex.quote(v)}" for k, v in env.items()) + " " + shlex.join([sys.executable, "-m", "hftui", str(preset)])
               + f"; date +%s.%N > {shlex.quote(str(ended))}")
    tmux("new-session", "-d", "-s", "first", "-x", "100", "-y", "30", "-c", str(tmp_path), command)
    try:
        tmux.wait_for("Next", timeout=60)
        assert not list((home / "catalog").glob("*.json")), "the catalog was there before the first frame"
        started = time.time()
        tmux.keys("C-q")
        while not (ended.exists() and ended.read_text().strip()) and time.time() - started < 10:
            time.sleep(0.02)
        assert ended.exists(), tmux.screen()
        took = float(ended.read_text()) - started
    finally:
        tmux("kill-server", check=False)
    assert took < 1.0, f"quitting took {took:.2f} s"
    end = time.monotonic() + 180
    while not list((home / "catalog").glob("sft-*.json")) and time.monotonic() < end:
        time.sleep(0.5)
    assert list((home / "catalog").glob("sft-*.json")), "the child never wrote the catalog"


# -- state that is easy to see ----------------------------------------------------------------
async def test_next_and_back_take_the_focus_to_the_first_field(tmp_path, warm_catalog):
    app = HftuiApp(preset_mod.load(write_preset(tmp_path)), gpus=[])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.screen.query_one("#sidebar").focus()
        await pilot.press("ctrl+n")
        await settle(pilot, 0.3)
        assert app.screen.step == "dataset"
        first = next(w for w in app.screen.query_one("#step-dataset").query(OptionField) if w.display)
        assert app.focused is first.query_one("#control")
        assert first.has_pseudo_class("focus-within")
        await pilot.press("ctrl+b")
        await settle(pilot, 0.3)
        assert app.screen.step == "model" and app.focused is not None
        assert app.focused.id == "control" or app.focused.has_class("section-switch")


async def test_switches_say_their_state_in_words_and_empty_inputs_stand_out(tmp_path, warm_catalog):
    app = HftuiApp(preset_mod.load(write_preset(tmp_path)), gpus=[])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.screen.goto("training")
        await settle(pilot)
        switch = next(w for w in app.screen.query_one("#step-training").query(OptionField) if w.kind == "switch" and w.display)
        words = switch.query_one(".switch-state", Static)
        before = str(words.render())
        assert before in ("on (true)", "off (false)")
        switch.query_one("#control").focus()
        await pilot.press("enter")
        await settle(pilot)
        assert str(words.render()) != before and str(words.render()) in ("on (true)", "off (false)")
        for theme in ("textual-dark", "textual-light"):
            app.theme = theme
            await settle(pilot)
            empty = next(w for w in app.screen.query_one("#step-training").query(OptionField)
                         if w.kind == "input" and w.display and not w.query_one("#control", Input).value)
            control, behind = empty.query_one("#control", Input), app.screen.query_one("#step-training")
            gap = abs(control.styles.background.brightness - behind.background_colors[1].brightness)
            assert gap > 0.04, (theme, gap)


async def test_quitting_while_a_run_goes_on_says_how_to_come_back(tmp_path, warm_catalog):
    from hftui.core.run.record import RunRecord

    run_dir = tmp_path / "out" / ".hftui" / "20261203-101010-abcd"
    run_dir.mkdir(parents=True)
    RunRecord(id="20261203-101010-abcd", name="ux", preset_path=None, run_dir=run_dir, output_dir=str(tmp_path / "out"),
              status="running", pid=os.getpid()).save()
    app = HftuiApp(preset_mod.load(write_preset(tmp_path)), gpus=[])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.last_run = RunRecord.load(run_dir)
        said = app.runs_going_on()
        assert said and "goes on in the background" in said and "hftui attach 20261203-101010-abcd" in said
        leaving = app.exit
        seen: dict = {}

        def exit(*args, **kwargs):
            seen.update(kwargs)
            leaving(*args, **kwargs)

        app.exit = exit
        await pilot.press("ctrl+q")
        await settle(pilot)
    assert "hftui attach 20261203-101010-abcd" in str(seen.get("message"))  # printed once the screen is gone
    # once it has ended, there is nothing to come back to
    record = RunRecord.load(run_dir)
    record.status = "completed"
    record.save()
    assert app.runs_going_on() is None
