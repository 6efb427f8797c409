"""The exported script trains the same thing as the worker: same seed, same loss."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hftui.core import preset as preset_mod
from hftui.core.run.events import read_all
from hftui.core.export.script import export_python
from hftui.core.train.worker import train

PRESETS = Path(__file__).resolve().parent.parent / "presets"


def _preset(name: str, out, *sets: str):
    p = preset_mod.load(PRESETS / f"{name}.toml")
    return preset_mod.apply_overrides(p, [f"args.output_dir={out}", *sets])


def test_export_is_standalone_python():
    for name in ("quickstart", "classification", "lora", "reward", "ppo", "seq2seq"):
        source = export_python(preset_mod.load(PRESETS / f"{name}.toml"))
        tree = ast.parse(source)
        imported = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                imported.add((node.module or "").split(".")[0])
        assert "hftui" not in imported, name
        assert imported <= {"os", "importlib", "torch", "transformers", "datasets", "trl", "peft", "tokenizers", "copy", "numpy", "sklearn", "sacrebleu", "jiwer"}, (name, imported)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["classification", "quickstart"])
def test_exported_script_matches_the_worker_loss(tmp_path, name):
    sets = ["args.max_steps=4", "args.logging_steps=1", "args.eval_strategy=no", "args.save_strategy=no", "dataset.max_train_samples=128"]
    worker_preset = _preset(name, tmp_path / "worker-out", *sets)
    assert train(worker_preset, tmp_path / "run") == "completed"
    worker_losses = {e["step"]: e["loss"] for e in read_all(tmp_path / "run" / "events.jsonl").events if e["event"] == "log"}

    script = tmp_path / "train.py"
    script.write_text(export_python(_preset(name, tmp_path / "script-out", *sets)), encoding="utf-8")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    state = json.loads((tmp_path / "script-out" / "trainer_state.json").read_text())
    script_losses = {h["step"]: h["loss"] for h in state["log_history"] if "loss" in h}
    assert sorted(script_losses) == sorted(worker_losses) == [1, 2, 3, 4]
    assert script_losses[4] == pytest.approx(worker_losses[4], rel=1e-4, abs=1e-5)
