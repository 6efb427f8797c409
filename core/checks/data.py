"""[dataset]: data that load_dataset will find, splits that exist, and local files whose first
record can be read and holds the columns the trainer type needs."""

from __future__ import annotations

import csv
import difflib
import io
import json
from pathlib import Path
from typing import Any

from hftui.core.options.paths import looks_local
from hftui.core.options.sections import BUILDERS, DATA_EXTENSIONS, column_name, column_needs
from hftui.core.preset import Preset

from hftui.core.checks import hub
from hftui.core.checks.report import Report
from hftui.core.checks.values import kind, show

# Builders that would misread a file of another format, and the suffixes they misread.
_MISREAD = {"json": (".csv", ".tsv", ".parquet"), "csv": (".json", ".jsonl", ".parquet")}


def check_dataset(rep: Report, preset: Preset) -> None:
    ds = preset.get("dataset")
    if ds is None:
        rep.error("dataset", "the preset has no [dataset] section", 'add [dataset] with path = "json" and data_files = "data/train.jsonl"')
        return
    if not isinstance(ds, dict):
        return
    path = ds.get("path")
    raw = ds.get("data_files")
    if not path and raw is None:
        rep.error("dataset.path", "no dataset given: neither path nor data_files is set",
                  'set path = "json" and data_files = "data/train.jsonl" (relative to the preset), or a Hub dataset id')
    if isinstance(raw, dict):
        for split, v in raw.items():
            if not (isinstance(v, str) or (isinstance(v, list) and all(isinstance(x, str) for x in v))):
                rep.error(f"dataset.data_files.{split}", f"expected a file path or a list of paths, got {kind(v)} {show(v)}",
                          f'write {split} = "data/{split}.jsonl"')
    elif isinstance(raw, list) and not all(isinstance(x, str) for x in raw):
        rep.error("dataset.data_files", "every entry of data_files must be a file path", 'write data_files = ["data/a.jsonl", "data/b.jsonl"]')
    is_builder = isinstance(path, str) and path in BUILDERS
    if isinstance(path, str) and path and not is_builder:
        _check_dataset_path(rep, preset, path)
    existing = _existing_files(rep, preset, raw)
    if is_builder and raw is None:
        rep.error("dataset.data_files", f"dataset.path = {show(path)} reads local files, but data_files is not set",
                  'set data_files = "data/train.jsonl" (relative to the preset)')
    if is_builder and path in _MISREAD:
        for key, _split, p in existing:
            suffix = p.suffix.lower()
            if suffix in _MISREAD[path]:
                rep.error(key, f"dataset.path = {show(path)} but {p.name} is a {suffix[1:]} file", f'write path = "{DATA_EXTENSIONS.get(suffix, "csv")}"')
    _check_splits(rep, ds, raw, path)
    for key, split, p in existing:
        _check_columns(rep, preset, key, split, p)


def _check_dataset_path(rep: Report, preset: Preset, path: str) -> None:
    """A dataset.path that is not a builder: a local folder or a Hub dataset id."""
    local = preset.resolve(path)
    if local.exists():
        if local.is_file():
            rep.warning("dataset.path", f"dataset.path {show(path)} is a file; load_dataset expects a builder name or a folder",
                        f'write path = "json" (or csv) and data_files = {show(path)}')
    elif looks_local(path) or Path(path).suffix.lower() in DATA_EXTENSIONS:
        rep.error("dataset.path", f"dataset folder not found: {local}", "check the path (relative paths start at the preset's folder)")
    elif not hub.HUB_ID.match(path):
        rep.error("dataset.path", f"{show(path)} is not a builder (json, csv, parquet, text), a folder or a Hub dataset id",
                  'write path = "json" with data_files, or a Hub id like owner/name')
    elif hub.offline() and not hub.in_hub_cache("datasets", path) and not hub.in_datasets_cache(path):
        rep.error("dataset.path", f"dataset {show(path)} is not a local folder and not in the Hugging Face cache, and HF_HUB_OFFLINE is set",
                  "use local files (path = \"json\", data_files = ...), or download the dataset while online")


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
    """(key path, split, file) for the data files that are there; the others are reported."""
    existing: list[tuple[str, str, Path]] = []
    for key, split, value in _data_file_entries(raw):
        p = preset.resolve(value)
        if any(ch in value for ch in "*?["):
            matches = sorted(p.parent.glob(p.name)) if p.parent.exists() else []
            if not matches:
                rep.error(key, f"no file matches {value!r} (looked in {p.parent})", "check the pattern; relative paths start at the preset's folder")
            existing.extend((key, split, m) for m in matches[:1])
            continue
        if not p.exists():
            rep.error(key, f"data file not found: {p}", "check the path; relative paths start at the preset's folder")
        elif p.is_dir():
            rep.error(key, f"data file {p} is a folder", "name the file inside it (or a pattern like data/*.jsonl)")
        else:
            existing.append((key, split, p))
    return existing


def _check_splits(rep: Report, ds: dict, raw: Any, path: Any) -> None:
    train_split = ds.get("train_split", "train")
    eval_split = ds.get("eval_split")
    fraction = ds.get("eval_fraction")
    local_files = raw is not None and (not path or (isinstance(path, str) and path in BUILDERS))
    if local_files and isinstance(train_split, str):
        splits = list(raw) if isinstance(raw, dict) else ["train"]
        if train_split not in splits:
            rep.error("dataset.train_split", f"no split {train_split!r} in data_files (it has: {', '.join(map(str, splits))})",
                      f'name the training file {train_split} = "..." in data_files, or set train_split to one of: {", ".join(map(str, splits))}')
        if isinstance(eval_split, str) and eval_split not in splits:
            hint = (f'add {eval_split} = "data/{eval_split}.jsonl" to data_files, or use eval_fraction = 0.1'
                    if isinstance(raw, dict) else
                    f'data_files names one file (the train split): write data_files = {{ train = {show(raw if isinstance(raw, str) else "...")}, {eval_split} = "..." }} or use eval_fraction = 0.1')
            rep.error("dataset.eval_split", f"no split {eval_split!r} in data_files (it has: {', '.join(map(str, splits))})", hint)
    if eval_split is not None and fraction:
        rep.warning("dataset.eval_fraction", "both eval_split and eval_fraction are set: the eval split is used and eval_fraction is ignored",
                    "remove one of them")


def first_record(path: Path) -> tuple[list[str] | None, str | None]:
    """(column names of the first record, problem) for a local json/jsonl/csv file.

    Reads at most the first megabyte; other formats answer (None, None).
    """
    suffix = path.suffix.lower()
    if suffix not in (".json", ".jsonl", ".csv", ".tsv"):
        return None, None
    try:
        with open(path, "rb") as fh:
            head = fh.read(1 << 20)
            truncated = bool(fh.read(1))
    except PermissionError:
        return None, "cannot be read (permission denied)"
    except OSError as exc:
        return None, f"cannot be read: {exc.strerror or exc}"
    if not head.strip():
        return None, "is empty"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if truncated and exc.start >= len(head) - 4:
            text = head[: exc.start].decode("utf-8")
        else:
            return None, f"is not UTF-8 text (byte {exc.start})"
    text = text.lstrip("\ufeff")
    if "\x00" in text:
        return None, "is not a text file (it contains NUL bytes)"
    if suffix in (".csv", ".tsv"):
        return _csv_header(text, truncated, "\t" if suffix == ".tsv" else ",")
    return _json_keys(text)


def _csv_header(text: str, truncated: bool, delimiter: str) -> tuple[list[str] | None, str | None]:
    lines = text.splitlines()
    if truncated and len(lines) > 1:
        lines = lines[:-1]
    rows = [r for r in csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter) if any(c.strip() for c in r)]
    if not rows:
        return None, "is empty"
    if len(rows) < 2:
        return None, "has a header line but no rows"
    return [c.strip() for c in rows[0]], None


def _json_keys(text: str) -> tuple[list[str] | None, str | None]:
    stripped = text.lstrip()
    decoder = json.JSONDecoder()
    try:
        if stripped.startswith("["):
            rest = stripped[1:].lstrip()
            if rest.startswith("]"):
                return None, "is an empty JSON list: there are no records"
            obj, _ = decoder.raw_decode(rest)
        else:
            obj, _ = decoder.raw_decode(stripped)
    except json.JSONDecodeError as exc:
        line = text[: len(text) - len(stripped)].count("\n") + exc.lineno
        return None, f"is not valid JSON (line {line}: {exc.msg})"
    if not isinstance(obj, dict):
        return None, f"holds {kind(obj)} as its first record, not an object with named columns"
    if not obj:
        return None, "has an empty first record {}: there are no columns"
    return [str(k) for k in obj], None


def required_columns(preset: Preset) -> list[tuple[str, list[str]]]:
    """(dataset key, acceptable column names) for each column the trainer type needs."""
    ds = preset.section("dataset")
    return [(f"dataset.{keys[0]}", [column_name(ds, k) for k in keys]) for keys in column_needs(preset.trainer_type, preset.task)]


def _check_columns(rep: Report, preset: Preset, key: str, split: str, p: Path) -> None:
    columns, problem = first_record(p)
    if problem:
        rep.error(key, f"data file {p.name} {problem}", f"fix or replace {p}")
        return
    if columns is None:
        return
    for ds_key, names in required_columns(preset):
        if not any(n in columns for n in names):
            wanted = " or ".join(repr(n) for n in names)
            setting = ds_key.rpartition(".")[2]
            close = difflib.get_close_matches(names[0], columns, n=1, cutoff=0.5)
            hint = f"set {setting} = {show(close[0] if close else columns[0])} (columns there: {', '.join(columns[:12])})"
            if ds_key == "dataset.text_column" and preset.trainer_type == "sft":
                hint += "; for chat data set messages_column"
            rep.error(ds_key, f"the {split} file {p.name} has no column {wanted}", hint)

