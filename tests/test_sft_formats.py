"""SFT's data formats: prompt/completion (the loss on the completion only) beside text and chat;
the quickstart uses it; LoRA goes to TRL as peft_config=; [peft] merge = true saves a merged model."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from tiny_presets import sft_preset

from hftui.core import preset as preset_mod
from hftui.core.checks import validate
from hftui.core.options.sections import column_needs
from hftui.core.options.steps import needed_columns
from hftui.core.problems import PresetError
from hftui.core.run.events import read_all
from hftui.core.train import data as data_mod
from hftui.core.train.modeling import byte_tokenizer
from hftui.core.train.worker import build, train

REPO = Path(__file__).resolve().parent.parent
ROWS = [{"prompt": f"reverse: {w} =>", "completion": f" {w[::-1]}"} for w in ("abc", "hello", "xyz", "tiny", "words", "dog")] * 3
LORA = {"method": "lora", "r": 4, "lora_alpha": 8, "lora_dropout": 0.0, "merge": True}


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def preset_file(folder: Path, rows: list, peft: dict | None = None, **args) -> Path:
    write_jsonl(folder / "data.jsonl", rows)
    text = sft_preset("pc", args={"max_steps": 2, "per_device_train_batch_size": 4, "learning_rate": 1e-3, "logging_steps": 1,
                                  "save_strategy": "no", **args})
    text = text.replace('text_column = "text"\n', "")
    if peft is not None:
        text += "\n[peft]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in peft.items())
    path = folder / "pc.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def lora_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sft-pc")
    preset = preset_mod.load(preset_file(folder, ROWS, LORA))
    assert train(preset, folder / "run") == "completed"
    return folder, read_all(folder / "run" / "events.jsonl").events


def test_prompt_completion_trains_with_lora_through_peft_config_and_merges(lora_run):
    folder, events = lora_run
    (start,) = [e for e in events if e["event"] == "start"]
    assert 0 < start["trainable_params"] < start["total_params"]
    assert all(math.isfinite(e["loss"]) for e in events if e["event"] == "log" and "loss" in e)
    assert (folder / "out" / "adapter_config.json").is_file()
    merged = folder / "out" / "merged"
    assert (merged / "model.safetensors").is_file() and not (merged / "adapter_config.json").exists()
    from transformers import AutoModelForCausalLM

    assert AutoModelForCausalLM.from_pretrained(merged).config.num_hidden_layers == 1


def test_only_the_completion_is_trained(tmp_path):
    """TRL labels the prompt's tokens -100: they carry no loss."""
    preset = preset_mod.load(preset_file(tmp_path, ROWS[:4]))
    built = build(preset)
    row = built.trainer.train_dataset[0]
    prompt_len = len(built.tokenizer(ROWS[0]["prompt"])["input_ids"])
    assert set(row["labels"][:prompt_len]) == {-100}
    assert row["labels"][prompt_len:] == row["input_ids"][prompt_len:] and len(row["labels"]) > prompt_len
    assert built.tokenizer.decode(row["input_ids"][prompt_len:]) == ROWS[0]["completion"] + built.tokenizer.eos_token


def test_a_completion_without_its_prompt_is_named(tmp_path):
    rows = [{"question": r["prompt"], "completion": r["completion"]} for r in ROWS[:3]]
    path = preset_file(tmp_path, rows)
    (problem,) = [p for p in validate(preset_mod.load(path)) if p.severity == "error"]
    assert problem.path == "dataset.prompt_column"
    assert problem.message == "the train file data.jsonl has no column 'prompt'"
    assert problem.hint.startswith('set prompt_column = "question"') and problem.hint.endswith("it goes with the completion column")
    with pytest.raises(PresetError) as err:
        data_mod.prepare(preset_mod.load(path), byte_tokenizer())
    assert err.value.problems[0].path == "dataset.prompt_column" and "has a 'completion' column but no 'prompt' column" in err.value.problems[0].message


def test_wrong_types_in_prompt_or_completion_name_file_and_line(tmp_path):
    rows = [dict(r) for r in ROWS[:3]]
    rows[2]["completion"] = ["not", "chat"]
    rows[1]["prompt"] = 12
    found = {(p.path, p.message) for p in validate(preset_mod.load(preset_file(tmp_path, rows))) if p.severity == "error"}
    assert ("dataset.prompt_column", "data file data.jsonl line 2: 'prompt' holds a whole number 12, neither text nor a list of {role, content} messages") in found
    assert any(path == "dataset.completion_column" and "line 3: 'completion' message 1 is text" in msg for path, msg in found)


def test_the_wizard_asks_the_prompt_beside_the_completion():
    preset = preset_mod.load(REPO / "presets" / "quickstart.toml")
    assert column_needs("sft", None) == (("text_column", "messages_column", "completion_column"),)
    assert {"completion_column", "prompt_column"} <= set(needed_columns(preset))


def test_the_quickstart_is_prompt_completion():
    preset = preset_mod.load(REPO / "presets" / "quickstart.toml")
    first = json.loads((REPO / "presets" / "data" / "reverse.jsonl").read_text().splitlines()[0])
    assert set(first) == {"prompt", "completion"} and first["prompt"].startswith("reverse: ")
    word = first["prompt"].removeprefix("reverse: ").removesuffix(" =>")
    assert first["completion"] == " " + word[::-1]
    assert not [p for p in validate(preset) if p.severity == "error"]


def test_max_length_is_one_field_in_the_wizard():
    """dataset.max_length feeds SFT's max_length: the wizard asks it once (args.max_length only when set)."""
    from hftui.core.options.catalog import get_catalog
    from hftui.core.options.steps import step_fields
    from hftui.core.train.trainer_config import config_kwargs

    preset = preset_mod.load(REPO / "presets" / "quickstart.toml")
    asked = [path for path, _ in step_fields("dataset", preset, get_catalog("sft"), advanced=True)]
    assert "dataset.max_length" in asked and "args.max_length" not in asked
    assert config_kwargs(preset, auto_cpu=False)["max_length"] == preset.get("dataset.max_length")
    set_both = preset_mod.apply_overrides(preset, ["args.max_length=24"])
    assert "args.max_length" in [path for path, _ in step_fields("dataset", set_both, get_catalog("sft"))]
