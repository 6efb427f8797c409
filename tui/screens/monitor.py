"""The live pane of one run: progress, curves, eval table, GPUs, log, stop and resume.

Everything shown comes from three files of the run directory: `events.jsonl` and `run.json`,
followed by `core.run.follow` in a thread that folds events into a `RunState` under a lock and
schedules its next poll only after the last one finished, and `log.txt` (tailed by offset). The
screen redraws a few times per second from that state, only the parts that changed. A finished
run opens as a post-mortem: the whole history is read, then the thread just watches for changes.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static
from textual.worker import Worker, get_current_worker

from hftui.core.problems import PresetError
from hftui.core.run.figures import EVALUATING, SAVING
from hftui.core.checks.output_folder import last_complete_checkpoint
from hftui.core.run.folder import (
    EVENTS_FILE,
    FAILED,
    FINAL_STATUSES,
    LOG_FILE,
    RUNNING,
    RUNS_SUBDIR,
    STARTING,
    STOPPED,
)
from hftui.core.run.follow import Follower
from hftui.core.run.record import RunRecord
from hftui.core.run.start import resume_run
from hftui.core.run.state import RunState
from hftui.core.run.stop import request_stop
from hftui.core.train.infer import model_sources
from hftui.tui.screens.confirm import ConfirmScreen
from hftui.tui.screens.try_model import TryModelScreen
from hftui.tui.widgets.run_actions import RunActions
from hftui.tui.widgets.run_curves import RunCurves
from hftui.tui.widgets.run_eval_table import RunEvalTable
from hftui.tui.widgets.run_failure import RunFailure
from hftui.tui.widgets.run_gpu import RunGpu
from hftui.tui.widgets.run_log import RunLog
from hftui.tui.widgets.run_notes import run_notes
from hftui.tui.widgets.run_progress import RunProgress
from hftui.tui.widgets.run_summary import RunSummary

LOG_TAIL_BYTES = 256 << 10  # a log is opened at its last 256 KiB
POLL_S = 0.5  # pause between polls once caught up
FINISHED_POLL_S = 2.0
RENDER_S = 0.25  # the screen redraws at most four times a second
CURVES_S = 0.5


def stop_question(name: str) -> str:
    return (f"Stop {name}?\n\nThe run saves a checkpoint and ends at the next step; "
            "you can resume it later.")


class _LogTail:
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


class MonitorScreen(Screen[None]):
    """`MonitorScreen(run_dir)`: watch one run live, or read a finished one."""

    DEFAULT_CSS = """
    MonitorScreen { layout: vertical; }
    MonitorScreen #monitor-body { height: 2fr; min-height: 6; }
    MonitorScreen #monitor-side { width: 2fr; min-width: 36; max-width: 56; height: 1fr; }
    MonitorScreen RunLog { height: 1fr; min-height: 4; max-height: 14; }
    MonitorScreen RunFailure { max-height: 12; }
    MonitorScreen RunCurves { width: 3fr; }
    MonitorScreen #monitor-notice { height: auto; padding: 0 1; color: $warning; display: none; }
    MonitorScreen #monitor-notice.-shown { display: block; }
    """
    BINDINGS = [
        Binding("s", "stop", "Stop", id="monitor.stop", tooltip="Save a checkpoint and end the run at the next step"),
        Binding("r", "resume", "Resume", id="monitor.resume", tooltip="Continue a stopped or failed run from its last checkpoint"),
        Binding("c", "copy_output", "Copy output dir", id="monitor.copy", tooltip="Copy the output directory to the clipboard"),
        Binding("l", "focus_log", "Log", id="monitor.log", tooltip="Scroll the log with the arrow keys"),
        Binding("t", "try_model", "Try", id="monitor.try", tooltip="Type an input and read the trained model's answer"),
        Binding("escape", "close", "Back", id="monitor.close", tooltip="Leave this pane; the run keeps going"),
    ]

    def __init__(self, run_dir: str | Path, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.run_dir = Path(run_dir).expanduser()
        self.state = RunState()
        self._lock = threading.Lock()
        self.follower = Follower(self.run_dir, self.state, lock=self._lock)
        self._pending_log: deque[str] = deque()
        self._log_changed = False
        self.first_full_render: float | None = None  # when the loaded history was first drawn
        self.opened_at = time.perf_counter()
        self._notices: dict[str, str] = {}
        self._last_curves = 0.0
        self._last_status: str | None = None
        self._tail_worker: Worker | None = None
        self._has_model = False  # a finished run that saved a model (final or checkpoint): Try
        self._resumable = False  # a stopped or failed run with a complete checkpoint: Resume

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield RunProgress(id="run-progress")
        with Horizontal(id="monitor-body"):
            yield RunCurves(id="run-curves")
            with Vertical(id="monitor-side"):
                yield RunEvalTable(id="run-eval")
                yield RunGpu(id="run-gpu")
        yield RunSummary(id="run-summary")
        yield RunFailure(id="run-failure")
        yield Static(id="monitor-notice")
        yield RunLog(id="run-log")
        yield RunActions(id="run-actions")
        yield Footer()

    def on_mount(self) -> None:
        self.title = f"run {self.run_dir.name}"
        self._start_tail()
        self.set_interval(RENDER_S, self._render_tick)
        self._render_tick()

    # ------------------------------------------------------------------ tailing (thread)

    def _start_tail(self) -> None:
        self._tail_worker = self._tail_loop(self.follower)

    @work(thread=True, exclusive=True, group="monitor-tail", exit_on_error=False, name="tail events")
    def _tail_loop(self, follower: Follower) -> None:
        worker = get_current_worker()
        log = _LogTail(follower.run_dir / LOG_FILE)

        def polled(caught_up: bool, events: list[dict]) -> bool:
            lines = log.read()
            if lines:
                with self._lock:
                    self._pending_log.extend(lines)
                    self._log_changed = True
            return False

        follower.follow(polled, pause=POLL_S, finished_pause=FINISHED_POLL_S, stopped=lambda: worker.is_cancelled)

    @property
    def history_loaded(self) -> bool:
        """The end of events.jsonl was reached at least once."""
        return self.follower.history_loaded

    @property
    def gone(self) -> bool:
        """The run folder is not there (deleted, or never was)."""
        return self.follower.gone

    # ------------------------------------------------------------------ drawing (UI thread)

    def _render_tick(self) -> None:
        with self._lock:
            changes = self.state.take_changes()
            lines = list(self._pending_log) if self._log_changed else []
            self._pending_log.clear()
            self._log_changed = False
            loaded = self.history_loaded
            self._draw(changes, lines)
        if loaded and self.first_full_render is None:
            self.first_full_render = time.perf_counter() - self.opened_at

    def _draw(self, changes: set[str], lines: list[str]) -> None:
        state = self.state
        now = time.time()
        self.query_one(RunProgress).show(state, now)
        if lines:
            self.query_one(RunLog).add_lines(lines)
        if not self.history_loaded:
            # Still reading a long history: only the headline moves; the rest is drawn once.
            state.mark(*(changes - {"progress"}))
            return
        if "eval" in changes:
            self.query_one(RunEvalTable).show(state)
        if "gpu" in changes or "info" in changes:
            self.query_one(RunGpu).show(state)
        curve_parts = changes & {"loss", "eval"}
        if curve_parts:
            mono = time.monotonic()
            if mono - self._last_curves >= CURVES_S or self.first_full_render is None:
                self.query_one(RunCurves).show(state, curve_parts)
                self._last_curves = mono
            else:
                state.mark(*curve_parts)  # draw them at the next tick
        status = state.status
        if status != self._last_status or (lines and status in FINAL_STATUSES) or "info" in changes:
            self._last_status = status
            self._has_model = status in FINAL_STATUSES and bool(model_sources(self._output_dir()))
            self._resumable = status in (STOPPED, FAILED) and last_complete_checkpoint(Path(self._output_dir()))[0] is not None
            self._show_ending(status)
            self.query_one(RunGpu).show(state)
            self.refresh_bindings()
        self._show_notices()
        self.query_one(RunActions).show(self._output_dir(), can_stop=self._can_stop(),
                                        can_resume=self._resumable and not self.gone,
                                        can_try=self._has_model and not self.gone)

    def _show_ending(self, status: str) -> None:
        summary, failure = self.query_one(RunSummary), self.query_one(RunFailure)
        if status == FAILED:
            failure.show(self.state.error, list(self.query_one(RunLog).lines_seen))
            summary.hide()
        elif status in FINAL_STATUSES:
            summary.show(self.state)
            failure.hide()
        else:
            summary.hide()
            failure.hide()

    def _show_notices(self) -> None:
        notes = []
        if self.gone and (self.follower.seen_dir or self.state.events_seen):
            notes.append(f"the run folder {self.run_dir} was deleted; showing what was read before it went")
            if not self.state.finished:
                notes.append(f"if it still trains, 'hftui runs' lists it and 'hftui stop {self.run_dir.name}' stops it")
        elif self.gone:
            notes.append(f"there is no run folder {self.run_dir}")
        elif self.follower.waiting and not self.state.events_seen:
            notes.append("waiting for the run to write its first events…")
        if self.state.bad_lines:
            n = self.state.bad_lines
            notes.append(f"{n} garbled line{'s' if n != 1 else ''} in {EVENTS_FILE} skipped")
        notes.extend(run_notes(self.state))  # the run's own notices: warnings, downloads
        text = "\n".join(notes)
        notice = self.query_one("#monitor-notice", Static)
        if text != self._notices.get("text"):
            self._notices["text"] = text
            notice.update(Text(text))  # paths are shown as they are, never read as markup
            notice.set_class(bool(text), "-shown")

    def _output_dir(self) -> str:
        if self.state.output_dir:
            return self.state.output_dir
        if self.run_dir.parent.name == RUNS_SUBDIR:
            return str(self.run_dir.parent.parent)
        return str(self.run_dir)

    def _can_stop(self) -> bool:
        return not self.gone and self.state.status in (STARTING, RUNNING, EVALUATING, SAVING)

    @property
    def notice_text(self) -> str:
        return self._notices.get("text", "")

    # ------------------------------------------------------------------ actions

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stop":
            return self._can_stop()
        if action == "resume":
            return self._resumable and not self.gone
        if action == "try_model":
            return self._has_model and not self.gone
        return True

    def on_run_actions_pressed(self, message: RunActions.Pressed) -> None:
        {"stop": self.action_stop, "resume": self.action_resume, "copy": self.action_copy_output,
         "try": self.action_try_model}.get(
            message.action, lambda: None)()

    def action_stop(self) -> None:
        if not self._can_stop():
            self.notify("the run has already ended", severity="warning")
            return
        name = self.state.name or self.run_dir.name

        def answered(yes: bool | None) -> None:
            if yes:
                self._request_stop()

        self.app.push_screen(ConfirmScreen(stop_question(name), yes="Stop"), answered)

    @work(thread=True, exclusive=True, group="monitor-action", exit_on_error=False)
    def _request_stop(self) -> None:
        try:
            record = RunRecord.load(self.run_dir)
            request_stop(record)
        except (OSError, ValueError) as exc:
            self.app.call_from_thread(self.notify, f"could not ask the run to stop: {exc}", severity="error")
            return
        with self._lock:
            self.state.set_stop_requested(True)
        self.app.call_from_thread(
            self.notify, "stop requested: the run saves a checkpoint and ends at the next step")

    def action_resume(self) -> None:
        if self.state.status not in (STOPPED, FAILED):
            self.notify("only a stopped or failed run can be resumed", severity="warning")
            return
        if not self._resumable:
            self.notify("this run saved no complete checkpoint to continue from; start it again with Run in the wizard",
                        title="nothing to resume", severity="warning", timeout=8)
            return
        self._resume()

    @work(thread=True, exclusive=True, group="monitor-action", exit_on_error=False)
    def _resume(self) -> None:
        try:
            record = RunRecord.load(self.run_dir)
            new = resume_run(record)
        except PresetError as exc:
            text = "\n".join(p.message + (f" (fix: {p.hint})" if p.hint else "") for p in exc.problems)
            self.app.call_from_thread(self.notify, text or "the run cannot be resumed", title="cannot resume",
                                      severity="error", timeout=10)
            return
        except (OSError, ValueError) as exc:
            self.app.call_from_thread(self.notify, f"cannot resume: {exc}", severity="error", timeout=10)
            return
        self.app.call_from_thread(self.follow, new.run_dir)

    def follow(self, run_dir: str | Path) -> None:
        """Follow another run from now on (a resumed run continues this one's history)."""
        if self._tail_worker is not None:
            self._tail_worker.cancel()
        with self._lock:
            self.run_dir = Path(run_dir)
            self.state.restart()
            self.follower = Follower(self.run_dir, self.state, lock=self._lock)
            self._pending_log.append(f"── resumed as run {self.run_dir.name} ──")
            self._log_changed = True
        self.title = f"run {self.run_dir.name}"
        self.notify(f"resumed as run {self.run_dir.name}")
        self._start_tail()

    def action_copy_output(self) -> None:
        path = self._output_dir()
        self.app.copy_to_clipboard(path)
        self.notify(f"copied {path}")

    def action_try_model(self) -> None:
        if not self._has_model:
            self.notify("the run has no saved model to try yet", severity="warning")
            return
        self.app.push_screen(TryModelScreen(self.run_dir))

    def action_focus_log(self) -> None:
        self.query_one(RunLog).focus()

    def action_close(self) -> None:
        if len(self.app.screen_stack) <= 1:
            self.app.exit()
        else:
            self.dismiss(None)
