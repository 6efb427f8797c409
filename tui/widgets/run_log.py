"""The log tail: the run's combined log, scrollable, warnings and errors highlighted, and
`LogTail`, which follows log.txt for it.

A `Log` (plain lines, styled as they are drawn) rather than a `RichLog`: opening a run writes
a couple of thousand lines at once, and only the visible ones are ever styled.
"""

from __future__ import annotations

import os
import re
from collections import deque
from pathlib import Path

from rich.highlighter import Highlighter
from rich.text import Text
from textual.widgets import Log

from hftui.core.i18n import _
from hftui.core.run.log_noise import NoiseFilter

ERROR_RE = re.compile(r"(Traceback \(most recent call last\)|\b\w*(Error|Exception)\b|\bERROR\b|\bFATAL\b|\bfailed\b|Killed)")
WARNING_RE = re.compile(r"(\bwarn(ing)?s?\b|\bWARN(ING)?\b|Warning:|\bdeprecat)", re.IGNORECASE)
MAX_LINES = 2000
LOG_TAIL_BYTES = 256 << 10  # a log is opened at its last 256 KiB


class LogTail:
    """Follow log.txt by offset; opened near its end; lines split on newlines, decoded leniently."""

    def __init__(self, path: Path):
        self.path = path
        self.offset: int | None = None
        self._partial = b""

    def read(self, max_bytes: int = LOG_TAIL_BYTES) -> list[str]:
        try:
            with open(self.path, "rb") as fh:
                size = os.fstat(fh.fileno()).st_size
                skip_first = False
                if self.offset is None or size < self.offset:
                    self.offset = max(0, size - LOG_TAIL_BYTES)
                    skip_first = self.offset > 0
                    self._partial = b""
                fh.seek(self.offset)
                chunk = fh.read(max_bytes)
        except OSError:
            return []
        if not chunk:
            return []
        self.offset += len(chunk)
        data = self._partial + chunk
        parts = data.split(b"\n")
        self._partial = parts.pop()
        if skip_first and parts:
            parts = parts[1:]
        return [p.rstrip(b"\r").decode("utf-8", "replace").split("\r")[-1] for p in parts]


def line_style(line: str) -> str:
    if ERROR_RE.search(line):
        return "bold red"
    if WARNING_RE.search(line):
        return "yellow"
    return ""


class LineSeverity(Highlighter):
    """Colours a whole line: errors red, warnings yellow."""

    def highlight(self, text: Text) -> None:
        style = line_style(text.plain)
        if style:
            text.stylize(style)


class RunLog(Log):
    """Lines arrive in batches from the monitor's tail; the newest MAX_LINES are kept."""

    DEFAULT_CSS = """
    RunLog { height: 10; border: round $panel; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(max_lines=MAX_LINES, highlight=True, **kwargs)
        self.highlighter = LineSeverity()
        self.lines_seen: deque[str] = deque(maxlen=MAX_LINES)
        self.noise = NoiseFilter()
        self.border_title = _("log")

    def add_lines(self, lines: list[str]) -> None:
        self.lines_seen.extend(lines[-MAX_LINES:])
        shown = self.noise.filter(lines)[-MAX_LINES:]
        if self.noise.hidden:
            self.border_subtitle = _("{count} library warning lines left out (all in log.txt)", count=self.noise.hidden)
        self.write_lines(shown)


def lines_around_error(lines: list[str], error: str | None, before: int = 12, after: int = 4) -> list[str]:
    """The log lines around where the run failed: the last traceback, else the error's line."""
    if not lines:
        return []
    anchor = None
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].startswith("Traceback (most recent call last)"):
            anchor = i
            break
    if anchor is not None:
        # A traceback reads from its first line to the exception: show all of it, bounded.
        end = anchor + 1
        while end < len(lines) and (lines[end].startswith((" ", "\t")) or end == anchor + 1):
            end += 1
        end = min(len(lines), end + after)
        start = max(0, anchor - 2)
        if end - start > before + after + 30:
            return lines[start:start + 3] + ["…"] + lines[end - (before + after + 24):end]
        return lines[start:end]
    needle = (error or "").strip().splitlines()[0][:80] if error else ""
    for i in range(len(lines) - 1, -1, -1):
        if (needle and needle in lines[i]) or ERROR_RE.search(lines[i]):
            return lines[max(0, i - before):i + after + 1]
    return lines[-(before + after):]
