"""The slow parts of the review, as text: validation, the memory estimate, the launch command.

Each may read files or the option catalog, so the app calls them from thread workers; none
raises for a person's mistake, because the review must always draw. The engine's checks, launch
and estimate modules are imported in those workers, not before the wizard's first frame.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

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

        where = "this machine"
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
        return f"(no estimate: {type(exc).__name__}: {exc})"
    return estimate_lines(est, where if gpus else None)


def estimate_lines(est: dict, where: str | None) -> str:
    """`fit_for`'s answer as the review's lines."""
    size = f"about {est['per_gpu_gib']:.1f} GiB per GPU" if est.get("per_gpu_gib") is not None else "no estimate"
    if where is None:
        head = f"{size} (no GPU here: `hftui validate PRESET --for 4xA100-80GB` estimates a named machine)"
    else:
        fits = {True: "fits", False: "does NOT fit", None: "nothing to compare with"}[est.get("fits")]
        head = f"on {where}: {size}, {est.get('backend')}; {fits}"
    lines = [head]
    if est.get("offload") not in (None, "none"):
        lines.append(f"CPU offload ({est['offload']}): several times slower than keeping everything on the GPU")
    lines += [r for r in est.get("reasons", []) if not r.startswith("estimate:")]
    return "\n".join(lines)


def launch_text(preset: Preset, gpus: list) -> str:
    """The command a run would start here and why; the run folder does not exist yet."""
    from hftui.core.launch import render_command, resolve_launch

    try:
        with tempfile.TemporaryDirectory(prefix="hftui-review-") as tmp:
            launch = resolve_launch(preset, Path(tmp), gpus=gpus)
            command = render_command(launch).replace(tmp, RUN_DIR_SHOWN)
        return f"{command}\n({launch.backend}, {launch.num_processes} process(es) × {launch.num_machines} machine(s): {launch.reason})"
    except PresetError as exc:
        return "; ".join(p.message for p in exc.problems)
    except Exception as exc:  # a launch that cannot be worked out is a review line, not a crash
        return f"(no launch command: {type(exc).__name__}: {exc})"
