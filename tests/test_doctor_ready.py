"""`hftui doctor` on the extras, the optional kernels and what breaks a first run on a GPU box:
the Hub out of reach or switched off, no token, a nearly full disk. The Hub probe is injected:
no test touches the network."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import namedtuple
from importlib import metadata

import pytest
from rich.console import Console

from hftui.core import doctor, readiness
from hftui.core import extras
from hftui.tui.commands.doctor import render


def _no_network(url: str):
    raise AssertionError(f"the doctor reached for the network: {url}")


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No token, no offline switch, a Hugging Face home of its own."""
    for name in (*readiness.TOKEN_VARIABLES, *readiness.OFFLINE_VARIABLES, "HF_TOKEN_PATH", "HF_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    return tmp_path


def _shown(report: dict) -> str:
    console = Console(record=True, width=250, file=open(os.devnull, "w"))
    render(report, console)
    return console.export_text()


def test_extras_say_what_they_unlock_and_whether_they_are_here(clean_env):
    report = doctor.collect(deepspeed=False, output_dir=str(clean_env), hub_probe=lambda url: None)
    assert set(report["extras"]) == set(extras.EXTRAS) == {"ppo", "deepspeed"}
    assert report["extras"]["ppo"]["installed"] == extras.module_installed(extras.PPO_MODULE)
    assert report["extras"]["deepspeed"]["installed"] is extras.module_installed("deepspeed")
    assert report["extras"]["ppo"]["install"] == "pip install 'hftui[ppo]'"
    for name in ("flash-attn", "liger-kernel", "kernels", "bitsandbytes"):
        try:
            expected = metadata.version(name)
        except metadata.PackageNotFoundError:
            expected = None
        assert report["optional"][name]["version"] == expected and report["optional"][name]["unlocks"]
    text = _shown(report)
    assert "hftui[ppo]" in text and "flash_attention_2" in text and "use_liger_kernel" in text and "qlora" in text
    if not report["extras"]["ppo"]["installed"]:
        assert "no: pip install 'hftui[ppo]'" in text


def test_optional_packages_are_looked_up_not_imported():
    code = ("import sys; from hftui.core import doctor; doctor.extras(); doctor.optional_packages(); "
            "print([m for m in ('deepspeed', 'trl', 'flash_attn', 'liger_kernel', 'kernels', 'bitsandbytes', 'torch') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"


def test_offline_switch_skips_the_hub_probe(clean_env, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    ready = readiness.collect(clean_env, hub_probe=_no_network)
    assert ready["hub"]["offline"] == "HF_HUB_OFFLINE" and ready["hub"]["reachable"] is None
    assert any("HF_HUB_OFFLINE is set" in line for line in readiness.summary(ready))


def test_hub_reachable_or_not(clean_env):
    asked = []
    ready = readiness.collect(clean_env, hub_probe=lambda url: asked.append(url))
    assert ready["hub"]["reachable"] is True and asked == ["https://huggingface.co/api/models?limit=1"]
    assert not [line for line in readiness.summary(ready) if "Hub" in line and "token" not in line]
    ready = readiness.collect(clean_env, hub_probe=lambda url: "gaierror: Name or service not known")
    (line,) = [line for line in readiness.summary(ready) if "out of reach" in line]
    assert "Name or service not known" in line and "HF_HUB_OFFLINE=1" in line


def test_real_probe_answers_quickly_when_nothing_listens():
    # a closed port on this machine: refused at once, never the network
    with __import__("socket").socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    error = readiness.probe_hub(f"http://127.0.0.1:{port}/api/models", timeout=2)
    assert error and "refused" in error.lower()


def test_token_is_named_by_its_source_never_its_value(clean_env, monkeypatch):
    assert readiness.token_source() is None
    assert any("No Hugging Face token" in line for line in readiness.summary(readiness.collect(clean_env, hub_probe=lambda u: None)))
    (clean_env / "hf").mkdir()
    (clean_env / "hf" / "token").write_text("hf_filetoken123")
    assert readiness.token_source() == f"token file {clean_env / 'hf' / 'token'}"
    monkeypatch.setenv("HF_TOKEN", "hf_secretvalue456")
    report = doctor.collect(deepspeed=False, output_dir=str(clean_env), hub_probe=lambda url: None)
    assert report["ready"]["token"] == "HF_TOKEN"
    shown = json.dumps(report) + _shown(report)
    assert "hf_secretvalue456" not in shown and "hf_filetoken123" not in shown
    assert not any("token" in line.lower() for line in readiness.summary(report["ready"]))


def test_low_disk_under_the_cache_or_the_output_folder(clean_env, monkeypatch):
    Usage = namedtuple("Usage", "total used free")
    real = shutil.disk_usage
    seen = []

    def usage(path):
        seen.append(str(path))
        return Usage(100 << 30, 97 << 30, 3 << 30) if str(path).startswith(str(clean_env)) else real(path)

    monkeypatch.setattr(readiness.shutil, "disk_usage", usage)
    ready = readiness.collect(clean_env / "runs" / "not-yet", hub_probe=lambda url: None)
    cache, out = ready["disks"]
    assert cache["low"] and out["low"] and out["free"] == 3 << 30
    assert out["path"] == str(clean_env / "runs" / "not-yet") and str(clean_env) in seen  # the nearest folder that exists
    lines = [line for line in readiness.summary(ready) if "free disk" in line]
    assert len(lines) == 2 and "3.0 GiB" in lines[1] and "output folder" in lines[1]
