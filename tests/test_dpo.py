"""DPO end to end: preference data checked row by row, a tiny scratch Llama trained for real, its
reward margin in the events and the live state, the exported script, and the shipped preset."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import hftui_cmd
from tiny_presets import scratch_llama, toml_text

from hftui.core import preset as preset_mod
from hftui.core.checks import validate
from hftui.core.export.script import export_python
from hftui.core.run.events import read_all
from hftui.core.run.state import fold
from hftui.core.train.worker import train

REPO = Path(__file__).resolve().parent.parent
ROWS = [{"prompt": f"q{i}:", "chosen": " kind words", "rejected": " rude!"} for i in range(24)]


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def dpo_preset(folder: Path, peft: dict | None = None, **dataset) -> Path:
    data = {
        "schema": 1,
        "name": "tiny-dpo",
        "model": {"task": "causal-lm", "scratch": scratch_llama(kv_heads=2)},
        "dataset": {"path": "json", "data_files": "pairs.jsonl", "max_length": 32, **dataset},
        "trainer": {"type": "dpo"},
        "args": {"output_dir": "out", "report_to": "none", "max_steps": 3, "per_device_train_batch_size": 4,
                 "learning_rate": 1e-3, "logging_steps": 1, "save_strategy": "no", "seed": 3},
    }
    if peft is not None:
        data["peft"] = peft
    path = folder / "dpo.toml"
    path.write_text(toml_text(data), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dpo")
    write_jsonl(folder / "pairs.jsonl", ROWS)
    preset = preset_mod.load(dpo_preset(folder))
    assert train(preset, folder / "run") == "completed"
    return folder, read_all(folder / "run" / "events.jsonl").events


def test_dpo_trains_and_its_margin_is_the_reward_curve(trained):
    folder, events = trained
    (start,) = [e for e in events if e["event"] == "start"]
    assert start["trainer_type"] == "dpo" and start["max_steps"] == 3
    logs = [e for e in events if e["event"] == "log" and "loss" in e]
    assert [e["step"] for e in logs] == [1, 2, 3]
    assert all(math.isfinite(e["loss"]) and "rewards/margins" in e for e in logs)
    assert logs[-1]["rewards/margins"] > logs[0]["rewards/margins"]  # it learns the preference
    state = fold(events)
    assert state.reward_key == "rewards/margins" and state.reward.points()[0] == [1.0, 2.0, 3.0]
    assert (folder / "out" / "model.safetensors").is_file()


def problems(path: Path) -> list:
    return [p for p in validate(preset_mod.load(path)) if p.severity == "error"]


def test_validate_names_missing_columns_and_wrong_types_with_file_and_line(tmp_path):
    rows = [dict(r) for r in ROWS[:4]]
    rows[1]["chosen"] = 7
    rows[2]["rejected"] = None
    write_jsonl(tmp_path / "pairs.jsonl", rows)
    found = {(p.path, p.message) for p in problems(dpo_preset(tmp_path))}
    assert ("dataset.chosen_column", "data file pairs.jsonl line 2: 'chosen' holds a whole number 7, neither text nor a list of {role, content} messages") in found
    assert any(path == "dataset.rejected_column" and "line 3: 'rejected' has no value (null)" in msg for path, msg in found)

    write_jsonl(tmp_path / "pairs.jsonl", [{"question": "q", "chosen": "a", "rejected": "b"}])
    (missing,) = problems(dpo_preset(tmp_path))
    assert missing.path == "dataset.prompt_column"
    assert missing.message == "the train file pairs.jsonl has no column 'prompt'" and "set prompt_column = \"question\"" in missing.hint


def test_conversational_preferences_are_checked_as_chat(tmp_path):
    chat = [{"role": "user", "content": "hi"}]
    write_jsonl(tmp_path / "pairs.jsonl", [{"prompt": chat, "chosen": [{"role": "assistant", "content": "hello"}], "rejected": [{"content": "go"}]}])
    (problem,) = problems(dpo_preset(tmp_path))
    assert problem.path == "dataset.rejected_column" and "line 1: 'rejected' message 1 has no role" in problem.message


def test_a_dpo_model_must_be_a_language_model(tmp_path):
    write_jsonl(tmp_path / "pairs.jsonl", ROWS[:2])
    path = dpo_preset(tmp_path)
    path.write_text(path.read_text().replace('task = "causal-lm"', 'task = "sequence-classification"'))
    (problem,) = problems(path)
    assert problem.path == "trainer.type" and "trains causal language models" in problem.message


@pytest.mark.slow
def test_exported_dpo_script_with_lora_and_merge_runs_standalone(tmp_path):
    write_jsonl(tmp_path / "pairs.jsonl", ROWS[:8])
    preset = preset_mod.load(dpo_preset(tmp_path, peft={"method": "lora", "r": 4, "lora_alpha": 8, "merge": True}))
    preset = preset_mod.apply_overrides(preset, ["args.max_steps=1"])
    source = export_python(preset)
    assert "import hftui" not in source and "from hftui" not in source
    assert "DPOTrainer(model=model, ref_model=None" in source and "peft_config = LoraConfig(" in source
    script = tmp_path / "train.py"
    script.write_text(source, encoding="utf-8")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": ""}
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "out" / "adapter_model.safetensors").is_file()
    assert (tmp_path / "out" / "merged" / "model.safetensors").is_file()


@pytest.mark.slow
def test_shipped_dpo_preset_trains_a_few_steps(tmp_path):
    proc = subprocess.run(hftui_cmd("run", str(REPO / "presets" / "dpo.toml"), "--set", "args.max_steps=2",
                           "--set", "args.eval_strategy=no", "--set", "args.logging_steps=1"),
                          capture_output=True, text=True, cwd=tmp_path, timeout=400)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    (events,) = (tmp_path / "runs" / "dpo" / ".hftui").glob("*/events.jsonl")
    logs = [e for e in read_all(events).events if e["event"] == "log" and "loss" in e]
    assert len(logs) == 2 and all("rewards/accuracies" in e for e in logs)
