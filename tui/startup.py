"""Start-up timing: when the process began, and how long until the first frame.

`hftui.tui.cli` records its own start; this module's clock is the fallback when the app is
started some other way. `log_startup` appends one line per start to HFTUI_HOME/logs, so a slow
start can be compared against earlier ones.
"""

from __future__ import annotations

import os
import sys
import time

STARTED = time.perf_counter()

HEAVY_MODULES = ("torch", "transformers", "datasets", "trl", "peft", "accelerate", "deepspeed")


def elapsed_ms(started: float | None = None) -> float:
    return (time.perf_counter() - (STARTED if started is None else started)) * 1000.0


def heavy_imported() -> list[str]:
    """Heavy libraries already imported by this process (the first frame must not need any)."""
    return [name for name in HEAVY_MODULES if name in sys.modules]


def log_startup(started: float | None = None) -> str:
    """Write "started in N ms" to the start-up log; returns the line (never raises)."""
    ms = elapsed_ms(started)
    heavy = heavy_imported()
    line = f"started in {ms:.0f} ms" + (f" (heavy modules loaded: {', '.join(heavy)})" if heavy else "")
    try:
        from hftui.core.fsutil import ensure_private_dir, state_dir

        logs = ensure_private_dir(state_dir() / "logs")
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
        with open(logs / "startup.log", "a", encoding="utf-8") as handle:
            handle.write(f"{stamp} pid={os.getpid()} {line}\n")
    except OSError:
        pass
    return line
