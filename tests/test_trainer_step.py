"""The wizard's trainer step offers DPO, GRPO and RLOO, says what each does and needs, and asks
their options ([grpo] and the config class's own) once one is picked."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from textual.widgets import Select, Static

from hftui.core import preset as preset_mod
from hftui.core.options.catalog import get_catalog
from hftui.tui.app import HftuiApp
from hftui.tui.widgets.option_field import OptionField, field_id

REPO = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.usefixtures("warm_catalog")


async def wait_for(pilot, condition, timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise AssertionError("condition not met in time")
        await pilot.pause(0.1)


def shown(app) -> set[str]:
    return {f.path for f in app.screen.query(OptionField) if f.display and f.parent is not None and f.parent.display}


async def test_trainer_step_offers_dpo_and_grpo_with_their_options(tmp_path):
    preset = preset_mod.load(REPO / "presets" / "dpo.toml")
    app = HftuiApp(preset_mod.Preset(data=preset.data, path=tmp_path / "mine.toml"), fresh=True, gpus=[])
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        app.screen.goto("trainer")
        await pilot.pause(0.3)
        field = app.screen.query_one(f"#{field_id('trainer.type')}", OptionField)
        select = field.query_one("#control", Select)
        offered = [value for _, value in select._options if value is not Select.NULL]
        assert {"dpo", "grpo", "rloo"} <= set(offered)
        help_text = str(field.query_one(".field-help", Static).render())  # each type in a few words, a line each
        assert "\n  dpo: prefer the chosen answer, no reward model\n" in help_text and "\n  grpo: " in help_text

        def note() -> str:  # the chosen type in full at the top of the step: what it does, which data
            return str(app.screen.query_one("#note-trainer", Static).render())

        assert "TRL DPO" in note() and "prompt, chosen and rejected" in note() and "GRPO" not in note()
        await wait_for(pilot, lambda: "args.beta" in shown(app))
        assert not any(p.startswith("grpo.") for p in shown(app))

        select.value = "grpo"
        await wait_for(pilot, lambda: app.preset.get("trainer.type") == "grpo" and {"grpo.reward_model", "grpo.reward_functions"} <= shown(app))
        await wait_for(pilot, lambda: {"args.num_generations", "args.max_completion_length"} <= shown(app))
        assert note().startswith("TRL GRPO:") and "data has prompts" in note()
        gens = app.screen.query_one(f"#{field_id('args.num_generations')}", OptionField)
        assert gens.field.star and gens.field.default == get_catalog("grpo").args["num_generations"].default

        select.value = "dpo"
        await wait_for(pilot, lambda: app.preset.get("trainer.type") == "dpo" and not any(p.startswith("grpo.") for p in shown(app)))
