"""Is a run's process still there? Answered from /proc, so that a reused pid or a zombie is never
taken for a live run.

Supervisors started by this process are kept here too and polled: a finished one never
lingers as a zombie.

Every process of a run dies with the one that started it (Linux's parent-death signal): the
worker or torchrun with the supervisor, each rank with torchrun. torchrun starts every rank in
a session of its own, out of reach of any process group signal, so without this a killed
supervisor or launcher (SIGKILL, the OOM killer) would leave ranks training unseen. What is
left anyway (another kernel, a rank that escaped) is found by its command line, which names the
run folder.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

SUPERVISOR_MODULE = "hftui.core.run.supervise"
OUR_MODULES = "hftui.core."  # every process of a run runs one of these modules on the run folder
_PR_SET_PDEATHSIG = 1

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


# -- dying with the parent ------------------------------------------------------------------------
def _prctl():
    """libc's prctl, or None where there is none (not Linux)."""
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl
    except (ImportError, OSError, AttributeError):
        return None


def die_with_parent_setup(parent: int):
    """A `preexec_fn` for Popen: the child is killed when `parent` (the caller) dies.

    libc is looked up here, before the fork; the child only calls it. Should the parent have
    died between the fork and the call, the child ends itself at once.
    """
    prctl = _prctl()

    def setup() -> None:
        os.setpgrp()  # the training processes' own group, for a stop that has to kill
        if prctl is not None:
            prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)

    return setup


def die_with_launcher(run_dir: str | Path) -> bool:
    """In a training process of a run: be killed when the process that started it dies.

    Only inside a run (the supervisor sets HFTUI_RUN_DIR); a worker started by hand keeps the
    usual rules. Returns whether the death signal is set. A parent that is no longer a process
    of this run (it died before the call, the rank was handed to init) ends this one now.
    """
    run_dir = str(run_dir)
    inside = os.environ.get("HFTUI_RUN_DIR")
    if not inside or os.path.realpath(inside) != os.path.realpath(run_dir):
        return False
    prctl = _prctl()
    if prctl is None or prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        return False
    if not _runs(_argv(os.getppid()), run_dir):
        os.kill(os.getpid(), signal.SIGKILL)
    return True


# -- what is left of a run ------------------------------------------------------------------------
def _argv(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode("utf-8", "replace") for part in raw.split(b"\0") if part]


def _runs(argv: list[str], run_dir: str) -> bool:
    """Does this command line run one of our modules on `run_dir`?"""
    if not any(a.startswith(OUR_MODULES) for a in argv):
        return False
    real = os.path.realpath(run_dir)
    return any(a == run_dir or (a.startswith("/") and os.path.realpath(a) == real) for a in argv)


def _live_pids() -> list[int]:
    try:
        names = os.listdir("/proc")
    except OSError:
        return []
    return [int(n) for n in names if n.isdigit()]


def run_processes(run_dir: str | Path) -> list[int]:
    """The live training processes of this machine (launcher, ranks) running our code on
    `run_dir`, this process excepted; empty without /proc. The supervisor is not among them: it
    trains nothing, and once the record is final it is only writing its last lines."""
    run_dir = str(run_dir)
    return processes_of_runs(Path(run_dir).parent).get(Path(run_dir).name, [])


def processes_of_runs(runs_root: str | Path) -> dict[str, list[int]]:
    """{run id: pids} of the live training processes running our code on any run folder in
    `runs_root` (an output folder's `.hftui`)."""
    root = str(runs_root).rstrip("/") + "/"
    found: dict[str, list[int]] = {}
    me = os.getpid()
    for pid in _live_pids():
        if pid == me:
            continue
        argv = _argv(pid)
        if SUPERVISOR_MODULE in argv or not any(a.startswith(OUR_MODULES) for a in argv):
            continue
        folders = {a for a in argv if a.startswith(root) and "/" not in a[len(root):]}
        if not folders:
            continue
        stat = proc_stat(pid)
        if stat is None or stat[0] in ("Z", "X"):
            continue
        for folder in folders:
            found.setdefault(folder[len(root):], []).append(pid)
    return found
