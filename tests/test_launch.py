"""resolve_launch: the argv, environment and [args] overrides for each backend and layout."""

from __future__ import annotations

import json
import shlex
import sys

import pytest

from hftui.core import launch
from hftui.core.train import memory_estimate as memory
from hftui.core.gpu import GpuInfo
from hftui.core.preset import from_text
from tiny_presets import LLAMA7B, scratch_llama, toml_text

GiB = 1024**3

TINY = toml_text({
    "schema": 1,
    "model": {"scratch": scratch_llama(layers=2, heads=4)},
    "args": {"per_device_train_batch_size": 2, "gradient_accumulation_steps": 3},
})


def gpus(n: int, gib: int = 80) -> list[GpuInfo]:
    return [GpuInfo(i, "Test GPU", gib * GiB, (9, 0), "550.0") for i in range(n)]


def tiny(**launch_keys):
    p = from_text(TINY)
    for k, v in launch_keys.items():
        p = p.with_value(f"launch.{k}", v)
    return p


def test_single_process_on_cpu_uses_this_interpreter(tmp_path):
    l = launch.resolve_launch(tiny(), tmp_path, gpus=[])
    assert l.argv == [sys.executable, "-m", "hftui.core.train.worker", str(tmp_path)]
    assert l.backend == "single" and l.world_size == 1
    assert l.args_overrides == {"use_cpu": True}
    assert l.env == {}
    assert "no GPU" in l.reason


def test_auto_on_one_gpu_is_a_single_process(tmp_path):
    l = launch.resolve_launch(tiny(), tmp_path, gpus=gpus(1))
    assert l.backend == "single" and l.argv[1:3] == ["-m", "hftui.core.train.worker"]
    assert "use_cpu" not in l.args_overrides and "one GPU" in l.reason


def test_auto_on_four_gpus_small_model_is_ddp_over_torchrun(tmp_path):
    l = launch.resolve_launch(tiny(), tmp_path, gpus=gpus(4))
    assert l.backend == "ddp" and l.num_processes == 4
    assert l.argv[:3] == [sys.executable, "-m", "torch.distributed.run"]
    assert l.argv[l.argv.index("--nproc_per_node") + 1] == "4"
    assert l.argv[-3:] == ["-m", "hftui.core.train.worker", str(tmp_path)]
    assert "fits one GPU" in l.reason and l.args_overrides == {}


def test_ddp_on_cpu_uses_gloo(tmp_path):
    l = launch.resolve_launch(tiny(backend="ddp", num_processes=2), tmp_path, gpus=[])
    assert l.backend == "ddp" and l.world_size == 2
    assert l.args_overrides == {"use_cpu": True, "ddp_backend": "gloo"}
    assert "torch.distributed.run" in l.argv


def test_auto_picks_fsdp_when_the_model_does_not_fit_one_gpu(tmp_path):
    p = from_text(LLAMA7B)
    l = launch.resolve_launch(p, tmp_path, gpus=gpus(4, gib=40))
    assert l.backend == "fsdp"
    assert "does not fit one GPU" in l.reason
    assert l.args_overrides["fsdp_config"]["transformer_layer_cls_to_wrap"] == ["LlamaDecoderLayer"]


def test_auto_on_eight_gpus_with_a_huge_model_picks_zero3_offload(tmp_path):
    p = from_text(LLAMA7B.replace("hidden_size = 4096", "hidden_size = 8192").replace("intermediate_size = 11008", "intermediate_size = 28672").replace("num_hidden_layers = 32", "num_hidden_layers = 80").replace("num_attention_heads = 32", "num_attention_heads = 64"))
    l = launch.resolve_launch(p, tmp_path, gpus=gpus(8))
    assert l.backend == "deepspeed" and "ZeRO-3" in l.reason
    config = json.loads((tmp_path / "ds_config.json").read_text())
    assert config["zero_optimization"]["stage"] == 3
    assert config["zero_optimization"]["offload_param"]["device"] == "cpu"


def test_fsdp_overrides_are_accepted_by_the_installed_training_arguments(tmp_path):
    from transformers import TrainingArguments

    l = launch.resolve_launch(tiny(backend="fsdp", num_processes=2, offload="all"), tmp_path, gpus=gpus(2))
    assert l.argv[-3:] == ["-m", "hftui.core.train.worker", str(tmp_path)]
    over = l.args_overrides
    assert over["fsdp_config"]["cpu_offload"] is True
    args = TrainingArguments(output_dir=str(tmp_path / "out"), report_to="none", **over)
    plugin = args.fsdp_plugin_args
    assert plugin["auto_wrap_policy"] == "TRANSFORMER_BASED_WRAP"
    assert plugin["transformer_cls_names_to_wrap"] == "LlamaDecoderLayer"
    assert plugin["cpu_offload"] is True and plugin["reshard_after_forward"] is True


def test_fsdp_on_cpu_starts_ranks_through_the_cpu_entry(tmp_path):
    l = launch.resolve_launch(tiny(backend="fsdp", num_processes=2), tmp_path, gpus=[])
    assert l.argv[-3:] == ["-m", "hftui.core.train.cpu_rank", str(tmp_path)]
    assert l.args_overrides["use_cpu"] is True and l.args_overrides["ddp_backend"] == "gloo"


@pytest.mark.parametrize("stage", [1, 2, 3])
def test_deepspeed_config_per_stage_on_cpu(tmp_path, stage):
    l = launch.resolve_launch(tiny(backend="deepspeed", num_processes=2, zero_stage=stage), tmp_path, gpus=[])
    assert l.env == {"DS_ACCELERATOR": "cpu"}
    assert "use_cpu" not in l.args_overrides  # accelerate would drop DeepSpeed
    assert l.args_overrides["deepspeed"] == str(tmp_path / "ds_config.json")
    config = json.loads((tmp_path / "ds_config.json").read_text())
    assert config["zero_optimization"]["stage"] == stage
    for key in ("train_batch_size", "train_micro_batch_size_per_gpu", "gradient_accumulation_steps"):
        assert config[key] == "auto"
    assert ("stage3_gather_16bit_weights_on_model_save" in config["zero_optimization"]) == (stage == 3)


def test_deepspeed_batch_fields_agree_with_the_trainer(tmp_path):
    from transformers import TrainingArguments
    from transformers.integrations.deepspeed import HfTrainerDeepSpeedConfig

    l = launch.resolve_launch(tiny(backend="deepspeed", num_processes=2, offload="optimizer"), tmp_path, gpus=gpus(2))
    config = json.loads((tmp_path / "ds_config.json").read_text())
    assert config["zero_optimization"]["offload_optimizer"]["device"] == "cpu"
    assert config["optimizer"]["type"] == "AdamW"  # DeepSpeed's CPU Adam on a GPU box
    args = TrainingArguments(output_dir=str(tmp_path / "out"), per_device_train_batch_size=2, gradient_accumulation_steps=3, report_to="none", use_cpu=True)
    filled = HfTrainerDeepSpeedConfig(config)
    filled.trainer_config_process(args)
    cfg = filled.config
    assert cfg["train_micro_batch_size_per_gpu"] == 2 and cfg["gradient_accumulation_steps"] == 3
    assert cfg["train_batch_size"] == 2 * 3 * args.world_size
    assert l.env == {}


def test_several_machines_use_torchrun_rendezvous(tmp_path):
    p = tiny(backend="ddp", num_processes=4, num_machines=2, machine_rank=1, main_process_ip="10.0.0.5", main_process_port=29555)
    l = launch.resolve_launch(p, tmp_path, gpus=gpus(4))
    argv = l.argv
    pairs = {argv[i]: argv[i + 1] for i in range(3, len(argv) - 3, 2)}
    assert pairs == {"--nproc_per_node": "4", "--nnodes": "2", "--node_rank": "1", "--master_addr": "10.0.0.5", "--master_port": "29555"}
    assert l.world_size == 8 and l.num_machines == 2


def test_render_command_round_trips(tmp_path):
    l = launch.resolve_launch(tiny(backend="deepspeed", num_processes=2), tmp_path / "run dir", gpus=[])
    line = launch.render_command(l)
    words = shlex.split(line)
    assert words[0] == "DS_ACCELERATOR=cpu" and words[1:] == l.argv
    assert launch.render_command(l, python="python").split()[1] == "python"
    assert launch.describe(l).startswith("deepspeed: 2 processes")


def test_memory_estimate_drives_the_reason():
    full = from_text(LLAMA7B)
    assert memory.fits_one_gpu(full, gpus(1)).fits is False  # 16 bytes per parameter: over 100 GiB
    assert launch.choose_backend(full, gpus(2))[0] == "fsdp"
    lora = from_text(LLAMA7B + '\n[peft]\nmethod = "lora"\nr = 16\n')
    backend, reason, implied = launch.choose_backend(lora, gpus(2))
    assert backend == "ddp" and implied == {} and "fits one GPU" in reason


def test_preview_leaves_nothing_on_disk():
    plan, line = launch.preview(tiny(backend="deepspeed", num_processes=2), gpus=[])
    assert line.startswith("DS_ACCELERATOR=cpu ") and line.endswith(" -m hftui.core.train.cpu_rank RUN_DIR")
    assert plan.args_overrides["deepspeed"] == "RUN_DIR/ds_config.json"
    assert plan.backend == "deepspeed"
