"""GRPO (and RLOO, its sibling) end to end: prompts plus rewards, a tiny scratch Llama trained for
real, the reward in the events, the live state and the live pane, the exported script, and the
shipped preset."""

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
from hftui.core.problems import PresetError
from hftui.core.run.events import read_all
from hftui.core.run.state import fold
from hftui.core.train import rewards
from hftui.core.train.worker import train

REPO = Path(__file__).resolve().parent.parent
ROWS = [{"prompt": f"{thing}:", "solution": color} for thing, color in (("sky", "blue"), ("grass", "green"), ("snow", "white"), ("coal", "black"))] * 4


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def grpo_preset(folder: Path, grpo: dict | None = None, ttype: str = "grpo", **args) -> Path:
    data = {
        "schema": 1,
        "name": f"tiny-{ttype}",
        "model": {"task": "causal-lm", "scratch": scratch_llama(kv_heads=2)},
        "dataset": {"path": "json", "data_files": "prompts.jsonl", "max_length": 16},
        "trainer": {"type": ttype},
        "grpo": grpo if grpo is not None else {"reward_functions": ["similarity", "short"]},
        "args": {"output_dir": "out", "report_to": "none", "max_steps": 2, "per_device_train_batch_size": 4, "num_generations": 4,
                 "max_completion_length": 4, "learning_rate": 1e-3, "logging_steps": 1, "save_strategy": "no", "seed": 3, **args},
    }
    path = folder / f"{ttype}.toml"
    path.write_text(toml_text(data), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("grpo")
    write_jsonl(folder / "prompts.jsonl", ROWS)
    assert train(preset_mod.load(grpo_preset(folder)), folder / "run") == "completed"
    return folder, read_all(folder / "run" / "events.jsonl").events


def test_grpo_trains_and_logs_every_reward(trained):
    folder, events = trained
    logs = [e for e in events if e["event"] == "log" and "reward" in e]
    assert [e["step"] for e in logs] == [1, 2]
    for e in logs:
        assert {"reward_std", "rewards/similarity/mean", "rewards/short/mean"} <= set(e)
        assert 0.0 <= e["rewards/similarity/mean"] <= 1.0 and math.isfinite(e["loss"])
        # the logged reward is the sum of the functions' means (TRL weighs them 1 each)
        assert e["reward"] == pytest.approx(e["rewards/similarity/mean"] + e["rewards/short/mean"], abs=1e-4)
    state = fold(events)
    assert state.reward_key == "reward" and state.reward.points() == ([1.0, 2.0], [e["reward"] for e in logs])
    assert (folder / "out" / "model.safetensors").is_file()


async def test_the_live_pane_shows_the_reward_curve(trained):
    from textual.app import App

    from hftui.tui.widgets.run_curves import RunCurves

    _, events = trained
    state = fold(events)

    class Pane(App):
        def compose(self):
            yield RunCurves()

    async with Pane().run_test(size=(100, 30)) as pilot:
        curves = pilot.app.query_one(RunCurves)
        curves.show(state)
        await pilot.pause()
        assert curves.drawn["reward"]["reward"][1] == [e["reward"] for e in events if e["event"] == "log" and "reward" in e]
        assert pilot.app.query_one("#tab-reward")


def test_shipped_reward_functions_score_as_documented():
    done = [{"role": "assistant", "content": "blue"}]
    assert rewards.exact_match(["blue ", "blu", done], solution=["blue", "blue", "blue"]) == [1.0, 0.0, 1.0]
    assert rewards.similarity(["blue", "xxxx"], solution=["blue", "blue"]) == [1.0, 0.0]
    assert rewards.letters(["ab 1", ""]) == [0.75, 0.0]
    assert rewards.short(["", "x" * 32, "x" * 99]) == [1.0, 0.5, 0.0]
    assert set(rewards.REWARD_FUNCTIONS) == {"exact_match", "similarity", "letters", "short"}


def errors(path: Path) -> list:
    return [p for p in validate(preset_mod.load(path)) if p.severity == "error"]


def test_validate_says_what_the_rewards_and_data_lack(tmp_path):
    write_jsonl(tmp_path / "prompts.jsonl", [{"prompt": "sky:", "answer": "blue"}, {"prompt": 3, "answer": "x"}])
    found = {(p.path, p.message) for p in errors(grpo_preset(tmp_path, {"reward_functions": ["exact_mach"]}))}
    assert ("grpo.reward_functions", "unknown reward function \"exact_mach\"") in found
    found = {(p.path, p.message, p.hint) for p in errors(grpo_preset(tmp_path, {"reward_functions": ["exact_match"]}))}
    assert ("grpo.solution_column", "the train file prompts.jsonl has no column 'solution', which exact_match compare the answers with",
            "set grpo.solution_column to the column with the right answers (columns there: prompt, answer)") in found
    assert any(path == "dataset.prompt_column" and "line 2: 'prompt' holds a whole number 3" in msg for path, msg, _ in found)
    write_jsonl(tmp_path / "prompts.jsonl", ROWS)
    (none,) = errors(grpo_preset(tmp_path, {}))
    assert none.path == "grpo" and "names no reward_model and no reward_functions" in none.message
    (groups,) = errors(grpo_preset(tmp_path, {"reward_functions": ["short"]}, per_device_train_batch_size=6))
    assert groups.path == "args.num_generations" and "= 6 is not a multiple of num_generations = 4" in groups.message
    # a reward model still to be trained is a warning until the run starts (as for PPO)
    (missing,) = [p for p in validate(preset_mod.load(grpo_preset(tmp_path, {"reward_model": "./runs/nothing-here"}))) if p.path == "grpo.reward_model"]
    assert missing.severity == "warning" and "reward model folder not found" in missing.message and "presets/reward.toml" in missing.hint


def test_a_reward_model_folder_scores_the_answers(trained, tmp_path):
    """A reward model from a folder (here a fresh scoring head saved like the reward trainer's)."""
    from hftui.core.train import modeling

    folder, _ = trained
    write_jsonl(tmp_path / "prompts.jsonl", ROWS)
    scorer = preset_mod.load(grpo_preset(tmp_path))
    tokenizer = modeling.load_tokenizer(scorer)
    model = modeling.load_model(scorer, tokenizer, "sequence-classification", num_labels=1)
    model.save_pretrained(tmp_path / "rm")
    tokenizer.save_pretrained(tmp_path / "rm")
    preset = preset_mod.load(grpo_preset(tmp_path, {"reward_model": str(tmp_path / "rm")}, ttype="rloo", max_steps=1))
    assert not errors(preset.path)
    assert train(preset, tmp_path / "run") == "completed"
    (log,) = [e for e in read_all(tmp_path / "run" / "events.jsonl").events if e["event"] == "log" and "reward" in e]
    assert math.isfinite(log["reward"]) and any(k.startswith("rewards/") and k.endswith("/mean") for k in log)


def test_no_rewards_at_run_time_is_a_clear_problem(tmp_path):
    write_jsonl(tmp_path / "prompts.jsonl", ROWS)
    with pytest.raises(PresetError) as err:
        train(preset_mod.load(grpo_preset(tmp_path, {})), tmp_path / "run")
    assert err.value.problems[0].path == "grpo"


@pytest.mark.slow
def test_exported_grpo_script_runs_standalone(tmp_path):
    write_jsonl(tmp_path / "prompts.jsonl", ROWS)
    preset = preset_mod.load(grpo_preset(tmp_path, {"reward_functions": ["exact_match", "letters"]}, max_steps=1, beta=0.1))
    source = export_python(preset)
    assert "from hftui" not in source and "import hftui" not in source
    assert "def exact_match(" in source and "def letters(" in source and "def similarity(" not in source
    script = tmp_path / "train.py"
    script.write_text(source, encoding="utf-8")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": ""}
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    state = json.loads((tmp_path / "out" / "trainer_state.json").read_text())
    assert any("rewards/exact_match/mean" in h for h in state["log_history"])


@pytest.mark.slow
def test_shipped_grpo_preset_trains_offline_standalone(tmp_path):
    proc = subprocess.run(hftui_cmd("run", str(REPO / "presets" / "grpo.toml"), "--set", "args.max_steps=2", "--set", "args.logging_steps=1"),
                          capture_output=True, text=True, cwd=tmp_path, timeout=400, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    (events,) = (tmp_path / "runs" / "grpo" / ".hftui").glob("*/events.jsonl")
    logs = [e for e in read_all(events).events if e["event"] == "log" and "reward" in e]
    assert len(logs) == 2 and all("rewards/similarity/mean" in e for e in logs)
