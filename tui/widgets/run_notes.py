"""What the live pane says under the charts: what became of the run folder, and what the run's
`notice` events say.

The newest few remarks (a memory warning, a skipped incomplete checkpoint, an upload that will
happen), and, while the run has not started training, how its Hub downloads go: of the
download notices only the newest counts. "no GPU" is left to the GPU panel, which says it.
"""

from __future__ import annotations

from hftui.core.i18n import _
from hftui.core.run.folder import EVENTS_FILE, STARTING
from hftui.core.run.follow import Follower
from hftui.core.run.redact import redact
from hftui.core.run.state import RunState

SHOWN = 3  # remarks shown at most, newest last


def run_notes(state: RunState, shown: int = SHOWN) -> list[str]:
    """The lines to show for the run's notices, oldest first."""
    remarks: list[str] = []
    download = None
    for message in state.notices:
        kind = state.notice_kinds.get(message)
        if kind == "download":
            download = message
        elif kind is None:
            remarks.append(message)
    lines = [redact(m) for m in remarks[-shown:]] if shown > 0 else []
    if download is not None and state.status == STARTING:
        lines.append(f"⇣ {download}")
    return lines


def folder_notes(follower: Follower, state: RunState) -> list[str]:
    """A run folder deleted, missing or still empty, and the garbled lines of its events file."""
    notes = []
    run_dir = follower.run_dir
    if follower.gone and (follower.seen_dir or state.events_seen):
        notes.append(_("the run folder {path} was deleted; showing what was read before it went", path=run_dir))
        if not state.finished:
            notes.append(_("if it still trains, 'hftui runs' lists it and 'hftui stop {name}' stops it",
                           name=run_dir.name))
    elif follower.gone:
        notes.append(_("there is no run folder {path}", path=run_dir))
    elif follower.waiting and not state.events_seen:
        notes.append(_("waiting for the run to write its first events…"))
    if state.bad_lines:
        n = state.bad_lines
        notes.append(_("{count} garbled line in {file} skipped", count=n, file=EVENTS_FILE) if n == 1
                     else _("{count} garbled lines in {file} skipped", count=n, file=EVENTS_FILE))
    return notes
