"""How a run's speed reads on screen: its throughput (tokens/s, marked when estimated) and MFU, the
same on the live pane and in the headless display."""

from __future__ import annotations

from hftui.core.i18n import N_, _
from hftui.tui.format import fmt_number

ESTIMATED = N_("est.")  # after a tokens/s computed from samples x row length rather than counted


def fmt_rate(value: float) -> str:
    """12345.6 -> "12,346"; small rates keep their digits ("3.512")."""
    return f"{value:,.0f}" if abs(value) >= 100 else fmt_number(value)


def speed_parts(state) -> list[str]:
    """["12,346 tokens/s", "MFU 21.4%"]; ["~812 tokens/s (est.)"] on a CPU; [] with no rate yet."""
    rate = state.throughput()
    if not rate:
        return []
    return _parts(rate[0], rate[1], state.tokens_estimated, state.mfu)


def event_speed_parts(event: dict) -> list[str]:
    """The same for one `log` event, from its own fields (tokens/s, else samples/s)."""
    for key, unit in (("tokens_per_second", "tokens/s"), ("samples_per_second", "samples/s")):
        value = event.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
            mfu = event.get("mfu")
            mfu = mfu if isinstance(mfu, (int, float)) and not isinstance(mfu, bool) and mfu > 0 else None
            return _parts(value, unit, event.get("tokens_estimated") is True, mfu)
    return []


def _parts(value: float, unit: str, estimated: bool, mfu: float | None) -> list[str]:
    text = f"{fmt_rate(value)} {unit}"
    if unit == "tokens/s" and estimated:
        text = f"~{text} ({_(ESTIMATED)})"
    return [text] + ([f"MFU {mfu:.1%}"] if mfu is not None else [])
