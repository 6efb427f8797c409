"""What a person types is what the file gets: typed fast, typed wrong, typed as whole numbers.

Keys here arrive as a terminal delivers a burst (every key queued before the first is handled),
which is how a fast typist, a paste of keystrokes or a slow link looks to the app.
"""

from __future__ import annotations

import re

import pytest
from textual import events
from textual.keys import _character_to_key
from textual.widgets import Input

from hftui.core import preset as preset_mod
from hftui.core.options.steps import step_of
from hftui.tui.app import HftuiApp
from hftui.tui.screens.confirm import ConfirmScreen
from hftui.tui.widgets.option_field import field_id, parse_text

from test_wizard import SIZE, commented_preset, field, settle, wait_for

pytestmark = pytest.mark.usefixtures("warm_catalog")


def burst(app, *keys: str) -> None:
    """Queue every key at once, with no pause for the app to handle one before the next."""
    for key in keys:
        char = key if len(key) == 1 else None
        name = key if len(key) != 1 or key.isalnum() else _character_to_key(key)
        event = events.Key(name, char)
        event.set_sender(app)
        app._driver.send_message(event)


async def focus_field(pilot, app, path: str) -> Input:
    app.screen.goto(step_of(path, app.catalog()))
    await settle(pilot)
    control = field(app, path).query_one("#control", Input)
    control.focus()
    control.cursor_position = len(control.value)
    await settle(pilot)
    return control


def notices(app) -> list[str]:
    return [f"{n.title}: {n.message}" for n in app._notifications]


@pytest.mark.parametrize(
    ("path", "keys", "typed"),
    [
        ("args.max_steps", ["ctrl+u", "2", "4"], "24"),
        ("model.scratch.hidden_size", ["backspace", "backspace", "1", "6"], "16"),
        ("args.output_dir", ["ctrl+u", *"runs/fast-typed_1"], "runs/fast-typed_1"),
        ("args.max_steps", ["ctrl+u", "2", "4", "ctrl+s"], "24"),  # saved at once
    ],
)
async def test_keys_typed_in_a_burst_land_in_order(tmp_path, path, keys, typed):
    preset_path = commented_preset(tmp_path)
    app = HftuiApp(preset_mod.load(preset_path), gpus=[])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        control = await focus_field(pilot, app, path)
        burst(app, *keys)
        await settle(pilot, 0.5)
        assert control.value == typed
        if "ctrl+s" not in keys:
            await pilot.press("ctrl+s")
            await settle(pilot)
        assert not app.dirty
    value = preset_mod.load(preset_path).get(path)
    assert str(value) == typed


async def test_a_model_id_typed_fast_is_kept_whole(tmp_path):
    preset_path = commented_preset(tmp_path, **{'[model.scratch]\narchitecture = "llama"\ntokenizer = "byte"\nhidden_size = 32\nnum_hidden_layers = 1\nnum_attention_heads = 2\nintermediate_size = 64\n': 'name_or_path = "gpt2"\n'})
    app = HftuiApp(preset_mod.load(preset_path), gpus=[])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        control = await focus_field(pilot, app, "model.name_or_path")
        burst(app, "ctrl+u", *"HuggingFaceTB/SmolLM2-135M-Instruct", "tab")
        await settle(pilot, 0.5)
        assert control.value == "HuggingFaceTB/SmolLM2-135M-Instruct"
        await pilot.press("ctrl+s")
        await settle(pilot)
    assert preset_mod.load(preset_path).get("model.name_or_path") == "HuggingFaceTB/SmolLM2-135M-Instruct"


async def test_save_refuses_while_a_field_holds_an_invalid_value(tmp_path):
    preset_path = commented_preset(tmp_path)
    before = preset_path.read_text(encoding="utf-8")
    app = HftuiApp(preset_mod.load(preset_path), gpus=[])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await focus_field(pilot, app, "args.max_steps")
        await pilot.press("ctrl+u", *"ten")  # clearing first: the old value leaves the preset
        await settle(pilot)
        assert not app.preset.has("args.max_steps")
        app.screen.goto("review")
        await settle(pilot)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert preset_path.read_text(encoding="utf-8") == before  # nothing written
        (message,) = [n for n in notices(app) if "saved" in n.lower()]
        assert message.startswith("Not saved") and "args.max_steps" in message and "whole number" in message
        assert app.screen.step == "training"  # taken to the field
        await wait_for(pilot, lambda: app.focused is not None and app.focused.parent.id == field_id("args.max_steps"))
        # quitting would lose what was typed: it asks
        await pilot.press("ctrl+q")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await settle(pilot)
        # fixed, it saves
        await focus_field(pilot, app, "args.max_steps")
        await pilot.press("ctrl+u", "5")
        await settle(pilot)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert not app.dirty
    assert preset_mod.load(preset_path).get("args.max_steps") == 5


async def test_save_names_every_invalid_field(tmp_path):
    preset_path = commented_preset(tmp_path)
    before = preset_path.read_text(encoding="utf-8")
    app = HftuiApp(preset_mod.load(preset_path), gpus=[])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await focus_field(pilot, app, "model.scratch.hidden_size")
        await pilot.press("ctrl+u", *"wide")
        await focus_field(pilot, app, "args.learning_rate")
        await pilot.press(*"fast")
        await settle(pilot)
        await pilot.press("ctrl+s")
        await settle(pilot)
        (message,) = [n for n in notices(app) if "saved" in n.lower()]
        assert "model.scratch.hidden_size" in message and "args.learning_rate" in message
        assert app.screen.step == "model"  # the first one, in the order of the steps
    assert preset_path.read_text(encoding="utf-8") == before


async def test_quit_after_typing_an_invalid_value_asks(tmp_path):
    preset_path = commented_preset(tmp_path)
    app = HftuiApp(preset_mod.load(preset_path), gpus=[])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await focus_field(pilot, app, "args.max_steps")
        await pilot.press(*"x")  # "2x": the preset still holds 2, the field does not
        await settle(pilot)
        assert not app.dirty
        await pilot.press("ctrl+q")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)


async def test_quit_right_after_typing_asks(tmp_path):
    preset_path = commented_preset(tmp_path)
    app = HftuiApp(preset_mod.load(preset_path), gpus=[])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await focus_field(pilot, app, "args.max_steps")
        burst(app, "5", "ctrl+q")  # the quit key is handled before the edit reaches the preset
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)


async def test_whole_numbers_are_saved_as_integers(tmp_path):
    preset_path = commented_preset(tmp_path)
    app = HftuiApp(preset_mod.load(preset_path), gpus=[])
    typed = {
        "args.eval_steps": "10",  # a float option that counts steps
        "args.max_steps": "7",  # an int option
        "args.learning_rate": "0.1",
        "args.num_train_epochs": "1",
        "args.warmup_steps": "0.05",
    }
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for path, text in typed.items():
            if path == "args.eval_steps":
                app.screen.goto("evaluation")
                await settle(pilot)
                await pilot.press("ctrl+t")  # eval_steps is among the advanced options
                await settle(pilot)
            await focus_field(pilot, app, path)
            await pilot.press("ctrl+u", *text)
            await settle(pilot)
        await pilot.press("ctrl+s")
        await settle(pilot)
    text = preset_path.read_text(encoding="utf-8")
    for path, typed_text in typed.items():
        assert re.search(rf"^{path.split('.')[-1]} = {re.escape(typed_text)}(\s|$)", text, re.MULTILINE), path
    saved = preset_mod.load(preset_path)
    assert type(saved.get("args.eval_steps")) is int and type(saved.get("args.max_steps")) is int
    assert type(saved.get("args.learning_rate")) is float and type(saved.get("args.warmup_steps")) is float


def test_a_number_keeps_the_kind_it_was_typed_as(warm_catalog):
    from hftui.core.options.catalog import get_catalog
    from hftui.core.options.sections import SECTION_FIELDS

    args = get_catalog("sft").args
    assert args["eval_steps"].type == "float"  # declared float by transformers, used for step counts too
    assert type(parse_text(args["eval_steps"], "10")) is int
    assert type(parse_text(args["eval_steps"], "1_000")) is int
    assert type(parse_text(args["eval_steps"], "0.5")) is float
    assert type(parse_text(args["learning_rate"], "1e-4")) is float
    assert type(parse_text(args["num_train_epochs"], "3.0")) is float
    assert type(parse_text(args["max_steps"], "10.0")) is int
    assert type(parse_text(SECTION_FIELDS["peft"]["lora_dropout"], "0")) is int
    with pytest.raises(ValueError):
        parse_text(args["learning_rate"], "1e")


def test_saving_a_whole_number_over_a_float_writes_what_was_typed(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text("schema = 1\n[args]\neval_steps = 10.0  # every ten\nlearning_rate = 1\n", encoding="utf-8")
    preset = preset_mod.load(path).with_value("args.eval_steps", 10).with_value("args.learning_rate", 1.0)
    preset_mod.save(preset)
    text = path.read_text(encoding="utf-8")
    assert "eval_steps = 10  # every ten\n" in text and "learning_rate = 1.0\n" in text


class LateAnswers:
    """Holds the app back from taking in field changes, as a busy machine does, until released."""

    def __init__(self, monkeypatch) -> None:
        self.held: list = []
        self.holding = True
        self.take = HftuiApp.on_wizard_screen_edit_requested

        def edit_requested(app, event) -> None:
            if self.holding:
                self.held.append((app, event))
            else:
                self.take(app, event)

        monkeypatch.setattr(HftuiApp, "on_wizard_screen_edit_requested", edit_requested)

    def release(self, count: int | None = None) -> None:
        count = len(self.held) if count is None else count
        for app, event in self.held[:count]:
            self.take(app, event)
        del self.held[:count]

    def stop(self) -> None:
        self.holding = False
        self.release()


async def test_a_late_answer_never_overwrites_newer_typing(tmp_path, monkeypatch):
    """The app answers every change with the preset it made. When its answer to the cleared
    field comes back after "12" was typed, that echo of an older value leaves the text alone."""
    preset_path = commented_preset(tmp_path)
    app = HftuiApp(preset_mod.load(preset_path), gpus=[])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        control = await focus_field(pilot, app, "args.max_steps")
        late = LateAnswers(monkeypatch)
        burst(app, "ctrl+u", "1", "2")
        await settle(pilot)
        assert control.value == "12" and len(late.held) == 3
        late.release(1)  # the answer to ctrl+u: no max_steps
        await settle(pilot)
        burst(app, "3")
        await settle(pilot)
        late.stop()
        await settle(pilot)
        assert control.value == "123" and app.preset.get("args.max_steps") == 123
        await pilot.press("ctrl+s")
        await settle(pilot)
    assert preset_mod.load(preset_path).get("args.max_steps") == 123


async def test_save_waits_for_changes_still_on_their_way(tmp_path, monkeypatch):
    preset_path = commented_preset(tmp_path)
    app = HftuiApp(preset_mod.load(preset_path), gpus=[])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        control = await focus_field(pilot, app, "args.max_steps")
        late = LateAnswers(monkeypatch)
        burst(app, "ctrl+u", "4", "2", "ctrl+s")
        await settle(pilot, 0.3)
        late.stop()
        await wait_for(pilot, lambda: not app.dirty, timeout=10)
        assert control.value == "42"
    assert preset_mod.load(preset_path).get("args.max_steps") == 42


async def test_invalid_text_in_a_removed_section_no_longer_blocks_saving(tmp_path):
    preset_path = commented_preset(tmp_path)
    app = HftuiApp(preset_mod.load(preset_path), gpus=[])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.screen.goto("peft")
        await settle(pilot)
        await pilot.click("#enable-peft")
        await settle(pilot)
        await focus_field(pilot, app, "peft.r")
        await pilot.press("ctrl+u", "x")
        await settle(pilot)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.dirty and "peft.r" in app.field_errors  # refused
        await pilot.click("#enable-peft")  # LoRA off: its settings, typed text included, go
        await settle(pilot)
        assert not app.field_errors
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert not app.dirty
        await pilot.click("#enable-peft")  # on again: the field shows the preset, not the old text
        await settle(pilot)
        r = field(app, "peft.r")
        assert r.error is None and r.query_one("#control", Input).value == "16"
    assert not preset_mod.load(preset_path).has("peft")
