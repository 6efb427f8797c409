"""`python -m hftui.core.run.supervise RUN_DIR`: start a run's training processes and see them end.

The supervisor is the run's session leader. It starts the launch argv (the worker, or torchrun
running the worker) in a process group of its own, waits, and writes the final status, exit code
and an error summary to `run.json`. Stopping is cooperative: the `stop` file asks the trainer
to save a checkpoint and end at the next step boundary; only when that has not happened within
the stop timeout is the training group killed. If the worker died without writing an `end`
event (killed, out of memory), the supervisor appends one, so readers always see an end.

The training processes die with the supervisor (see `liveness`): a supervisor killed outright
leaves nothing training that no one watches, and the run's record then reads failed.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from hftui.core.i18n import _
from hftui.core.run.events import EventTail, EventWriter
from hftui.core.run import folder
from hftui.core.run.folder import (
    COMPLETED,
    EXIT_CODES,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_STOPPED,
    FAILED,
    FINAL_STATUSES,
    RUNNING,
    STOPPED,
    STOPPING,
    exit_code_of,
)
from hftui.core.run import liveness
from hftui.core.run.liveness import process_start_time
from hftui.core.run.record import RunRecord, update_record
from hftui.core.run.redact import redact
from hftui.core.run.stop import ask_to_stop, group_alive, signal_group

DEFAULT_STOP_TIMEOUT = 300.0
KILL_GRACE_S = 10.0
POLL_S = 0.2
_ERROR_LINE = re.compile(r"^\s*([A-Za-z_][\w.]*(Error|Exception|Interrupt)|RuntimeError|torch\.\w+Error)\b.*")
# torchrun's report of the ranks that failed (torch.distributed.elastic's ChildFailedError)
_RANK_FAILURE = re.compile(r"^\s*rank\s*:\s*(\d+).*\n\s*exitcode\s*:\s*(-?\d+)", re.M)


def stop_timeout(record: RunRecord) -> float:
    env = os.environ.get("HFTUI_STOP_TIMEOUT")
    if env:
        with contextlib.suppress(ValueError):
            value = float(env)
            if value > 0:
                return value
    return float(record.stop_timeout or DEFAULT_STOP_TIMEOUT)


def say(message: str) -> None:
    """A line of the supervisor's own in the combined log."""
    print(f"[hftui] {message}", flush=True)


class Supervisor:
    def __init__(self, run_dir: Path):
        self.run_dir = Path(run_dir).resolve()
        self.record = RunRecord.load(self.run_dir)
        self.child: subprocess.Popen | None = None
        self.stop_seen: float | None = None
        self.term_sent: float | None = None
        self.killed_by_us = False
        self.tail = EventTail(self.record.events_path)
        self.last_step = 0
        self.end_event: dict | None = None

    # -- signals --------------------------------------------------------------------------------
    def install_signals(self) -> None:
        signal.signal(signal.SIGTERM, self._on_stop_signal)
        signal.signal(signal.SIGINT, self._on_stop_signal)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)

    def _on_stop_signal(self, signum, frame) -> None:
        with contextlib.suppress(OSError):
            ask_to_stop(self.run_dir)

    # -- the run --------------------------------------------------------------------------------
    def run(self) -> int:
        self.install_signals()
        started = time.time()
        stopping = self.record.stop_path.exists()
        self.record = update_record(
            self.run_dir, pid=os.getpid(), pid_start=process_start_time(os.getpid()), started=started,
            status=STOPPING if stopping else RUNNING,
        )
        if stopping:
            say(_("stop requested before the run started; not starting it"))
            return self.finish(None, started)
        env = dict(os.environ)
        env.update({k: str(v) for k, v in (self.record.launch_env or {}).items()})
        env["HFTUI_RUN_DIR"] = str(self.run_dir)
        env.setdefault("PYTHONUNBUFFERED", "1")
        too_many = too_many_processes(self.record.num_processes)
        if too_many:
            say(too_many)
            return self.finish(None, started, error=too_many)
        say(_("starting: {command}", command=" ".join(self.record.command)))
        try:
            self.child = subprocess.Popen(
                self.record.command, stdin=subprocess.DEVNULL, env=env, close_fds=True,
                cwd=self.record.output_dir if Path(self.record.output_dir).is_dir() else None,
                preexec_fn=liveness.die_with_parent_setup(os.getpid()),
            )
        except OSError as exc:
            say(_("could not start the training process: {error}", error=exc))
            return self.finish(None, started, error=_("could not start the training process: {error}", error=exc.strerror or exc))
        self.record = update_record(self.run_dir, pgid=self.child.pid, worker_pid=self.child.pid)
        rc = self.wait()
        self._clean_group()
        return self.finish(rc, started)

    def wait(self) -> int:
        assert self.child is not None
        limit = stop_timeout(self.record)
        next_tail = 0.0
        while True:
            rc = self.child.poll()
            if rc is not None:
                return rc
            now = time.time()
            if now >= next_tail:
                self._follow_events()
                next_tail = now + 1.0
            if self.stop_seen is None and self.record.stop_path.exists():
                self.stop_seen = now
                say(_("stop requested: waiting up to {limit} s for a checkpoint and a clean end", limit=f"{limit:g}"))
                with contextlib.suppress(OSError, ValueError):
                    current = RunRecord.load(self.run_dir)
                    if current.status == RUNNING:
                        self.record = update_record(self.run_dir, status=STOPPING)
            if self.stop_seen is not None and self.term_sent is None and now - self.stop_seen > limit:
                say(_("the run did not stop within {limit} s; terminating its processes", limit=f"{limit:g}"))
                self.term_sent = now
                self.killed_by_us = True
                signal_group(self.child.pid, signal.SIGTERM)
            if self.term_sent is not None and now - self.term_sent > KILL_GRACE_S:
                say(_("still running; killing its processes"))
                signal_group(self.child.pid, signal.SIGKILL)
                self.term_sent = now  # and again after another grace period, should it survive
            time.sleep(POLL_S)

    def _follow_events(self) -> None:
        result = self.tail.read()
        for event in result.events:
            if isinstance(event.get("step"), int):
                self.last_step = max(self.last_step, event["step"])
            if event.get("event") == "end":
                self.end_event = event

    def _clean_group(self) -> None:
        """Ranks left behind by a launcher that died get the same end as it did: its group, and
        any process still running on this run folder (torchrun's ranks sit in sessions of their
        own)."""
        if self.child is None:
            return
        left = lambda: group_alive(self.child.pid) or bool(liveness.run_processes(self.run_dir))  # noqa: E731
        if not left():
            return
        say(_("processes of the run are still there; ending them"))
        for sig in (signal.SIGTERM, signal.SIGKILL):
            signal_group(self.child.pid, sig)
            for pid in liveness.run_processes(self.run_dir):
                with contextlib.suppress(OSError):
                    os.kill(pid, sig)
            deadline = time.time() + KILL_GRACE_S
            while time.time() < deadline and left():
                time.sleep(POLL_S)
            if not left():
                return

    # -- the end --------------------------------------------------------------------------------
    def finish(self, rc: int | None, started: float, error: str | None = None) -> int:
        self._follow_events()
        stop_requested = self.record.stop_path.exists()
        end = self.end_event
        rank_killed = None if rc in (None, EXIT_OK) or self.record.num_processes * self.record.num_machines < 2 \
            else killed_rank(self.record.log_path)
        if rank_killed and not (stop_requested and self.killed_by_us):
            # a rank killed outright (the OOM killer): the others failed only for want of it
            status, exit_code, error = FAILED, 128 + rank_killed[1], _("rank {rank} was {how}", rank=rank_killed[0], how=killed_by(rank_killed[1]))
        elif rc is None:
            status = STOPPED if stop_requested and error is None else FAILED
            exit_code = exit_code_of(status)
        elif end is not None and end.get("status") in FINAL_STATUSES:
            # a launcher (torchrun) reports any rank's non-zero exit as 1: the end event knows better
            status = end["status"]
            error = end.get("error") or error
            if status == COMPLETED and rc != EXIT_OK:
                status = FAILED
                error = error or _("the training process exited with code {code}", code=rc)
            exit_code = EXIT_CODES[status] if status != FAILED else (rc if rc > 0 else 128 - rc)
        elif rc == EXIT_OK:
            status, exit_code = COMPLETED, EXIT_OK
        elif rc == EXIT_STOPPED:
            status, exit_code = STOPPED, EXIT_STOPPED
        elif rc < 0:
            sig = -rc
            exit_code = 128 + sig
            if stop_requested:
                status = STOPPED
                error = _("killed by signal {signal} after the stop request; the last checkpoint is kept", signal=sig)
            else:
                status = FAILED
                error = killed_by(sig)
                if self.record.num_processes * self.record.num_machines > 1:
                    error = _("the launcher (torchrun) was {how}; its ranks ended with it", how=error)
        else:
            status, exit_code = FAILED, rc
        if status == FAILED and not error:
            error = error_summary(self.record.log_path) or _("the training process exited with code {code}", code=rc)
        if error:
            error = redact(str(error))[:500]
        ended = time.time()
        if end is None:  # the end event before the final status: who sees the status sees the end
            writer = EventWriter(self.record.events_path)
            try:
                writer.write("end", step=self.last_step, status=status, error=error, best_metric=None,
                             best_checkpoint=None, output_dir=self.record.output_dir,
                             runtime=round(ended - started, 3))
            finally:
                writer.close()
        self.record = update_record(self.run_dir, status=status, exit_code=exit_code, ended=ended, error=error)
        if error and status != COMPLETED:
            say(_("run {id} {status}: {error}", id=self.record.id, status=folder.status_word(status), error=error))
        else:
            say(_("run {id} {status}", id=self.record.id, status=folder.status_word(status)))
        return exit_code_of(status)


def error_summary(log_path: Path, max_bytes: int = 65536) -> str | None:
    """The line of the log that says what went wrong (the exception line), else the last line."""
    try:
        with open(log_path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            fh.seek(max(0, size - max_bytes))
            text = fh.read().decode("utf-8", "replace")
    except OSError:
        return None
    lines = [ln.rstrip() for ln in text.splitlines() if ln.strip() and not ln.startswith("[hftui]")]
    for line in reversed(lines):
        if _ERROR_LINE.match(line):
            return line.strip()
    return lines[-1].strip() if lines else None


def killed_by(sig: int) -> str:
    """How a death by signal reads; SIGKILL unasked for is most often the kernel's OOM killer."""
    try:
        name = signal.Signals(sig).name
    except ValueError:
        return _("killed by signal {signal}", signal=sig)
    if sig == signal.SIGKILL:
        return _("killed by signal {signal} ({name}, out of memory?)", signal=sig, name=name)
    return _("killed by signal {signal} ({name})", signal=sig, name=name)


def killed_rank(log_path: Path, max_bytes: int = 65536) -> tuple[int, int] | None:
    """(rank, signal) of a rank that torchrun reports killed by a signal, from the log's end."""
    try:
        with open(log_path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            fh.seek(max(0, size - max_bytes))
            text = fh.read().decode("utf-8", "replace")
    except OSError:
        return None
    start = text.rfind("Failures:")  # the last report: its other failures, then the root cause
    if start < 0:
        return None
    report = text[start:]
    cause = _RANK_FAILURE.findall(report[report.find("Root Cause"):]) if "Root Cause" in report else []
    if not cause or int(cause[0][1]) >= 0:
        return None  # the first failure was an error of the rank's own: its message says more
    killed = [(int(rank), -int(code)) for rank, code in cause[:1] + _RANK_FAILURE.findall(report) if int(code) < 0]
    # torchrun ends the other ranks with SIGTERM once one has failed: they are not the cause
    return next((k for k in killed if k[1] != signal.SIGTERM), killed[0])


def too_many_processes(nproc: int | None) -> str | None:
    """Refuse a process count this machine cannot hold before forking any of them."""
    from hftui.core import gpu, launch

    try:
        gpus = gpu.detect()
    except Exception:
        gpus = []
    limit, what = launch.process_limit(gpus)
    if isinstance(nproc, int) and nproc > limit:
        return _("launch.num_processes = {count} but this machine has {what}: at most {limit} process(es)", count=nproc, what=what, limit=limit)
    return None


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) != 1:
        print("usage: python -m hftui.core.run.supervise RUN_DIR", file=sys.stderr)
        return EXIT_INVALID
    return Supervisor(Path(argv[0])).run()


if __name__ == "__main__":
    raise SystemExit(main())
