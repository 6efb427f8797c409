"""What `hftui run` does before the training process starts, on a machine with a GPU.

The GPU is faked (NVML's view replaced in the child process); nothing trains: `start_run` is
replaced by a probe that reports which heavy modules the command had imported by then.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

PRESET = """\
schema = 1
name = "startup"
[model]
task = "causal-lm"
[model.scratch]
architecture = "llama"
tokenizer = "byte"
hidden_size = 4096
intermediate_size = 11008
num_hidden_layers = 32
num_attention_heads = 32
[dataset]
path = "json"
data_files = "data.jsonl"
text_column = "text"
max_length = 2048
[trainer]
type = "sft"
[args]
output_dir = "out"
max_steps = 1
"""

PROBE = """
import json, sys
from hftui.core import gpu
from hftui.core.run import start as runs
gpu.detect = lambda: [gpu.GpuInfo(0, "Fake GPU", 8 << 30, (9, 0), "550.0")]
def probe(preset, **kwargs):
    print("PROBE " + json.dumps({"heavy": sorted(m for m in ("torch", "transformers") if m in sys.modules)}))
    raise SystemExit(0)
runs.start_run = probe
from hftui.tui.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _child(tmp_path, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", PROBE, *argv], cwd=tmp_path, capture_output=True, text=True, timeout=300)


@pytest.fixture
def big_preset(tmp_path):
    (tmp_path / "data.jsonl").write_text("".join(json.dumps({"text": f"row {i}"}) + "\n" for i in range(8)))
    path = tmp_path / "big.toml"
    path.write_text(PRESET)
    return path


def test_run_starts_the_worker_without_importing_torch_on_a_gpu_box(tmp_path, big_preset, warm_catalog):
    """A 7B-shaped model on a fake 8 GiB GPU: `hftui validate` warns that it won't fit (which
    needs torch, to build the model on the meta device); `hftui run` leaves that to the worker
    and reaches the start of the run having imported neither torch nor transformers."""
    # first, while the model's facts are not on disk yet (validate would keep them there); the
    # option catalog is built, as after any first use
    run = _child(tmp_path, "run", str(big_preset))
    assert run.returncode == 0, run.stdout + run.stderr
    (line,) = [ln for ln in run.stdout.splitlines() if ln.startswith("PROBE ")]
    assert json.loads(line[len("PROBE "):]) == {"heavy": []}
    assert "won't fit" not in run.stdout + run.stderr

    validate = _child(tmp_path, "validate", str(big_preset))
    assert validate.returncode == 0, validate.stdout + validate.stderr
    assert "won't fit in GPU memory" in " ".join((validate.stdout + validate.stderr).split())
