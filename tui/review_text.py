"""The slow parts of the review, as text: validation, the memory estimate, the launch command.

Each may read files or the option catalog, so the app calls them from thread workers; none
raises for a person's mistake, because the review must always draw. The engine's checks, launch
and estimate modules are imported in those workers, not before the wizard's first frame.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hftui.core.i18n import _
from hftui.core.preset import Preset
from hftui.core.problems import PresetError, Problem

RUN_DIR_SHOWN = "<run dir>"


def run_validation(preset: Preset) -> list[Problem]:
    """Every problem core validation finds, whether it reports them or raises them."""
    from hftui.core.checks import validate

    try:
        return list(validate(preset))
    except PresetError as exc:
        return list(exc.problems)


def memory_text(preset: Preset, target: str | None = None, gpus: list | None = None) -> str:
    """The estimate for this machine's GPUs, or for `target` (a machine named like
    `4xA100-80GB`): per-GPU memory, the backend `auto` picks there, any CPU offload (said
    out loud: it is several times slower), whether it fits, and the settings behind it."""
    try:
        from hftui.core.checks.machine import fit_for, visible_gpus

        where = _("this machine")
        if target:
            from hftui.core.gpus import UnknownMachine, machine_gpus

            try:
                gpus, where = machine_gpus(target), target
            except UnknownMachine as exc:
                return str(exc)
        gpus = visible_gpus() if gpus is None else gpus
        est = fit_for(preset, gpus)
    except PresetError as exc:
        return "; ".join(p.message for p in exc.problems)
    except Exception as exc:  # an estimate is advice: never let it break the review
        return _("(no estimate: {kind}: {error})", kind=type(exc).__name__, error=exc)
    return estimate_lines(est, where if gpus else None)


def estimate_lines(est: dict, where: str | None) -> str:
    """`fit_for`'s answer as the review's lines."""
    from hftui.core.train.memory_estimate import GiB, human  # sizes read as everywhere (a tiny model is not 0.0 GiB)

    gib = est.get("per_gpu_gib")
    if where is None:  # no GPU here: the figure is for each process, in CPU memory
        size = _("about {size} per process", size=human(gib * GiB)) if gib is not None else _("no estimate")
        head = _("{size} (no GPU here: `hftui validate PRESET --for 4xA100-80GB` estimates a named machine)", size=size)
    else:
        size = _("about {size} per GPU", size=human(gib * GiB)) if gib is not None else _("no estimate")
        fits = {True: _("fits"), False: _("does NOT fit"), None: _("nothing to compare with")}[est.get("fits")]
        head = _("on {where}: {size}, {backend}; {fits}", where=where, size=size, backend=est.get("backend"), fits=fits)
    lines = [head]
    if est.get("offload") not in (None, "none"):
        lines.append(_("CPU offload ({offload}): several times slower than keeping everything on the GPU", offload=est["offload"]))
    estimate = _("estimate: {text}", text="")  # the figure's own line, said above in other words
    lines += [r for r in est.get("reasons", []) if not r.startswith(estimate)]
    return "\n".join(lines)


def launch_text(preset: Preset, gpus: list) -> str:
    """The command a run would start here and why; the run folder does not exist yet."""
    from hftui.core.launch import render_command, resolve_launch

    try:
        with tempfile.TemporaryDirectory(prefix="hftui-review-") as tmp:
            launch = resolve_launch(preset, Path(tmp), gpus=gpus)
            command = render_command(launch).replace(tmp, RUN_DIR_SHOWN)
    except PresetError as exc:
        return "; ".join(p.message for p in exc.problems)
    except Exception as exc:  # a launch that cannot be worked out is a review line, not a crash
        return _("(no launch command: {kind}: {error})", kind=type(exc).__name__, error=exc)
    if not gpus and launch.backend == "single":  # "single" says nothing on a CPU: say where it runs
        if preset.get("launch.backend", "auto") == "auto":
            return f"{command}\n({launch.reason})"
        return command + "\n" + _("(one process on the CPU: {reason})", reason=launch.reason)
    return command + "\n" + _("({backend}, {processes} process(es) × {machines} machine(s): {reason})",
                                backend=launch.backend, processes=launch.num_processes, machines=launch.num_machines,
                                reason=launch.reason)
