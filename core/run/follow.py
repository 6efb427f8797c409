"""Following a run: one loop that tails `events.jsonl` by offset, folds it into a `RunState` and
calls back, looking at `run.json` and the stop file now and then.

The live pane runs it in a thread, `hftui run` in the foreground; both see the same state the
same way. A long history is read in bounded chunks, so a reader that shares the state under a
lock lets go of it often.
"""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path
from typing import Callable

from hftui.core.run.events import EventTail, parse_lines
from hftui.core.run.folder import EVENTS_FILE, RUN_FILE, STOP_FILE
from hftui.core.run.record import RunRecord
from hftui.core.run.state import RunState

CHUNK_BYTES = 1 << 20  # one read of events.jsonl: ~8,000 events, folded in a few tens of ms
ROUND_BYTES = 8 << 20  # at most this much per poll, so the lock is released often
RECORD_EVERY_S = 1.0  # run.json is read again this often (and at every poll once the run ended)
_SLICE_S = 0.05  # a pause is cut into slices this long, so that a stop is seen quickly


def _never() -> bool:
    return False


class Follower:
    """One run followed: its events folded into `state`, its record refreshed.

    Every change to `state` and to the flags below happens under `lock`, so another thread may
    read them under the same lock.
    """

    def __init__(self, run_dir: str | Path, state: RunState | None = None, record: RunRecord | None = None,
                 lock: threading.Lock | None = None, keep_events: bool = False):
        self.run_dir = Path(run_dir)
        self.state = state if state is not None else RunState(record.to_dict() if record else None)
        self.record = record
        self.lock = lock if lock is not None else threading.Lock()
        self.keep_events = keep_events  # hand every parsed event to the callback (plain-text output)
        self.tail = EventTail(self.run_dir / EVENTS_FILE)
        self.waiting = True  # no events file yet
        self.gone = False  # the run folder is not there (deleted, or never was)
        self.seen_dir = False  # it was there at some point
        self.history_loaded = False  # the end of events.jsonl was reached at least once

    def read_events(self, stopped: Callable[[], bool] = _never) -> tuple[bool, list[dict]]:
        """Fold up to ROUND_BYTES of new events in: (the end of the file was reached, the events
        read when `keep_events`, else [])."""
        kept: list[dict] = []
        read = 0
        while read < ROUND_BYTES and not stopped():
            before = self.tail.offset
            lines = self.tail.read_lines(CHUNK_BYTES)
            got = self.tail.offset - before if self.tail.offset >= before else self.tail.offset
            read += max(0, got)
            with self.lock:
                if self.tail.missing:
                    self.waiting = True
                    if not self.run_dir.exists():
                        self.gone = True
                    return True, kept
                self.waiting = False
                if lines and self.keep_events:
                    result = parse_lines(lines)
                    self.state.apply(result.events)
                    if result.bad_lines:
                        self.state.bad_lines += result.bad_lines
                        self.state.mark("info")
                    kept.extend(result.events)
                elif lines:
                    self.state.apply_lines(lines)
            if got < CHUNK_BYTES:
                return True, kept
        return False, kept

    def read_record(self) -> None:
        """Refresh the run's record (a run whose processes vanished becomes failed) and fold in
        what it says; notice a run folder that went away."""
        record, info = self.record, None
        try:
            if record is None:
                record = RunRecord.load(self.run_dir)
            if (self.run_dir / RUN_FILE).exists():
                with contextlib.suppress(OSError):
                    record.refresh()
                info = record.to_dict()
            elif record.is_active:  # its folder was deleted: its processes say whether it goes on
                record.missing = True
                record.refresh()
        except (OSError, ValueError, TypeError):
            record = self.record
        stop = (self.run_dir / STOP_FILE).exists()
        exists = self.run_dir.exists()
        with self.lock:
            self.record = record
            if info is not None:
                self.state.apply_run_info(info)
            if exists:
                self.seen_dir = True
            elif not self.gone:
                self.gone = True
                self.state.mark("info")
            if not self.state.finished:
                self.state.set_stop_requested(stop)

    def follow(self, on_poll: Callable[[bool, list[dict]], bool], *, pause: float,
               finished_pause: float | None = None, stopped: Callable[[], bool] = _never,
               record_every: float = RECORD_EVERY_S) -> None:
        """Tail, fold and call `on_poll(caught_up, events)` until it returns True or `stopped()`.

        A backlog is read on at once; once caught up the loop pauses (`finished_pause` for a
        finished run). run.json is read every `record_every` seconds, as soon as the history is
        loaded, and at every poll once the end event is in.
        """
        next_record = 0.0
        while not stopped():
            caught_up, events = self.read_events(stopped)
            now = time.monotonic()
            if now >= next_record or (caught_up and not self.history_loaded) or self.state.ended:
                self.read_record()
                next_record = now + record_every
            with self.lock:
                if caught_up:
                    self.history_loaded = True
                finished = self.state.finished
            if on_poll(caught_up, events):
                return
            if not caught_up:
                continue  # a backlog: read on (the lock was released in between)
            wait = finished_pause if finished and finished_pause is not None else pause
            deadline = time.monotonic() + wait
            while not stopped() and time.monotonic() < deadline:
                time.sleep(min(_SLICE_S, max(0.0, deadline - time.monotonic())))


def fold_file(path: str | Path, run_info: dict | None = None, chunk_bytes: int = CHUNK_BYTES) -> RunState:
    """A RunState from a whole events file, read in bounded chunks (post-mortems, benchmarks)."""
    state, tail = RunState(run_info), EventTail(path)
    while True:
        before = tail.offset
        state.apply_lines(tail.read_lines(chunk_bytes))
        if tail.offset - before < chunk_bytes:
            return state
