"""Local training data against the run it feeds: a classification dataset with one class (which
would train a regression), more gradient accumulation than an epoch has batches, evaluation on
the training data itself.

A file is read only as far as the question needs (a second class, enough rows for one
accumulation), through `regular_file` and with a cap on bytes, so a large file costs no more
than a small one and a pipe or a device is never read. Whatever cannot be read here is left to
the data checks, which report it.
"""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path
from typing import Any, Iterator

from hftui.core.i18n import _
from hftui.core.options.sections import BUILDERS, EVAL_SPLIT_NAMES, column_name
from hftui.core.preset import Preset
from hftui.core.regular_file import Refused, open_regular
from hftui.core.train.data import one_class_problem

from hftui.core.checks.report import Report
from hftui.core.checks.values import show

READ_CAP = 64 << 20  # bytes of one file read for these questions
MAX_LINE = 16 << 20
MAX_FILES = 1000


class _Unknown(Exception):
    """The file cannot answer here: a format not read, a cap reached, a line that does not parse."""


def check_data_size(rep: Report, preset: Preset, a) -> None:
    """`a(name)`: an [args] value as set, else the installed default."""
    ds = preset.get("dataset")
    if not isinstance(ds, dict):
        return
    splits = _local_splits(preset, ds)
    _check_eval_is_train(rep, ds, splits)
    if splits is None:
        return
    train_key, eval_key = _split_keys(ds, splits)
    train = splits.get(train_key, [])
    evald = splits.get(eval_key, []) if eval_key else []
    try:
        _check_one_class(rep, preset, ds, train, evald)
        _check_accumulation(rep, preset, ds, train, a)
    except (_Unknown, csv.Error, OSError, RecursionError):
        pass  # not readable here: the data checks say why


def _local_splits(preset: Preset, ds: dict) -> dict[str, list[Path]] | None:
    """split -> its local files, as data_files names them; None for data the loader fetches."""
    path = ds.get("path")
    raw = ds.get("data_files")
    if (path and not (isinstance(path, str) and path in BUILDERS)) or raw is None:
        return None
    entries = raw if isinstance(raw, dict) else {"train": raw}
    out: dict[str, list[Path]] = {}
    for split, value in entries.items():
        files: list[Path] = []
        for item in value if isinstance(value, list) else [value]:
            if not isinstance(item, str):
                return None
            p = preset.resolve(item)
            try:
                files.extend(sorted(p.parent.glob(p.name))[:MAX_FILES] if any(ch in item for ch in "*?[") else [p])
            except (OSError, ValueError):
                return None
        out[str(split)] = files
    return out


def _split_keys(ds: dict, splits: dict) -> tuple[str, str | None]:
    """The train split and the eval split the worker will use (it picks eval/validation/test)."""
    train = str(ds.get("train_split") or "train")
    if isinstance(ds.get("eval_split"), str):
        return train, ds["eval_split"]
    if ds.get("eval_fraction"):
        return train, None
    return train, next((n for n in EVAL_SPLIT_NAMES if n in splits and n != train), None)


def _check_eval_is_train(rep: Report, ds: dict, splits: dict | None) -> None:
    hint = _("hold out rows instead: eval_fraction = 0.1 (without eval_split), or a separate eval file in data_files")
    train = str(ds.get("train_split") or "train")
    if ds.get("eval_split") == train:
        rep.warning("dataset.eval_split", _("eval_split = {split} is the training split: eval loss and metrics then say how well the model "
                                            "remembers its training rows, not how it does on new ones", split=show(train)), hint)
        return
    if not splits:
        return
    _train, eval_key = _split_keys(ds, splits)
    if eval_key and eval_key in splits and splits[eval_key] and _same_files(splits[eval_key], splits.get(train, [])):
        rep.warning(f"dataset.data_files.{eval_key}", _("the {eval} files are the {train} files: eval loss and metrics then say how well the model "
                                                        "remembers its training rows, not how it does on new ones", eval=eval_key, train=train), hint)


def _same_files(a: list[Path], b: list[Path]) -> bool:
    try:
        return bool(b) and {os.path.realpath(p) for p in a} == {os.path.realpath(p) for p in b}
    except (OSError, ValueError):
        return False


def _check_one_class(rep: Report, preset: Preset, ds: dict, train: list[Path], evald: list[Path]) -> None:
    if preset.get("trainer.type") != "trainer" or preset.task != "sequence-classification" or not train:
        return
    fixed = preset.get("model.num_labels")
    if fixed == 1:
        return  # a regression: one value is odd, but it is not a class count
    column = column_name(ds, "label_column")
    seen: set = set()
    for files, limit in ((train, ds.get("max_train_samples")), (evald, ds.get("max_eval_samples"))):
        for record in _records(files, limit):
            value = record.get(column)
            if value is not None and isinstance(value, (str, int, float)):
                seen.add((type(value) is str, value))
                if len(seen) > 1:
                    return
    if len(seen) != 1:
        return
    label = next(iter(seen))[1]
    if fixed is None:
        rep.adopt(one_class_problem(label))
    elif isinstance(fixed, int) and fixed > 1:
        rep.warning("dataset.label_column", _("every row has the same label ({label}), though num_labels = {num_labels}: the model can only learn to answer that class",
                                              label=repr(label), num_labels=fixed),
                    _("add rows of the other classes (or fix the label column)"))


def _check_accumulation(rep: Report, preset: Preset, ds: dict, train: list[Path], a) -> None:
    gas, batch = a("gradient_accumulation_steps"), a("per_device_train_batch_size")
    if preset.trainer_type == "ppo" or not train or not all(_whole(v) for v in (gas, batch)) or gas < 2:
        return
    world = 1  # more processes only shorten an epoch: 1 never warns wrongly
    launch = preset.section("launch")
    if _whole(launch.get("num_processes")) and _whole(launch.get("num_machines", 1)):
        world = launch["num_processes"] * launch.get("num_machines", 1)
    fraction = ds.get("eval_fraction") if isinstance(ds.get("eval_fraction"), (int, float)) and ds.get("eval_split") is None else 0
    fraction = fraction if 0 < fraction < 1 else 0
    per_step = batch * world
    enough = math.ceil(gas * per_step / (1 - fraction)) + 1
    rows = sum(1 for _record in _records(train, enough))
    limit = ds.get("max_train_samples")
    if _whole(limit):
        rows = min(rows, limit)
    rows -= math.ceil(rows * fraction)
    batches = math.ceil(rows / per_step)
    if batches < gas:
        if batches == 1:
            message = _("gradient_accumulation_steps = {gas}, but an epoch of the training data makes 1 batch ({rows} rows, {per_step} per batch): "
                        "each optimizer step adds up 1, not {gas}, so the effective batch is smaller than set", gas=gas, rows=rows, per_step=per_step)
        else:
            message = _("gradient_accumulation_steps = {gas}, but an epoch of the training data makes {batches} batches ({rows} rows, {per_step} per batch): "
                        "each optimizer step adds up {batches}, not {gas}, so the effective batch is smaller than set",
                        gas=gas, batches=batches, rows=rows, per_step=per_step)
        rep.warning("args.gradient_accumulation_steps", message,
                    _("write gradient_accumulation_steps = {steps} or less (a larger per_device_train_batch_size makes up for it), or add rows",
                      steps=max(1, batches)))


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


# -- reading records ------------------------------------------------------------------------------
def _records(files: list[Path], limit: Any = None) -> Iterator[dict]:
    """The records of the files in order, at most `limit`; raises _Unknown where they cannot be
    read completely here (the data checks report why)."""
    left = limit if _whole(limit) else None
    for path in files:
        for record in _file_records(path):
            if left is not None:
                if left == 0:
                    return
                left -= 1
            yield record


def _file_records(path: Path) -> Iterator[dict]:
    suffix = path.suffix.lower()
    if suffix not in (".json", ".jsonl", ".csv", ".tsv"):
        raise _Unknown
    try:
        fh = open_regular(path)
    except (Refused, OSError):
        raise _Unknown from None
    with fh:
        lines = _lines(fh)
        if suffix in (".csv", ".tsv"):
            reader = csv.reader(lines, delimiter="\t" if suffix == ".tsv" else ",")
            names = next(reader, None)
            if names is None:
                return
            for row in reader:
                if any(cell.strip() for cell in row):
                    yield dict(zip(names, row))
            return
        first = next(lines, None)
        if first is None:
            return
        if first.lstrip().startswith("["):
            text = first + "".join(lines)
            try:
                data = json.loads(text)
            except ValueError:
                raise _Unknown from None
            if not isinstance(data, list):
                raise _Unknown
            yield from (r for r in data if isinstance(r, dict))
            return
        for line in _chain(first, lines):
            if line.strip():
                try:
                    record = json.loads(line)
                except ValueError:
                    raise _Unknown from None
                if not isinstance(record, dict):
                    raise _Unknown
                yield record


def _chain(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest


def _lines(fh) -> Iterator[str]:
    """Decoded lines, the whole read capped at READ_CAP bytes and one line at MAX_LINE."""
    total = 0
    while True:
        raw = fh.readline(MAX_LINE + 1)
        if not raw:
            return
        total += len(raw)
        if total > READ_CAP or (len(raw) > MAX_LINE and not raw.endswith(b"\n")):
            raise _Unknown
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise _Unknown from None
        yield text.lstrip("\ufeff") if total == len(raw) else text
