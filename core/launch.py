"""A preset's `[launch]` turned into the argv and environment that start training.

The worker always runs with the interpreter running hftui (`sys.executable`), never a bare
name from PATH, so the run uses exactly the libraries hftui validated against.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from hftui.core import gpu as gpu_mod

WORKER_MODULE = "hftui.core.worker"


@dataclass(frozen=True)
class Launch:
    argv: list[str]
    env: dict[str, str]
    backend: str  # single | ddp | fsdp | deepspeed
    num_processes: int  # per machine
    num_machines: int
    reason: str  # why this backend, in words
    args_overrides: dict = field(default_factory=dict)  # merged into [args] of the resolved preset

    @property
    def world_size(self) -> int:
        return self.num_processes * self.num_machines


def resolve_launch(preset, run_dir: Path, gpus: list | None = None) -> Launch:
    """Decide how to start the run described by `preset`, writing any config into run_dir."""
    gpus = gpu_mod.detect() if gpus is None else gpus
    launch = preset.section("launch")
    backend = launch.get("backend", "auto")
    nproc = launch.get("num_processes", "auto")
    if nproc == "auto":
        nproc = max(1, len(gpus))
    nmachines = int(launch.get("num_machines", 1))
    reason = "set in the preset"
    if backend == "auto":
        backend, reason = ("single", "one process: one GPU or none") if nproc * nmachines == 1 else ("ddp", f"{nproc * nmachines} processes: data parallel")
    overrides: dict = {}
    env: dict[str, str] = {}
    if not gpus:
        overrides["use_cpu"] = True
        if backend != "single" or nproc * nmachines > 1:
            overrides["ddp_backend"] = "gloo"
    worker = [WORKER_MODULE, str(run_dir)]
    if backend == "single" and nproc * nmachines == 1:
        argv = [sys.executable, "-m", *worker]
    else:
        argv = [
            sys.executable, "-m", "torch.distributed.run",
            "--nproc_per_node", str(nproc),
            "--nnodes", str(nmachines),
            "--node_rank", str(launch.get("machine_rank", 0)),
            "--master_addr", str(launch.get("main_process_ip", "127.0.0.1")),
            "--master_port", str(launch.get("main_process_port", 29500)),
            "-m", *worker,
        ]
    return Launch(argv, env, backend, int(nproc), nmachines, reason, overrides)
