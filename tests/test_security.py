"""Security promises of `hftui run`: secrets stay in the environment, folders are private,
remote code needs consent, and a preset is data that never runs as code."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import time
from pathlib import Path

import pytest

from conftest import hftui_cmd
from tiny_presets import sft_preset

TIMEOUT = 240
HF_TOKEN = "hf_SecurityTestToken0123456789abcdef"
WANDB_KEY = "wandb-secret-key-0123456789abcdef0123"
OTHER_SECRET = "s3cr3t-value-for-a-custom-service"


def write_preset(folder: Path, model_extra: dict | None = None) -> Path:
    """A preset whose name and description would run commands or code if anything evaluated them."""
    with open(folder / "data.jsonl", "w") as fh:
        for i in range(32):
            fh.write(json.dumps({"text": f"sample {i} " * 4}) + "\n")
    path = folder / "secure.toml"
    pwned = folder / "PWNED"
    description = f"$(touch {pwned}) `touch {pwned}` __import__('os').system('touch {pwned}')"
    args = dict(max_steps=40, per_device_train_batch_size=4, logging_steps=1, save_steps=20)
    path.write_text(sft_preset("safe;$(touch PWNED)", description=description, model=model_extra, args=args))
    return path


def secret_env() -> dict:
    return dict(os.environ, HF_TOKEN=HF_TOKEN, WANDB_API_KEY=WANDB_KEY, MY_SERVICE_SECRET=OTHER_SECRET)


def wait_for(predicate, timeout: float = TIMEOUT, what: str = ""):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.slow
def test_secrets_stay_in_the_environment_and_folders_are_private(tmp_path, hftui_home):
    preset = write_preset(tmp_path, model_extra={"trust_remote_code": True})
    env = secret_env()
    result = subprocess.run(hftui_cmd("run", str(preset), "--detach", "--trust-remote-code"), cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    run_id = result.stdout.strip()
    run_dir = tmp_path / "out" / ".hftui" / run_id
    info = wait_for(lambda: (r := json.loads((run_dir / "run.json").read_text())).get("worker_pid") and r,
                    what="the worker to start")
    assert info["trust_remote_code_allowed"] is True
    # the training process gets the secrets through its environment
    environ = Path(f"/proc/{info['worker_pid']}/environ").read_bytes().split(b"\0")
    assert f"HF_TOKEN={HF_TOKEN}".encode() in environ and f"WANDB_API_KEY={WANDB_KEY}".encode() in environ
    info = wait_for(lambda: (r := json.loads((run_dir / "run.json").read_text()))["status"] in ("completed", "failed", "stopped") and r,
                    what="the run to end")
    assert info["status"] == "completed", (run_dir / "log.txt").read_text()[-2000:]
    listing = subprocess.run(hftui_cmd("runs", "--json"), cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)

    written = [p for p in [*run_dir.rglob("*"), *hftui_home.joinpath("runs").rglob("*"), *(tmp_path / "out").glob("*.json")]
               if p.is_file()]
    names = {p.name for p in written}
    assert {"run.json", "preset.toml", "events.jsonl", "log.txt", f"{run_id}.json"} <= names
    for path in written:
        text = path.read_bytes().decode("utf-8", "replace")
        for secret in (HF_TOKEN, WANDB_KEY, OTHER_SECRET):
            assert secret not in text, f"{secret[:6]}... written to {path}"
    for secret in (HF_TOKEN, WANDB_KEY, OTHER_SECRET):
        assert secret not in listing.stdout and secret not in result.stdout + result.stderr

    # private: the state and run folders, and what is in them
    for folder in (hftui_home / "runs", tmp_path / "out" / ".hftui", run_dir):
        assert mode(folder) == 0o700, folder
    for name in ("run.json", "preset.toml", "events.jsonl", "log.txt"):
        assert mode(run_dir / name) == 0o600, name
    assert mode(hftui_home / "runs" / f"{run_id}.json") == 0o600

    # the preset is data: none of its strings ran as a command or as code
    assert not list(tmp_path.rglob("PWNED"))
    assert json.loads((run_dir / "run.json").read_text())["name"] == "safe;$(touch PWNED)"


def test_trust_remote_code_needs_consent(tmp_path, hftui_home):
    preset = write_preset(tmp_path, model_extra={"trust_remote_code": True})
    result = subprocess.run(hftui_cmd("run", str(preset)), cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "model.trust_remote_code" in result.stderr and "--trust-remote-code" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists() and not list(hftui_home.glob("runs/*.json"))
    # --set cannot sneak it past either
    preset = write_preset(tmp_path)
    result = subprocess.run(hftui_cmd("run", str(preset), "--set", "model.trust_remote_code=true"), cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "--trust-remote-code" in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_secret_that_is_also_a_file_name_leaves_what_runs_exact(tmp_path, hftui_home, monkeypatch, capsys):
    """Redaction is for what people read: a token whose value is also the name of the data file
    and of the folder the run lives in must not turn either into "<redacted>" for the worker."""
    secret = "corpus-private-2024"
    folder = tmp_path / secret
    folder.mkdir()
    data = folder / f"{secret}.jsonl"
    data.write_text("".join(json.dumps({"text": f"sample {i} " * 4}) + "\n" for i in range(16)))
    preset = folder / "p.toml"
    preset.write_text(sft_preset("same-as-secret", data_files=data.name,
                                 args=dict(max_steps=2, per_device_train_batch_size=4, logging_steps=1, save_strategy="no")))
    from hftui.tui import cli

    monkeypatch.setenv("MY_DATA_TOKEN", secret)  # the run's processes inherit it
    monkeypatch.chdir(folder)
    code = cli.main(["run", str(preset)])
    run_dir = next((folder / "out" / ".hftui").glob("*/run.json")).parent
    assert code == 0, str(capsys.readouterr()) + (run_dir / "log.txt").read_text()[-2000:]
    info = json.loads((run_dir / "run.json").read_text())
    assert info["status"] == "completed"
    assert info["run_dir"] == str(run_dir) and any(str(run_dir) in arg for arg in info["command"])
    written = (run_dir / "preset.toml").read_text()
    assert str(data) in written and "<redacted>" not in written


def test_only_the_error_of_a_run_record_is_redacted(monkeypatch):
    from hftui.core.run.redact import REDACTED, redact_record

    monkeypatch.setenv("HF_TOKEN", "hf_abcdefghijkl")
    record = {"error": "401 for token hf_abcdefghijkl", "command": ["python", "/data/hf_abcdefghijkl"],
              "output_dir": "/data/hf_abcdefghijkl", "name": "n"}
    assert redact_record(record) == {**record, "error": f"401 for token {REDACTED}"}
