"""The exported script processes labels as the worker does on the paths where both build their
own labels (the causal-LM Trainer, seq2seq): the same loss, step for step."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hftui.core import preset as preset_mod
from hftui.core.export.script import export_python
from hftui.core.run.events import read_all
from hftui.core.train.worker import train

PRESETS = Path(__file__).resolve().parent.parent / "presets"
SETS = ["args.max_steps=3", "args.logging_steps=1", "args.eval_strategy=no", "args.save_strategy=no", "dataset.max_train_samples=64"]


def _preset(name: str, out: Path, *sets: str):
    p = preset_mod.load(PRESETS / f"{name}.toml")
    return preset_mod.apply_overrides(p, [f"args.output_dir={out}", *SETS, *sets])


@pytest.mark.slow
@pytest.mark.parametrize("name, sets", [("quickstart", ["trainer.type=trainer", "dataset.text_column=prompt"]), ("seq2seq", [])], ids=["causal-lm-trainer", "seq2seq"])
def test_exported_script_learns_the_same_labels(tmp_path, name, sets):
    assert train(_preset(name, tmp_path / "worker-out", *sets), tmp_path / "run") == "completed"
    worker = {e["step"]: e["loss"] for e in read_all(tmp_path / "run" / "events.jsonl").events if e["event"] == "log"}
    script = tmp_path / "train.py"
    script.write_text(export_python(_preset(name, tmp_path / "script-out", *sets)), encoding="utf-8")
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    state = json.loads((tmp_path / "script-out" / "trainer_state.json").read_text())
    scripted = {h["step"]: h["loss"] for h in state["log_history"] if "loss" in h}
    assert sorted(scripted) == sorted(worker) == [1, 2, 3]
    assert scripted[3] == pytest.approx(worker[3], rel=1e-4, abs=1e-5)
