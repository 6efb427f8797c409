"""Predictions of a run's model for a file of inputs, written as JSON lines beside the run.

The input file holds rows with the preset's columns (JSON lines, a JSON list, or CSV): the
column the trainer type reads its input from (`text_column`, `prompt_column`, the chat in
`messages_column`). Each output line is `{"input": row, ...the answer}` in the input's order.
Every row that lacks the column is reported at once, naming the file, line and column.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Callable

from hftui.core.fsutil import atomic_write_text
from hftui.core.i18n import _
from hftui.core.options.sections import PAIRED_COLUMNS, column_name, column_needs
from hftui.core.problems import PresetError, Problem
from hftui.core.regular_file import Refused, read_capped
from hftui.core.run.folder import PREDICTIONS_FILE

MAX_INPUT_BYTES = 256 << 20
SHOWN_PROBLEMS = 10


def input_keys(preset) -> list[str]:
    """The [dataset] keys whose column can hold a row's input, in order of preference."""
    keys: list[str] = []
    for key in column_needs(preset.trainer_type, preset.task)[0]:
        keys.append(PAIRED_COLUMNS.get(key, key))
    if preset.trainer_type == "reward":
        keys.insert(0, "text_column")  # a reward model scores one text
    return list(dict.fromkeys(keys))


def default_output(run_dir: str | Path, checkpoint: int | None) -> Path:
    name = PREDICTIONS_FILE if checkpoint is None else PREDICTIONS_FILE.replace(".jsonl", f"-checkpoint-{checkpoint}.jsonl")
    return Path(run_dir) / name


def _problem(file: str, message: str, hint: str, key: str = "") -> Problem:
    return Problem(key, "error", message, hint, None, file)


def read_rows(path: str | Path) -> list[dict]:
    """The rows of a JSON-lines, JSON or CSV file; PresetError naming the file and line."""
    file = str(path)
    try:
        raw, more = read_capped(path, MAX_INPUT_BYTES)
    except Refused as exc:
        raise PresetError([_problem(file, _("the input file {reason}", reason=exc.text), exc.hint)], file) from None
    if more:
        raise PresetError([_problem(file, _("the input file is larger than {size} MiB", size=MAX_INPUT_BYTES >> 20), _("split it into smaller files"))], file)
    text = raw.decode("utf-8", "replace")
    suffix = Path(path).suffix.lower()
    if suffix == ".csv":
        return [dict(r) for r in csv.DictReader(io.StringIO(text))]
    stripped = text.lstrip()
    if suffix == ".json" and stripped.startswith("["):
        try:
            rows = json.loads(text)
        except ValueError as exc:
            raise PresetError([_problem(file, _("not valid JSON: {error}", error=exc), _("write a JSON list of objects, or one JSON object per line"))], file) from None
        return _objects(rows, file, lambda i: _("item {n}", n=i + 1))
    rows, problems = [], []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except ValueError as exc:
            problems.append(_problem(f"{file}:{number}", _("line {n} is not valid JSON: {error}", n=number, error=exc), _("one JSON object per line")))
    if problems:
        raise PresetError(problems[:SHOWN_PROBLEMS], file)
    return _objects(rows, file, lambda i: _("row {row}", row=i + 1))


def _objects(rows, file: str, where: Callable[[int], str]) -> list[dict]:
    if not isinstance(rows, list):
        raise PresetError([_problem(file, _("the input is not a list of rows"), _("write a JSON list of objects, or one JSON object per line"))], file)
    bad = [i for i, r in enumerate(rows) if not isinstance(r, dict)]
    if bad:
        raise PresetError([_problem(file, _("{where} is not a JSON object", where=where(i)), _("each row is an object with the preset's columns")) for i in bad[:SHOWN_PROBLEMS]], file)
    return rows


def row_inputs(preset, rows: list[dict], file: str) -> list:
    """Each row's input value; every row without one of the input columns reported at once."""
    dataset = preset.section("dataset")
    keys = input_keys(preset)
    columns = [column_name(dataset, k) for k in keys]
    inputs, missing = [], []
    for i, row in enumerate(rows):
        value = next((row[c] for c in columns if isinstance(row.get(c), (str, list)) and row.get(c)), None)
        if value is None:
            missing.append(i)
        inputs.append(value)
    if not rows:
        raise PresetError([_problem(file, _("the input file holds no rows"), _("add one row per input"))], file)
    if missing:
        names = _(" or ").join(repr(c) for c in columns)
        hint = _("give each row a {names} column (the preset's {keys})", names=names, keys=" / ".join(f"dataset.{k}" for k in keys))
        problems = [_problem(f"{file}:{i + 1}", _("row {n} has no {names} text; its columns: {columns}", n=i + 1, names=names,
                                                  columns=", ".join(map(str, rows[i])) or _("none")), hint)
                    for i in missing[:SHOWN_PROBLEMS]]
        if len(missing) > SHOWN_PROBLEMS:
            problems.append(_problem(file, _("and {count} more rows without it", count=len(missing) - SHOWN_PROBLEMS), hint))
        raise PresetError(problems, file)
    return inputs


def predict_rows(loaded, rows: list[dict], input_name: str, output_path: str | Path, max_new_tokens: int,
                 progress: Callable[[int, int], None] | None = None) -> int:
    """Answer every row; write the JSON lines at once when all are done."""
    from hftui.core.train.answer import answer

    inputs = row_inputs(loaded.preset, rows, input_name)
    lines = []
    for i, (row, value) in enumerate(zip(rows, inputs)):
        result = answer(loaded, value, max_new_tokens)
        result.pop("kind", None)
        lines.append(json.dumps({"input": row, **result}, ensure_ascii=False))
        if progress is not None:
            progress(i + 1, len(rows))
    atomic_write_text(Path(output_path), "\n".join(lines) + "\n")
    return len(lines)
