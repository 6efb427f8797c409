"""`run.json`: the record of one run, the truth about it that every command and view reads.

The supervisor and the commands both change it, so every read-modify-write happens under the
run folder's lock. A record that claims to be active while its processes are gone is corrected
on the next look (`refresh`): such a run failed, and its events get the end they never wrote.

A record is read with every field checked against its type: a damaged or forged run.json
(`"pid": "abc"`, a list, a file cut short) raises `RecordError`, which names the file, so that
the run is shown as broken instead of breaking every command that lists runs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import functools
import json
import math
import socket
import stat
import time
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from hftui.core.fsutil import atomic_write_text
from hftui.core.i18n import N_, _
from hftui.core.run import liveness
from hftui.core.run.events import EventWriter, last_end_event, last_progress
from hftui.core.run.folder import (
    ACTIVE_STATUSES,
    BROKEN,
    DELETED,
    EVENTS_FILE,
    FAILED,
    FINAL_STATUSES,
    LOCK_FILE,
    LOG_FILE,
    MISSING,
    PRESET_FILE,
    RUN_FILE,
    RUNNING,
    STARTING,
    STOP_FILE,
)
from hftui.core.run.redact import is_secret_name, redact_record

VANISHED = N_("the run's processes vanished")  # the error of a run whose processes are gone
# A run whose supervisor has not reported its pid yet is given this long before it counts as gone.
STARTING_GRACE_S = 60.0
RECORD_MAX_BYTES = 4 << 20  # a run.json is a few hundred bytes; a bigger one is not ours
_PID_FIELDS = ("pid", "pgid", "worker_pid")  # a process id is above 1 (0, -1 and 1 would signal far too much)
PID_LIMIT = 1 << 22  # Linux's largest pid_max
_TIME_FIELDS = ("created", "started", "ended")  # unix seconds, shown as dates
TIME_LIMIT = 1e11  # the year 5138: later is not a time a run was started


def usable_pid(value: Any) -> bool:
    return type(value) is int and 1 < value <= PID_LIMIT


def usable_time(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < TIME_LIMIT


class RecordError(ValueError):
    """A run.json that cannot be used: not JSON, not an object, or a field of the wrong type."""

    def __init__(self, path: Path | str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = Path(path), reason


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
    broken: str | None = None  # why its run.json cannot be read (the record comes from the index)

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
        return self.status in ACTIVE_STATUSES or self.status == DELETED

    @property
    def stop_requested(self) -> bool:
        return self.stop_path.exists()

    # -- loading and saving ---------------------------------------------------------------------
    @classmethod
    def load(cls, run_dir: str | Path) -> "RunRecord":
        """Read run.json; OSError when it is not there, RecordError when it cannot be used."""
        run_dir = Path(run_dir)
        path = run_dir / RUN_FILE
        info = path.stat()  # before opening: a FIFO in its place would block the reader
        if not stat.S_ISREG(info.st_mode):
            raise RecordError(path, _("not a regular file"))
        if info.st_size > RECORD_MAX_BYTES:
            raise RecordError(path, _("{size} bytes, far too large for a run record", size=info.st_size))
        try:
            data = json.loads(path.read_bytes().decode("utf-8"))
        except ValueError:
            raise RecordError(path, _("not valid JSON (cut short or damaged)")) from None
        return cls.from_dict(data, run_dir, source=path)

    @classmethod
    def from_dict(cls, data: dict, run_dir: Path | None = None, source: Path | str | None = None) -> "RunRecord":
        """A record from run.json's fields, each checked against its type (RecordError if not)."""
        source = source or (Path(run_dir) / RUN_FILE if run_dir is not None else RUN_FILE)
        if not isinstance(data, dict):
            raise RecordError(source, _("not a JSON object (it holds a {type})", type=type(data).__name__))
        hints = _field_types()
        values = {}
        for name, hint in hints.items():
            if name in _NOT_STORED or name not in data or (data[name] is None and (_has_default(name) or name in _FILLED)):
                continue
            value = data[name]
            if not _conforms(value, hint):
                raise RecordError(source, _('"{name}" is {value}, not {kind}', name=name, value=_shown(value), kind=_kind(hint)))
            if value is not None and ((name in _PID_FIELDS and not usable_pid(value))
                                      or (name in _TIME_FIELDS and not usable_time(value))):
                what = _("a process id") if name in _PID_FIELDS else _("a time")
                raise RecordError(source, _('"{name}" is {value}, not {kind}', name=name, value=_shown(value), kind=what))
            values[name] = value
        status = values.get("status", STARTING)
        if status not in ACTIVE_STATUSES + FINAL_STATUSES:
            raise RecordError(source, _('"status" is {value}, not a run status', value=_shown(status)))
        values["run_dir"] = Path(run_dir if run_dir is not None else values.get("run_dir", "."))
        values.setdefault("id", values["run_dir"].name)
        values.setdefault("name", values["id"])
        values.setdefault("preset_path", None)
        values.setdefault("output_dir", str(values["run_dir"].parent.parent))
        return cls(**values)

    def to_dict(self) -> dict:
        data = dataclasses.asdict(self)
        for name in _NOT_STORED:
            data.pop(name, None)
        data["run_dir"] = str(self.run_dir)
        data["launch_env"] = {k: v for k, v in (self.launch_env or {}).items() if not is_secret_name(k)}
        return data

    def save(self) -> None:
        atomic_write_text(self.record_path, json.dumps(redact_record(self.to_dict()), indent=2) + "\n", mode=0o600)

    def reload(self) -> "RunRecord":
        try:
            fresh = RunRecord.load(self.run_dir)
        except (OSError, ValueError):
            return self
        for f in dataclasses.fields(self):
            if f.name not in _NOT_STORED:
                setattr(self, f.name, getattr(fresh, f.name))
        self.missing, self.broken = False, None  # readable (again): its own record is the truth
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
        if self.missing or self.broken:
            return self._refresh_from_index()
        if not self._vanished():
            return self
        with record_lock(self.run_dir):
            self.reload()
            if self._vanished():
                end = last_end_event(self.events_path)
                if end is not None and end.get("status") in FINAL_STATUSES:
                    self.status, self.error = end["status"], end.get("error")
                else:
                    self.status, self.error = FAILED, _(VANISHED)
                self.ended = self.ended or time.time()
                try:
                    if end is None:  # readers always see an end, and see it before the final status
                        _append_end(self, self.status, self.error)
                    self.save()
                except OSError:
                    pass
        return self

    def _refresh_from_index(self) -> "RunRecord":
        """A run known only from the index (folder deleted, or run.json unreadable): its status
        is what its processes say; while they run it can still be stopped."""
        here = not self.host or self.host == socket.gethostname()
        alive = here and (self.is_alive() or self.workers_alive())
        if self.missing:
            self.status = DELETED if alive else MISSING
        else:
            self.status = RUNNING if alive else BROKEN
        return self


# Kept on the record object, never written to run.json.
_NOT_STORED = ("missing", "broken")
# Fields `from_dict` fills in when run.json leaves them out (or null).
_FILLED = ("id", "name", "output_dir")


@functools.cache
def _field_types() -> dict[str, Any]:
    return typing.get_type_hints(RunRecord)


def _has_default(name: str) -> bool:
    f = RunRecord.__dataclass_fields__[name]
    return f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING


def _conforms(value: Any, hint: Any) -> bool:
    """Does a JSON value fit a field's annotation (int is not bool, a float is finite, ...)?"""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_conforms(value, a) for a in args)
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        try:
            return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        except OverflowError:  # an integer too large for a float
            return False
    if hint in (str, Path):
        return isinstance(value, str)
    if hint is list or origin is list:
        return isinstance(value, list) and all(_conforms(v, args[0]) for v in value) if args else isinstance(value, list)
    if hint is dict or origin is dict:
        return isinstance(value, dict) and (not args or all(_conforms(v, args[1]) for v in value.values()))
    return True


def _kind(hint: Any) -> str:
    """A field's type in words, for the message about a wrong one."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return _(" or ").join(_kind(a) for a in args)
    words = {type(None): "null", bool: N_("true or false"), int: N_("a whole number"), float: N_("a number"),
             str: N_("text"), Path: N_("text"), list: N_("a list"), dict: N_("an object")}
    return _(words.get(hint) or words.get(typing.get_origin(hint), N_("the expected type")))


def _shown(value: Any) -> str:
    """A value as a message shows it: JSON-like, control characters escaped, kept short."""
    text = json.dumps(value, ensure_ascii=True, default=str) if not isinstance(value, float) or math.isfinite(value) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _append_end(run: RunRecord, status: str, error: str | None) -> None:
    step, _max_steps = last_progress(run.events_path, run.max_steps)
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
