"""Every shipped preset runs offline: each trainer type trains for real for a few steps."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from hftui.core import preset as preset_mod
from hftui.core.run.events import read_all
from hftui.core.train.worker import train
from ppo_world import needs_ppo

PRESETS = Path(__file__).resolve().parent.parent / "presets"
SHIPPED = ("quickstart", "classification", "lora", "reward", "ppo", "seq2seq", "dpo", "grpo")
QUICK = ["args.max_steps=3", "args.eval_steps=3", "args.logging_steps=1", "dataset.max_train_samples=96"]


def run_preset(name: str, tmp_path: Path, *sets: str) -> list[dict]:
    p = preset_mod.load(PRESETS / f"{name}.toml")
    p = preset_mod.apply_overrides(p, [f"args.output_dir={tmp_path / name}", *QUICK, *sets])
    run_dir = tmp_path / f"run-{name}"
    assert train(p, run_dir) == "completed"
    evts = read_all(run_dir / "events.jsonl").events
    assert evts[-1]["event"] == "end" and evts[-1]["status"] == "completed"
    (start,) = [e for e in evts if e["event"] == "start"]
    assert start["max_steps"] == 3 and start["preset"] == name
    losses = [e["loss"] for e in evts if e["event"] == "log" and "loss" in e]
    assert losses and all(math.isfinite(v) for v in losses)
    return evts


def test_every_shipped_preset_is_offline_and_uses_repo_data():
    for name in SHIPPED:
        p = preset_mod.load(PRESETS / f"{name}.toml")
        assert p.section("model").get("scratch"), name
        files = p.get("dataset.data_files")
        for f in (files.values() if isinstance(files, dict) else [files]):
            assert p.resolve(f).is_file(), (name, f)
        assert p.get("args.output_dir") == f"runs/{name}"


def test_ppo_uses_the_reward_presets_output():
    ppo = preset_mod.load(PRESETS / "ppo.toml")
    reward = preset_mod.load(PRESETS / "reward.toml")
    assert ppo.resolve_output(ppo.get("ppo.reward_model")) == reward.output_dir()


def test_a_shipped_preset_writes_under_the_current_folder(tmp_path, monkeypatch):
    """Its runs never land inside the installation; its data still comes from the shipped files;
    a copy saved elsewhere writes beside itself."""
    from hftui.core.run.start import resolved_preset

    monkeypatch.chdir(tmp_path)
    ppo = preset_mod.load(PRESETS / "ppo.toml")
    assert preset_mod.load(PRESETS / "quickstart.toml").output_dir() == tmp_path / "runs" / "quickstart"
    final = resolved_preset(ppo, ppo.output_dir())
    assert final.get("ppo.reward_model") == str(tmp_path / "runs" / "reward")
    assert final.get("dataset.data_files") == str(PRESETS / "data" / "prompts.jsonl")
    copy = tmp_path / "mine" / "ppo.toml"
    copy.parent.mkdir()
    copy.write_text((PRESETS / "ppo.toml").read_text(encoding="utf-8"), encoding="utf-8")
    assert preset_mod.load(copy).output_dir() == copy.parent / "runs" / "ppo"


@pytest.mark.slow
@pytest.mark.parametrize("name", ["quickstart", "classification", "lora", "seq2seq"])
def test_shipped_preset_trains(tmp_path, name):
    evts = run_preset(name, tmp_path)
    (ev,) = [e for e in evts if e["event"] == "eval"]
    if name == "quickstart":
        assert "eval_mean_token_accuracy" in ev and "eval_perplexity" in ev
        logs = [e for e in evts if e["event"] == "log"]
        assert all(e["tokens_per_second"] > 0 and e["samples_per_second"] > 0 for e in logs)
    if name == "classification":
        assert {"eval_accuracy", "eval_f1"} <= set(ev)
    if name == "seq2seq":
        assert {"eval_bleu", "eval_wer"} <= set(ev)
    if name == "lora":
        (start,) = [e for e in evts if e["event"] == "start"]
        assert start["trainable_params"] < start["total_params"]


@pytest.mark.slow
@needs_ppo
def test_reward_then_ppo_with_that_reward_model(tmp_path):
    evts = run_preset("reward", tmp_path)
    (ev,) = [e for e in evts if e["event"] == "eval"]
    assert 0.0 <= ev["eval_accuracy"] <= 1.0
    assert (tmp_path / "reward" / "model.safetensors").exists()
    evts = run_preset("ppo", tmp_path, f"ppo.reward_model={tmp_path / 'reward'}")
    logs = [e for e in evts if e["event"] == "log"]
    assert len(logs) == 3 and all("objective/scores" in e and "learning_rate" in e for e in logs)
    assert (tmp_path / "ppo" / "model.safetensors").exists()
