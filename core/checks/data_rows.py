"""What each column the trainer reads must hold, checked row by row: text where text goes, class
ids or names for classification, numbers for regression, {role, content} lists for chat.

The checks follow how the worker reads the data (core/train/data.py) and how the loader reads a
csv file (pandas: an empty cell, NA or None is no value; a column of numbers becomes numbers).
Each kind of problem keeps its first place and a count, so a file with ten thousand bad rows
gives one line, not ten thousand.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from hftui.core.checks.values import kind
from hftui.core.i18n import N_, _
from hftui.core.options.sections import PAIRED_COLUMNS, column_name, column_needs

# How much of one file a scan reads before it calls the rest a sample.
SCAN_ROWS = 100_000
SCAN_BYTES = 32 << 20
SCAN_SECONDS = 5.0
MAX_RECORD = 16 << 20  # a line longer than this ends the scan: a sample up to there

# What each [dataset] column must hold, as core/train/data.py and the TRL trainers read it.
COLUMN_KINDS = {"text_column": "text", "target_column": "text", "prompt_column": "text_or_chat", "label_column": "class",
                "messages_column": "chat", "chosen_column": "text_or_chat", "rejected_column": "text_or_chat",
                "completion_column": "text_or_chat"}
# Trainer types that read a column as something narrower than COLUMN_KINDS says.
KIND_BY_TYPE = {("ppo", "prompt_column"): "text"}

# Cells the csv reader (pandas, under datasets) reads as no value.
CSV_MISSING = frozenset({"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
                          "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"})
_INT = re.compile(r"^\s*[+-]?\d+\s*$")
_BOOL = frozenset({"True", "TRUE", "true", "False", "FALSE", "false"})
MISSING = object()  # a key the record does not have

# Places in a data file, as problems name them.
LINE = N_("line {line}")
RECORD = N_("record {record}")
RECORD_AT_LINE = N_("record {record} (line {line})")
ROW = N_("row {row}")


class Where:
    """A place in a data file ("line 3"), put into words only when a problem there is reported:
    most rows have none, and a scan reads up to SCAN_ROWS of them."""

    __slots__ = ("text", "values")

    def __init__(self, text: str, **values: int) -> None:
        self.text, self.values = text, values

    def __str__(self) -> str:
        return _(self.text, **self.values)


@dataclass(frozen=True)
class Need:
    key: str  # "dataset.label_column"
    column: str
    kind: str  # text | class | number | chat | text_or_chat
    num_labels: int | None = None
    partner: "Need | None" = None  # a column read together with this one (SFT's prompt beside its completion)


@dataclass(frozen=True)
class Finding:
    key: str  # "" for the data file's own key, else the [dataset] key of the column
    message: str  # completes "data file <name> ..."
    hint: str
    severity: str = "error"


def needs_for(preset) -> tuple[tuple[Need, ...], ...]:
    """The columns the preset's trainer type reads, each group one-of (sft: text or messages)."""
    ds = preset.section("dataset")
    n = preset.get("model.num_labels")
    n = n if isinstance(n, int) and not isinstance(n, bool) else None
    groups = []
    ttype = preset.trainer_type

    def kind_of(key: str) -> str:
        if key == "label_column" and n == 1:
            return "number"
        return KIND_BY_TYPE.get((ttype, key)) or COLUMN_KINDS.get(key, "text")

    for group in column_needs(ttype, preset.task):
        needs = []
        for key in group:
            partner = PAIRED_COLUMNS.get(key)
            paired = Need(f"dataset.{partner}", column_name(ds, partner), kind_of(partner), n) if partner else None
            needs.append(Need(f"dataset.{key}", column_name(ds, key), kind_of(key), n, paired))
        groups.append(tuple(needs))
    return tuple(groups)


class Findings:
    """The first place of each kind of problem, and how many places share it."""

    def __init__(self) -> None:
        self.first: dict[tuple, tuple[str, str, str, str]] = {}
        self.count: Counter = Counter()

    def add(self, ident: tuple, key: str, text: str, hint: str, severity: str = "error") -> None:
        self.count[ident] += 1
        self.first.setdefault(ident, (key, text, hint, severity))

    def result(self) -> tuple[Finding, ...]:
        out = []
        for ident, (key, text, hint, severity) in self.first.items():
            n = self.count[ident]
            out.append(Finding(key, _("{message} (and {more:,} more like it)", message=text, more=n - 1) if n > 1 else text, hint, severity))
        return tuple(out)


class RowChecks:
    """Row checks and the scan's limits, shared by every format."""

    def __init__(self, groups, max_rows: int, is_csv: bool) -> None:
        self.groups, self.max_rows, self.is_csv = groups, max_rows, is_csv
        self.found = Findings()
        self.active: tuple[Need, ...] = ()
        self.rows = 0
        self.bytes = 0
        self.complete = True
        self.deadline = time.monotonic() + SCAN_SECONDS
        self.csv_numeric: dict[str, bool] = {}  # column -> every cell so far a number
        self.csv_later: dict[tuple, tuple[str, str, str, str]] = {}  # problems that hold only for a numeric column

    def start(self, columns) -> None:
        active = [next(n for n in g if n.column in columns) for g in self.groups if any(n.column in columns for n in g)]
        active += [n.partner for n in active if n.partner is not None and n.partner.column in columns]
        self.active = tuple(active)

    def full(self) -> bool:
        if self.rows >= self.max_rows or self.bytes >= SCAN_BYTES or (self.rows % 1000 == 0 and time.monotonic() > self.deadline):
            self.complete = False
            return True
        return False

    def row(self, where: Where, record: dict) -> None:
        self.rows += 1
        for need in self.active:
            value = record.get(need.column, MISSING)
            if self.is_csv:
                self._csv_cell(need, where, value)
            else:
                self._value(need, where, value)

    def _value(self, need: Need, where: Where, value: Any) -> None:
        add, col = self.found.add, need.column
        if value is MISSING or value is None:
            add(("null", col), need.key, _("{where}: {column} has no value (the row has no such key)", where=where, column=repr(col)) if value is MISSING
                else _("{where}: {column} has no value (null)", where=where, column=repr(col)),
                _("give every row a value in that column, or remove the rows without one"))
        elif need.kind == "text" and not isinstance(value, str):
            add(("type", col), need.key, _("{where}: {column} holds {what} {value} where text goes", where=where, column=repr(col), what=what(value), value=_brief(value)),
                _("write it as a string in quotes; every row of the column must hold text"))
        elif need.kind == "class":
            self._class_label(need, where, value)
        elif need.kind == "number":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                add(("type", col), need.key, _("{where}: {column} holds {what} {value}, but num_labels = 1 trains a regression on numbers",
                                               where=where, column=repr(col), what=what(value), value=_brief(value)),
                    _("write numbers as labels, or remove model.num_labels = 1 to train classes"))
            elif not math.isfinite(value):
                add(("finite", col), need.key, _("{where}: {column} is {value} (not a finite number)", where=where, column=repr(col), value=value),
                    _("replace it with a number"))
        elif need.kind in ("chat", "text_or_chat") and not (need.kind == "text_or_chat" and isinstance(value, str)):
            problem = _chat_problem(value, where, repr(col))
            if need.kind == "text_or_chat" and not isinstance(value, list):
                problem = ("shape", _("{where}: {column} holds {what} {value}, neither text nor a list of {{role, content}} messages",
                                      where=where, column=repr(col), what=what(value), value=_brief(value)))
            if problem:
                hint = (_('for plain text write text_column = "{column}" instead', column=col) if isinstance(value, str) and need.key == "dataset.messages_column"
                        else _('write a list of messages like [{"role": "user", "content": "..."}, {"role": "assistant", "content": "..."}]'))
                add(("chat", col, problem[0]), need.key, problem[1], hint)

    def _class_label(self, need: Need, where: Where, value: Any) -> None:
        add, col = self.found.add, need.column
        if isinstance(value, bool) or isinstance(value, str):
            return
        if isinstance(value, int):
            if value < 0:
                add(("negative", col), need.key, _("{where}: label {label} is negative", where=where, label=value), _("class ids run from 0 to N-1 (or use class names)"))
            elif need.num_labels and need.num_labels > 1 and value >= need.num_labels:
                add(("range", col), need.key, _("{where}: label {label} is not below num_labels = {num_labels}", where=where, label=value, num_labels=need.num_labels),
                    _("set model.num_labels to at least {count}, or fix the label", count=value + 1))
        elif isinstance(value, float):
            add(("float", col), need.key, _("{where}: label {label} is a decimal number, but class labels are whole numbers (0, 1, ...) or names",
                                            where=where, label=repr(value)),
                _("write class ids 0..N-1 or class names; for a regression target set model.num_labels = 1"))
        else:
            add(("type", col), need.key, _("{where}: label {label} is {what}, not a class id or name", where=where, label=_brief(value), what=what(value)),
                _("write class ids 0..N-1 or class names"))

    def _csv_cell(self, need: Need, where: Where, cell: Any) -> None:
        add, col = self.found.add, need.column
        if cell is MISSING or cell in CSV_MISSING:
            message = (_("{where}: {column} has no value (an empty cell, which the csv reader reads as missing)", where=where, column=repr(col))
                       if cell in (MISSING, "") else
                       _("{where}: {column} has no value ({cell}, which the csv reader reads as missing)", where=where, column=repr(col), cell=repr(cell)))
            add(("null", col), need.key, message, _("give every row a value in that column, or remove the rows without one"))
            return
        numeric = _INT.match(cell) is not None or cell.strip() in _BOOL or _is_float(cell)
        self.csv_numeric[col] = self.csv_numeric.get(col, True) and numeric
        if need.kind == "text" and numeric:
            self.csv_later.setdefault(("numbers", col), (
                need.key, _("{where}: {column} holds only numbers (first {cell}), so the csv reader makes it a number column, not text",
                            where=where, column=repr(col), cell=repr(cell)),
                _("the column must hold text; check that text_column names the right column"), "error"))
        elif need.kind == "class" and numeric and not _INT.match(cell) and cell.strip() not in _BOOL:
            self.csv_later.setdefault(("float", col), (
                need.key, _("{where}: label {label} is a decimal number, so the csv reader makes every label one, but class labels are whole numbers (0, 1, ...) or names",
                            where=where, label=repr(cell)),
                _("write class ids 0..N-1 or class names; for a regression target set model.num_labels = 1"), "error"))
        elif need.kind == "class" and _INT.match(cell) and int(cell) < 0:
            self.csv_later.setdefault(("negative", col), (need.key, _("{where}: label {label} is negative", where=where, label=cell.strip()),
                                                          _("class ids run from 0 to N-1 (or use class names)"), "error"))
        elif need.kind == "number" and not numeric:
            add(("type", col), need.key, _("{where}: {column} holds the text {cell}, but num_labels = 1 trains a regression on numbers",
                                           where=where, column=repr(col), cell=repr(cell[:40])),
                _("write numbers as labels, or remove model.num_labels = 1 to train classes"))
        elif need.kind == "chat":
            add(("chat", col), need.key, _("{where}: {column} holds text: a csv cell cannot hold a list of chat messages", where=where, column=repr(col)),
                _('use a .jsonl file for chat data, or write text_column = "{column}" to train on it as plain text', column=col))

    def finish(self) -> None:
        """Problems that depend on a whole csv column: they hold only when every cell is a number."""
        for (which, col), (key, text, hint, severity) in self.csv_later.items():
            if self.csv_numeric.get(col):
                self.found.add((which, col), key, text, hint, severity)


def _is_float(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _chat_problem(value: Any, where: Where, column: str) -> tuple[str, str] | None:
    """(which kind of problem, what it is) for a value that should be a list of chat messages;
    `where` is the row, `column` the column as shown."""
    if isinstance(value, str):
        return "text", _("{where}: {column} holds text, not a list of {{role, content}} messages", where=where, column=column)
    if not isinstance(value, list):
        return "shape", _("{where}: {column} holds {what}, not a list of {{role, content}} messages", where=where, column=column, what=what(value))
    if not value:
        return "empty", _("{where}: {column} is an empty list of messages", where=where, column=column)
    for i, message in enumerate(value, start=1):
        if not isinstance(message, dict):
            return "message", _("{where}: {column} message {index} is {what}, not an object with role and content",
                                where=where, column=column, index=i, what=what(message))
        if not isinstance(message.get("role"), str):
            return "message", _('{where}: {column} message {index} has no role (a string such as "user")', where=where, column=column, index=i)
        if not isinstance(message.get("content"), (str, list)):
            return "message", _("{where}: {column} message {index} has no content (the text of the message)", where=where, column=column, index=i)
    return None


def what(value: Any) -> str:
    """A value from the data, in words: as `values.kind` says it, in the data's own terms."""
    if value is None:
        return "null"
    if isinstance(value, str):
        return _("text")
    return _("an object") if isinstance(value, dict) else kind(value)


def _brief(value: Any) -> str:
    """A short, printable form of a value from the data (never its whole, possibly huge, text)."""
    if isinstance(value, str):
        return json.dumps(value[:40] + ("…" if len(value) > 40 else ""), ensure_ascii=False)
    if isinstance(value, (bool, int, float)) or value is None:
        return json.dumps(value)[:40]
    return _("with {count} item", count=1) if len(value) == 1 else _("with {count} items", count=len(value))
