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


def memory_text(preset: Preset) -> str:
    from hftui.core.train.memory_estimate import estimate

    try:
        return estimate(preset).text
    except PresetError as exc:
        return "; ".join(p.message for p in exc.problems)
    except Exception as exc:  # an estimate is advice: never let it break the review
        return f"(no estimate: {type(exc).__name__}: {exc})"


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
