"""Every row of a local data file, checked before a run spends minutes on models.

The loader and the trainer fail late and tersely on one bad row (a corrupt line, a null label, a
number where text goes, a chat column of plain strings): a `TypeError` after the model is built.
This scan reads the file the way the worker will (the builder's format, the csv reader's empty
cells, the columns the trainer type reads) and keeps, for each kind of problem, the first line
where it happens and how many rows share it, so one run of `validate` names them all.

It streams, one line or record at a time, and stops after SCAN_ROWS rows, SCAN_BYTES bytes or
SCAN_SECONDS of a file; the result then says it is a sample. Only regular files are opened. A
file that has not changed is not read again (the wizard validates on every edit).
"""

from __future__ import annotations

import csv
import json
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Iterator

from hftui.core.i18n import N_, _, language
from hftui.core.options.toml_text import looks_utf16
from hftui.core.regular_file import Refused, open_regular

from hftui.core.checks.data_rows import (LINE, MAX_RECORD, MISSING, RECORD, RECORD_AT_LINE, ROW, SCAN_BYTES, SCAN_ROWS, Finding, Need,
                                         RowChecks, Where, what)

_SAVE_UTF8 = N_("save it as UTF-8 (e.g. iconv -f UTF-16 -t UTF-8 old > new)")
_SEPARATORS = {";": N_("semicolons"), "\t": N_("tabs"), "|": N_("bars")}


@dataclass(frozen=True)
class Scan:
    columns: tuple[str, ...] | None = None  # None: not known (a format not read here, or unreadable)
    findings: tuple[Finding, ...] = ()
    rows: int = 0
    complete: bool = True  # False: a sample (the first `rows` rows)


def first_record(path: Path) -> tuple[list[str] | None, str | None]:
    """(column names, the first problem) from the start of a local json/jsonl/csv file."""
    fmt = {".csv": "csv", ".tsv": "csv", ".json": "json", ".jsonl": "json"}.get(path.suffix.lower())
    if fmt is None:
        return None, None
    scan = scan_file(path, fmt, (), max_rows=1)
    return (list(scan.columns) if scan.columns is not None else None), (scan.findings[0].message if scan.findings else None)


_CACHE: dict[tuple, Scan] = {}
_CACHE_LOCK = threading.Lock()  # the wizard validates in a worker thread


def scan_file(path: Path, fmt: str, groups: tuple[tuple[Need, ...], ...], max_rows: int = SCAN_ROWS) -> Scan:
    """Scan one file read by the builder `fmt` (json, csv, text, parquet) for the `groups` needs."""
    try:
        st = os.stat(path)
        ident = (str(path), st.st_size, st.st_mtime_ns, st.st_ino, fmt, groups, max_rows, language())
    except (OSError, ValueError):
        ident = None
    with _CACHE_LOCK:
        if ident in _CACHE:
            return _CACHE[ident]
    try:
        with open_regular(path) as fh:
            scan = _scan(fh, fmt, groups, max_rows)
    except Refused as exc:
        return Scan(findings=(Finding("", exc.text, exc.hint),))
    except OSError as exc:
        return Scan(findings=(Finding("", _("cannot be read: {error}", error=exc.strerror or exc), ""),))
    except Exception as exc:  # a format this scan does not follow: say so, and leave the file to the loader
        note = _("could not be checked row by row ({error}); the run's loader reads it", error=f"{type(exc).__name__}: {str(exc)[:160]}")
        return Scan(findings=(Finding("", note, "", "warning"),), complete=False)
    if ident is not None:
        with _CACHE_LOCK:
            while len(_CACHE) >= 64:
                _CACHE.pop(next(iter(_CACHE)))
            _CACHE[ident] = scan
    return scan


class _Stop(Exception):
    """The rest of the file cannot be read; `message` and `hint` say why."""

    def __init__(self, message: str, hint: str):
        super().__init__(message)
        self.message, self.hint = message, hint


class _OneObject(Exception):
    """The file starts with one JSON object written over several lines, not one record per line."""


def _scan(fh: BinaryIO, fmt: str, groups, max_rows: int) -> Scan:
    head = fh.read(4096)
    fh.seek(0)
    if fmt == "parquet":
        return _scan_parquet(fh, groups, max_rows)
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or looks_utf16(head):
        return Scan(findings=(Finding("", _("is UTF-16 text, not UTF-8"), _(_SAVE_UTF8)),))
    if len(head) < 4096 and not head.removeprefix(b"\xef\xbb\xbf").strip():
        return Scan(findings=(Finding("", _("is empty"), _("add rows, or name the file that holds them")),))
    reader = RowChecks(groups, max_rows, fmt == "csv")
    columns = None
    try:
        if fmt == "csv":
            columns = _csv_rows(_lines(fh, reader), reader)
        elif fmt == "text":
            columns = ("text",)
            for _line in _lines(fh, reader):
                reader.rows += 1
        elif head.lstrip(b" \t\r\n\xef\xbb\xbf").startswith(b"["):
            columns = _json_array(fh, reader)
        else:
            try:
                columns = _json_lines(_lines(fh, reader), reader)
            except _OneObject:
                fh.seek(0)
                reader = RowChecks(groups, max_rows, False)
                columns = _json_object(fh, reader)
                if columns is MISSING:  # not one object either: read it line by line, naming the broken lines
                    fh.seek(0)
                    reader = RowChecks(groups, max_rows, False)
                    columns = _json_lines(_lines(fh, reader), reader, whole=False)
    except _Stop as stop:
        reader.found.add(("stop",), "", stop.message, stop.hint)
    reader.finish()
    if reader.rows == 0 and reader.complete and not reader.found.first:
        reader.found.add(("empty",), "", _("has no records"), _("add rows, or name the file that holds them"))
    return Scan(columns, reader.found.result(), reader.rows, reader.complete)


def _lines(fh: BinaryIO, reader: RowChecks) -> Iterator[tuple[int, str]]:
    """(line number, text) of each line, decoded as UTF-8, within the scan's byte limit."""
    number = 0
    while True:
        raw = fh.readline(MAX_RECORD + 1)
        if not raw or reader.full():
            return
        number += 1
        if len(raw) > MAX_RECORD:
            reader.complete = False
            return
        if number == 1:
            raw = raw.removeprefix(b"\xef\xbb\xbf")
        if b"\x00" in raw:
            raise _Stop(_("is not a text file (line {line} holds NUL bytes)", line=number),
                        _("name a UTF-8 text file (one JSON object per line, or comma-separated values)"))
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _Stop(_("is not UTF-8 text (line {line}, byte {byte})", line=number, byte=reader.bytes + exc.start), _("save it as UTF-8")) from None
        reader.bytes += len(raw)
        yield number, text


def _json_lines(lines: Iterator[tuple[int, str]], reader: RowChecks, whole: bool = True) -> tuple[str, ...] | None:
    """Records of a JSON-lines file; `whole`: a first line that opens an object but does not close
    it may start one object written over several lines (raises _OneObject)."""
    columns = None
    for number, text in lines:
        stripped = text.strip()
        if not stripped:
            continue
        if whole and columns is None and stripped.startswith("{") and not reader.found.first and not _is_json(stripped):
            raise _OneObject()
        where = Where(LINE, line=number)
        record = _parse(stripped, where, reader)
        if record is MISSING:
            continue
        if columns is None:
            if not record:
                raise _Stop(_("has an empty first record {{}} (line {line}): there are no columns", line=number), _('write one object per line, like {"text": "..."}'))
            columns = tuple(str(k) for k in record)
            reader.start(columns)
        reader.row(where, record)
    return columns


def _parse(text: str, where: Where, reader: RowChecks) -> Any:
    """One JSON record, or MISSING after noting why it is not one."""
    add = reader.found.add
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        add(("json",), "", _("{where} is not valid JSON ({error}, column {column})", where=where, error=exc.msg, column=exc.colno),
            _('fix that line: each line holds one JSON object, like {"text": "..."}'))
        return MISSING
    except RecursionError:
        add(("deep",), "", _("{where} nests arrays or objects too deeply to read", where=where), _("flatten the record: each row holds its columns"))
        return MISSING
    if not isinstance(record, dict):
        add(("object",), "", _("{where} holds {what}, not an object with named columns", where=where, what=what(record)),
            _('write one object per row, like {"text": "..."}'))
        return MISSING
    return record


def _read_text(fh: BinaryIO) -> tuple[str, bool]:
    """(text, whether the file goes on) of at most SCAN_BYTES, for formats read whole."""
    raw = fh.read(SCAN_BYTES)
    truncated = bool(fh.read(1))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        if not (truncated and exc.start >= len(raw) - 4):
            line = raw[: exc.start].count(b"\n") + 1
            raise _Stop(_("is not UTF-8 text (line {line}, byte {byte})", line=line, byte=exc.start), _("save it as UTF-8")) from None
        text = raw[: exc.start].decode("utf-8")
    return text.lstrip("\ufeff"), truncated


_WS = re.compile(r"[ \t\r\n]*")


def _json_array(fh: BinaryIO, reader: RowChecks) -> tuple[str, ...] | None:
    """Records of a file holding one JSON list."""
    text, truncated = _read_text(fh)
    decoder, columns, pos, line, number = json.JSONDecoder(), None, text.index("[") + 1, 1, 0
    while True:
        end = _WS.match(text, pos).end()
        line += text.count("\n", pos, end)
        pos = end
        if text.startswith("]", pos):
            if number == 0:
                raise _Stop(_("is an empty JSON list: there are no records"), _("add records, or name the file that holds them"))
            return columns
        if pos >= len(text):
            if truncated:
                reader.complete = False
                return columns
            raise _Stop(_("is not valid JSON (line {line}: the list is not closed with ])", line=line), _("end the list with ]"))
        if reader.full():
            return columns
        number += 1
        try:
            record, end = decoder.raw_decode(text, pos)
        except (json.JSONDecodeError, RecursionError) as exc:
            if truncated:  # the record may go on past what was read: a sample, not a mistake
                reader.complete = False
                return columns
            at = text.count("\n", 0, exc.pos) + 1 if isinstance(exc, json.JSONDecodeError) else line
            msg = exc.msg if isinstance(exc, json.JSONDecodeError) else _("nested too deeply")
            raise _Stop(_("is not valid JSON (record {record}, line {line}: {error})", record=number, line=at, error=msg),
                        _('fix the file: one JSON list of objects, like [{"text": "..."}]')) from None
        where = Where(RECORD_AT_LINE, record=number, line=line)
        line += text.count("\n", pos, end)
        pos = _WS.match(text, end).end()
        line += text.count("\n", end, pos)
        if text.startswith(",", pos):
            pos += 1
        elif not text.startswith("]", pos) and (pos < len(text) or not truncated):
            raise _Stop(_("is not valid JSON (line {line}: expected , or ] after record {record})", line=line, record=number), _("separate the records with commas"))
        if not isinstance(record, dict):
            reader.found.add(("object",), "", _("{where} holds {what}, not an object with named columns", where=where, what=what(record)),
                             _('write a list of objects, like [{"text": "..."}]'))
            continue
        if columns is None:
            if not record:
                raise _Stop(_("has an empty first record {}: there are no columns"), _('write objects with named columns, like {"text": "..."}'))
            columns = tuple(str(k) for k in record)
            reader.start(columns)
        reader.row(where, record)


def _json_object(fh: BinaryIO, reader: RowChecks) -> Any:
    """Columns of a file that holds one JSON object over several lines, read by the loader as
    columns of equal-length lists; MISSING when the file is not one object."""
    text, _truncated = _read_text(fh)
    start = _WS.match(text).end()
    try:
        obj, end = json.JSONDecoder().raw_decode(text, start)
    except (json.JSONDecodeError, RecursionError):
        return MISSING
    if text[end:].strip() or not isinstance(obj, dict):
        return MISSING
    lists = list(obj.values())
    if not lists or not all(isinstance(v, list) for v in lists) or len({len(v) for v in lists}) != 1:
        raise _Stop(_("holds one JSON object over several lines, not records"), _('write one object per line (.jsonl), or a list of objects like [{"text": "..."}]'))
    columns = tuple(str(k) for k in obj)
    reader.start(columns)
    for number, values in enumerate(zip(*lists), start=1):
        if reader.full():
            break
        reader.row(Where(RECORD, record=number), dict(zip(columns, values)))
    return columns


def _csv_rows(lines: Iterator[tuple[int, str]], reader: RowChecks) -> tuple[str, ...] | None:
    last = [0]  # the number of the last line the csv reader took

    def texts() -> Iterator[str]:
        for number, text in lines:
            last[0] = number
            yield text

    rows = _csv_records(csv.reader(texts(), delimiter=","), last, reader)
    header = next((r for r in rows if r and any(c.strip() for c in r)), None)
    if header is None:
        raise _Stop(_("is empty"), _("add a header line and rows"))
    first_line = last[0]
    sep = next((sep for sep in _SEPARATORS if sep in header[0]), None) if len(header) == 1 else None
    if sep:
        raise _Stop(_("is separated by {separators} (line {line}: {header}), but the csv reader splits on commas and sees one column",
                      separators=_(_SEPARATORS[sep]), line=first_line, header=repr(header[0][:60])),
                    _("save the file comma-separated"))
    columns = tuple(header)
    reader.start(columns)
    start = last[0] + 1
    for record in rows:
        where, start = Where(LINE, line=start), last[0] + 1
        if not record or not any(c.strip() for c in record):
            continue
        if len(record) > len(columns):
            reader.found.add(("fields",), "", _("{where} has {fields} fields, but the header has {columns}", where=where, fields=len(record), columns=len(columns)),
                             _("put values that contain commas in double quotes"))
        reader.row(where, dict(zip(columns, record)))
    if reader.rows == 0 and reader.complete:
        raise _Stop(_("has a header line but no rows"), _("add rows below the header"))
    return columns


def _csv_records(rows: Iterator[list[str]], last: list[int], reader: RowChecks) -> Iterator[list[str]]:
    """The csv reader's records; a field longer than the csv module reads (pandas reads it) ends
    the scan as a sample, any other csv error is the file's."""
    while True:
        try:
            record = next(rows)
        except StopIteration:
            return
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                reader.complete = False
                return
            raise _Stop(_("is not valid csv (line {line}: {error})", line=last[0], error=exc),
                        _("fix that line; put values that contain commas, quotes or line breaks in double quotes")) from None
        yield record


def _scan_parquet(fh: BinaryIO, groups, max_rows: int) -> Scan:
    try:
        import pyarrow.parquet as pq
    except ImportError:  # datasets brings pyarrow; without it the run cannot read parquet either
        return Scan()
    reader = RowChecks(groups, max_rows, False)
    try:
        pf = pq.ParquetFile(fh)
        columns = tuple(pf.schema_arrow.names)
        reader.start(columns)
        wanted = sorted({n.column for n in reader.active})
        if wanted:
            for batch in pf.iter_batches(batch_size=1024, columns=wanted):
                for record in batch.to_pylist():
                    if reader.full():
                        break
                    reader.row(Where(ROW, row=reader.rows + 1), record)
                if not reader.complete:
                    break
        else:
            reader.rows = pf.metadata.num_rows
    except Exception as exc:  # pyarrow's errors: a file that is not parquet, or a broken one
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        return Scan(findings=(Finding("", _("is not a readable parquet file ({error})", error=first), _("write it again with pandas/pyarrow, or name the right file")),))
    return Scan(columns, reader.found.result(), reader.rows, reader.complete)


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        return False
    return True


