"""Which earlier run a `hftui run` replays: the one `--again RUN` names, or the one whose
folder holds the preset file given (`RUN_DIR/preset.toml`)."""

from __future__ import annotations

from pathlib import Path

from hftui.core.i18n import _
from hftui.core.run.folder import PRESET_FILE, RUN_FILE
from hftui.core.run.index import RunLookupError, find_run
from hftui.core.run.record import RecordError, RunRecord


class ReplayError(ValueError):
    """The command line names no preset to train, or a run that is not there."""


def run_of_preset(path: str | Path) -> RunRecord | None:
    """The run whose folder holds this preset file (its resolved preset), else None."""
    path = Path(path).expanduser()
    if path.name != PRESET_FILE or not (path.parent / RUN_FILE).is_file():
        return None
    try:
        return RunRecord.load(path.parent.resolve())
    except (RecordError, OSError):
        return None


def replayed_run(preset: str | None, again: str | None) -> RunRecord | None:
    """The run replayed (None for a preset of one's own); ReplayError when the arguments name
    no preset, both a preset and a run, or a run that is not there."""
    if again is None:
        if not preset:
            raise ReplayError(_("give a preset file to train (hftui run PRESET), or a run to train again (hftui run --again RUN)"))
        return run_of_preset(preset)
    if preset:
        raise ReplayError(_("give either a preset ({preset}) or --again {run}, not both", preset=preset, run=again))
    try:
        record = find_run(again)
    except RunLookupError as exc:
        known = ", ".join(r.id for r in exc.candidates[:5])
        raise ReplayError(exc.message + (" " + _("(recent runs: {runs})", runs=known) if known else "")) from None
    if not record.preset_file.is_file():
        raise ReplayError(_("run {id} has no preset to train again: {file} is gone", id=record.id, file=record.preset_file))
    return record
