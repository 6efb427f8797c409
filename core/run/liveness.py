"""Is a run's process still there? Answered from /proc, so that a reused pid or a zombie is never
taken for a live run.

Supervisors started by this process are kept here too and polled: a finished one never
lingers as a zombie.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

SUPERVISOR_MODULE = "hftui.core.run.supervise"

_CHILDREN: dict[int, subprocess.Popen] = {}


def adopt(proc: subprocess.Popen) -> None:
    """Remember a supervisor this process started, to reap it once it ends."""
    _CHILDREN[proc.pid] = proc


def child_ended(pid: int) -> bool | None:
    """Whether a supervisor this process started has ended; None for any other pid."""
    child = _CHILDREN.get(pid)
    if child is None:
        return None
    if child.poll() is not None:
        _CHILDREN.pop(pid, None)
        return True
    return False


def proc_stat(pid: int) -> tuple[str, str] | None:
    """(state, start time) of a process from /proc; None without /proc or the process."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    rest = raw[raw.rfind(")") + 2:].split()
    # after "pid (comm) ": state is field 3, starttime field 22
    try:
        return rest[0], rest[19]
    except IndexError:
        return None


def process_start_time(pid: int) -> str | None:
    stat = proc_stat(pid)
    return stat[1] if stat else None


def _cmdline(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return None


def _signalable(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def supervisor_alive(pid: int, start: str | None, run_dir: str) -> bool:
    """Is `pid` still the supervisor of `run_dir` (the same process, not a reused pid)?"""
    ended = child_ended(pid)
    if ended is not None:
        return not ended
    if not _signalable(pid):
        return False
    stat = proc_stat(pid)
    if stat is None:  # no /proc: the signal check is all we have
        return True
    state, proc_start = stat
    if state == "Z":
        return False
    if start:
        return proc_start == start
    cmdline = _cmdline(pid)
    if cmdline is None:
        return True
    return SUPERVISOR_MODULE in cmdline and run_dir in cmdline


def worker_alive(pid: int, run_dir: str) -> bool:
    """Is `pid` still a training process of `run_dir` (its command line names the folder)?"""
    if not _signalable(pid):
        return False
    stat = proc_stat(pid)
    if stat is None:
        return True
    if stat[0] == "Z":
        return False
    cmdline = _cmdline(pid)
    if cmdline is None:
        return True
    return run_dir in cmdline
