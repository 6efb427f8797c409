"""`hftui doctor`: plain facts about this machine, exit 0 even without a GPU."""

from __future__ import annotations

import json
import os
import subprocess
from importlib import metadata

from conftest import hftui_cmd

from hftui.core import doctor
from hftui.core.gpu import GpuInfo

GiB = 1024**3


def test_json_report_on_this_machine():
    out = subprocess.run(hftui_cmd("doctor", "--json"), capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["versions"]["transformers"] == metadata.version("transformers")
    assert report["versions"]["trl"] == metadata.version("trl")
    import torch

    assert report["torch"]["version"] == torch.__version__
    assert report["torch"]["cuda_available"] == torch.cuda.is_available()
    ds = report["deepspeed"]
    assert ds["available"] is True and "cpu_adam" in ds["ops"]
    assert set(ds["ops"]["cpu_adam"]) == {"installed", "compatible"}
    if not report["gpus"]:
        assert report["auto"]["backend"] == "single"
        assert report["auto"]["precision"] == "fp32"
        assert any("No NVIDIA GPU" in line for line in report["summary"])


def test_plain_report_says_no_gpu_plainly():
    out = subprocess.run(hftui_cmd("doctor", "--no-deepspeed"), capture_output=True, text=True, timeout=120,
                         env={**os.environ, "CUDA_VISIBLE_DEVICES": "-1", "COLUMNS": "200"})
    assert out.returncode == 0, out.stderr
    assert "No NVIDIA GPU found" in out.stdout
    assert 'backend = "auto" -> single' in out.stdout
    assert "transformers" in out.stdout and "Traceback" not in out.stderr


def test_precision_default_follows_compute_capability():
    ampere = [GpuInfo(0, "A100", 80 * GiB, (8, 0)), GpuInfo(1, "A100", 80 * GiB, (8, 0))]
    volta = [GpuInfo(0, "V100", 32 * GiB, (7, 0))]
    assert doctor.precision_default(ampere)[0] == "bf16"
    assert doctor.precision_default(ampere + volta)[0] == "fp16"
    name, why = doctor.precision_default(volta)
    assert name == "fp16" and "7.0" in why
    assert doctor.precision_default([])[0] == "fp32"


def test_auto_choice_depends_on_gpu_count():
    one = [GpuInfo(0, "H100", 80 * GiB, (9, 0))]
    four = [GpuInfo(i, "H100", 80 * GiB, (9, 0)) for i in range(4)]
    assert doctor.auto_choice(one)["backend"] == "single"
    choice = doctor.auto_choice(four)
    assert choice["backend"] == "ddp" and "4 GPUs" in choice["backend_reason"]
    assert choice["precision"] == "bf16"
