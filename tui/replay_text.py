"""Before a replay starts: what differs from the environment the earlier run ran in, in a few
lines (the run starts all the same: a newer library is often the point of a replay)."""

from __future__ import annotations

from hftui.core.run import env_facts, environment
from hftui.tui.format import printable

SHOWN = 12  # differences listed before "and N more"


def environment_now(replayed, preset, console) -> dict:
    """Collect this environment for `preset`, print how it differs from the one `replayed` ran
    in, and return it (the new run records it as is)."""
    now = environment.collect(preset)
    recorded = environment.read(replayed.run_dir)
    who = f"run {printable(replayed.id)}"
    if recorded is None:
        console.print(f"replaying {who}: it has no environment record, so nothing to compare with", style="dim", markup=False)
        return now
    changes = env_facts.differences(recorded, now)
    if not changes:
        console.print(f"replaying {who} in the environment it ran in (same versions, GPUs, data and seed)", markup=False)
        return now
    console.print(f"replaying {who} in a different environment ({len(changes)} difference{'s' if len(changes) > 1 else ''}):",
                  style="yellow", markup=False)
    width = max(len(label) for label, _, _ in changes[:SHOWN])
    for label, then, here in changes[:SHOWN]:
        console.print(f"  {printable(label):<{width}}  {printable(then)} → {printable(here)}", markup=False)
    if len(changes) > SHOWN:
        console.print(f"  and {len(changes) - SHOWN} more", markup=False)
    return now
