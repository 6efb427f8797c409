"""The wizard's field logic: typed values, defaults, which fields a step shows, hardware advice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from textual.widgets import Select, Switch

from hftui.core import preset as preset_mod
from hftui.core.options.catalog import get_catalog
from hftui.core.options.steps import STEPS, step_fields
from hftui.core.gpu import GpuInfo
from hftui.core.preset import Preset
from hftui.core.options.sections import SECTION_FIELDS
from hftui.tui import i18n
from hftui.tui.app import HftuiApp
from hftui.core.preset import is_shipped
from hftui.tui.preset_files import rebase_paths
from hftui.tui.screens.search import SearchItem, rank
from hftui.tui.widgets.dataset_preview import load_preview
from hftui.tui.widgets.model_check import describe_local
from hftui.tui.widgets.option_field import MISSING, OptionField, differs, field_id, parse_text
from ppo_world import needs_ppo

REPO = Path(__file__).resolve().parent.parent



@pytest.fixture
def catalog(warm_catalog):
    return get_catalog("sft")


def test_parse_text_follows_the_field_type(catalog):
    args = catalog.args
    assert parse_text(args["max_steps"], "12") == 12
    assert parse_text(args["learning_rate"], "1e-4") == pytest.approx(1e-4)
    assert parse_text(args["bf16"], "true") is True
    assert parse_text(args["report_to"], "tensorboard, wandb") == ["tensorboard", "wandb"]
    assert parse_text(SECTION_FIELDS["trainer"]["metrics"], "accuracy, f1") == ["accuracy", "f1"]
    assert parse_text(SECTION_FIELDS["launch"]["num_processes"], "auto") == "auto"
    assert parse_text(SECTION_FIELDS["dataset"]["data_files"], '{ train = "a.jsonl" }') == {"train": "a.jsonl"}
    with pytest.raises(ValueError, match="whole number"):
        parse_text(args["max_steps"], "ten")
    with pytest.raises(ValueError, match="at most"):
        parse_text(SECTION_FIELDS["launch"]["main_process_port"], "70000")
    with pytest.raises(ValueError, match="at least"):
        parse_text(SECTION_FIELDS["peft"]["r"], "0")
    with pytest.raises(ValueError, match="one of"):
        parse_text(SECTION_FIELDS["launch"]["zero_stage"], "4")
    with pytest.raises(ValueError, match="at least 1"):
        parse_text(args["per_device_train_batch_size"], "-2")


def test_differs_from_the_default(catalog):
    args = catalog.args
    assert not differs(args["max_steps"], MISSING)
    assert not differs(args["max_steps"], args["max_steps"].default)
    assert differs(args["max_steps"], 10)
    assert not differs(args["report_to"], [args["report_to"].default] if isinstance(args["report_to"].default, str) else args["report_to"].default)


def test_step_fields_follow_the_trainer_type_and_sections(catalog):
    blank = Preset(data={"schema": 1, "trainer": {"type": "sft"}})
    dataset = [p for p, _ in step_fields("dataset", blank, catalog)]
    assert "dataset.text_column" in dataset and "dataset.chosen_column" not in dataset
    reward = blank.with_value("trainer.type", "reward")
    dataset = [p for p, _ in step_fields("dataset", reward, get_catalog("reward"))]
    assert "dataset.chosen_column" in dataset and "dataset.rejected_column" in dataset
    classify = Preset(data={"trainer": {"type": "trainer"}, "model": {"task": "sequence-classification"}})
    assert "dataset.label_column" in [p for p, _ in step_fields("dataset", classify, get_catalog("trainer"))]
    assert "model.num_labels" in [p for p, _ in step_fields("model", classify, None)]
    assert [p for p, _ in step_fields("peft", blank, catalog)] == []
    lora = blank.with_value("peft", {"method": "lora"})
    assert "peft.r" in [p for p, _ in step_fields("peft", lora, catalog)]
    # every curated option sits in exactly one step, and advanced adds the rest
    basic = {p for s in STEPS for p, _ in step_fields(s, blank, catalog)}
    every = {p for s in STEPS for p, _ in step_fields(s, blank, catalog, advanced=True)}
    assert {"args.output_dir", "args.max_steps", "args.eval_strategy", "args.learning_rate", "args.bf16", "args.report_to"} <= basic
    assert "args.torch_compile_mode" in every - basic
    assert len(every) > 100


@needs_ppo
def test_step_fields_of_ppo_ask_for_the_reward_model():
    ppo = Preset(data={"schema": 1, "trainer": {"type": "ppo"}})
    assert "ppo.reward_model" in [p for p, _ in step_fields("trainer", ppo, get_catalog("ppo"))]


def test_search_ranks_names_then_help(catalog):
    blank = Preset(data={"schema": 1})
    basic = {p for s in STEPS for p, _ in step_fields(s, blank, catalog)}
    items = [SearchItem(s, p, f, p not in basic) for s in STEPS for p, f in step_fields(s, blank, catalog, advanced=True)]
    assert rank(items, "warmup")[0].path == "args.warmup_steps"
    assert "args.lr_scheduler_type" in [i.path for i in rank(items, "lr sched")[:3]]
    from hftui.core.options.catalog import checkpointing_option

    assert any(i.path == f"args.{checkpointing_option()}" for i in rank(items, "memory"))  # help text
    assert rank(items, "zzzqqq") == []


def test_language_from_environment(monkeypatch):
    monkeypatch.delenv("HFTUI_LANG", raising=False)
    monkeypatch.setenv("LANG", "ko_KR.UTF-8")
    assert i18n.language() == "ko"
    assert i18n.step_title("dataset") == "데이터셋"
    monkeypatch.setenv("HFTUI_LANG", "en")
    assert i18n.language() == "en"
    f = SECTION_FIELDS["model"]["task"]
    assert i18n.help_text(f) == f.help
    monkeypatch.setenv("HFTUI_LANG", "ko")
    assert i18n.help_text(f) == f.help_ko


def test_hardware_advice_and_new_preset_defaults():
    ampere = GpuInfo(0, "NVIDIA A100", 80 << 30, (8, 0))
    volta = GpuInfo(0, "Tesla V100", 32 << 30, (7, 0))
    app = HftuiApp(Preset(data={"schema": 1}), fresh=True, gpus=[ampere])
    assert app.recommended_precision() == "bf16"
    app._apply_hardware_defaults()
    assert app.preset.get("args.bf16") is True
    assert "bf16 recommended" in app.hardware_note("precision")
    old = HftuiApp(Preset(data={"schema": 1}), fresh=True, gpus=[volta, volta])
    old._apply_hardware_defaults()
    assert old.preset.get("args.fp16") is True and not old.preset.has("args.bf16")
    assert "DDP over 2" in old.hardware_note("distribution")
    cpu = HftuiApp(Preset(data={"schema": 1}), fresh=True, gpus=[])
    cpu._apply_hardware_defaults()
    assert cpu.recommended_precision() == "fp32" and not cpu.preset.has("args")
    assert "no GPU" in cpu.hardware_note("precision")
    eight = HftuiApp(Preset(data={"schema": 1}), gpus=[ampere] * 8)
    assert "fsdp" in eight.hardware_note("distribution")
    # an opened preset is never changed behind the person's back
    opened = HftuiApp(Preset(data={"schema": 1}), fresh=False, gpus=[ampere])
    opened._apply_hardware_defaults()
    assert not opened.preset.has("args.bf16")


def test_model_check_without_network(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    p = Preset(data={"model": {"name_or_path": "./nowhere"}}, path=tmp_path / "x.toml")
    assert describe_local(p)[0] == "error"
    (tmp_path / "m").mkdir()
    p = p.with_value("model.name_or_path", "m")
    assert describe_local(p)[0] == "warning"  # no config.json
    (tmp_path / "m" / "config.json").write_text("{}")
    assert describe_local(p)[0] == "ok"
    hub = p.with_value("model.name_or_path", "gpt2")
    state, text = describe_local(hub)
    assert state == "notice" and "offline" in text
    scratch = Preset(data={"model": {"scratch": {"architecture": "llama"}}})
    assert describe_local(scratch)[0] == "ok"


def test_dataset_preview_reads_rows_and_reports_mistakes(tmp_path):
    rows = [{"text": f"row {i}", "label": i % 2} for i in range(7)]
    (tmp_path / "d.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    p = Preset(data={"dataset": {"path": "json", "data_files": "d.jsonl"}}, path=tmp_path / "x.toml")
    preview = load_preview(p)
    assert preview.error is None and preview.num_rows == 7
    assert preview.columns == ["text", "label"] and preview.rows[0]["text"] == "row 0"
    assert "does not exist" in load_preview(p.with_value("dataset.data_files", "missing.jsonl")).error
    assert "data_files" in load_preview(p.without("dataset.data_files")).error
    offline = load_preview(p.with_value("dataset.path", "someone/dataset").without("dataset.data_files"))
    assert offline.note and "offline" in offline.note


def test_rebase_keeps_relative_paths_pointing_at_the_same_files(tmp_path):
    (tmp_path / "a" / "data").mkdir(parents=True)
    (tmp_path / "a" / "data" / "t.jsonl").write_text("{}\n")
    (tmp_path / "b").mkdir()
    p = Preset(data={"dataset": {"path": "json", "data_files": {"train": "data/t.jsonl"}}}, path=tmp_path / "a" / "p.toml")
    moved = rebase_paths(p, tmp_path / "b")
    assert moved.get("dataset.data_files.train") == "../a/data/t.jsonl"
    assert moved.get("dataset.path") == "json"
    assert is_shipped(REPO / "presets" / "quickstart.toml")
    assert not is_shipped(tmp_path / "b" / "p.toml")


def switch_default(app, name: str) -> bool:
    return bool(app.catalog().args[name].default)


async def test_controls_write_typed_values_into_the_preset(tmp_path, warm_catalog):
    (tmp_path / "train.jsonl").write_text('{"text": "a"}\n')
    path = tmp_path / "p.toml"
    path.write_text('schema = 1\n[model.scratch]\narchitecture = "llama"\n[dataset]\npath = "json"\ndata_files = "train.jsonl"\n[trainer]\ntype = "sft"\n[args]\noutput_dir = "out"\n')
    app = HftuiApp(preset_mod.load(path), gpus=[])
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        screen.goto("evaluation")
        await pilot.pause()
        select = screen.query_one(f"#{field_id('args.eval_strategy')} #control")
        select.value = "steps"
        await pilot.pause()
        assert app.preset.get("args.eval_strategy") == "steps"
        screen.goto("precision")
        await pilot.pause()
        switch = screen.query_one(f"#{field_id('args.fp16')} #control")
        assert isinstance(switch, Switch)  # a boolean with a default: a switch
        switch.focus()
        await pilot.press("space")
        await pilot.pause()
        assert app.preset.get("args.fp16") is (not switch_default(app, "fp16"))
        assert screen.query_one(f"#{field_id('args.fp16')}", OptionField).has_class("-changed")
        bf16 = screen.query_one(f"#{field_id('args.bf16')} #control")
        assert isinstance(bf16, Select)  # SFTConfig leaves bf16 unset (None): true / false / default
        bf16.value = True
        await pilot.pause()
        assert app.preset.get("args.bf16") is True
        screen.goto("integrations")
        await pilot.pause()
        chooser = screen.query_one(f"#{field_id('args.report_to')} #control")
        chooser.select("tensorboard")
        await pilot.pause()
        assert app.preset.get("args.report_to") == ["tensorboard"]
        # back to the default: the key leaves the preset
        screen.goto("evaluation")
        await pilot.pause()
        select.clear()
        await pilot.pause()
        assert not app.preset.has("args.eval_strategy")
        # the advanced toggle shows the other options of the step
        before = len(screen.query_one("#step-evaluation").paths)
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert len(screen.query_one("#step-evaluation").paths) > before


@needs_ppo
async def test_choosing_ppo_offers_its_options(tmp_path, warm_catalog):
    (tmp_path / "train.jsonl").write_text('{"prompt": "a"}\n')
    path = tmp_path / "p.toml"
    path.write_text('schema = 1\n[model.scratch]\narchitecture = "llama"\n[dataset]\npath = "json"\ndata_files = "train.jsonl"\n[trainer]\ntype = "sft"\n[args]\noutput_dir = "out"\n')
    app = HftuiApp(preset_mod.load(path), gpus=[])
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        # the trainer type changes the options on offer
        screen.goto("trainer")
        await pilot.pause()
        screen.query_one(f"#{field_id('trainer.type')} #control").value = "ppo"
        await pilot.pause()
        assert screen.query_one(f"#{field_id('ppo.reward_model')}", OptionField)


async def test_a_typed_value_out_of_range_reads_as_validate_says(tmp_path, warm_catalog):
    from textual.widgets import Input, Static

    from hftui.core.checks import validate

    bad = Preset(data={"schema": 1, "trainer": {"type": "sft"}, "args": {"adam_beta1": 1.5}})
    (expected,) = [p.message for p in validate(bad) if p.path == "args.adam_beta1"]
    path = tmp_path / "p.toml"
    path.write_text('schema = 1\n[model.scratch]\narchitecture = "llama"\n[trainer]\ntype = "sft"\n[args]\noutput_dir = "out"\n')
    app = HftuiApp(preset_mod.load(path), gpus=[])
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        app.screen.goto("optimizer")
        await pilot.pause()
        field = app.screen.query_one(f"#{field_id('args.adam_beta1')}", OptionField)
        control = field.query_one("#control", Input)
        control.focus()
        control.value = ""
        await pilot.press("1", ".", "5")
        await pilot.pause()
        assert field.error == expected
        assert str(field.query_one(".field-error", Static).render()) == f"✗ {expected}"
        assert field.has_class("-invalid") and not app.preset.has("args.adam_beta1")


def test_wizard_command_opens_files_and_reports_broken_ones(tmp_path, capsys):
    from argparse import Namespace

    from hftui.tui.commands import wizard

    preset, fresh = wizard.open_preset(str(tmp_path / "new.toml"))
    assert fresh and preset.path == (tmp_path / "new.toml").absolute() and preset.data == {"schema": 1}
    if wizard.quickstart_path() is not None:
        preset, fresh = wizard.open_preset(None)
        assert not fresh and is_shipped(preset.path)
    broken = tmp_path / "broken.toml"
    broken.write_text("schema = 1\n[args\nmax_steps = 3\n")
    assert wizard.main(Namespace(preset=str(broken)), started=None) == 2
    err = capsys.readouterr().err
    assert "not valid TOML" in err and "Traceback" not in err
    assert broken.read_text() == "schema = 1\n[args\nmax_steps = 3\n"
