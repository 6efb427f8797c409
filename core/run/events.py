"""`events.jsonl`: the one record of what a run did, written by rank 0, read by everyone else.

One JSON object per line, appended and flushed, each with `event`, `time` (unix seconds) and
`step`. Kinds: start, log, eval, checkpoint, gpu, end, plus `notice` for one-off remarks
(e.g. "no GPU: running on CPU"). Readers tail the file by byte offset and never re-read it:
`EventTail` is the one follower every reader uses.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

KINDS = ("start", "log", "eval", "checkpoint", "gpu", "end", "notice")
# A `notice` about the Hub's downloads says which in its `download` field (its message is in the
# language of whoever ran it); in English, and in runs from before the field, it begins with these.
DOWNLOAD_RUNNING, DOWNLOAD_DONE = "running", "done"
DOWNLOADING, DOWNLOADED = "downloading ", "downloaded "
# How a line written by EventWriter (json.dumps, "event" first) starts, for each kind that a
# reader may count without parsing; compact separators are accepted too.
LOG_PREFIXES = (b'{"event": "log",', b'{"event":"log",')
GPU_PREFIXES = (b'{"event": "gpu",', b'{"event":"gpu",')
# The end of a file is read this far back for its last event or step.
TAIL_WINDOW = 65536


class EventWriter:
    """Append-only, line-buffered, thread-safe (the GPU sampler writes from a thread)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._fh = open(self.path, "a", encoding="utf-8")

    def write(self, event: str, step: int = 0, **fields: Any) -> dict:
        record = {"event": event, "time": round(time.time(), 3), "step": int(step or 0), **fields}
        line = json.dumps(record, default=_default, allow_nan=True) + "\n"
        with self._lock:
            if self._fh.closed:
                return record
            self._fh.write(line)
            self._fh.flush()
        return record

    def close(self) -> None:
        with self._lock:
            if not self._fh.closed:
                try:
                    os.fsync(self._fh.fileno())
                except OSError:
                    pass
                self._fh.close()


def whole_line(raw: bytes) -> bool:
    """One complete object on the line (not two glued together by a crash mid-write)."""
    return raw.rstrip().endswith(b"}") and raw.count(b'"event"') == 1


def _default(value: Any) -> Any:
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


@dataclass
class TailResult:
    events: list[dict] = field(default_factory=list)
    bad_lines: int = 0  # lines that were not JSON objects (garbled): skipped, counted
    missing: bool = False  # the file (or its folder) is gone


def parse_lines(lines: Iterable[bytes]) -> TailResult:
    """The events of some raw lines; garbled ones are counted, blank ones ignored."""
    result = TailResult()
    for raw in lines:
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except ValueError:
            result.bad_lines += 1
            continue
        if not isinstance(obj, dict) or "event" not in obj:
            result.bad_lines += 1
            continue
        result.events.append(obj)
    return result


class EventTail:
    """Follow an events file by byte offset; a partial last line waits for its newline.

    `read_lines` hands out whole raw lines (for `RunState.apply_lines`, which parses only the
    lines it needs); `read` parses them. A file that shrank is read again from the start; a
    missing one sets `missing` instead of raising.
    """

    def __init__(self, path: str | Path, offset: int = 0):
        self.path = Path(path)
        self.offset = offset
        self._partial = b""
        self.missing = False
        self.bad_lines = 0

    def read_lines(self, max_bytes: int | None = None) -> list[bytes]:
        """The next complete lines (at most about `max_bytes` read); [] when there is nothing new."""
        try:
            with open(self.path, "rb") as fh:
                size = os.fstat(fh.fileno()).st_size
                if size < self.offset:  # truncated or replaced: start over
                    self.offset, self._partial = 0, b""
                fh.seek(self.offset)
                chunk = fh.read() if max_bytes is None else fh.read(max_bytes)
        except OSError:
            self.missing = True
            return []
        self.missing = False
        if not chunk:
            return []
        self.offset += len(chunk)
        lines = (self._partial + chunk).split(b"\n")
        self._partial = lines.pop()  # b"" when the chunk ended on a newline
        return lines

    def read(self, max_bytes: int | None = None) -> TailResult:
        result = parse_lines(self.read_lines(max_bytes))
        result.missing = self.missing
        self.bad_lines += result.bad_lines
        return result


def read_all(path: str | Path) -> TailResult:
    return EventTail(path).read()


def _tail_lines(fh, window: int) -> list[bytes]:
    """The whole lines of the last `window` bytes of an open file, newest last."""
    size = os.fstat(fh.fileno()).st_size
    fh.seek(max(0, size - window))
    tail = fh.read()
    if size > window:
        tail = tail.split(b"\n", 1)[-1]
    return tail.split(b"\n")


def _objects_backwards(lines: list[bytes]) -> Iterable[dict]:
    for raw in reversed(lines):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except ValueError:
            continue
        if isinstance(obj, dict):
            yield obj


def last_end_event(path: str | Path, window: int = TAIL_WINDOW) -> dict | None:
    """The `end` event, when it is the file's last event (read from the end only)."""
    try:
        with open(path, "rb") as fh:
            lines = _tail_lines(fh, window)
    except OSError:
        return None
    for obj in _objects_backwards(lines):
        if obj.get("event"):
            return obj if obj["event"] == "end" else None
    return None


def last_progress(path: str | Path, max_steps: int | None = None,
                  window: int = TAIL_WINDOW) -> tuple[int | None, int | None]:
    """(last step, max_steps) from the end of an events file, without reading all of it.

    `max_steps` is what the run record knows; when it is None the `start` event says.
    """
    step = None
    try:
        with open(path, "rb") as fh:
            lines = _tail_lines(fh, window)
            if max_steps is None:
                fh.seek(0)
                head = fh.readline()
                with contextlib.suppress(ValueError):
                    first = json.loads(head)
                    if isinstance(first, dict) and first.get("event") == "start":
                        max_steps = first.get("max_steps")
    except OSError:
        return step, max_steps
    for obj in _objects_backwards(lines):
        if isinstance(obj.get("step"), int):
            if obj.get("event") == "start" and max_steps is None:
                max_steps = obj.get("max_steps")
            step = obj["step"] if step is None else step
            if max_steps is not None:
                break
    return step, max_steps
