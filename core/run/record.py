"""`run.json`: the record of one run, the truth about it that every command and view reads.

The supervisor and the commands both change it, so every read-modify-write happens under the
run folder's lock. A record that claims to be active while its processes are gone is corrected
on the next look (`refresh`): such a run failed, and its events get the end they never wrote.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from hftui.core.fsutil import atomic_write_text
from hftui.core.run import liveness
from hftui.core.run.events import EventWriter, last_end_event, last_progress
from hftui.core.run.folder import (
    ACTIVE_STATUSES,
    EVENTS_FILE,
    FAILED,
    FINAL_STATUSES,
    LOCK_FILE,
    LOG_FILE,
    PRESET_FILE,
    RUN_FILE,
    STARTING,
    STOP_FILE,
)
from hftui.core.run.redact import is_secret_name, redact

VANISHED = "the run's processes vanished"
# A run whose supervisor has not reported its pid yet is given this long before it counts as gone.
STARTING_GRACE_S = 60.0


@dataclass
class RunRecord:
    id: str
    name: str
    preset_path: str | None
    run_dir: Path
    output_dir: str
    host: str = ""
    pid: int | None = None  # the supervisor (session leader)
    pgid: int | None = None  # the training processes' group
    command: list[str] = field(default_factory=list)
    status: str = STARTING
    created: float = 0.0
    started: float | None = None
    ended: float | None = None
    exit_code: int | None = None
    resume_from: str | None = None
    backend: str = "single"
    num_processes: int = 1
    num_machines: int = 1
    max_steps: int | None = None
    error: str | None = None
    trust_remote_code_allowed: bool = False  # consent given with --trust-remote-code (read by the worker)
    # Not in run.json's contract, but kept there: what the supervisor needs to start the worker.
    launch_env: dict = field(default_factory=dict)
    stop_timeout: float | None = None
    worker_pid: int | None = None
    pid_start: str | None = None  # /proc start time of `pid`, to tell it from a reused pid
    missing: bool = False  # listed in the index but its folder is gone

    # -- paths ----------------------------------------------------------------------------------
    @property
    def events_path(self) -> Path:
        return self.run_dir / EVENTS_FILE

    @property
    def log_path(self) -> Path:
        return self.run_dir / LOG_FILE

    @property
    def preset_file(self) -> Path:
        return self.run_dir / PRESET_FILE

    @property
    def stop_path(self) -> Path:
        return self.run_dir / STOP_FILE

    @property
    def record_path(self) -> Path:
        return self.run_dir / RUN_FILE

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def stop_requested(self) -> bool:
        return self.stop_path.exists()

    # -- loading and saving ---------------------------------------------------------------------
    @classmethod
    def load(cls, run_dir: str | Path) -> "RunRecord":
        run_dir = Path(run_dir)
        data = json.loads((run_dir / RUN_FILE).read_text(encoding="utf-8"))
        return cls.from_dict(data, run_dir)

    @classmethod
    def from_dict(cls, data: dict, run_dir: Path | None = None) -> "RunRecord":
        names = {f.name for f in dataclasses.fields(cls)} - {"missing"}
        values = {k: v for k, v in data.items() if k in names}
        values["run_dir"] = Path(run_dir if run_dir is not None else data.get("run_dir", "."))
        values.setdefault("id", values["run_dir"].name)
        values.setdefault("name", values["id"])
        values.setdefault("preset_path", None)
        values.setdefault("output_dir", str(values["run_dir"].parent.parent))
        return cls(**values)

    def to_dict(self) -> dict:
        data = dataclasses.asdict(self)
        data.pop("missing", None)
        data["run_dir"] = str(self.run_dir)
        data["launch_env"] = {k: v for k, v in (self.launch_env or {}).items() if not is_secret_name(k)}
        return data

    def save(self) -> None:
        atomic_write_text(self.record_path, redact(json.dumps(self.to_dict(), indent=2)) + "\n", mode=0o600)

    def reload(self) -> "RunRecord":
        try:
            fresh = RunRecord.load(self.run_dir)
        except (OSError, ValueError):
            return self
        for f in dataclasses.fields(self):
            if f.name != "missing":
                setattr(self, f.name, getattr(fresh, f.name))
        return self

    # -- liveness -------------------------------------------------------------------------------
    def is_alive(self) -> bool:
        """Is this run's supervisor still running (the same process, not a reused pid)?"""
        if self.host and self.host != socket.gethostname():
            return self.is_active  # cannot see another machine's processes; trust the record
        if not self.pid:
            return False
        return liveness.supervisor_alive(self.pid, self.pid_start, str(self.run_dir))

    def workers_alive(self) -> bool:
        """Is the training process (the worker, or the launcher of the ranks) still there?"""
        pid = self.worker_pid or self.pgid
        if not pid:
            return False
        return liveness.worker_alive(pid, str(self.run_dir))

    def _vanished(self) -> bool:
        if not self.is_active or self.is_alive():
            return False
        if self.pid is None and time.time() - (self.created or 0) < STARTING_GRACE_S:
            return False  # the supervisor has not written its pid yet
        if self.host == socket.gethostname() and self.workers_alive():
            return False  # the supervisor died but training goes on: still busy, still stoppable
        return True

    def refresh(self) -> "RunRecord":
        """Re-read run.json; a run that claims to be active but whose processes are gone failed."""
        self.reload()
        if not self._vanished():
            return self
        with record_lock(self.run_dir):
            self.reload()
            if self._vanished():
                end = last_end_event(self.events_path)
                if end is not None and end.get("status") in FINAL_STATUSES:
                    self.status, self.error = end["status"], end.get("error")
                else:
                    self.status, self.error = FAILED, VANISHED
                self.ended = self.ended or time.time()
                try:
                    self.save()
                    if end is None:  # readers always see an end
                        _append_end(self, self.status, self.error)
                except OSError:
                    pass
        return self


def _append_end(run: RunRecord, status: str, error: str | None) -> None:
    step, _ = last_progress(run.events_path, run.max_steps)
    writer = EventWriter(run.events_path)
    try:
        writer.write("end", step=step or 0, status=status, error=error, best_metric=None, best_checkpoint=None,
                     output_dir=run.output_dir,
                     runtime=round(time.time() - run.started, 3) if run.started else None)
    finally:
        writer.close()


@contextlib.contextmanager
def record_lock(run_dir: str | Path) -> Iterator[None]:
    """Serialise read-modify-write of run.json between the supervisor and the commands."""
    try:
        fh = open(Path(run_dir) / LOCK_FILE, "a")
    except OSError:
        yield
        return
    try:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield
    finally:
        try:
            fcntl.flock(fh, fcntl.LOCK_UN)
        finally:
            fh.close()


def update_record(run_dir: str | Path, **changes: Any) -> RunRecord:
    """Change some fields of run.json atomically and under the record lock."""
    run_dir = Path(run_dir)
    with record_lock(run_dir):
        record = RunRecord.load(run_dir)
        for key, value in changes.items():
            setattr(record, key, value)
        record.save()
    return record
