"""[launch] and where the run writes: a process layout the machines can start, sharding that
does not contradict itself, and an output_dir that can be created and written."""

from __future__ import annotations

import os

from hftui.core import extras
from hftui.core.i18n import _
from hftui.core.launch import process_limit
from hftui.core.preset import Preset

from hftui.core.checks import machine, output_folder
from hftui.core.checks.report import Report
from hftui.core.checks.values import show

_LOCALHOSTS = ("127.0.0.1", "localhost", "::1", "0.0.0.0")
# No machine carries more GPUs than this: a larger count per machine is wrong wherever it runs.
MAX_GPUS_PER_MACHINE = 16


def _whole(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def check_launch(rep: Report, preset: Preset) -> None:
    launch = preset.section("launch")
    backend = launch.get("backend", "auto")
    nproc = launch.get("num_processes", "auto")
    machines = launch.get("num_machines", 1)
    rank = launch.get("machine_rank", 0)
    if _whole(rank) and _whole(machines) and machines >= 1 and rank >= machines:
        rep.error("launch.machine_rank", _("machine_rank = {rank} but there are only {machines} machine(s): ranks go from 0 to {last}",
                                           rank=rank, machines=machines, last=machines - 1),
                  _("set machine_rank to 0..{last} on each machine, or num_machines = {count}", last=machines - 1, count=rank + 1))
    if backend == "single" and ((_whole(nproc) and nproc > 1) or (_whole(machines) and machines > 1)):
        rep.error("launch.backend", _('backend = "single" runs one process, but num_processes = {processes} and num_machines = {machines}',
                                      processes=show(nproc), machines=show(machines)),
                  _('use backend = "ddp" (or "auto") for several processes, or num_processes = 1'))
    if _whole(nproc) and nproc > 1:
        _check_process_count(rep, nproc)
    ip = launch.get("main_process_ip", "127.0.0.1")
    if _whole(machines) and machines > 1 and isinstance(ip, str) and ip in _LOCALHOSTS:
        rep.warning("launch.main_process_ip", _("num_machines = {machines} but main_process_ip is {ip}: the other machines cannot reach it",
                                                machines=machines, ip=ip),
                    _("set main_process_ip to machine 0's address on the network (e.g. 10.0.0.1)"))
    _check_sharding(rep, preset, backend)
    missing = extras.backend_missing(backend)
    if missing:
        rep.error("launch.backend", *missing)
    offload = launch.get("offload", "none")
    if isinstance(offload, str) and offload != "none" and backend not in ("deepspeed", "fsdp"):
        rep.warning("launch.offload", _('offload = {offload} only applies with backend = "deepspeed" (or "fsdp"); backend is {backend}',
                                        offload=show(offload), backend=show(backend)),
                    _('set backend = "deepspeed", or offload = "none"'))
    if "zero_stage" in launch and backend not in ("deepspeed", "auto"):
        rep.notice("launch.zero_stage", _('zero_stage only applies with backend = "deepspeed"; backend is {backend}', backend=show(backend)),
                   _("remove zero_stage"))


def _check_process_count(rep: Report, nproc: int) -> None:
    """No more processes than the machine has GPUs (or, without GPUs, CPU cores): each is a full
    Python process with its own copy of the model, and a count in the thousands forks until the
    machine gives out. On a machine without GPUs a preset may be checked for a GPU machine
    (`hftui export`), so a count up to a GPU machine's size only warns until it is run here."""
    gpus = machine.visible_gpus()
    limit, _what = process_limit(gpus)
    if nproc <= limit:
        return
    if gpus:
        rep.error("launch.num_processes", _("num_processes = {count} but this machine has {gpus} visible GPU(s): at most {limit} process(es) here",
                                            count=nproc, gpus=len(gpus), limit=limit),
                  _('set num_processes = {limit} or "auto"', limit=limit))
    elif rep.for_run or nproc > max(limit, MAX_GPUS_PER_MACHINE):
        rep.error("launch.num_processes", _("num_processes = {count} but this machine has no GPU and {cpus} usable CPU core(s): "
                                            "at most {limit} process(es) here", count=nproc, cpus=limit, limit=limit),
                  _('set num_processes = {limit} or "auto"', limit=limit))
    else:
        rep.warning("launch.num_processes", _("num_processes = {count} but this machine has no GPU and {cpus} usable CPU core(s): "
                                              "at most {limit} process(es) here; a run on this machine is refused",
                                              count=nproc, cpus=limit, limit=limit),
                    _('set num_processes = {limit} or "auto", or run it on a machine with {count} GPUs', limit=limit, count=nproc))


def _check_sharding(rep: Report, preset: Preset, backend: object) -> None:
    args = preset.section("args")
    fsdp = args.get("fsdp")
    deepspeed = args.get("deepspeed")
    if backend == "deepspeed" and fsdp:
        rep.error("args.fsdp", _('backend = "deepspeed" and args.fsdp are both set: DeepSpeed and FSDP cannot shard the same model'),
                  _('remove args.fsdp, or use backend = "fsdp"'))
    elif deepspeed and fsdp:
        rep.error("args.fsdp", _("args.deepspeed and args.fsdp are both set: DeepSpeed and FSDP cannot shard the same model"), _("keep one of them"))
    if backend == "fsdp" and deepspeed:
        rep.error("args.deepspeed", _('backend = "fsdp" and args.deepspeed are both set'), _('remove args.deepspeed, or use backend = "deepspeed"'))


def check_output_dir(rep: Report, preset: Preset) -> None:
    raw = preset.get("args.output_dir")
    if raw is not None and not isinstance(raw, str):
        return  # reported as a type error
    if isinstance(raw, str) and not raw.strip():
        rep.error("args.output_dir", _("output_dir is empty"), _('write output_dir = "runs/my-run"'))
        return
    try:
        out = preset.output_dir()
    except (OSError, RuntimeError, ValueError):
        return
    key = "args.output_dir"
    if out.exists() and not out.is_dir():
        rep.error(key, _("output_dir {folder} is a file, not a folder", folder=out), _("choose a folder name (it is created when training starts)"))
        return
    probe = out
    while not probe.exists() and probe != probe.parent:
        if probe.is_symlink():  # a link to nowhere, or a loop of links: no folder can be made there
            rep.error(key, _("output_dir {folder} cannot be created: {link} is a symbolic link that leads nowhere "
                             "(its target is missing, or links point at each other)", folder=out, link=probe),
                      _("choose a real folder, or fix the link"))
            return
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        rep.error(key, _("output_dir {folder} is inside {file}, which is a file", folder=out, file=probe),
                  _("choose a folder name that is not below a file"))
    elif probe.exists() and not os.access(probe, os.W_OK | os.X_OK):
        rep.error(key, _("output_dir {folder} cannot be written: no write permission on {parent}", folder=out, parent=probe),
                  _("choose a folder you can write (e.g. under your home directory), or fix the permissions"))
    else:
        if out.is_dir():
            _check_contents(rep, preset, out.resolve())
        full = output_folder.space_problem(out) if probe.is_dir() else None
        if full:
            rep.error(key, *full)


def _check_contents(rep: Report, preset: Preset, out) -> None:
    """An output folder that already exists holds nothing of the person's, and (unless the run
    resumes) no earlier run's checkpoints; `start_run` refuses the latter, knowing --resume."""
    key = "args.output_dir"
    model = preset.get("model.name_or_path")
    if isinstance(model, str) and model.strip():
        try:
            same = preset.resolve(model).resolve() == out
        except (OSError, RuntimeError, ValueError):
            same = False
        if same:
            rep.error(key, _("output_dir {folder} is the model folder the run starts from (model.name_or_path): "
                             "training would overwrite that model", folder=out),
                      _('choose a new folder for the outputs, e.g. output_dir = "runs/my-run"'))
            return
    foreign = output_folder.foreign_problem(out)
    if foreign:
        rep.error(key, *foreign)
        return
    if not rep.for_run and preset.get("args.resume_from_checkpoint") is None:
        earlier = output_folder.earlier_run_problem(out)
        if earlier:
            rep.warning(key, *earlier)
