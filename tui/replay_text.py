"""Before a replay starts: what differs from the environment the earlier run ran in, in a few
lines (the run starts all the same: a newer library is often the point of a replay)."""

from __future__ import annotations

from rich.cells import cell_len

from hftui.core.i18n import _
from hftui.core.run import env_facts, environment
from hftui.tui.format import printable

SHOWN = 12  # differences listed before "and N more"


def environment_now(replayed, preset, console) -> dict:
    """Collect this environment for `preset`, print how it differs from the one `replayed` ran
    in, and return it (the new run records it as is)."""
    now = environment.collect(preset)
    recorded = environment.read(replayed.run_dir)
    run = printable(replayed.id)
    if recorded is None:
        console.print(_("replaying run {id}: it has no environment record, so nothing to compare with", id=run),
                      style="dim", markup=False)
        return now
    changes = env_facts.differences(recorded, now)
    if not changes:
        console.print(_("replaying run {id} in the environment it ran in (same versions, GPUs, data and seed)", id=run),
                      markup=False)
        return now
    heading = (_("replaying run {id} in a different environment (1 difference):", id=run) if len(changes) == 1 else
               _("replaying run {id} in a different environment ({count} differences):", id=run, count=len(changes)))
    console.print(heading, style="yellow", markup=False)
    width = max(cell_len(printable(label)) for label, _then, _now in changes[:SHOWN])
    for label, then, here in changes[:SHOWN]:
        pad = " " * (width - cell_len(printable(label)))
        console.print(f"  {printable(label)}{pad}  {printable(then)} → {printable(here)}", markup=False)
    if len(changes) > SHOWN:
        console.print("  " + _("and {count} more", count=len(changes) - SHOWN), markup=False)
    return now
