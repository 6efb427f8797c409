"""`events.jsonl`: the one record of what a run did, written by rank 0, read by everyone else.

One JSON object per line, appended and flushed, each with `event`, `time` (unix seconds) and
`step`. Kinds: start, log, eval, checkpoint, gpu, end, plus `notice` for one-off remarks
(e.g. "no GPU: running on CPU"). Readers tail the file by byte offset and never re-read it.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EVENTS_FILE = "events.jsonl"
KINDS = ("start", "log", "eval", "checkpoint", "gpu", "end", "notice")
END_STATUSES = ("completed", "stopped", "failed")


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


class EventTail:
    """Follow an events file by byte offset; a partial last line waits for its newline."""

    def __init__(self, path: str | Path, offset: int = 0):
        self.path = Path(path)
        self.offset = offset
        self._partial = b""
        self.bad_lines = 0

    def read(self, max_bytes: int | None = None) -> TailResult:
        result = TailResult()
        try:
            with open(self.path, "rb") as fh:
                size = os.fstat(fh.fileno()).st_size
                if size < self.offset:  # truncated or replaced: start over
                    self.offset, self._partial = 0, b""
                fh.seek(self.offset)
                chunk = fh.read() if max_bytes is None else fh.read(max_bytes)
        except FileNotFoundError:
            result.missing = True
            return result
        except OSError:
            result.missing = True
            return result
        if not chunk:
            return result
        self.offset += len(chunk)
        data = self._partial + chunk
        lines = data.split(b"\n")
        self._partial = lines.pop()  # b"" when the chunk ended on a newline
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
        self.bad_lines += result.bad_lines
        return result


def read_all(path: str | Path) -> TailResult:
    return EventTail(path).read()
