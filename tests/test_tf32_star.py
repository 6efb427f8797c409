"""The wizard marks tf32 with a ★ only on Ampere or newer GPUs."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from hftui.core import preset as preset_mod
from hftui.core.gpus import machine_gpus

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.usefixtures("warm_catalog")
@pytest.mark.parametrize("machine,starred", [("1xA100-80GB", True), ("1xV100-32GB", False), (None, False)])
async def test_the_wizard_stars_tf32_on_ampere_or_newer(tmp_path, machine, starred):
    from textual.widgets import Label

    from hftui.tui.app import HftuiApp
    from hftui.tui.widgets.option_field import field_id

    preset = preset_mod.load(REPO / "presets" / "quickstart.toml")
    app = HftuiApp(preset_mod.Preset(data=preset.data, path=tmp_path / "mine.toml"), fresh=True, gpus=machine_gpus(machine) if machine else [])
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        app.screen.goto("precision")
        end = time.monotonic() + 20
        while not app.screen.query(f"#{field_id('args.tf32')} .field-star"):
            assert time.monotonic() < end, "the precision step never showed tf32"
            await pilot.pause(0.1)
        star = app.screen.query_one(f"#{field_id('args.tf32')} .field-star", Label)
        assert str(star.render()) == ("★" if starred else "")
