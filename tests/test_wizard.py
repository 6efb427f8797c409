"""The wizard driven like a person drives it: Pilot keys and clicks, then what was written."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from textual.widgets import Input

from hftui.core import preset as preset_mod
from hftui.core.checks import validate
from hftui.tui.app import HftuiApp
from hftui.tui.screens.confirm import ConfirmScreen
from hftui.tui.screens.save_as import SaveAsScreen
from hftui.tui.screens.search import SearchScreen
from hftui.tui.widgets.option_field import OptionField, field_id
from hftui.tui.widgets.review_panel import ReviewPanel
from hftui.tui.widgets.step_sidebar import StepSidebar

REPO = Path(__file__).resolve().parent.parent
SIZE = (120, 40)



pytestmark = pytest.mark.usefixtures("warm_catalog")

COMMENTED = """\
# my experiment: keep this comment
schema = 1
name = "demo"

[model]
task = "causal-lm"  # next-token prediction

[model.scratch]
architecture = "llama"
tokenizer = "byte"
hidden_size = 32
num_hidden_layers = 1
num_attention_heads = 2
intermediate_size = 64

[dataset]
path = "json"
data_files = "train.jsonl"  # beside this file
max_length = 32

[trainer]
type = "sft"

[args]
output_dir = "out"
max_steps = 2   # a smoke test
per_device_train_batch_size = 2
"""


def write_data(folder: Path, rows: int = 8) -> Path:
    path = folder / "train.jsonl"
    path.write_text("".join(json.dumps({"text": f"row {i}: hello world"}) + "\n" for i in range(rows)), encoding="utf-8")
    return path


def commented_preset(tmp_path: Path, **replacements: str) -> Path:
    write_data(tmp_path)
    text = COMMENTED
    for old, new in replacements.items():
        text = text.replace(old, new)
    path = tmp_path / "demo.toml"
    path.write_text(text, encoding="utf-8")
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


async def type_into(pilot, app, path: str, text: str, clear: bool = True) -> None:
    widget = field(app, path)
    control = widget.query_one("#control")
    control.focus()
    await pilot.pause()
    if clear:  # like selecting the old text: typing replaces it
        with control.prevent(Input.Changed):
            control.value = ""
        await pilot.pause()
    await pilot.press(*text)
    await settle(pilot)


async def next_step(pilot) -> None:
    await pilot.press("ctrl+n")
    await settle(pilot)


async def test_walk_from_blank_preset_to_saved_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_data(tmp_path)
    target = tmp_path / "new.toml"
    app = HftuiApp(preset_mod.Preset(data={"schema": 1}, path=target), fresh=True, gpus=[])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.screen.step == "model"
        # Model: a fresh scratch model, so nothing needs the network.
        await pilot.click("#enable-model-scratch")
        await settle(pilot)
        assert app.preset.get("model.scratch.architecture") == "llama"
        await type_into(pilot, app, "name", "walked")
        await type_into(pilot, app, "model.scratch.hidden_size", "32")
        await type_into(pilot, app, "model.scratch.num_hidden_layers", "1")
        await type_into(pilot, app, "model.scratch.num_attention_heads", "2")
        await next_step(pilot)
        # Dataset: a local JSON-lines file; the preview reads it in a worker.
        assert app.screen.step == "dataset"
        await type_into(pilot, app, "dataset.path", "json")
        await type_into(pilot, app, "dataset.data_files", "train.jsonl")
        await type_into(pilot, app, "dataset.max_length", "32")
        summary = app.screen.query_one("#dataset-summary")
        await wait_for(pilot, lambda: "8 rows" in str(summary.render()), timeout=60)
        assert "text" in str(summary.render())
        await next_step(pilot)
        # Trainer type: pick the transformers Trainer, then back to SFT with the keyboard.
        assert app.screen.step == "trainer"
        select = field(app, "trainer.type").query_one("#control")
        select.value = "trainer"
        await settle(pilot)
        assert app.preset.get("trainer.type") == "trainer"
        select.value = "sft"
        await settle(pilot)
        await next_step(pilot)
        assert app.screen.step == "training"
        await type_into(pilot, app, "args.output_dir", "out")
        await type_into(pilot, app, "args.max_steps", "3")
        await type_into(pilot, app, "args.per_device_train_batch_size", "2")
        assert field(app, "args.max_steps").has_class("-changed")
        await next_step(pilot)
        assert app.screen.step == "evaluation"
        await type_into(pilot, app, "args.logging_steps", "1")
        await next_step(pilot)
        assert app.screen.step == "optimizer"
        await type_into(pilot, app, "args.learning_rate", "1e-3")
        await next_step(pilot)
        assert app.screen.step == "precision"
        note = app.screen.query_one("#note-precision")
        assert "no GPU" in str(note.render())
        await next_step(pilot)
        assert app.screen.step == "distribution"
        assert "no GPU" in str(app.screen.query_one("#note-distribution").render())
        await next_step(pilot)
        assert app.screen.step == "peft"
        await pilot.click("#enable-peft")
        await settle(pilot)
        await type_into(pilot, app, "peft.r", "4")
        await next_step(pilot)
        assert app.screen.step == "integrations"
        await type_into(pilot, app, "args.run_name", "walk")
        await next_step(pilot)
        assert app.screen.step == "review"
        await wait_for(pilot, lambda: app.validated and app.preset is not None)
        panel = app.screen.query_one(ReviewPanel)
        await wait_for(pilot, lambda: not [p for p, _ in app.state.all_problems() if p.is_error])
        assert not app.screen.query_one("#review-run").disabled
        changes = str(panel.query_one("#review-changes").render())
        assert "args.max_steps = 3" in changes and "peft.r = 4" in changes
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert not app.dirty
    assert target.exists()
    saved = preset_mod.load(target)
    assert [p for p in validate(saved) if p.is_error] == []
    assert saved.get("name") == "walked"
    assert saved.get("model.scratch.hidden_size") == 32
    assert saved.get("dataset.data_files") == "train.jsonl"
    assert saved.get("args.max_steps") == 3
    assert saved.get("args.learning_rate") == pytest.approx(1e-3)
    assert saved.get("args.run_name") == "walk"
    assert saved.get("peft.r") == 4 and saved.get("peft.method") == "lora"
    assert saved.get("trainer.type") == "sft"


async def test_invalid_value_shows_inline_and_blocks_run(tmp_path):
    path = commented_preset(tmp_path)
    app = HftuiApp(preset_mod.load(path), gpus=[])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.screen.goto("training")
        await settle(pilot)
        await type_into(pilot, app, "args.max_steps", "ten")
        widget = field(app, "args.max_steps")
        assert widget.has_class("-invalid")
        assert "whole number" in str(widget.query_one(".field-error").render())
        assert app.screen.query_one(StepSidebar).states["training"] == "error"
        assert app.preset.get("args.max_steps") == 2  # the preset keeps the last good value
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert app.screen.step == "review"
        panel = app.screen.query_one(ReviewPanel)
        assert app.screen.query_one("#review-run").disabled
        assert app.last_run is None
        # Each problem leads to its step and field.
        problems = panel.query_one("#review-problems")
        assert "args.max_steps" in str(problems.get_option_at_index(0).prompt)
        problems.focus()
        problems.highlighted = 0
        await pilot.press("enter")
        await settle(pilot, 0.5)
        assert app.screen.step == "training"
        assert app.focused is not None and app.focused.parent.id == field_id("args.max_steps")
        # Fixing the value unblocks Run.
        await type_into(pilot, app, "args.max_steps", "4")
        assert not field(app, "args.max_steps").has_class("-invalid")
        assert app.preset.get("args.max_steps") == 4
        app.screen.goto("review")
        await settle(pilot)
        await wait_for(pilot, lambda: not app.has_errors())
        assert not app.screen.query_one("#review-run").disabled
    assert not list((Path(tmp_path) / "out").glob("**/run.json"))


async def test_editing_keeps_comments_and_order(tmp_path):
    path = commented_preset(tmp_path)
    app = HftuiApp(preset_mod.load(path), gpus=[])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.screen.goto("training")
        await settle(pilot)
        await type_into(pilot, app, "args.max_steps", "7")
        assert app.dirty
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert not app.dirty
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# my experiment: keep this comment\n")
    assert 'task = "causal-lm"  # next-token prediction' in text
    assert 'data_files = "train.jsonl"  # beside this file' in text
    assert "max_steps = 7" in text
    assert text.index("[model]") < text.index("[dataset]") < text.index("[trainer]") < text.index("[args]")
    assert preset_mod.load(path).get("args.max_steps") == 7


async def test_korean_help_under_hftui_lang(tmp_path, monkeypatch):
    monkeypatch.setenv("HFTUI_LANG", "ko")
    path = commented_preset(tmp_path)
    app = HftuiApp(preset_mod.load(path), gpus=[])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.screen.goto("training")
        await settle(pilot)
        help_text = str(field(app, "args.max_steps").query_one(".field-help").render())
        assert "전체 옵티마이저 스텝 수" in help_text
        assert "학습" in str(app.screen.query_one("#step-training .step-title").render())
        app.screen.goto("model")
        await settle(pilot)
        assert "모델이 배우는 작업" in str(field(app, "model.task").query_one(".field-help").render())


async def test_quit_with_unsaved_changes_asks_first(tmp_path):
    path = commented_preset(tmp_path)
    before = path.read_text(encoding="utf-8")
    app = HftuiApp(preset_mod.load(path), gpus=[])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.screen.goto("training")
        await settle(pilot)
        await type_into(pilot, app, "args.max_steps", "9")
        await pilot.press("ctrl+q")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmScreen)
        assert app.is_running
        await pilot.press("ctrl+q")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
    assert path.read_text(encoding="utf-8") == before  # quitting never writes


async def test_shipped_preset_is_saved_as_a_new_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shipped = REPO / "presets" / "quickstart.toml"
    if not shipped.exists():
        pytest.skip("presets/quickstart.toml is not in this checkout")
    before = shipped.read_bytes()
    app = HftuiApp(preset_mod.load(shipped), gpus=[])
    assert app.shipped
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.screen.goto("training")
        await settle(pilot)
        await type_into(pilot, app, "args.max_steps", "5")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, SaveAsScreen)
        box = app.screen.query_one("#save-as-path")
        box.value = str(tmp_path / "mine.toml")
        await pilot.press("enter")
        await settle(pilot)
        assert not app.shipped
    assert shipped.read_bytes() == before
    mine = preset_mod.load(tmp_path / "mine.toml")
    assert mine.get("args.max_steps") == 5
    assert "# hftui quickstart" in (tmp_path / "mine.toml").read_text(encoding="utf-8")
    # the data files still point at the shipped data, relative to the new file
    files = mine.get("dataset.data_files")
    assert mine.resolve(files["train"]).resolve() == (REPO / "presets" / "data" / "reverse.jsonl").resolve()
    assert [p for p in validate(mine) if p.is_error] == []


async def test_search_jumps_to_a_field_even_an_advanced_one(tmp_path):
    path = commented_preset(tmp_path)
    app = HftuiApp(preset_mod.load(path), gpus=[])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        await settle(pilot)
        assert isinstance(app.screen, SearchScreen)
        await pilot.press(*"warmup")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot, 0.3)
        assert app.screen.step == "optimizer"
        assert app.focused is not None and app.focused.parent.id == field_id("args.warmup_steps")
        # an option outside the curated list opens the step's advanced view
        await pilot.press("f3")
        await settle(pilot)
        await pilot.press(*"torch_compile_mode")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot, 0.3)
        assert app.screen.step == "training"
        assert app.screen.query_one("#step-training").advanced
        assert app.focused.parent.id == field_id("args.torch_compile_mode")


async def test_trust_remote_code_needs_confirmation_before_run(tmp_path):
    path = commented_preset(tmp_path, **{'task = "causal-lm"': 'task = "causal-lm"\ntrust_remote_code = true'})
    app = HftuiApp(preset_mod.load(path), gpus=[])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await wait_for(pilot, lambda: app.validated)
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert "trust_remote_code" in app.screen.question
        await pilot.press("n")
        await settle(pilot)
        assert app.last_run is None and not app.trust_confirmed
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
async def test_run_from_the_wizard_starts_training(tmp_path, hftui_home):
    path = commented_preset(tmp_path)
    app = HftuiApp(preset_mod.load(path), gpus=[])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await wait_for(pilot, lambda: app.validated)
        await pilot.press("f5")
        await wait_for(pilot, lambda: app.last_run is not None, timeout=30)
        run_dir = Path(app.last_run.run_dir)
        assert (run_dir / "run.json").exists()
        from hftui.tui.screens.monitor import MonitorScreen

        await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen), timeout=10)
        await settle(pilot, 0.5)
    record = run_dir / "run.json"
    end = time.monotonic() + 120
    status = None
    while time.monotonic() < end:
        status = json.loads(record.read_text(encoding="utf-8")).get("status")
        if status in ("completed", "failed", "stopped"):
            break
        time.sleep(0.5)
    assert status == "completed", (run_dir / "log.txt").read_text(encoding="utf-8")[-2000:]
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    assert events[-1]["event"] == "end" and events[-1]["step"] == 2


def test_first_frame_needs_no_heavy_imports(tmp_path, hftui_home):
    """In a fresh process (other tests' imports must not count): torch stays out until ready."""
    path = commented_preset(tmp_path)
    script = textwrap.dedent(
        f"""
        import asyncio, json, sys
        from hftui.core import preset as preset_mod
        from hftui.tui.app import HftuiApp

        async def main():
            app = HftuiApp(preset_mod.load({str(path)!r}))
            async with app.run_test(size=(120, 40)) as pilot:
                await pilot.pause()
                ready = app.startup_line
                heavy = [m for m in ("torch", "transformers", "datasets") if m in sys.modules]
            print(json.dumps({{"ready": ready, "heavy": heavy}}))

        asyncio.run(main())
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["heavy"] == []
    assert result["ready"].startswith("started in ")
    log = (hftui_home / "logs" / "startup.log").read_text(encoding="utf-8")
    assert "started in " in log


async def test_runs_key_opens_the_runs_screen(tmp_path):
    from hftui.tui.screens.runs import RunsScreen

    app = HftuiApp(preset_mod.load(commented_preset(tmp_path)), gpus=[])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+o")
        await settle(pilot)
        assert isinstance(app.screen, RunsScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, RunsScreen)


def test_steps_are_data_in_core():
    from hftui.core.options.steps import section_default, step_of

    assert step_of("model.scratch.rope_theta") == "model"
    assert step_of("dataset.data_files.train") == "dataset"
    assert step_of("trainer.metrics") == "evaluation"
    assert step_of("ppo.reward_model") == "trainer"
    assert step_of("launch.backend") == "distribution"
    assert step_of("args.adam_beta1") == "optimizer"  # no catalog yet: guessed from the name
    assert step_of("schema") == step_of("nonsense.key") == "review"
    assert section_default("peft") == {"method": "lora", "r": 16, "lora_alpha": 32, "target_modules": "all-linear"}
    assert section_default("model.scratch")["architecture"] == "llama"


def test_the_distribution_note_says_the_launch_rule():
    from hftui.core.gpu import GpuInfo
    from hftui.core.launch import MANY_GPUS, auto_rule_summary
    from hftui.tui.wizard_state import hardware_note

    a100 = GpuInfo(0, "NVIDIA A100", 80 << 30, (8, 0))
    for n in (0, 1, 2, MANY_GPUS):
        assert auto_rule_summary(n) in hardware_note("distribution", [a100] * n)


def test_saving_elsewhere_rebases_every_path_key(tmp_path):
    from hftui.tui.preset_files import rebase_paths

    (tmp_path / "a" / "ckpt").mkdir(parents=True)
    (tmp_path / "b").mkdir()
    p = preset_mod.Preset(data={"dataset": {"path": "json"}, "args": {"resume_from_checkpoint": "ckpt"}}, path=tmp_path / "a" / "p.toml")
    moved = rebase_paths(p, tmp_path / "b")
    assert moved.get("args.resume_from_checkpoint") == "../a/ckpt" and moved.get("dataset.path") == "json"
