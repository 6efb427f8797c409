"""The runs of this machine: a small index under the state directory, and finding a run by name.

A run lives in `<args.output_dir>/.hftui/<run_id>/` beside its checkpoints, so that moving or
deleting the output folder takes its history with it. The index only points at those folders;
each folder's `run.json` is the truth.
"""

from __future__ import annotations

import json
from pathlib import Path

from hftui.core.fsutil import atomic_write_text, ensure_private_dir, state_dir
from hftui.core.run.folder import INDEX_SUBDIR, MISSING, RUN_FILE, RUNS_SUBDIR
from hftui.core.run.record import RunRecord

class RunLookupError(LookupError):
    """`find_run` could not pick one run; `candidates` are the runs a person may have meant."""

    def __init__(self, message: str, candidates: list[RunRecord] | None = None):
        super().__init__(message)
        self.message = message
        self.candidates = list(candidates or [])


def index_dir() -> Path:
    return state_dir() / INDEX_SUBDIR


def write_index(record: RunRecord) -> None:
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
                                      run_dir=run_dir, output_dir=str(run_dir.parent.parent), status=MISSING,
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
