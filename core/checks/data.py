"""[dataset]: data that load_dataset will find, splits that exist, and local files that are
regular files whose every row (up to a sample's size) holds what the trainer type reads."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from hftui.core.i18n import _
from hftui.core.options.paths import looks_local
from hftui.core.options.sections import BUILDERS, DATA_EXTENSIONS, PAIRED_COLUMNS, column_name, column_needs
from hftui.core.preset import Preset
from hftui.core.regular_file import check_regular

from hftui.core.checks import hub
from hftui.core.checks.data_rows import SCAN_ROWS, needs_for
from hftui.core.checks.data_scan import first_record, scan_file
from hftui.core.checks.report import Report
from hftui.core.checks.values import kind, show

__all__ = ["check_dataset", "first_record", "required_columns"]

# Every file of a glob is looked at, up to MAX_FILES; rows are read up to ROWS_PER_CHECK in all
# (each file up to SCAN_ROWS), then only each file's first record (its columns).
MAX_FILES = 1000
ROWS_PER_CHECK = 4 * SCAN_ROWS
# Builders whose files hftui reads row by row.
_SCANNED = ("json", "csv", "text", "parquet")

# Builders that would misread a file of another format, and the suffixes they misread.
_MISREAD = {"json": (".csv", ".tsv", ".parquet"), "csv": (".json", ".jsonl", ".parquet")}


def check_dataset(rep: Report, preset: Preset) -> None:
    ds = preset.get("dataset")
    if ds is None:
        rep.error("dataset", _("the preset has no [dataset] section"), _('add [dataset] with path = "json" and data_files = "data/train.jsonl"'))
        return
    if not isinstance(ds, dict):
        return
    path = ds.get("path")
    raw = ds.get("data_files")
    if not path and raw is None:
        rep.error("dataset.path", _("no dataset given: neither path nor data_files is set"),
                  _('set path = "json" and data_files = "data/train.jsonl" (relative to the preset), or a Hub dataset id'))
    if isinstance(raw, dict):
        for split, v in raw.items():
            if not (isinstance(v, str) or (isinstance(v, list) and all(isinstance(x, str) for x in v))):
                rep.error(f"dataset.data_files.{split}", _("expected a file path or a list of paths, got {kind} {value}", kind=kind(v), value=show(v)),
                          _('write {split} = "data/{split}.jsonl"', split=split))
    elif isinstance(raw, list) and not all(isinstance(x, str) for x in raw):
        rep.error("dataset.data_files", _("every entry of data_files must be a file path"), _('write data_files = ["data/a.jsonl", "data/b.jsonl"]'))
    is_builder = isinstance(path, str) and path in BUILDERS
    if isinstance(path, str) and path and not is_builder:
        _check_dataset_path(rep, preset, path)
    existing = _existing_files(rep, preset, raw)
    if is_builder and raw is None:
        rep.error("dataset.data_files", _("dataset.path = {path} reads local files, but data_files is not set", path=show(path)),
                  _('set data_files = "data/train.jsonl" (relative to the preset)'))
    misread = set()
    if is_builder and path in _MISREAD:
        for key, _split, p in existing:
            suffix = p.suffix.lower()
            if suffix in _MISREAD[path]:
                misread.add(p)
                rep.error(key, _("dataset.path = {path} but {file} is a {format} file", path=show(path), file=p.name, format=suffix[1:]),
                          _('write path = "{builder}"', builder=DATA_EXTENSIONS.get(suffix, "csv")))
    _check_splits(rep, ds, raw, path)
    if existing and (is_builder or not path):
        builder = path if is_builder else DATA_EXTENSIONS.get(existing[0][2].suffix.lower(), "json")
        if builder in _SCANNED:
            _check_contents(rep, preset, builder, [e for e in existing if e[2] not in misread])


def _check_dataset_path(rep: Report, preset: Preset, path: str) -> None:
    """A dataset.path that is not a builder: a local folder or a Hub dataset id."""
    local = preset.resolve(path)
    refused = check_regular(local)
    if refused is not None and not refused.reason.startswith(("does not exist", "is a folder", "is a symbolic link to")):
        rep.error("dataset.path", _("dataset.path {path} {reason}", path=local, reason=refused.text), refused.hint)
    elif local.exists():
        if refused is None:
            rep.warning("dataset.path", _("dataset.path {path} is a file; load_dataset expects a builder name or a folder", path=show(path)),
                        _('write path = "json" (or csv) and data_files = {path}', path=show(path)))
    elif looks_local(path) or Path(path).suffix.lower() in DATA_EXTENSIONS:
        rep.error("dataset.path", _("dataset folder not found: {path}", path=local), _("check the path (relative paths start at the preset's folder)"))
    elif not hub.HUB_ID.match(path):
        rep.error("dataset.path", _("{path} is not a builder (json, csv, parquet, text), a folder or a Hub dataset id", path=show(path)),
                  _('write path = "json" with data_files, or a Hub id like owner/name'))
    elif hub.offline() and not hub.in_hub_cache("datasets", path) and not hub.in_datasets_cache(path):
        rep.error("dataset.path", _("dataset {path} is not a local folder and not in the Hugging Face cache, and HF_HUB_OFFLINE is set", path=show(path)),
                  _('use local files (path = "json", data_files = ...), or download the dataset while online'))


def _data_file_entries(raw: Any) -> list[tuple[str, str, str]]:
    """(key path, split, file) for every file named in dataset.data_files."""
    out = []
    if isinstance(raw, str):
        out.append(("dataset.data_files", "train", raw))
    elif isinstance(raw, list):
        out.extend(("dataset.data_files", "train", v) for v in raw if isinstance(v, str))
    elif isinstance(raw, dict):
        for split, v in raw.items():
            files = v if isinstance(v, list) else [v]
            for item in files:
                if isinstance(item, str):
                    out.append((f"dataset.data_files.{split}", str(split), item))
    return out


def _existing_files(rep: Report, preset: Preset, raw: Any) -> list[tuple[str, str, Path]]:
    """(key path, split, file) for the data files that are there and regular files; the others
    (missing, a folder, a named pipe, a device, a symbolic link loop) are reported."""
    existing: list[tuple[str, str, Path]] = []
    for key, split, value in _data_file_entries(raw):
        p = preset.resolve(value)
        if any(ch in value for ch in "*?["):
            try:
                matches = sorted(p.parent.glob(p.name)) if p.parent.is_dir() else []
            except OSError:  # a folder that cannot be listed
                matches = []
            if not matches:
                rep.error(key, _("no file matches {pattern} (looked in {folder})", pattern=repr(value), folder=p.parent),
                          _("check the pattern; relative paths start at the preset's folder"))
            for m in matches[:MAX_FILES]:
                if _regular(rep, key, m):
                    existing.append((key, split, m))
            continue
        if _regular(rep, key, p):
            existing.append((key, split, p))
    return existing


def _regular(rep: Report, key: str, p: Path) -> bool:
    refused = check_regular(p)
    if refused is None:
        return True
    if refused.reason == "does not exist" or refused.reason.startswith("does not exist ("):
        rep.error(key, _("data file not found: {path}", path=p), _("check the path; relative paths start at the preset's folder"))
    elif refused.reason.startswith("is a folder"):
        rep.error(key, _("data file {path} is a folder", path=p), _("name the file inside it (or a pattern like data/*.jsonl)"))
    else:
        rep.error(key, _("data file {name} {problem}", name=p, problem=refused.text), refused.hint)
    return False


def _check_splits(rep: Report, ds: dict, raw: Any, path: Any) -> None:
    train_split = ds.get("train_split", "train")
    eval_split = ds.get("eval_split")
    fraction = ds.get("eval_fraction")
    local_files = raw is not None and (not path or (isinstance(path, str) and path in BUILDERS))
    if local_files and isinstance(train_split, str):
        splits = list(raw) if isinstance(raw, dict) else ["train"]
        if train_split not in splits:
            rep.error("dataset.train_split", _("no split {split} in data_files (it has: {splits})", split=repr(train_split), splits=", ".join(map(str, splits))),
                      _('name the training file {split} = "..." in data_files, or set train_split to one of: {splits}', split=train_split, splits=", ".join(map(str, splits))))
        if isinstance(eval_split, str) and eval_split not in splits:
            hint = (_('add {split} = "data/{split}.jsonl" to data_files, or use eval_fraction = 0.1', split=eval_split)
                    if isinstance(raw, dict) else
                    _('data_files names one file (the train split): write data_files = {{ train = {train}, {split} = "..." }} or use eval_fraction = 0.1',
                      train=show(raw if isinstance(raw, str) else "..."), split=eval_split))
            rep.error("dataset.eval_split", _("no split {split} in data_files (it has: {splits})", split=repr(eval_split), splits=", ".join(map(str, splits))), hint)
    if eval_split is not None and fraction:
        rep.warning("dataset.eval_fraction", _("both eval_split and eval_fraction are set: the eval split is used and eval_fraction is ignored"),
                    _("remove one of them"))


def required_columns(preset: Preset) -> list[tuple[str, list[str]]]:
    """(dataset key, acceptable column names) for each column the trainer type needs."""
    ds = preset.section("dataset")
    return [(f"dataset.{keys[0]}", [column_name(ds, k) for k in keys]) for keys in column_needs(preset.trainer_type, preset.task)]


def _check_contents(rep: Report, preset: Preset, builder: str, files: list[tuple[str, str, Path]]) -> None:
    """Every file read as the builder reads it: its problems (with the line of the first of each
    kind), its columns against the trainer type's, and the columns of one split's files alike.
    A problem many files share is said once, with the count."""
    groups = needs_for(preset)
    left = ROWS_PER_CHECK
    first_of_key: dict[str, tuple[str, tuple[str, ...]]] = {}
    differ: dict[str, list[str]] = {}
    missing: dict[tuple[str, str], list[tuple[str, list[str]]]] = {}
    sampled: dict[str, list[tuple[str, int]]] = {}
    for key, split, p in files:
        scan = scan_file(p, builder, groups, max_rows=max(1, min(SCAN_ROWS, left)))
        left -= scan.rows
        shown = _shown(preset, p)
        for f in scan.findings:
            rep.add(f.key or key, f.severity, _("data file {name} {problem}", name=shown, problem=f.message), f.hint or _("fix or replace {path}", path=p))
        if not scan.complete:
            sampled.setdefault(key, []).append((shown, scan.rows))
        if scan.columns is None:
            continue
        for ds_key in _missing_columns(preset, list(scan.columns)):
            missing.setdefault((ds_key, split), []).append((shown, list(scan.columns)))
        other, columns = first_of_key.setdefault(key, (shown, scan.columns))
        if set(columns) != set(scan.columns):
            differ.setdefault(key, []).append(_("{file} has {columns}; {other} has {other_columns}", file=shown, columns=", ".join(scan.columns[:8]),
                                                other=other, other_columns=", ".join(columns[:8])))
    for (ds_key, split), where in missing.items():
        _report_missing(rep, preset, ds_key, split, where)
    for key, pairs in differ.items():
        message = (_("the files of one split differ in columns: {pair} (and {more:,} more files)", pair=pairs[0], more=len(pairs) - 1) if len(pairs) > 1
                   else _("the files of one split differ in columns: {pair}", pair=pairs[0]))
        rep.error(key, message, _("give every file of a split the same columns (the loader cannot join them otherwise)"))
    for key, parts in sampled.items():
        rows = sum(n for _name, n in parts)
        if len(parts) > 1:
            message = _("checked {rows:,} rows of {files} files, a sample: the rest is read when the run starts", rows=rows, files=len(parts))
        elif rows:
            message = _("checked the first {rows:,} rows of {file}, a sample: the rest is read when the run starts", rows=rows, file=parts[0][0])
        else:
            message = _("checked only the start of {file} (a record too long to read whole), a sample: the rest is read when the run starts", file=parts[0][0])
        rep.notice(key, message, "")


def _shown(preset: Preset, p: Path) -> str:
    """A data file as the person wrote it: relative to the preset's folder when inside it."""
    try:
        return str(p.relative_to(preset.base_dir))
    except ValueError:
        return str(p)


def _missing_columns(preset: Preset, columns: list[str]) -> list[str]:
    """The dataset keys whose columns a file lacks (with the partner of a paired column it has:
    SFT's prompt beside its completion)."""
    ds = preset.section("dataset")
    missing = []
    for keys in column_needs(preset.trainer_type, preset.task):
        found = next((k for k in keys if column_name(ds, k) in columns), None)
        if found is None:
            missing.append(f"dataset.{keys[0]}")
        elif found in PAIRED_COLUMNS and column_name(ds, PAIRED_COLUMNS[found]) not in columns:
            missing.append(f"dataset.{PAIRED_COLUMNS[found]}")
    return missing


def _report_missing(rep: Report, preset: Preset, ds_key: str, split: str, where: list[tuple[str, list[str]]]) -> None:
    shown, columns = where[0]
    setting = ds_key.rpartition(".")[2]
    names = dict(required_columns(preset)).get(ds_key) or [column_name(preset.section("dataset"), setting)]
    wanted = _(" or ").join(repr(n) for n in names)
    # a column another need already reads is no candidate (SFT's completion is not its prompt)
    ds = preset.section("dataset")
    taken = {column_name(ds, k) for keys in column_needs(preset.trainer_type, preset.task) for k in keys} - set(names)
    free = [c for c in columns if c not in taken] or columns
    close = difflib.get_close_matches(names[0], free, n=1, cutoff=0.5)
    hint = _("set {setting} = {value} (columns there: {columns})", setting=setting, value=show(close[0] if close else free[0]), columns=", ".join(columns[:12]))
    if ds_key == "dataset.text_column" and preset.trainer_type == "sft":
        hint = _("{hint}; for chat data set messages_column, for prompt/completion data completion_column", hint=hint)
    if setting in PAIRED_COLUMNS.values():
        partner = ", ".join(k.removesuffix("_column") for k, v in PAIRED_COLUMNS.items() if v == setting)
        hint = _("{hint}; it goes with the {partner} column", hint=hint, partner=partner)
    message = (_("the {split} file {file} has no column {wanted} (nor do {more:,} more files)", split=split, file=shown, wanted=wanted, more=len(where) - 1)
               if len(where) > 1 else _("the {split} file {file} has no column {wanted}", split=split, file=shown, wanted=wanted))
    rep.error(ds_key, message, hint)
