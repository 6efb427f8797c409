"""Hub downloads as `notice` events, so a run that is still fetching its model says so.

While a run builds its model, tokenizer and data, files may come from the Hugging Face Hub.
The Hub reports its progress through its own tqdm bars (`huggingface_hub.utils.tqdm`); while
`reported(writer)` is active, every such bar is followed (also when the bars are not drawn: the
worker's output is a file) and the sum of them is written as a throttled `notice`
("downloading 2 files, 120.0 MiB of 480.0 MiB"). `DownloadProgress` is the sum;
`follow_hub_bars` is the hook.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any, Callable, Iterator

from hftui.core.i18n import _
from hftui.core.run.events import DOWNLOAD_DONE, DOWNLOAD_RUNNING, DOWNLOADED, DOWNLOADING  # noqa: F401
from hftui.core.train.memory_estimate import human

# A download's notice carries `download` (running or done), whatever language its message is in;
# in English it starts with DOWNLOADING or DOWNLOADED. The live pane keeps only the newest, and
# only while the run has not started training.
INTERVAL_S = 2.0  # at most one progress notice per this many seconds
# The Hub's names for its bars: a bar named "….transfer" repeats the bytes of its partner, and
# the snapshot bar sums many files (the "Fetching N files" bar counts those).
_TRANSFER_SUFFIX = ".transfer"
_SNAPSHOT = "huggingface_hub.snapshot_download"


class _Bar:
    __slots__ = ("bar", "unit", "aggregate", "n", "closed")

    def __init__(self, bar: Any, unit: str, aggregate: bool, initial: float):
        self.bar, self.unit, self.aggregate = bar, unit, aggregate
        self.n, self.closed = float(initial or 0), False

    @property
    def total(self) -> float | None:
        total = getattr(self.bar, "total", None)
        return float(total) if isinstance(total, (int, float)) and total > 0 else None


class DownloadProgress:
    """The sum of the Hub's progress bars; `write` gets each notice (throttled) to record."""

    def __init__(self, write: Callable[[str], None] | None = None, interval: float = INTERVAL_S,
                 clock: Callable[[], float] = time.monotonic):
        self._write, self.interval, self._clock = write, interval, clock
        self._open: dict[int, _Bar] = {}  # by id() of the bar, while it is open
        self._bars: list[_Bar] = []  # every bar seen, open or closed
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._last_sent: float | None = None
        self._last_message = ""
        self.done = False  # the last word (finish) is being written

    # -- what the hook calls (any thread) ---------------------------------------------------------
    def opened(self, bar: Any, unit: str = "it", name: str | None = None, initial: float = 0) -> None:
        if (name or "").endswith(_TRANSFER_SUFFIX):
            return  # the same bytes as its partner bar
        entry = _Bar(bar, unit or "it", name == _SNAPSHOT, initial)
        with self._lock:
            self._open[id(bar)] = entry
            self._bars.append(entry)
        self._maybe_send()

    def advanced(self, bar: Any, n: float | None) -> None:
        with self._lock:
            entry = self._open.get(id(bar))
            if entry is None or not isinstance(n, (int, float)):
                return
            entry.n += n
        self._maybe_send()

    def closed(self, bar: Any) -> None:
        with self._lock:
            entry = self._open.pop(id(bar), None)
            if entry is None:
                return
            entry.closed = True
            entry.bar = _Frozen(entry.total)  # its id() may be another bar's once it is gone
        self._maybe_send()

    # -- the sum ----------------------------------------------------------------------------------
    def figures(self) -> tuple[int, int, float, float | None]:
        """(files, files done, bytes so far, bytes in all, None while a size is unknown)."""
        files = done = 0
        got, total = 0.0, 0.0
        known = True
        with self._lock:
            bars = list(self._bars)
        for b in bars:
            size = b.total
            if b.unit == "B":
                got += max(b.n, 0.0)
                if size is None:
                    known = False
                else:
                    total += size
                if not b.aggregate:
                    files += 1
                    done += int(b.closed or (size is not None and b.n >= size))
            elif size is not None:  # a count of files (a snapshot's "Fetching N files")
                files += int(size)
                done += int(min(max(b.n, 0.0), size))
        return files, done, got, (total if known and total else None)

    def message(self, finished: bool = False) -> str:
        files, done, got, total = self.figures()
        if not got:  # files found in the cache move no bytes: nothing to say
            return ""
        count = _("{count} file", count=files) if files == 1 else _("{count} files", count=files)
        if finished:
            return _("downloaded {files}, {size}", files=count, size=human(got))
        size = human(got) if total is None else _("{got} of {total}", got=human(got), total=human(total))
        return _("downloading {files}, {size}", files=count, size=size)

    def _maybe_send(self) -> None:
        if self._write is None:
            return
        with self._send_lock:
            now = self._clock()
            if self._last_sent is not None and now - self._last_sent < self.interval:
                return
            text = self.message()
            if not text or text == self._last_message:
                return
            self._last_sent, self._last_message = now, text
            self._write(text)

    def finish(self) -> None:
        """The last word, when anything came down: how many files and bytes in all."""
        text = self.message(finished=True)
        if text and self._write is not None and self._last_message:
            self.done = True
            self._write(text)


class _Frozen:
    """What a closed bar leaves behind: its size."""

    def __init__(self, total: float | None):
        self.total = total


def follow_hub_bars(progress: DownloadProgress) -> Callable[[], None]:
    """Follow every Hub progress bar into `progress`; returns the undo. Nothing when the Hub
    library is not installed."""
    try:
        from huggingface_hub.utils.tqdm import tqdm as cls
    except ImportError:
        return lambda: None
    saved = {name: cls.__dict__[name] for name in ("__init__", "update", "close") if name in cls.__dict__}
    base_init, base_update, base_close = cls.__init__, cls.update, cls.close

    def __init__(self, *args, **kwargs):
        name, unit, initial = kwargs.get("name"), kwargs.get("unit", "it"), kwargs.get("initial", 0)
        base_init(self, *args, **kwargs)
        progress.opened(self, unit=unit, name=name, initial=initial)

    def update(self, n=1):
        progress.advanced(self, n)
        return base_update(self, n)

    def close(self):
        progress.closed(self)
        return base_close(self)

    cls.__init__, cls.update, cls.close = __init__, update, close

    def undo() -> None:
        for name in ("__init__", "update", "close"):
            if name in saved:
                setattr(cls, name, saved[name])
            else:
                delattr(cls, name)

    return undo


@contextlib.contextmanager
def reported(writer) -> Iterator[DownloadProgress | None]:
    """While active, Hub downloads become `notice` events of `writer` (None: nothing is done)."""
    if writer is None:
        yield None
        return
    progress = DownloadProgress(lambda text: writer.write(
        "notice", 0, message=text, download=DOWNLOAD_DONE if progress.done else DOWNLOAD_RUNNING))
    undo = follow_hub_bars(progress)
    try:
        yield progress
    finally:
        undo()
        progress.finish()
