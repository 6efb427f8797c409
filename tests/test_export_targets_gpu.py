"""Exports made on this CPU machine are for the GPU machine that will run them: no CPU-only
setting unless --cpu asks for it. The accelerate file is loaded by accelerate, the DeepSpeed JSON
by transformers' DeepSpeed integration; FSDP carries activation checkpointing its own way."""

from __future__ import annotations

import json
import shlex
from types import SimpleNamespace

import pytest
from tiny_presets import scratch_llama, sft_preset

from hftui.core.export import targets as exporters
from hftui.core.gpus import machine_gpus
from hftui.core.launch import resolve_launch
from hftui.core.preset import load


@pytest.fixture
def preset_file(tmp_path):
    (tmp_path / "train.jsonl").write_text("".join(json.dumps({"text": f"row {i}"}) + "\n" for i in range(16)))

    def write(**launch_keys) -> str:
        path = tmp_path / "p.toml"
        path.write_text(sft_preset("gpu-export", task=None, scratch=scratch_llama(heads=4), data_files="train.jsonl",
                                   args=dict(max_steps=3, per_device_train_batch_size=2), launch=launch_keys))
        return str(path)

    return write


@pytest.fixture
def export_main(capsys, monkeypatch):
    from hftui.core import gpu
    from hftui.tui.cli import main

    monkeypatch.setattr(gpu, "detect", lambda: [])  # this machine has no GPU, whatever runs the tests

    def run(*args: str) -> SimpleNamespace:
        capsys.readouterr()
        code = main(["export", *args])
        out = capsys.readouterr()
        return SimpleNamespace(returncode=code, stdout=out.out, stderr=out.err)

    return run


def _accelerate(text: str, tmp_path):
    from accelerate.commands.config.config_args import load_config_from_file

    path = tmp_path / "accelerate_config.yaml"
    path.write_text(text)
    return load_config_from_file(str(path))


def _hf_deepspeed(text: str, tmp_path):
    from transformers import TrainingArguments
    from transformers.integrations.deepspeed import HfTrainerDeepSpeedConfig

    config = HfTrainerDeepSpeedConfig(json.loads(text))
    config.trainer_config_process(TrainingArguments(output_dir=str(tmp_path / "o"), report_to="none", bf16=True, use_cpu=True))
    return config


def test_command_and_accelerate_file_are_for_gpus_unless_cpu(preset_file, export_main, tmp_path):
    path = preset_file(backend="deepspeed", num_processes=2)
    command = export_main(path, "--to", "command")
    assert command.returncode == 0, command.stderr
    assert "DS_ACCELERATOR" not in command.stdout and shlex.split(command.stdout.splitlines()[-1])[0] == "torchrun"
    assert "DS_ACCELERATOR=cpu" in export_main(path, "--to", "command", "--cpu").stdout

    single = preset_file(backend="single")
    gpu_file = export_main(single, "--to", "accelerate")
    assert gpu_file.returncode == 0, gpu_file.stderr
    config = _accelerate(gpu_file.stdout, tmp_path)
    assert config.use_cpu is False and config.distributed_type.value == "NO"
    assert config.mixed_precision == "bf16"  # SFTConfig's default precision, carried over
    assert _accelerate(export_main(single, "--to", "accelerate", "--cpu").stdout, tmp_path).use_cpu is True


def test_deepspeed_json_keeps_gpu_settings_and_the_deepspeed_optimizer(preset_file, export_main, tmp_path):
    path = preset_file(backend="deepspeed", num_processes=2, zero_stage=3, offload="all")
    out = export_main(path, "--to", "deepspeed")
    assert out.returncode == 0, out.stderr
    config = _hf_deepspeed(out.stdout, tmp_path)
    assert config.get_value("zero_optimization.overlap_comm") is True
    assert config.get_value("zero_optimization.offload_optimizer.pin_memory") is True
    assert config.get_value("zero_optimization.offload_param.pin_memory") is True
    assert config.get_value("optimizer.type") == "AdamW" and config.is_offload() and config.is_zero3()
    assert config.get_value("bf16.enabled") is True  # "auto" filled from the Trainer's arguments

    cpu = json.loads(export_main(path, "--to", "deepspeed", "--cpu").stdout)
    assert cpu["zero_optimization"]["overlap_comm"] is False and "optimizer" not in cpu


def test_export_for_a_named_machine(preset_file, export_main):
    out = export_main(preset_file(backend="ddp"), "--to", "command", "--for", "4xA100-80GB")
    assert out.returncode == 0, out.stderr
    words = shlex.split(out.stdout.splitlines()[-1])
    assert words[words.index("--nproc_per_node") + 1] == "4"
    bad = export_main(preset_file(backend="ddp"), "--to", "command", "--for", "4xA100-81GB")
    assert bad.returncode == 2 and "unknown GPU" in bad.stderr


def test_fsdp_moves_activation_checkpointing_into_fsdp_config(preset_file, tmp_path, export_main):
    """SFTConfig checkpoints activations by default; under FSDP transformers asks for FSDP's own."""
    from transformers import TrainingArguments

    preset = load(preset_file(backend="fsdp", num_processes=2))
    plan = resolve_launch(preset, tmp_path / "run", gpus=machine_gpus("2xA100-80GB"))
    over = plan.args_overrides
    assert over["fsdp_config"]["activation_checkpointing"] is True
    assert over.get("gradient_checkpointing") is False
    args = TrainingArguments(output_dir=str(tmp_path / "out"), report_to="none", **over)
    assert args.fsdp_plugin_args["activation_checkpointing"] is True and not args.activation_checkpointing

    text = exporters.export(preset, "accelerate", gpus=machine_gpus("2xA100-80GB"))
    assert _accelerate(text, tmp_path).fsdp_config["fsdp_activation_checkpointing"] is True
    # without checkpointing nothing moves
    off = resolve_launch(preset.with_value("args.gradient_checkpointing", False), tmp_path / "run2", gpus=machine_gpus("2xA100-80GB"))
    assert "activation_checkpointing" not in off.args_overrides["fsdp_config"]
