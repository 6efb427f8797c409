"""The extras of pyproject.toml: PPO and DeepSpeed are optional, and a preset that needs a missing
one gets one clear answer from validate, run and the wizard (never a traceback, never a wait)."""

from __future__ import annotations

import importlib.util
import re
import shutil
import time
import tomllib

import pytest

from conftest import PRESETS, REPO
from hftui.core import extras
from hftui.core.checks import validate, validate_file
from hftui.core.gpu import GpuInfo
from hftui.core.launch import auto_rule_summary, choose_backend
from hftui.core.preset import from_text
from hftui.core.problems import PresetError
from hftui.tui import cli
from tiny_presets import LLAMA7B


def _pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def test_each_extra_hftui_reports_is_in_pyproject():
    project = _pyproject()["project"]
    optional = project["optional-dependencies"]
    assert set(extras.EXTRAS) <= set(optional)
    # the base install takes current TRL; the ppo extra narrows it to the last release with PPO
    (base,) = [r for r in project["dependencies"] if r.startswith("trl")]
    assert optional["ppo"] == ["trl>=1.12,<1.13"] and base == "trl>=1.12,<2"
    assert not any(r.startswith("deepspeed") for r in project["dependencies"])
    assert "hftui[deepspeed]" in optional["test"]  # the distributed tests run DeepSpeed on the CPU


def test_readme_dependency_table_matches_pyproject():
    project = _pyproject()["project"]
    wanted = set(project["dependencies"]) | {r for reqs in project["optional-dependencies"].values() for r in reqs}
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("### Dependencies", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"^\| `([^`]+)` \|", section, re.M))
    assert listed == wanted


def test_ppo_is_found_where_the_import_system_finds_it():
    assert extras.ppo_installed() == (importlib.util.find_spec(extras.PPO_MODULE) is not None)


@pytest.fixture
def no_ppo(monkeypatch):
    """PPO as the base install has it: not there (in the PPO world too)."""
    monkeypatch.setattr(extras, "ppo_installed", lambda: False)
    return extras.ppo_missing()


def _ppo_preset(tmp_path):
    shutil.copy(PRESETS / "ppo.toml", tmp_path / "ppo.toml")
    shutil.copytree(PRESETS / "data", tmp_path / "data")
    return tmp_path / "ppo.toml"


def test_missing_ppo_is_one_line_in_validate(tmp_path, no_ppo):
    assert "\n" not in no_ppo
    assert "removed from TRL 1.13" in no_ppo and "pip install 'hftui[ppo]'" in no_ppo and "GRPO with the same reward model" in no_ppo
    _, problems = validate_file(_ppo_preset(tmp_path))
    (err,) = [p for p in problems if p.is_error]
    assert (err.path, err.message, err.hint) == ("trainer.type", no_ppo, "")
    assert not [p for p in problems if p.path == "args"], "one line: no second word about the [args] it cannot check"


def test_missing_ppo_stops_run_before_anything_starts(tmp_path, no_ppo, capsys):
    path = _ppo_preset(tmp_path)
    assert cli.main(["run", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count(no_ppo) == 1 and "Traceback" not in err
    assert not (tmp_path / "runs").exists()
    from hftui.core.train.ppo import ppo_trainer_class

    with pytest.raises(PresetError) as caught:
        ppo_trainer_class()  # a worker started without validation stops with the same line
    assert [p.message for p in caught.value.problems] == [no_ppo]


async def test_wizard_says_why_ppo_cannot_run(tmp_path, no_ppo, warm_catalog):
    from textual.widgets import Static

    from hftui.core import preset as preset_mod
    from hftui.tui.app import HftuiApp
    from hftui.tui.widgets.review_panel import ReviewPanel

    async def until(condition, timeout: float = 20.0) -> None:
        end = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < end, "not shown in time"
            await pilot.pause(0.1)

    app = HftuiApp(preset_mod.load(_ppo_preset(tmp_path)), gpus=[])
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.2)
        app.screen.goto("trainer")
        await pilot.pause(0.2)
        note = app.screen.query_one("#note-trainer", Static)
        await until(lambda: no_ppo in str(note.render()).replace("\n", " ") or no_ppo in str(note.render()))
        app.screen.goto("review")
        await pilot.pause(0.2)
        box = app.screen.query_one(ReviewPanel).query_one("#review-problems")
        await until(lambda: any(no_ppo in str(box.get_option_at_index(i).prompt) for i in range(box.option_count)))
        assert app.screen.query_one("#review-run").disabled
        await pilot.pause(0.2)


@pytest.fixture
def no_deepspeed(monkeypatch):
    monkeypatch.setattr(extras, "deepspeed_installed", lambda: False)


def test_deepspeed_backend_without_deepspeed_names_the_extra(no_deepspeed):
    p = from_text('schema = 1\n[model.scratch]\narchitecture = "llama"\nhidden_size = 32\n[launch]\nbackend = "deepspeed"\nnum_processes = 2\n')
    (err,) = [x for x in validate(p, for_run=True) if x.path == "launch.backend" and x.is_error]
    assert "not installed" in err.message and "pip install 'hftui[deepspeed]'" in err.hint


def test_auto_never_picks_deepspeed_when_it_is_not_installed(no_deepspeed):
    gpus = [GpuInfo(i, "Test GPU", 80 << 30, (9, 0), "550.0") for i in range(8)]
    huge = from_text(LLAMA7B.replace("hidden_size = 4096", "hidden_size = 8192").replace("intermediate_size = 11008", "intermediate_size = 28672")
                     .replace("num_hidden_layers = 32", "num_hidden_layers = 80").replace("num_attention_heads = 32", "num_attention_heads = 64"))
    backend, reason, implied = choose_backend(huge, gpus)
    assert backend == "fsdp" and implied == {"offload": "all"} and "hftui[deepspeed]" in reason, (backend, reason)
    assert "deepspeed" not in auto_rule_summary(8).replace("DeepSpeed is not installed", "")
