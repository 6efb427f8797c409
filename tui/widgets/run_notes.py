"""What a run's `notice` events say, as the live pane shows them under the charts.

The newest few remarks (a memory warning, a skipped incomplete checkpoint, an upload that will
happen), and, while the run has not started training, how its Hub downloads go: of the
download notices only the newest counts. "no GPU" is left to the GPU panel, which says it.
"""

from __future__ import annotations

from hftui.core.run.folder import STARTING
from hftui.core.run.redact import redact
from hftui.core.run.state import RunState
from hftui.core.run.events import DOWNLOADED, DOWNLOADING

SHOWN = 3  # remarks shown at most, newest last


def _is_download(message: str) -> bool:
    return message.startswith((DOWNLOADING, DOWNLOADED))


def run_notes(state: RunState, shown: int = SHOWN) -> list[str]:
    """The lines to show for the run's notices, oldest first."""
    remarks: list[str] = []
    download = None
    for message in state.notices:
        if _is_download(message):
            download = message
        elif not message.lower().startswith("no gpu"):
            remarks.append(message)
    lines = [redact(m) for m in remarks[-shown:]] if shown > 0 else []
    if download is not None and state.status == STARTING:
        lines.append(f"⇣ {download}")
    return lines
