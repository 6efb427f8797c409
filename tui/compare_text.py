"""How a comparison of runs reads, in `hftui compare` and in the compare view alike: the run
columns' letters, preset values as a person wrote them, figures, and the mark of the best."""

from __future__ import annotations

import json
from typing import Any

from hftui.core.i18n import N_, _
from hftui.core.run.compare import UNSET
from hftui.tui.format import fmt_duration, fmt_number, printable

BEST = N_("(best)")  # shown as _(BEST)


def column_name(i: int) -> str:
    """The letter of the i-th run compared (A, B, ...)."""
    return chr(ord("A") + i) if i < 26 else f"#{i + 1}"


def shown_value(value: Any) -> str:
    """A preset value as a person writes it in TOML (a string without quotes)."""
    if value is UNSET:
        return "—"
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return _("(none)")
    if isinstance(value, float):
        return f"{value:g}"
    return printable(json.dumps(value, default=str))


def shown_figure(row, value: float | None) -> str:
    """One figure of a metrics row: steps whole, a long runtime as a duration."""
    if value is None:
        return "—"
    if row.key == "steps":
        return str(int(value))
    if row.key == "runtime" and value >= 60:
        return fmt_duration(value)
    return fmt_number(value)
