"""Runs: their directories, their records, the run index, and starting/stopping them.

A run lives in `<args.output_dir>/.hftui/<run_id>/` beside its checkpoints, so that moving or
deleting the output folder takes its history with it. The index under the state directory only
points at those folders; the folder's `run.json` is the truth.

The training process is started through `python -m hftui.core.run.supervise RUN_DIR` in a new
session: it survives the terminal, the SSH connection and the program that started it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

from hftui.core.run.events import EVENTS_FILE
from hftui.core.fsutil import atomic_write_text, ensure_private_dir, state_dir
from hftui.core.problems import PresetError, Problem

RUN_FILE = "run.json"
PRESET_FILE = "preset.toml"
LOG_FILE = "log.txt"
STOP_FILE = "stop"
RUNS_SUBDIR = ".hftui"
INDEX_SUBDIR = "runs"
SUPERVISOR_MODULE = "hftui.core.run.supervise"

ACTIVE_STATUSES = ("starting", "running", "stopping")
FINAL_STATUSES = ("completed", "stopped", "failed")
VANISHED = "the run's processes vanished"
# A run whose supervisor has not reported its pid yet is given this long before it counts as gone.
STARTING_GRACE_S = 60.0

# HF_TOKEN, WANDB_API_KEY, AWS_SECRET_ACCESS_KEY, DB_PASSWORD... but not TOKENIZERS_PARALLELISM.
_SECRET_NAME = re.compile(r"(^|_)(TOKEN|KEY|PASSWORD|PASSWD|CREDENTIALS?)(_|$)|SECRET", re.IGNORECASE)
_SECRET_ARGS = ("hub_token", "push_to_hub_token")

# Supervisors started by this process: polled, so that a finished one never lingers as a zombie
# (and a zombie is never taken for a live run).
_CHILDREN: dict[int, subprocess.Popen] = {}


class RunLookupError(LookupError):
    """`find_run` could not pick one run; `candidates` are the runs a person may have meant."""

    def __init__(self, message: str, candidates: list["RunRecord"] | None = None):
        super().__init__(message)
        self.message = message
        self.candidates = list(candidates or [])


# -- the record ---------------------------------------------------------------------------------
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
    status: str = "starting"
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
        return _pid_is(self.pid, self.pid_start, str(self.run_dir))

    def workers_alive(self) -> bool:
        """Is the training process (the worker, or the launcher of the ranks) still there?"""
        pid = self.worker_pid or self.pgid
        if not pid:
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass
        stat = _proc_stat(pid)
        if stat is None:
            return True
        if stat[0] == "Z":
            return False
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            return True
        return str(self.run_dir) in cmdline

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
                end = _last_end_event(self.events_path)
                if end is not None and end.get("status") in FINAL_STATUSES:
                    self.status, self.error = end["status"], end.get("error")
                else:
                    self.status, self.error = "failed", VANISHED
                self.ended = self.ended or time.time()
                try:
                    self.save()
                    if end is None:  # readers always see an end
                        _append_end(self, self.status, self.error)
                except OSError:
                    pass
        return self


def _last_end_event(path: Path, window: int = 65536) -> dict | None:
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            fh.seek(max(0, size - window))
            tail = fh.read()
    except OSError:
        return None
    for raw in reversed(tail.split(b"\n")):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except ValueError:
            continue
        if isinstance(obj, dict) and obj.get("event"):
            return obj if obj["event"] == "end" else None
    return None


def _append_end(run: "RunRecord", status: str, error: str | None) -> None:
    from hftui.core.run.events import EventWriter

    step, _ = last_progress(run)
    writer = EventWriter(run.events_path)
    try:
        writer.write("end", step=step or 0, status=status, error=error, best_metric=None, best_checkpoint=None,
                     output_dir=run.output_dir,
                     runtime=round(time.time() - run.started, 3) if run.started else None)
    finally:
        writer.close()


def _pid_is(pid: int, start: str | None, marker: str) -> bool:
    child = _CHILDREN.get(pid)
    if child is not None:
        if child.poll() is not None:
            _CHILDREN.pop(pid, None)
            return False
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    stat = _proc_stat(pid)
    if stat is None:  # no /proc: the signal check is all we have
        return True
    state, proc_start = stat
    if state == "Z":
        return False
    if start:
        return proc_start == start
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return True
    return SUPERVISOR_MODULE in cmdline and marker in cmdline


def _proc_stat(pid: int) -> tuple[str, str] | None:
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
    stat = _proc_stat(pid)
    return stat[1] if stat else None


@contextlib.contextmanager
def record_lock(run_dir: Path) -> Iterator[None]:
    """Serialise read-modify-write of run.json between the supervisor and the commands."""
    import fcntl

    try:
        fh = open(Path(run_dir) / ".lock", "a")
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


# -- secrets ------------------------------------------------------------------------------------
def is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


def secret_values(environ: dict | None = None) -> list[str]:
    """Values of the environment's tokens and keys, longest first (never written anywhere)."""
    env = os.environ if environ is None else environ
    values = {v for k, v in env.items() if is_secret_name(k) and isinstance(v, str) and len(v) >= 8}
    return sorted(values, key=len, reverse=True)


def redact(text: str) -> str:
    for value in secret_values():
        if value in text:
            text = text.replace(value, "<redacted>")
    return text


# -- the index ----------------------------------------------------------------------------------
def index_dir() -> Path:
    return state_dir() / INDEX_SUBDIR


def _write_index(record: RunRecord) -> None:
    folder = ensure_private_dir(index_dir())
    entry = {"id": record.id, "run_dir": str(record.run_dir), "created": record.created}
    atomic_write_text(folder / f"{record.id}.json", json.dumps(entry) + "\n", mode=0o600)


def _index_entries() -> list[dict]:
    folder = index_dir()
    entries = []
    try:
        files = list(folder.glob("*.json"))
    except OSError:
        return []
    for path in files:
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(entry, dict) and entry.get("run_dir"):
            entries.append(entry)
    return entries


def list_runs(include_missing: bool = False) -> list[RunRecord]:
    """The runs of this machine, newest first, each refreshed (dead supervisors -> failed).

    Runs whose folder was deleted are skipped, or listed with `missing=True` on request.
    """
    runs: list[RunRecord] = []
    for entry in _index_entries():
        run_dir = Path(entry["run_dir"])
        try:
            record = RunRecord.load(run_dir)
        except (OSError, ValueError, TypeError):
            if include_missing:
                runs.append(RunRecord(id=str(entry.get("id", run_dir.name)), name=str(entry.get("id", "")), preset_path=None,
                                      run_dir=run_dir, output_dir=str(run_dir.parent.parent), status="missing",
                                      created=float(entry.get("created") or 0), missing=True))
            continue
        try:
            record.refresh()
        except OSError:
            pass
        runs.append(record)
    runs.sort(key=lambda r: (r.created or 0, r.id), reverse=True)
    return runs


def find_run(ref: str | Path) -> RunRecord:
    """A run by id, unique id prefix (or suffix), name (the latest of that name) or folder path."""
    text = str(ref).strip()
    path = Path(text).expanduser()
    if text and (path / RUN_FILE).is_file():
        return RunRecord.load(path.resolve()).refresh()
    runs = list_runs()
    if not text:
        raise RunLookupError("no run given", runs[:10])
    for matcher in (lambda r: r.id == text, lambda r: r.id.startswith(text), lambda r: r.id.endswith(text)):
        found = [r for r in runs if matcher(r)]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise RunLookupError(f"{text!r} matches {len(found)} runs; give more of the id", found[:10])
    named = [r for r in runs if r.name == text]
    if named:
        return named[0]  # newest first
    if path.is_dir() and (path / RUNS_SUBDIR).is_dir():  # an output dir: its latest run
        inner = runs_in_output_dir(path)
        if inner:
            return inner[0]
    if runs:
        raise RunLookupError(f"no run {text!r}", runs[:10])
    raise RunLookupError(f"no run {text!r}: there are no runs on this machine yet", [])


def runs_in_output_dir(output_dir: str | Path) -> list[RunRecord]:
    """Every run recorded inside an output folder, newest first, refreshed."""
    folder = Path(output_dir) / RUNS_SUBDIR
    found = []
    try:
        children = list(folder.iterdir())
    except OSError:
        return []
    for child in children:
        if (child / RUN_FILE).is_file():
            try:
                found.append(RunRecord.load(child).refresh())
            except (OSError, ValueError, TypeError):
                continue
    found.sort(key=lambda r: (r.created or 0, r.id), reverse=True)
    return found


def active_run_for(output_dir: str | Path) -> RunRecord | None:
    """The live run writing into this output folder, if any (from the folder and the index)."""
    target = str(Path(output_dir).resolve())
    candidates = runs_in_output_dir(output_dir)
    seen = {r.run_dir for r in candidates}
    for r in list_runs():
        if r.run_dir not in seen and _same_dir(r.output_dir, target):
            candidates.append(r)
    for r in candidates:
        if r.is_active:
            return r
    return None


def _same_dir(a: str, b: str) -> bool:
    try:
        return str(Path(a).resolve()) == str(Path(b).resolve())
    except OSError:
        return a == b


# -- starting -----------------------------------------------------------------------------------
def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)


_PATH_KEYS = ("model.name_or_path", "ppo.reward_model", "ppo.value_model", "ppo.sft_model_path",
              "model.scratch.tokenizer", "dataset.path", "args.deepspeed", "args.resume_from_checkpoint")


def resolved_preset(preset, output_dir: Path, args_overrides: dict | None = None):
    """The preset as the worker will read it: paths absolute, launch overrides merged."""
    p = preset
    base = preset.base_dir
    p = p.with_value("args.output_dir", str(output_dir))
    files = p.get("dataset.data_files")
    if files is not None:
        p = p.with_value("dataset.data_files", _abs_files(files, base))
    for key in _PATH_KEYS:
        value = p.get(key)
        if isinstance(value, str) and value and not Path(value).expanduser().is_absolute():
            candidate = (base / Path(value).expanduser())
            if candidate.exists() or _looks_local(key, value, base, preset):
                p = p.with_value(key, str(candidate.resolve()))
    for key, value in (args_overrides or {}).items():
        p = p.with_value(f"args.{key}", value)
    for key in _SECRET_ARGS:
        if p.has(f"args.{key}"):
            p = p.without(f"args.{key}")
    return p


def _looks_local(key: str, value: str, base: Path, preset) -> bool:
    """A relative model path that does not exist yet (a reward model still to be trained) is
    still a path, not a Hub id, when it starts with ./ or ~ or its first folder is there:
    resolving it now keeps the worker's error pointing at the right folder."""
    if not key.startswith("ppo."):
        return False
    if value.startswith((".", "~")):
        return True
    from hftui.core.checks import beside_output_dir

    first = Path(value).parts[0] if Path(value).parts else ""
    return (bool(first) and (base / first).is_dir()) or beside_output_dir(preset, value)


def _abs_files(value: Any, base: Path) -> Any:
    if isinstance(value, str):
        path = Path(value).expanduser()
        return str(path if path.is_absolute() else (base / path).resolve())
    if isinstance(value, list):
        return [_abs_files(v, base) for v in value]
    if isinstance(value, dict):
        return {k: _abs_files(v, base) for k, v in value.items()}
    return value


def _check_writable(folder: Path, what: str, key: str, hint: str) -> Problem | None:
    """Could we create `folder` and write inside it? Checked by writing a probe file into it or
    into its nearest existing parent (permission bits alone say nothing when running as root);
    nothing is left behind."""
    existing = folder
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        where = "" if existing == folder else f" ({existing} is a file)"
        return Problem(key, "error", f"the {what} {folder} cannot be created: a file is in the way{where}", hint)
    try:
        probe = existing / f".hftui-write-test-{os.getpid()}-{secrets.token_hex(2)}"
        probe.write_text("", encoding="utf-8")
        probe.unlink()
    except OSError as exc:
        return Problem(key, "error", f"the {what} {folder} is not writable: {exc.strerror or exc}", hint)
    return None


def check_state_dir() -> Problem | None:
    """Can this machine's run index be written? (Checked first: without it no run is recorded.)"""
    return _check_writable(state_dir() / INDEX_SUBDIR, "hftui state folder", "",
                           "set HFTUI_HOME to a folder you can write to")


def _validate(preset) -> list[Problem]:
    """Every problem the validator finds (it is imported lazily: heavy checks live there)."""
    try:
        from hftui.core import checks as validate_mod
    except ImportError:
        return []
    fn = getattr(validate_mod, "validate", None)
    if fn is None:
        return []
    result = fn(preset, file=str(preset.path) if preset.path else None, for_run=True)
    items = getattr(result, "items", result)
    return list(items or [])


def remote_code_problem(preset, trust_remote_code: bool) -> Problem | None:
    """A preset that runs the model's own Python code needs the person's explicit consent."""
    key = next((k for k in ("model.trust_remote_code", "args.trust_remote_code") if preset.get(k) is True), None)
    if key and not trust_remote_code:
        return Problem(key, "error",
                       "this preset runs Python code shipped with the model (trust_remote_code = true)",
                       "read that code first; then pass --trust-remote-code to allow it",
                       None, str(preset.path) if preset.path else None)
    return None


def _load_preset(preset):
    from hftui.core import preset as preset_mod

    if isinstance(preset, (str, Path)):
        return preset_mod.load(Path(preset))
    return preset


def start_run(preset, *, overrides: Iterable[str] = (), resume_from: str | None = None,
              trust_remote_code: bool = False, name: str | None = None, validate: bool = True) -> RunRecord:
    """Validate, write the run folder and index entry, start the supervisor, return at once.

    Every refusal (invalid preset, remote code without consent, output folder in use or not
    writable, state folder not writable) raises PresetError before any process starts.
    """
    from hftui.core import preset as preset_mod
    from hftui.core.launch import resolve_launch

    preset = _load_preset(preset)
    file = str(preset.path) if preset.path else None
    overrides = list(overrides)
    if overrides:
        preset = preset_mod.apply_overrides(preset, overrides)
    problems: list[Problem] = []
    if validate:
        problems = [p for p in _validate(preset) if p.is_error]
    consent = remote_code_problem(preset, trust_remote_code)
    if consent:
        problems.append(consent)
    if problems:
        raise PresetError(problems, file)

    output_dir = preset.output_dir().expanduser().resolve()
    problems = []
    bad = _check_writable(output_dir, "output folder", "args.output_dir",
                          "choose a folder you can write to (--set args.output_dir=PATH)")
    if bad:
        problems.append(dataclasses.replace(bad, file=file))
    home = state_dir()
    bad = check_state_dir()
    if bad:
        problems.append(bad)
    if problems:
        raise PresetError(problems, file)
    try:
        ensure_private_dir(home)
        ensure_private_dir(home / INDEX_SUBDIR)
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PresetError([Problem("", "error", f"cannot create a folder for the run: {exc}", "")], file) from None

    runs_root = ensure_private_dir(output_dir / RUNS_SUBDIR)
    with record_lock(runs_root):  # two starts on one output folder: one of them is refused
        busy = active_run_for(output_dir)
        if busy is not None:
            raise PresetError([Problem("args.output_dir", "error",
                                       f"{output_dir} is in use by run {busy.id} ({busy.status}, pid {busy.pid or '?'})",
                                       f"wait for it, stop it with 'hftui stop {busy.id}', or choose another args.output_dir", None, file)], file)
        if resume_from == "last" and not _has_checkpoint(output_dir):
            raise PresetError([Problem("args.output_dir", "error", f"there is no checkpoint to resume from in {output_dir}",
                                       "start without --resume to train from the beginning", None, file)], file)
        run_id = new_run_id()
        run_dir = ensure_private_dir(runs_root / run_id)
        try:
            return _create_and_spawn(preset, run_id, run_dir, output_dir, file, name, resume_from, trust_remote_code,
                                     resolve_launch)
        except BaseException:
            if not (run_dir / RUN_FILE).exists():  # nothing was started: leave no empty run behind
                import shutil

                shutil.rmtree(run_dir, ignore_errors=True)
            raise


def _create_and_spawn(preset, run_id, run_dir, output_dir, file, name, resume_from, trust_remote_code,
                      resolve_launch) -> RunRecord:
    """Write the run folder and index entry, then start the supervisor (under the folder lock)."""
    from hftui.core import preset as preset_mod

    launch = resolve_launch(preset, run_dir)
    final = resolved_preset(preset, output_dir, launch.args_overrides)
    max_steps = final.get("args.max_steps")
    record = RunRecord(
        id=run_id,
        name=name or preset.name,
        preset_path=file,
        run_dir=run_dir,
        output_dir=str(output_dir),
        host=socket.gethostname(),
        command=[str(a) for a in launch.argv],
        status="starting",
        created=time.time(),
        resume_from=resume_from,
        backend=launch.backend,
        num_processes=launch.num_processes,
        num_machines=launch.num_machines,
        max_steps=int(max_steps) if isinstance(max_steps, int) and max_steps > 0 else None,
        launch_env={k: str(v) for k, v in launch.env.items()},
        stop_timeout=_stop_timeout(preset),
        trust_remote_code_allowed=bool(trust_remote_code),
    )
    text = preset_mod.dumps(final)
    atomic_write_text(record.preset_file, redact(text), mode=0o600)
    record.save()
    for private in (record.log_path, record.events_path):
        fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.close(fd)
    _write_index(record)
    spawned = _spawn_supervisor(record)
    _wait_for_supervisor(record, spawned)
    return record


def _has_checkpoint(output_dir: Path) -> bool:
    return any(p.is_dir() for p in output_dir.glob("checkpoint-*"))


def _stop_timeout(preset) -> float | None:
    value = preset.get("launch.stop_timeout")
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return float(value)
    return None


def _spawn_supervisor(record: RunRecord) -> int:
    env = dict(os.environ)
    env.setdefault("PYTHONUNBUFFERED", "1")
    with open(record.log_path, "ab", buffering=0) as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", SUPERVISOR_MODULE, str(record.run_dir)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            env=env,
        )
    _CHILDREN[proc.pid] = proc
    return proc.pid


def _wait_for_supervisor(record: RunRecord, pid: int, timeout: float = 10.0) -> None:
    """Give the supervisor a moment to write its pid, so callers see a live record."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        record.reload()
        if record.status != "starting" or record.pid:
            return
        child = _CHILDREN.get(pid)
        if child is not None and child.poll() is not None:
            break
        time.sleep(0.05)
    if record.pid is None:
        record.pid = pid


def reap_children() -> None:
    """Collect supervisors started by this process that have finished."""
    for pid, proc in list(_CHILDREN.items()):
        if proc.poll() is not None:
            _CHILDREN.pop(pid, None)


# -- stopping and resuming ----------------------------------------------------------------------
def request_stop(run: RunRecord) -> RunRecord:
    """Ask the run to save a checkpoint and end at the next step boundary."""
    run.refresh()
    if not run.is_active:
        return run
    fd = os.open(run.stop_path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.close(fd)
    with record_lock(run.run_dir):
        run.reload()
        if run.is_active:
            run.status = "stopping"
            run.save()
    return run


def kill_run(run: RunRecord, grace: float = 5.0) -> RunRecord:
    """SIGTERM, then SIGKILL, to the training processes (and the supervisor if it hangs)."""
    run.reload()
    with contextlib.suppress(OSError):
        fd = os.open(run.stop_path, os.O_WRONLY | os.O_CREAT, 0o600)
        os.close(fd)
    groups = [g for g in {run.pgid} if g]
    _signal_groups(groups, signal.SIGTERM)
    deadline = time.time() + grace
    while time.time() < deadline and any(_group_alive(g) for g in groups):
        time.sleep(0.1)
    _signal_groups([g for g in groups if _group_alive(g)], signal.SIGKILL)
    # the supervisor writes the final status; give it a moment, then make sure it is gone
    deadline = time.time() + grace
    while time.time() < deadline and run.is_alive():
        time.sleep(0.1)
    if run.pid and run.is_alive():
        with contextlib.suppress(OSError):
            os.killpg(run.pid, signal.SIGKILL)
    return run.refresh()


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _signal_groups(groups: list[int], sig: int) -> None:
    for g in groups:
        with contextlib.suppress(OSError):
            os.killpg(g, sig)


def wait_for_end(run: RunRecord, timeout: float | None = None, poll: float = 0.2) -> RunRecord:
    """Block until the run is no longer active (or the timeout passes); returns it refreshed."""
    deadline = None if timeout is None else time.time() + timeout
    while True:
        run.refresh()
        if not run.is_active:
            return run
        if deadline is not None and time.time() >= deadline:
            return run
        time.sleep(poll)


def resume_run(run: RunRecord, **kwargs: Any) -> RunRecord:
    """A new run from the old run's resolved preset, continuing from its last checkpoint."""
    from hftui.core import preset as preset_mod

    preset = preset_mod.load(run.preset_file)
    kwargs.setdefault("name", run.name)
    kwargs.setdefault("trust_remote_code", bool(run.trust_remote_code_allowed))  # the consent given then
    return start_run(preset, resume_from="last", **kwargs)


def last_progress(run: RunRecord, window: int = 65536) -> tuple[int | None, int | None]:
    """(last step, max_steps) from the end of the events file, without reading all of it."""
    step, max_steps = None, run.max_steps
    try:
        with open(run.events_path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            fh.seek(max(0, size - window))
            tail = fh.read()
            if size > window:
                tail = tail.split(b"\n", 1)[-1]
            if max_steps is None:
                fh.seek(0)
                head = fh.readline()
                with contextlib.suppress(ValueError):
                    first = json.loads(head)
                    if isinstance(first, dict) and first.get("event") == "start":
                        max_steps = first.get("max_steps")
    except OSError:
        return step, max_steps
    for raw in reversed(tail.split(b"\n")):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except ValueError:
            continue
        if isinstance(obj, dict) and isinstance(obj.get("step"), int):
            if obj.get("event") == "start" and max_steps is None:
                max_steps = obj.get("max_steps")
            step = obj["step"] if step is None else step
            if max_steps is not None:
                break
    return step, max_steps
