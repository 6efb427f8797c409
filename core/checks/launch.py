"""[launch] and where the run writes: a process layout the machines can start, sharding that
does not contradict itself, and an output_dir that can be created and written."""

from __future__ import annotations

import os

from hftui.core.preset import Preset

from hftui.core.checks import machine
from hftui.core.checks.report import Report
from hftui.core.checks.values import show

_LOCALHOSTS = ("127.0.0.1", "localhost", "::1", "0.0.0.0")


def _whole(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def check_launch(rep: Report, preset: Preset) -> None:
    launch = preset.section("launch")
    backend = launch.get("backend", "auto")
    nproc = launch.get("num_processes", "auto")
    machines = launch.get("num_machines", 1)
    rank = launch.get("machine_rank", 0)
    if _whole(rank) and _whole(machines) and machines >= 1 and rank >= machines:
        rep.error("launch.machine_rank", f"machine_rank = {rank} but there are only {machines} machine(s): ranks go from 0 to {machines - 1}",
                  f"set machine_rank to 0..{machines - 1} on each machine, or num_machines = {rank + 1}")
    if backend == "single" and ((_whole(nproc) and nproc > 1) or (_whole(machines) and machines > 1)):
        rep.error("launch.backend", f'backend = "single" runs one process, but num_processes = {show(nproc)} and num_machines = {show(machines)}',
                  'use backend = "ddp" (or "auto") for several processes, or num_processes = 1')
    if _whole(nproc) and nproc > 1:
        gpus = machine.visible_gpus()
        if gpus and nproc > len(gpus):
            rep.error("launch.num_processes", f"num_processes = {nproc} but this machine has {len(gpus)} visible GPU(s)",
                      f'set num_processes = {len(gpus)} or "auto"')
    ip = launch.get("main_process_ip", "127.0.0.1")
    if _whole(machines) and machines > 1 and isinstance(ip, str) and ip in _LOCALHOSTS:
        rep.warning("launch.main_process_ip", f"num_machines = {machines} but main_process_ip is {ip}: the other machines cannot reach it",
                    "set main_process_ip to machine 0's address on the network (e.g. 10.0.0.1)")
    _check_sharding(rep, preset, backend)
    offload = launch.get("offload", "none")
    if isinstance(offload, str) and offload != "none" and backend not in ("deepspeed", "fsdp"):
        rep.warning("launch.offload", f'offload = {show(offload)} only applies with backend = "deepspeed" (or "fsdp"); backend is {show(backend)}',
                    'set backend = "deepspeed", or offload = "none"')
    if "zero_stage" in launch and backend not in ("deepspeed", "auto"):
        rep.notice("launch.zero_stage", f"zero_stage only applies with backend = \"deepspeed\"; backend is {show(backend)}", "remove zero_stage")


def _check_sharding(rep: Report, preset: Preset, backend: object) -> None:
    args = preset.section("args")
    fsdp = args.get("fsdp")
    deepspeed = args.get("deepspeed")
    if backend == "deepspeed" and fsdp:
        rep.error("args.fsdp", 'backend = "deepspeed" and args.fsdp are both set: DeepSpeed and FSDP cannot shard the same model',
                  'remove args.fsdp, or use backend = "fsdp"')
    elif deepspeed and fsdp:
        rep.error("args.fsdp", "args.deepspeed and args.fsdp are both set: DeepSpeed and FSDP cannot shard the same model", "keep one of them")
    if backend == "fsdp" and deepspeed:
        rep.error("args.deepspeed", 'backend = "fsdp" and args.deepspeed are both set', 'remove args.deepspeed, or use backend = "deepspeed"')


def check_output_dir(rep: Report, preset: Preset) -> None:
    raw = preset.get("args.output_dir")
    if raw is not None and not isinstance(raw, str):
        return  # reported as a type error
    if isinstance(raw, str) and not raw.strip():
        rep.error("args.output_dir", "output_dir is empty", 'write output_dir = "runs/my-run"')
        return
    try:
        out = preset.output_dir()
    except (OSError, RuntimeError, ValueError):
        return
    key = "args.output_dir"
    if out.exists() and not out.is_dir():
        rep.error(key, f"output_dir {out} is a file, not a folder", "choose a folder name (it is created when training starts)")
        return
    probe = out
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        rep.error(key, f"output_dir {out} is inside {probe}, which is a file", "choose a folder name that is not below a file")
    elif probe.exists() and not os.access(probe, os.W_OK | os.X_OK):
        rep.error(key, f"output_dir {out} cannot be written: no write permission on {probe}",
                  "choose a folder you can write (e.g. under your home directory), or fix the permissions")
