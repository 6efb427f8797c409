"""The runs of this machine: a small index under the state directory, and finding a run by name.

A run lives in `<args.output_dir>/.hftui/<run_id>/` beside its checkpoints, so that moving or
deleting the output folder takes its history with it. The index points at those folders; each
folder's `run.json` is the truth. The index also keeps what it takes to stop a run whose folder
was deleted while it trains (its host and process ids), and a record that cannot be read is
listed as broken: one bad file never hides or breaks the other runs.
"""

from __future__ import annotations

import contextlib
import json
import socket
from pathlib import Path

from hftui.core.fsutil import atomic_write_text, ensure_private_dir, state_dir
from hftui.core.i18n import _
from hftui.core.run.folder import BROKEN, INDEX_SUBDIR, MISSING, RUN_FILE, RUNS_SUBDIR
from hftui.core.run.record import RecordError, RunRecord, usable_pid, usable_time

# The index entry's fields besides `run_dir`, with the types they must have to be used.
_ENTRY_TEXT = ("id", "name", "output_dir", "host", "pid_start")
_ENTRY_PIDS = ("pid", "pgid", "worker_pid")
_ENTRY_MAX_BYTES = 1 << 16

class RunLookupError(LookupError):
    """`find_run` could not pick one run; `candidates` are the runs a person may have meant."""

    def __init__(self, message: str, candidates: list[RunRecord] | None = None):
        super().__init__(message)
        self.message = message
        self.candidates = list(candidates or [])


def index_dir() -> Path:
    return state_dir() / INDEX_SUBDIR


def _entry_of(record: RunRecord) -> dict:
    return {"id": record.id, "run_dir": str(record.run_dir), "created": record.created, "name": record.name,
            "output_dir": record.output_dir, "host": record.host or socket.gethostname(), "pid": record.pid,
            "pid_start": record.pid_start, "pgid": record.pgid, "worker_pid": record.worker_pid}


def write_index(record: RunRecord) -> None:
    folder = ensure_private_dir(index_dir())
    atomic_write_text(folder / f"{record.id}.json", json.dumps(_entry_of(record)) + "\n", mode=0o600)


def remove_index(run_id: str) -> None:
    """Forget a run that never started."""
    with contextlib.suppress(OSError):
        (index_dir() / f"{run_id}.json").unlink()


def _read_entry(path: Path) -> dict | str:
    """An index entry with only the fields of the right type, or why it cannot be used."""
    try:
        if not path.is_file():
            return _("not a regular file")
        if path.stat().st_size > _ENTRY_MAX_BYTES:
            return _("too large to be an index entry")
        entry = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        return _("cannot be read ({error})", error=exc.strerror or exc)
    except ValueError:
        return _("not valid JSON (cut short or damaged)")
    if not isinstance(entry, dict):
        return _("not a JSON object")
    if not isinstance(entry.get("run_dir"), str) or not entry["run_dir"].strip():
        return _("names no run folder (run_dir)")
    kept: dict = {"run_dir": entry["run_dir"]}
    kept.update({k: entry[k] for k in _ENTRY_TEXT if isinstance(entry.get(k), str)})
    kept.update({k: entry[k] for k in _ENTRY_PIDS if usable_pid(entry.get(k))})
    if usable_time(entry.get("created")):
        kept["created"] = float(entry["created"])
    return kept


def _index_entries() -> list[tuple[Path, dict | str]]:
    try:
        files = sorted(index_dir().glob("*.json"))
    except OSError:
        return []
    return [(path, _read_entry(path)) for path in files]


def _from_index(entry: dict, run_dir: Path, *, missing: bool = False, broken: str | None = None) -> RunRecord:
    """What the index knows of a run whose run.json cannot be read."""
    run_id = entry.get("id") or run_dir.name
    return RunRecord(id=run_id, name=entry.get("name") or run_id, preset_path=None, run_dir=run_dir,
                     output_dir=entry.get("output_dir") or str(run_dir.parent.parent), host=entry.get("host", ""),
                     pid=entry.get("pid"), pgid=entry.get("pgid"), worker_pid=entry.get("worker_pid"),
                     pid_start=entry.get("pid_start"), created=entry.get("created", 0.0),
                     status=BROKEN if broken else MISSING, error=broken, missing=missing, broken=broken)


def _load_listed(path: Path, entry: dict | str) -> RunRecord:
    if isinstance(entry, str):  # the index file itself is unusable
        reason = f"{path}: {entry}"
        return RunRecord(id=path.stem, name=path.stem, preset_path=None, run_dir=path.with_suffix(""), output_dir="",
                         status=BROKEN, error=reason, broken=reason)
    run_dir = Path(entry["run_dir"])
    try:
        record = RunRecord.load(run_dir)
    except RecordError as exc:
        record = _from_index(entry, run_dir, broken=str(exc))
    except OSError:
        record = _from_index(entry, run_dir, missing=True)
    with contextlib.suppress(OSError):
        record.refresh()
    if not (record.missing or record.broken) and record.id == path.stem and any(
            v is not None and entry.get(k) != v for k, v in _entry_of(record).items() if k != "created"):
        with contextlib.suppress(OSError):
            write_index(record)  # keep the ids it takes to stop the run without its folder
    return record


def list_runs(include_missing: bool = False) -> list[RunRecord]:
    """The runs of this machine, newest first, each refreshed (dead supervisors -> failed).

    A run whose record cannot be read is listed as broken; one whose folder was deleted while
    its processes go on is listed as such (and can still be stopped); one whose folder and
    processes are gone is skipped, or listed with `missing=True` on request.
    """
    runs: list[RunRecord] = []
    for path, entry in _index_entries():
        record = _load_listed(path, entry)
        if record.status == MISSING and not include_missing:
            continue
        runs.append(record)
    runs.sort(key=lambda r: (r.created or 0, r.id), reverse=True)
    return runs


def find_run(ref: str | Path) -> RunRecord:
    """A run by id, unique id prefix (or suffix), name (the latest of that name) or folder path."""
    text = str(ref).strip()
    path = Path(text).expanduser()
    if text and (path / RUN_FILE).is_file():
        try:
            return RunRecord.load(path.resolve()).refresh()
        except RecordError as exc:
            listed = [r for r in list_runs() if r.run_dir == path.resolve()]
            if listed:
                return listed[0]
            raise RunLookupError(_("the run's record {error}", error=exc), []) from None
    runs = list_runs()
    if not text:
        raise RunLookupError(_("no run given"), runs[:10])
    for matcher in (lambda r: r.id == text, lambda r: r.id.startswith(text), lambda r: r.id.endswith(text)):
        found = [r for r in runs if matcher(r)]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise RunLookupError(_("{text} matches {count} runs; give more of the id", text=repr(text), count=len(found)), found[:10])
    named = [r for r in runs if r.name == text]
    if named:
        return named[0]  # newest first
    if path.is_dir() and (path / RUNS_SUBDIR).is_dir():  # an output dir: its latest run
        inner = runs_in_output_dir(path)
        if inner:
            return inner[0]
    if runs:
        raise RunLookupError(_("no run {text}", text=repr(text)), runs[:10])
    raise RunLookupError(_("no run {text}: there are no runs on this machine yet", text=repr(text)), [])


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
