"""How a run's figures and a person's text read on screen: durations, sizes, numbers, status
labels, and names, keys and paths with their control characters shown escaped (`printable`).

Every run view (the live pane, its widgets, the headless display) formats through here, so the
same figure reads the same everywhere, and no text from a preset or a run reaches the terminal raw.
"""

from __future__ import annotations

import math

from rich.markup import escape

from hftui.core.i18n import N_, _
from hftui.core.printable import printable
from hftui.core.run.figures import EVALUATING, SAVING
from hftui.core.run import folder
from hftui.core.run.folder import COMPLETED, FAILED, MISSING, RUNNING, STARTING, STOPPED, STOPPING

# A status as a person reads it in a sentence: the run's statuses (core/run/folder) and the
# phases the live pane shows between them.
STATUS_WORDS = {**folder.STATUS_WORDS, EVALUATING: N_("evaluating"), SAVING: N_("saving")}
# A status on a badge, where it reads otherwise than in a sentence.
STATUS_LABELS = {COMPLETED: N_("done")}
# The colour of a status word, in every list and report.
STATUS_STYLE = {
    STARTING: "cyan", RUNNING: "green", EVALUATING: "green", SAVING: "green", STOPPING: "yellow",
    COMPLETED: "bright_green", STOPPED: "yellow", FAILED: "red", MISSING: "dim",
}


__all__ = ["STATUS_LABELS", "STATUS_STYLE", "STATUS_WORDS", "fmt_bytes", "fmt_duration", "fmt_number", "fmt_short",
           "printable", "shown", "status_label", "status_word"]


def shown(text) -> str:
    """User text for Rich markup: control characters escaped, then square brackets escaped."""
    return escape(printable(text))


def status_word(status: str) -> str:
    """A status as a sentence says it, in the reader's language (an unknown one as it is)."""
    return _(STATUS_WORDS[status]) if status in STATUS_WORDS else status


def status_label(status: str) -> str:
    """A status on a badge: `completed` reads `done`; every other status reads as its word."""
    return _(STATUS_LABELS[status]) if status in STATUS_LABELS else status_word(status)


def fmt_duration(seconds: float | None) -> str:
    """`1h02m`, `3m05s`, `12s`; `—` when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return "—"
    seconds = int(round(max(0.0, seconds)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    if h:
        return f"{h}h{m:02d}m"
    if m:
        return f"{m}m{s:02d}s"
    return f"{s}s"


def fmt_bytes(value: float | None) -> str:
    if value is None:
        return "—"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.1f} {unit}" if unit != "B" else f"{int(value)} B"
        value /= 1024
    return f"{value:.1f} TiB"


def fmt_number(value: float | None) -> str:
    """Compact, readable numbers for losses, rates and learning rates."""
    if value is None:
        return "—"
    if not math.isfinite(value):
        return str(value)
    if value == 0:
        return "0"
    mag = abs(value)
    if mag >= 1e5 or mag < 1e-3:
        return f"{value:.3g}"
    if mag >= 100:
        return f"{value:.1f}"
    return f"{value:.4g}"


def fmt_short(value: float | None) -> str:
    """A number in at most four significant digits, for one-line progress reports."""
    if value is None:
        return "—"
    if value == 0:
        return "0"
    if abs(value) >= 1e4 or abs(value) < 1e-3:
        return f"{value:.3g}"
    return f"{value:.4g}"


def goes_on(run_id: str) -> str:
    """What the terminal says when hftui closes on a run that still trains: it goes on, and how
    to come back to it or stop it (the wizard and `hftui attach` both say it)."""
    return _("The run {run_id} goes on in the background. Come back to it with `hftui attach {run_id}`; "
             "stop it with `hftui stop {run_id}`.", run_id=run_id)
