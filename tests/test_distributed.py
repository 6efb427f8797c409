"""Real two-process training on CPU: DDP, DeepSpeed ZeRO-2, FSDP, two machines, and a stop.

Each test starts the processes exactly as a run does: `resolve_launch` gives the argv and
environment, the run folder holds the resolved preset and run.json, and torchrun starts the
worker on every rank. The model is a 1-layer Llama of width 32, so each run takes seconds.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

from hftui.core import launch
from hftui.core.run import start as runs
from hftui.core.run import stop as stopping
from hftui.core import preset as preset_mod
from tiny_presets import scratch_llama, sft_preset

pytestmark = [pytest.mark.slow, pytest.mark.dist]

ROWS = 64
BATCH = 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_preset(tmp_path: Path, backend: str, nproc: int = 2, machines: int = 1, max_steps: int = 4, **launch_keys) -> Path:
    with open(tmp_path / "train.jsonl", "w", encoding="utf-8") as f:
        for i in range(ROWS):
            word = "abcdefghij"[i % 10:] + "xyz"[: i % 3]
            f.write(json.dumps({"text": f"reverse: {word} => {word[::-1]}"}) + "\n")
    text = sft_preset(
        "dist-test",
        task=None,
        scratch=scratch_llama(heads=4, kv_heads=4),
        data_files="train.jsonl",
        args=dict(max_steps=max_steps, per_device_train_batch_size=BATCH, logging_steps=1, save_strategy="no", seed=1),
        launch=dict(backend=backend, num_processes=nproc, num_machines=machines, main_process_port=free_port(), **launch_keys),
    )
    path = tmp_path / "preset.toml"
    path.write_text(text)
    return path


def prepare_run(preset, run_dir: Path, gpus=()) -> launch.Launch:
    """The run folder the worker reads: resolved preset (launch overrides merged) and run.json."""
    run_dir.mkdir(parents=True, exist_ok=True)
    plan = launch.resolve_launch(preset, run_dir, gpus=list(gpus))
    final = runs.resolved_preset(preset, preset.output_dir().resolve(), plan.args_overrides)
    (run_dir / "preset.toml").write_text(preset_mod.dumps(final))
    (run_dir / "run.json").write_text(json.dumps({"id": run_dir.name, "run_dir": str(run_dir), "resume_from": None}))
    return plan


def start(plan: launch.Launch, log: Path) -> subprocess.Popen:
    env = {**os.environ, **plan.env, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    handle = open(log, "w")
    return subprocess.Popen(plan.argv, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)


def finish(proc: subprocess.Popen, log: Path, timeout: float = 150) -> str:
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        proc.wait()
        pytest.fail(f"training did not finish in {timeout}s:\n{log.read_text()[-3000:]}")
    return log.read_text()


def events(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines() if line.strip()]


def run_two_processes(tmp_path: Path, backend: str, **launch_keys) -> tuple[launch.Launch, list[dict], str, int]:
    preset = preset_mod.load(write_preset(tmp_path, backend, **launch_keys))
    run_dir = tmp_path / "run"
    plan = prepare_run(preset, run_dir)
    log = tmp_path / "log.txt"
    text = finish(start(plan, log), log)
    return plan, events(run_dir), text, plan.world_size


def assert_trained_on_two_ranks(evs: list[dict], text: str) -> None:
    starts = [e for e in evs if e["event"] == "start"]
    assert len(starts) == 1 and starts[0]["num_processes"] == 2  # world size; rank 0 alone writes
    logs = [e for e in evs if e["event"] == "log" and "loss" in e]
    assert [e["step"] for e in logs] == [1, 2, 3, 4]
    # Each optimizer step consumed one batch on each rank (the sampler splits the data between
    # them and the gradients are averaged across them): twice one process's share of an epoch.
    assert logs[0]["epoch"] == pytest.approx(BATCH * 2 / ROWS)
    assert evs[-1]["event"] == "end" and evs[-1]["status"] == "completed", text[-3000:]


def test_ddp_two_processes(tmp_path):
    plan, evs, text, world = run_two_processes(tmp_path, "ddp")
    assert plan.backend == "ddp" and world == 2
    assert_trained_on_two_ranks(evs, text)
    assert (tmp_path / "out" / "model.safetensors").exists()


def test_deepspeed_zero2_on_cpu(tmp_path):
    plan, evs, text, _ = run_two_processes(tmp_path, "deepspeed", zero_stage=2)
    assert plan.env["DS_ACCELERATOR"] == "cpu"
    config = json.loads((tmp_path / "run" / "ds_config.json").read_text())
    assert config["zero_optimization"]["stage"] == 2
    assert "train_batch_size is not equal" not in text
    assert_trained_on_two_ranks(evs, text)
    args = (tmp_path / "out" / "training_args.bin")
    assert args.exists()


def test_deepspeed_zero3_full_offload_on_cpu(tmp_path):
    """ZeRO-3 builds the model partitioned (zero.Init), before the Trainer opens DeepSpeed."""
    plan, evs, text, _ = run_two_processes(tmp_path, "deepspeed", zero_stage=3, offload="all")
    zero = json.loads((tmp_path / "run" / "ds_config.json").read_text())["zero_optimization"]
    assert zero["stage"] == 3 and zero["offload_param"]["device"] == "cpu"
    assert_trained_on_two_ranks(evs, text)
    from transformers import AutoModelForCausalLM

    from hftui.core.train.model_facts import model_facts

    model = AutoModelForCausalLM.from_pretrained(tmp_path / "out")  # 16-bit weights gathered on save
    expected = model_facts(preset_mod.load(tmp_path / "preset.toml")).total_params
    assert sum(p.numel() for p in model.parameters()) == expected


def test_fsdp_full_shard_auto_wrap_on_gloo(tmp_path):
    plan, evs, text, _ = run_two_processes(tmp_path, "fsdp")
    assert plan.args_overrides["fsdp_config"]["transformer_layer_cls_to_wrap"] == ["LlamaDecoderLayer"]
    # SFTConfig checkpoints activations by default: under FSDP that is FSDP's own checkpointing
    # (fsdp_config["activation_checkpointing"]), which wraps each decoder layer in a CheckpointWrapper
    assert plan.args_overrides["fsdp_config"]["activation_checkpointing"] is True
    for rank in (0, 1):
        line = next((ln for ln in text.splitlines() if f"hftui: rank {rank}: FSDP full shard" in ln), "")
        assert "CheckpointWrapper" in line, text[-3000:]
    assert_trained_on_two_ranks(evs, text)
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tmp_path / "out")  # the gathered full weights
    assert sum(p.numel() for p in model.parameters()) == next(e for e in evs if e["event"] == "start")["total_params"]


def test_two_machines_on_localhost_finish_one_run(tmp_path):
    path = write_preset(tmp_path, "ddp", nproc=1, machines=2, main_process_ip="127.0.0.1")
    base = preset_mod.load(path)
    run_dir = tmp_path / "run"
    procs = []
    for rank in (0, 1):
        machine = base.with_value("launch.machine_rank", rank)
        plan = prepare_run(machine, run_dir)
        assert plan.num_machines == 2 and plan.world_size == 2
        assert plan.argv[plan.argv.index("--node_rank") + 1] == str(rank)
        log = tmp_path / f"machine{rank}.txt"
        procs.append((start(plan, log), log))
        time.sleep(0.5)
    texts = [finish(p, log) for p, log in procs]
    assert [p.returncode for p, _ in procs] == [0, 0], texts[0][-2000:] + texts[1][-2000:]
    evs = events(run_dir)
    assert_trained_on_two_ranks(evs, texts[0] + texts[1])


def test_stop_during_a_two_process_run_leaves_one_checkpoint(tmp_path):
    preset = preset_mod.load(write_preset(tmp_path, "ddp", max_steps=100000))
    run = runs.start_run(preset, validate=False)
    try:
        deadline = time.time() + 90
        while time.time() < deadline:
            if run.events_path.exists() and any(json.loads(line).get("event") == "log" for line in run.events_path.read_text().splitlines() if line.strip()):
                break
            time.sleep(0.3)
        else:
            pytest.fail("no training step within 90s:\n" + run.log_path.read_text()[-3000:])
        stopping.request_stop(run)
        run = stopping.wait_for_end(run, timeout=90)
    finally:
        if run.is_active:
            stopping.kill_run(run)
    assert run.status == "stopped", run.log_path.read_text()[-3000:]
    assert run.exit_code == 130
    checkpoints = sorted((tmp_path / "out").glob("checkpoint-*"))
    assert len(checkpoints) == 1, checkpoints
    evs = events(run.run_dir)
    assert next(e for e in evs if e["event"] == "start")["num_processes"] == 2
    assert [e["event"] for e in evs].count("checkpoint") == 1
    assert evs[-1]["event"] == "end" and evs[-1]["status"] == "stopped"
    assert int(checkpoints[0].name.split("-")[1]) < 100000
