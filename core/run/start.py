"""Starting a run: every refusal first, then the run folder, the index entry and the supervisor.

The training process is started through `python -m hftui.core.run.supervise RUN_DIR` in a new
session: it survives the terminal, the SSH connection and the program that started it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterable

from hftui.core import checks, launch
from hftui.core.checks import output_folder
from hftui.core import preset as preset_mod
from hftui.core.fsutil import atomic_write_text, ensure_private_dir, state_dir
from hftui.core.i18n import N_, _
from hftui.core.options.paths import MODEL_OUTPUT_KEYS, PATH_KEYS, beside_output_dir, looks_local
from hftui.core.problems import PresetError, Problem
from hftui.core.run import environment, liveness
from hftui.core.run.folder import INDEX_SUBDIR, RUN_FILE, RUNS_SUBDIR, STARTING
from hftui.core.run.index import active_run_for, remove_index, write_index
from hftui.core.run.record import RunRecord, record_lock
from hftui.core.run.stop import refuse_leftovers
from hftui.core.run.announce import announce
from hftui.core.run.redact import SECRET_ARGS


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)


# -- the preset the worker reads ----------------------------------------------------------------
def resolved_preset(preset, output_dir: Path, args_overrides: dict | None = None):
    """The preset as the worker will read it: paths absolute, launch overrides merged."""
    p = preset
    base = preset.base_dir
    p = p.with_value("args.output_dir", str(output_dir))
    files = p.get("dataset.data_files")
    if files is not None:
        p = p.with_value("dataset.data_files", _abs_files(files, base))
    for key in PATH_KEYS:
        value = p.get(key)
        if isinstance(value, str) and value and not Path(value).expanduser().is_absolute():
            # a model another preset trains sits with the outputs, everything else with the preset
            here = preset.output_base if key in MODEL_OUTPUT_KEYS else base
            candidate = here / Path(value).expanduser()
            if candidate.exists() or _model_still_to_train(key, value, here, preset):
                p = p.with_value(key, str(candidate.resolve()))
    for key, value in (args_overrides or {}).items():
        p = p.with_value(f"args.{key}", value)
    for key in SECRET_ARGS:
        if p.has(f"args.{key}"):
            p = p.without(f"args.{key}")
    return p


def _model_still_to_train(key: str, value: str, base: Path, preset) -> bool:
    """A relative model path that does not exist yet (a reward model still to be trained) is
    still a path, not a Hub id, when it is written as one, its first folder is there, or it sits
    beside the output folder: resolving it now keeps the worker's error pointing at the right
    folder."""
    if key not in MODEL_OUTPUT_KEYS:
        return False
    if looks_local(value):
        return True
    first = Path(value).parts[0] if Path(value).parts else ""
    return (bool(first) and (base / first).is_dir()) or beside_output_dir(preset.get("args.output_dir"), value)


def _abs_files(value: Any, base: Path) -> Any:
    if isinstance(value, str):
        path = Path(value).expanduser()
        return str(path if path.is_absolute() else (base / path).resolve())
    if isinstance(value, list):
        return [_abs_files(v, base) for v in value]
    if isinstance(value, dict):
        return {k: _abs_files(v, base) for k, v in value.items()}
    return value


# -- refusals -----------------------------------------------------------------------------------
# What `_check_writable` says of each folder: a file in the place of the folder, a file in the
# place of a folder above it, a folder that cannot be written.
_STATE_FOLDER = (N_("the hftui state folder {folder} cannot be created: a file is in the way"),
                 N_("the hftui state folder {folder} cannot be created: a file is in the way ({file} is a file)"),
                 N_("the hftui state folder {folder} is not writable: {error}"))
_OUTPUT_FOLDER = (N_("the output folder {folder} cannot be created: a file is in the way"),
                  N_("the output folder {folder} cannot be created: a file is in the way ({file} is a file)"),
                  N_("the output folder {folder} is not writable: {error}"))


def _check_writable(folder: Path, says: tuple[str, str, str], key: str, hint: str) -> Problem | None:
    """Could we create `folder` and write inside it? Checked by writing a probe file into it or
    into its nearest existing parent (permission bits alone say nothing when running as root);
    nothing is left behind."""
    existing = folder
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        if existing == folder:
            return Problem(key, "error", _(says[0], folder=folder), hint)
        return Problem(key, "error", _(says[1], folder=folder, file=existing), hint)
    try:
        probe = existing / f".hftui-write-test-{os.getpid()}-{secrets.token_hex(2)}"
        probe.write_text("", encoding="utf-8")
        probe.unlink()
    except OSError as exc:
        return Problem(key, "error", _(says[2], folder=folder, error=exc.strerror or exc), hint)
    return None


def check_state_dir() -> Problem | None:
    """Can this machine's run index be written? (Checked first: without it no run is recorded.)"""
    return _check_writable(state_dir() / INDEX_SUBDIR, _STATE_FOLDER, "",
                           _("set HFTUI_HOME to a folder you can write to"))


def _validate(preset) -> list[Problem]:
    """Every problem the validator finds, as it judges a preset about to train."""
    return list(checks.validate(preset, file=str(preset.path) if preset.path else None, for_run=True))


def remote_code_problem(preset, trust_remote_code: bool) -> Problem | None:
    """A preset that runs the model's own Python code needs the person's explicit consent."""
    key = next((k for k in ("model.trust_remote_code", "args.trust_remote_code") if preset.get(k) is True), None)
    if key and not trust_remote_code:
        return Problem(key, "error",
                       _("this preset runs Python code shipped with the model (trust_remote_code = true)"),
                       _("read that code first; then pass --trust-remote-code to allow it"),
                       None, str(preset.path) if preset.path else None)
    return None


def _has_checkpoint(output_dir: Path) -> bool:
    return any(p.is_dir() for p in output_dir.glob("checkpoint-*"))


def _stop_timeout(preset) -> float | None:
    value = preset.get("launch.stop_timeout")
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return float(value)
    return None


# -- starting -----------------------------------------------------------------------------------
def start_run(preset, *, overrides: Iterable[str] = (), resume_from: str | None = None,
              trust_remote_code: bool = False, name: str | None = None, validate: bool = True,
              env: dict | None = None) -> RunRecord:
    """Validate, write the run folder and index entry, start the supervisor, return at once.

    The run folder gets its environment record (`env` when the caller already collected it for
    this preset, e.g. to list what changed before a replay).

    Every refusal (invalid preset, remote code without consent, output folder in use or not
    writable, state folder not writable) raises PresetError before any process starts.
    """
    if isinstance(preset, (str, Path)):
        preset = preset_mod.load(Path(preset))
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

    try:
        output_dir = preset.output_dir().expanduser().resolve()
    except (OSError, RuntimeError) as exc:  # a loop of symbolic links
        raise PresetError([Problem("args.output_dir", "error", _("output_dir {folder} cannot be used: {error}", folder=preset.output_dir(), error=exc),
                                   _("choose a real folder, or fix the link"), None, file)], file) from None
    problems = []
    bad = _check_writable(output_dir, _OUTPUT_FOLDER, "args.output_dir",
                          _("choose a folder you can write to (--set args.output_dir=PATH)"))
    if bad:
        problems.append(dataclasses.replace(bad, file=file))
    else:  # checked before anything is created in the folder
        first_run = not (output_dir / RUNS_SUBDIR).exists()  # no run of ours can be busy there
        for found in (output_folder.foreign_problem(output_dir), output_folder.space_problem(output_dir),
                      _earlier_run(preset, resume_from, output_dir) if first_run else None):
            if found:
                problems.append(Problem("args.output_dir", "error", *found, None, file))
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
        runs_root = ensure_private_dir(output_dir / RUNS_SUBDIR)
    except OSError as exc:
        raise _cannot_write(exc, output_dir, file) from None
    return _start_locked(preset, runs_root, output_dir, file, name, resume_from, trust_remote_code, env)


def _start_locked(preset, runs_root: Path, output_dir: Path, file, name, resume_from, trust_remote_code,
                  env: dict | None = None) -> RunRecord:
    """The refusals that depend on other runs, then the run, all under the output folder's lock."""
    with record_lock(runs_root):  # two starts on one output folder: one of them is refused
        busy = active_run_for(output_dir)
        if busy is not None:
            raise PresetError([Problem("args.output_dir", "error",
                                       _("{folder} is in use by run {id} ({status}, pid {pid})", folder=output_dir, id=busy.id,
                                         status=busy.status, pid=busy.pid or "?"),
                                       _("wait for it, stop it with 'hftui stop {id}', or choose another args.output_dir", id=busy.id), None, file)], file)
        refuse_leftovers(output_dir, file)
        if resume_from == "last" and not _has_checkpoint(output_dir):
            raise PresetError([Problem("args.output_dir", "error", _("there is no checkpoint to resume from in {folder}", folder=output_dir),
                                       _("start without --resume to train from the beginning"), None, file)], file)
        earlier = _earlier_run(preset, resume_from, output_dir)
        if earlier:  # a fresh run would mix with them, and its rotation would delete them
            raise PresetError([Problem("args.output_dir", "error", *earlier, None, file)], file)
        run_id = new_run_id()
        try:
            run_dir = ensure_private_dir(runs_root / run_id)
        except OSError as exc:
            raise _cannot_write(exc, output_dir, file) from None
        try:
            return _create_and_spawn(preset, run_id, run_dir, output_dir, file, name, resume_from, trust_remote_code, env)
        except BaseException as exc:
            if not (run_dir / RUN_FILE).exists():  # nothing was started: leave no empty run behind
                shutil.rmtree(run_dir, ignore_errors=True)
            if isinstance(exc, _NotStarted):
                raise _cannot_write(exc.cause, output_dir, file) from None
            raise


def _earlier_run(preset, resume_from: str | None, output_dir: Path) -> tuple[str, str] | None:
    """A fresh run (neither --resume nor a checkpoint named in the preset) is refused among an
    earlier run's checkpoints or model: (message, fix), else None."""
    if resume_from or preset.get("args.resume_from_checkpoint"):
        return None
    return output_folder.earlier_run_problem(output_dir)


class _NotStarted(Exception):
    """Writing the run folder failed before any process started (its traces are removed)."""

    def __init__(self, cause: OSError):
        super().__init__(str(cause))
        self.cause = cause


def _cannot_write(exc: OSError, output_dir: Path, file: str | None) -> PresetError:
    """The refusal for a run folder that cannot be written: a full disk said as such."""
    if output_folder.is_disk_full(exc):
        problem = Problem("args.output_dir", "error", _("no space left on the disk holding {folder}: "
                          "the run's folder could not be written, nothing was started", folder=output_dir), output_folder.no_space_hint(), None, file)
    else:
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        problem = Problem("args.output_dir", "error", _("cannot create the run's folder in {folder}: {error}", folder=output_dir, error=f"{exc.strerror or exc}{where}"),
                          _("choose a folder you can write to (--set args.output_dir=PATH)"), None, file)
    return PresetError([problem], file)


def _create_and_spawn(preset, run_id, run_dir, output_dir, file, name, resume_from, trust_remote_code,
                      env: dict | None = None) -> RunRecord:
    """Write the run folder and index entry, then start the supervisor (under the folder lock)."""
    plan = launch.resolve_launch(preset, run_dir)
    final = resolved_preset(preset, output_dir, plan.args_overrides)
    # read while the supervisor starts: hashing the data must not hold up the run
    collected = environment.start_collecting(final) if env is None else (lambda timeout=0.0: env)
    max_steps = final.get("args.max_steps")
    record = RunRecord(
        id=run_id,
        name=name or preset.name,
        preset_path=file,
        run_dir=run_dir,
        output_dir=str(output_dir),
        host=socket.gethostname(),
        command=[str(a) for a in plan.argv],
        status=STARTING,
        created=time.time(),
        resume_from=resume_from,
        backend=plan.backend,
        num_processes=plan.num_processes,
        num_machines=plan.num_machines,
        max_steps=int(max_steps) if isinstance(max_steps, int) and max_steps > 0 else None,
        launch_env={k: str(v) for k, v in plan.env.items()},
        stop_timeout=_stop_timeout(preset),
        trust_remote_code_allowed=bool(trust_remote_code),
    )
    text = preset_mod.dumps(final)
    try:
        atomic_write_text(record.preset_file, text, mode=0o600)  # exact: secrets never enter it (SECRET_ARGS)
        record.save()
        for private in (record.log_path, record.events_path):
            fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            os.close(fd)
        announce(record, final)
        write_index(record)
        spawned = _spawn_supervisor(record)
    except OSError as exc:  # a full disk, say: leave nothing behind that looks like a run
        shutil.rmtree(run_dir, ignore_errors=True)
        remove_index(run_id)
        raise _NotStarted(exc) from exc
    record_env = collected(environment.COLLECT_TIMEOUT_S)
    if record_env is not None:
        with contextlib.suppress(OSError):  # the run goes on without it (a full disk says so soon enough)
            environment.write(run_dir, record_env)
    _wait_for_supervisor(record, spawned)
    with contextlib.suppress(OSError):
        write_index(record)  # now with its processes, to stop it should its folder be deleted
    return record


def _spawn_supervisor(record: RunRecord) -> int:
    env = dict(os.environ)
    env.setdefault("PYTHONUNBUFFERED", "1")
    with open(record.log_path, "ab", buffering=0) as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", liveness.SUPERVISOR_MODULE, str(record.run_dir)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            env=env,
        )
    liveness.adopt(proc)
    return proc.pid


def _wait_for_supervisor(record: RunRecord, pid: int, timeout: float = 10.0) -> None:
    """Give the supervisor a moment to write its pid and start the training processes, so that
    callers see a live record and the index can name the processes to stop."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        record.reload()
        if record.pgid or (record.status != STARTING and not record.is_active):
            return  # its training processes are known (or it already ended)
        if liveness.child_ended(pid):
            break
        time.sleep(0.05)
    if record.pid is None:
        record.pid = pid


def resume_run(run: RunRecord, **kwargs: Any) -> RunRecord:
    """A new run from the old run's resolved preset, continuing from its last checkpoint."""
    preset = preset_mod.load(run.preset_file)
    kwargs.setdefault("name", run.name)
    kwargs.setdefault("trust_remote_code", bool(run.trust_remote_code_allowed))  # the consent given then
    return start_run(preset, resume_from="last", **kwargs)
