"""What a run says before its worker exists: the first lines of its events and its log.

A preset that uploads with the person's own Hugging Face token must say so where the run is
watched, and so must `backend = "auto"` when it chose CPU offload (several times slower), (the headless display prints notice events, the live pane shows the log), and before
any model is loaded, so there is time to stop it. The start path writes these lines into the new
run folder before it starts the supervisor, so nothing else writes to the files at that moment.
"""

from __future__ import annotations

import json
from pathlib import Path

from hftui.core.checks.secrets import hub_upload_message
from hftui.core.i18n import _
from hftui.core.run.events import EventWriter
from hftui.core.run.folder import DS_CONFIG_FILE


def opening_notices(preset, run_dir=None, backend: str | None = None) -> list[str]:
    """The warnings a run of `preset` (the resolved preset it will train) opens with; `run_dir`
    and `backend` are the launch's, to tell an offload `auto` chose."""
    notices = []
    upload = hub_upload_message(preset)
    if upload:
        notices.append(_("warning: {message}", message=upload))
    offload = auto_offload(preset, run_dir, backend)
    if offload:
        notices.append(_("warning: {message}", message=offload))
    return notices


def auto_offload(preset, run_dir, backend: str | None) -> str | None:
    """The sentence for a CPU offload that `backend = "auto"` chose (None when it chose none)."""
    if preset.get("launch.backend", "auto") != "auto" or backend != "deepspeed" or run_dir is None:
        return None
    try:
        zero = json.loads((Path(run_dir) / DS_CONFIG_FILE).read_text(encoding="utf-8")).get("zero_optimization", {})
    except (OSError, ValueError, AttributeError):
        return None
    params, optimizer = "offload_param" in zero, "offload_optimizer" in zero
    if not (params or optimizer):
        return None
    if params and optimizer:
        moved = _("the weights and the optimizer state live in CPU memory")
    elif params:
        moved = _("the weights live in CPU memory")
    else:
        moved = _("the optimizer state live in CPU memory")
    return _("backend = auto chose DeepSpeed ZeRO-{stage} with CPU offload: {moved}, "
             "several times slower than on the GPU, because the model does not fit the GPUs otherwise; "
             "set launch.backend (and launch.offload) to choose yourself", stage=zero.get("stage"), moved=moved)


def announce(record, preset) -> None:
    """Write the opening notices as `notice` events and as log lines of the run."""
    notices = opening_notices(preset, getattr(record, "run_dir", None), getattr(record, "backend", None))
    if not notices:
        return
    writer = EventWriter(record.events_path)
    try:
        for message in notices:
            writer.write("notice", 0, message=message)
    finally:
        writer.close()
    with open(record.log_path, "a", encoding="utf-8") as log:
        log.writelines(f"hftui: {message}\n" for message in notices)
