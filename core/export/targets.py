"""A preset as the artefacts people run without hftui: a script, its launch command, an
accelerate config, a DeepSpeed config, and a SLURM batch script.

They fit together: `--to python` writes train.py (with the launch's [args] additions such as
`fsdp` or `deepspeed = "ds_config.json"`), `--to deepspeed` writes that ds_config.json, and
`--to command`, `--to accelerate` and `--to slurm` start train.py the way `hftui run` would
start the worker. The SLURM script carries train.py and the DeepSpeed config inside it, so one
file submitted with sbatch is the whole run.

Exports are made for the machine that runs them: GPUs unless `--cpu` asks for this machine's
CPU variant (`DS_ACCELERATOR=cpu`, `use_cpu`, DeepSpeed without pinned memory); on a machine
without GPUs they assume a cluster node's (`--for` names one).

The preset's values reach these files only as quoted shell words, JSON/YAML strings, one-line
comments or quoted heredocs (`literals`): nothing a preset holds runs when the artefact runs.
"""

from __future__ import annotations

import json
import shlex
import tempfile
from pathlib import Path

from hftui.core import gpu as gpu_mod
from hftui.core import launch as launch_mod
from hftui.core.export.literals import comment, heredoc_marker
from hftui.core.run.folder import DS_CONFIG_FILE

TARGETS = ("python", "command", "accelerate", "deepspeed", "slurm")
SCRIPT = "train.py"
ACCELERATE_FILE = "accelerate_config.yaml"
CLUSTER_GPU_BYTES = 80 * 1024**3  # what a SLURM export assumes per GPU when this machine has none


def plan(preset, gpus: list | None = None) -> tuple[launch_mod.Launch, dict, dict | None]:
    """(launch, [args] additions for the script, DeepSpeed config or None) as on `gpus`."""
    gpus = gpu_mod.detect() if gpus is None else gpus
    with tempfile.TemporaryDirectory(prefix="hftui-export-") as tmp:
        launch = launch_mod.resolve_launch(preset, Path(tmp), gpus=gpus)
        ds_path = Path(tmp) / DS_CONFIG_FILE
        ds = json.loads(ds_path.read_text()) if ds_path.exists() else None
    overrides = dict(launch.args_overrides)
    if "deepspeed" in overrides:
        overrides["deepspeed"] = DS_CONFIG_FILE  # next to train.py
    return launch, overrides, ds


def _cluster_gpus(preset) -> list:
    """The GPUs a SLURM node is assumed to have: this machine's kind, or 80 GiB ones."""
    here = gpu_mod.detect()
    nproc = preset.get("launch.num_processes", "auto")
    count = nproc if isinstance(nproc, int) and not isinstance(nproc, bool) and nproc > 0 else max(1, len(here))
    if here:
        return [here[i % len(here)] for i in range(count)]
    return [gpu_mod.GpuInfo(i, "GPU", CLUSTER_GPU_BYTES, (8, 0)) for i in range(count)]


def with_overrides(preset, overrides: dict):
    for key, value in overrides.items():
        preset = preset.with_value(f"args.{key}", value)
    return preset


# -- python -----------------------------------------------------------------------------------
# What the launcher adds on a machine without GPUs. The script decides these itself when it
# runs, so one exported on a CPU box still trains on the GPUs of the machine it is taken to.
CPU_FALLBACK_ARGS = ("use_cpu", "ddp_backend")


def to_python(preset, gpus: list | None = None) -> str:
    from hftui.core.export.script import export_python

    _, overrides, _ = plan(preset, gpus)
    for key in CPU_FALLBACK_ARGS:
        overrides.pop(key, None)
    return export_python(with_overrides(preset, overrides))


# -- command ----------------------------------------------------------------------------------
def script_argv(launch: launch_mod.Launch, script: str = SCRIPT, python: str = "python") -> list[str]:
    """The launch argv with the worker replaced by the exported script."""
    argv = list(launch.argv)
    tail = argv.index("-m", 1) if launch.backend == "single" else len(argv) - 3
    head = argv[:tail]
    if head[1:3] == ["-m", launch_mod.TORCHRUN_MODULE]:
        head = ["torchrun", *head[3:]]
    else:
        head = [python, *head[1:]]
    return [*head, script]


def _header(launch: launch_mod.Launch, ds, source: str) -> list[str]:
    """The comment lines that say what the artefact is and how to make its companions."""
    lines = [
        comment(launch_mod.describe(launch)),
        comment(f"the script: hftui export {shlex.quote(source)} --to python > {SCRIPT}"),
    ]
    if ds is not None:
        lines.append(comment(f"its DeepSpeed config: hftui export {shlex.quote(source)} --to deepspeed > {DS_CONFIG_FILE}"))
    return lines


def to_command(preset, gpus: list | None = None, source: str = "PRESET") -> str:
    launch, _, ds = plan(preset, gpus)
    env = " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(launch.env.items()))
    lines = _header(launch, ds, source)
    if launch.num_machines > 1:
        lines.append("# run this on every machine, each with its own --node_rank (launch.machine_rank)")
    lines.append((env + " " if env else "") + shlex.join(script_argv(launch)))
    return "\n".join(lines) + "\n"


# -- deepspeed --------------------------------------------------------------------------------
def to_deepspeed(preset, gpus: list | None = None) -> str:
    gpus = _cluster_gpus(preset) if gpus is None else gpus
    launch, _, ds = plan(preset, gpus)
    if ds is None:
        ds = launch_mod.deepspeed_config(preset, on_cpu=not gpus)
    return json.dumps(ds, indent=2) + "\n"


# -- accelerate -------------------------------------------------------------------------------
def to_accelerate(preset, gpus: list | None = None, source: str = "PRESET") -> str:
    from hftui.core.export.accelerate_file import accelerate_yaml

    launch, overrides, ds = plan(preset, gpus)
    env = "".join(f"{k}={shlex.quote(v)} " for k, v in sorted(launch.env.items()))
    lines = _header(launch, ds, source)
    lines.append(comment(f"start it: {env}accelerate launch --config_file {ACCELERATE_FILE} {SCRIPT}"))
    return "\n".join(lines) + "\n" + accelerate_yaml(preset, launch, overrides, ds, on_cpu=not gpus)


# -- slurm ------------------------------------------------------------------------------------
def to_slurm(preset, source: str = "PRESET", gpus: list | None = None) -> str:
    """An sbatch script: every node runs torchrun, which meets the others through a c10d
    rendezvous on the job's first node (from SLURM's own variables)."""
    from hftui.core.export.script import export_python

    gpus = gpus or _cluster_gpus(preset)
    launch, overrides, ds = plan(preset, gpus)
    script = export_python(with_overrides(preset, overrides))
    nodes = launch.num_machines
    nproc = launch.num_processes
    port = int(preset.get("launch.main_process_port", 29500) or 29500)
    name = "".join(c if c.isalnum() or c in "-_." else "-" for c in preset.name) or "hftui"
    marker = heredoc_marker("HFTUI_TRAIN_PY", script)
    out = [
        "#!/bin/bash",
        f"#SBATCH --job-name={name}",
        f"#SBATCH --nodes={nodes}",
        "#SBATCH --ntasks-per-node=1",
        f"#SBATCH --gpus-per-node={nproc}",
        "#SBATCH --output=%x-%j.out",
        comment(f"Exported by hftui from {source}: {launch_mod.describe(launch)}"),
        "# Submit from a folder every node can see: sbatch this-file.sh",
        "set -euo pipefail",
        'cd "${SLURM_SUBMIT_DIR:-$PWD}"',
        "",
        f"cat > {SCRIPT} <<'{marker}'",
        script.rstrip("\n"),
        marker,
    ]
    if ds is not None:
        ds_text = json.dumps(ds, indent=2)
        ds_marker = heredoc_marker("HFTUI_DS_CONFIG", ds_text)
        out += [f"cat > {DS_CONFIG_FILE} <<'{ds_marker}'", ds_text, ds_marker]
    out += [
        "",
        'HEAD_NODE=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)',
        f"export MASTER_ADDR=$HEAD_NODE MASTER_PORT={port}",
        "export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}",
        "",
        "srun --kill-on-bad-exit=1 python -m torch.distributed.run \\",
        '    --nnodes "$SLURM_NNODES" \\',
        f"    --nproc_per_node {nproc} \\",
        '    --rdzv_id "$SLURM_JOB_ID" \\',
        "    --rdzv_backend c10d \\",
        '    --rdzv_endpoint "$MASTER_ADDR:$MASTER_PORT" \\',
        f"    {SCRIPT}",
    ]
    return "\n".join(out) + "\n"


# -- one entry --------------------------------------------------------------------------------
def target_gpus(preset, gpus: list | None = None, cpu: bool = False) -> list:
    """The GPUs an artefact is made for: none with `cpu`, the named ones, this machine's, or on
    a machine without GPUs the ones a cluster node is assumed to have (`_cluster_gpus`):
    exports run elsewhere, so a CPU box never writes its CPU into them."""
    if cpu:
        return []
    if gpus is not None:
        return gpus
    return _cluster_gpus(preset)


def export(preset, target: str, source: str = "PRESET", gpus: list | None = None, cpu: bool = False) -> str:
    """The artefact `target` for `preset` as text; `source` names the preset in comments.

    Made for GPUs (`gpus`, else this machine's, else assumed ones) unless `cpu` asks for the
    variant that runs on this machine's CPU."""
    gpus = target_gpus(preset, gpus, cpu)
    if target == "python":
        return to_python(preset, gpus)
    if target == "command":
        return to_command(preset, gpus, source)
    if target == "accelerate":
        return to_accelerate(preset, gpus, source)
    if target == "deepspeed":
        return to_deepspeed(preset, gpus)
    if target == "slurm":
        return to_slurm(preset, source, gpus)
    raise ValueError(f"unknown export target {target!r}; choose one of {', '.join(TARGETS)}")
