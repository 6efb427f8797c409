"""The `accelerate launch --config_file` YAML for an export, written by accelerate's own config
classes (`ClusterConfig`), so the file is exactly what `accelerate config` would write and what
`accelerate launch` reads back; values a preset holds stay YAML strings (yaml.safe_dump)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hftui.core.run.folder import DS_CONFIG_FILE

_DISTRIBUTED_TYPE = {"single": "NO", "ddp": "MULTI_GPU", "fsdp": "FSDP", "deepspeed": "DEEPSPEED"}


def accelerate_config(preset, launch, overrides: dict, ds: dict | None, on_cpu: bool) -> dict:
    """The fields of accelerate's ClusterConfig matching the launch hftui would use."""
    args = preset.section("args")
    settings = dict(preset.section("launch"))
    from hftui.core.train.effective import shape

    mixed = shape(preset).mixed or "no"
    config: dict = {
        "compute_environment": "LOCAL_MACHINE",
        "distributed_type": _DISTRIBUTED_TYPE[launch.backend],
        "num_processes": launch.world_size,  # accelerate counts every machine's processes
        "num_machines": launch.num_machines,
        "machine_rank": int(settings.get("machine_rank", 0) or 0) if launch.num_machines > 1 else 0,
        "main_process_ip": str(settings.get("main_process_ip", "127.0.0.1")),
        "main_process_port": int(settings.get("main_process_port", 29500) or 29500),
        "rdzv_backend": "static",
        "same_network": True,
        "mixed_precision": mixed if not args.get("use_cpu") else "no",
        # Only the CPU variant (--cpu) of a single process says so; several CPU processes start
        # through accelerate's torchrun launcher and the script's own use_cpu puts them on gloo.
        "use_cpu": on_cpu and launch.world_size == 1,
        "debug": False,
        "gpu_ids": "all",
        "downcast_bf16": False,
        "main_training_function": "main",
        "enable_cpu_affinity": False,
        "tpu_env": [],
        "tpu_use_cluster": False,
        "tpu_use_sudo": False,
    }
    if launch.backend == "fsdp":
        fsdp = overrides.get("fsdp_config", {})
        config["fsdp_config"] = {
            "fsdp_version": int(fsdp.get("version", 2)),
            "fsdp_auto_wrap_policy": fsdp.get("auto_wrap_policy", "TRANSFORMER_BASED_WRAP"),
            "fsdp_transformer_layer_cls_to_wrap": ",".join(fsdp.get("transformer_layer_cls_to_wrap", [])),
            "fsdp_reshard_after_forward": bool(fsdp.get("reshard_after_forward", True)),
            "fsdp_offload_params": bool(fsdp.get("cpu_offload", False)),
            "fsdp_state_dict_type": "FULL_STATE_DICT",
            "fsdp_cpu_ram_efficient_loading": True,
            "fsdp_activation_checkpointing": bool(fsdp.get("activation_checkpointing", False)),
        }
    if launch.backend == "deepspeed" and ds is not None:
        config["deepspeed_config"] = {
            "deepspeed_config_file": DS_CONFIG_FILE,
            "zero3_init_flag": ds["zero_optimization"]["stage"] == 3,
        }
        config["mixed_precision"] = "no"  # the DeepSpeed file decides ("auto" follows [args])
    return config


def accelerate_yaml(preset, launch, overrides: dict, ds: dict | None, on_cpu: bool) -> str:
    """The YAML text accelerate writes for that config."""
    from accelerate.commands.config.config_args import ClusterConfig
    from accelerate.utils import ComputeEnvironment, DistributedType

    fields = accelerate_config(preset, launch, overrides, ds, on_cpu)
    fields["compute_environment"] = ComputeEnvironment(fields["compute_environment"])
    fields["distributed_type"] = DistributedType(fields["distributed_type"])
    with tempfile.TemporaryDirectory(prefix="hftui-accelerate-") as tmp:
        path = Path(tmp) / "config.yaml"
        ClusterConfig(**fields).to_yaml_file(str(path))
        return path.read_text(encoding="utf-8")
