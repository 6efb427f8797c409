"""The live pane of one run: progress, curves, eval table, GPUs, log, stop and resume.

Laid out for 80x24 first: below WIDE_MIN columns the eval table and the GPU panel leave the side
column for tabs of their own beside the curves (they are made anew in their new place and drawn
from the state), and below TALL_MIN rows the summary, the failure and the log give up height so
that a chart keeps at least EVAL_MIN_ROWS rows.

Everything shown comes from three files of the run directory: `events.jsonl` and `run.json`,
followed by `core.run.follow` in a thread that folds events into a `RunState` under a lock and
schedules its next poll only after the last one finished, and `log.txt` (tailed by offset). The
screen redraws a few times per second from that state, only the parts that changed. A finished
run opens as a post-mortem: the whole history is read, then the thread just watches for changes.
"""

from __future__ import annotations

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

from hftui.core.i18n import N_, _
from hftui.core.problems import PresetError
from hftui.core.run.figures import EVALUATING, SAVING
from hftui.core.checks.output_folder import last_complete_checkpoint
from hftui.core.run.folder import (
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
from hftui.tui.i18n import translate_bindings
from hftui.tui.screens.confirm import ConfirmScreen
from hftui.tui.screens.try_model import TryModelScreen
from hftui.tui.widgets.run_actions import RunActions
from hftui.tui.widgets.run_curves import RunCurves
from hftui.tui.widgets.run_eval_table import RunEvalTable
from hftui.tui.widgets.run_failure import RunFailure
from hftui.tui.widgets.run_gpu import RunGpu
from hftui.tui.widgets.run_log import LogTail, RunLog
from hftui.tui.widgets.run_notes import folder_notes, run_notes
from hftui.tui.widgets.run_progress import RunProgress
from hftui.tui.widgets.run_summary import RunSummary

POLL_S = 0.5  # pause between polls once caught up
FINISHED_POLL_S = 2.0
RENDER_S = 0.25  # the screen redraws at most four times a second
CURVES_S = 0.5
WIDE_MIN = 100  # columns from which the eval table and the GPU panel sit beside the curves
TALL_MIN = 30  # rows from which the summary and the log get their full height


def stop_question(name: str) -> str:
    return _("Stop {name}?\n\nThe run saves a checkpoint and ends at the next step; you can resume it later.",
             name=name)


class MonitorScreen(Screen[None]):
    """`MonitorScreen(run_dir)`: watch one run live, or read a finished one."""

    DEFAULT_CSS = """
    MonitorScreen { layout: vertical; }
    MonitorScreen #monitor-body { height: 2fr; min-height: 10; }
    MonitorScreen #monitor-side { width: 36; height: 1fr; }
    MonitorScreen.-narrow #monitor-side { display: none; }
    MonitorScreen RunLog { height: 1fr; min-height: 4; max-height: 14; }
    MonitorScreen RunFailure { max-height: 12; }
    MonitorScreen RunCurves { width: 1fr; }
    MonitorScreen #monitor-notice { height: auto; max-height: 4; padding: 0 1; color: $warning; display: none; }
    MonitorScreen #monitor-notice.-shown { display: block; }
    MonitorScreen.-short #monitor-body { min-height: 11; }
    MonitorScreen.-short RunLog { max-height: 6; }
    MonitorScreen.-short.-failed RunLog { display: none; }
    MonitorScreen.-short RunSummary { border: none; padding: 0 1; max-height: 3; }
    MonitorScreen.-short RunFailure { max-height: 8; }
    MonitorScreen.-short #monitor-notice { max-height: 2; }
    """
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (WIDE_MIN, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (TALL_MIN, "-tall")]
    BINDINGS = [
        Binding("s", "stop", N_("Stop"), id="monitor.stop", tooltip=N_("Save a checkpoint and end the run at the next step")),
        Binding("r", "resume", N_("Resume"), id="monitor.resume",
                tooltip=N_("Continue a stopped or failed run from its last checkpoint")),
        Binding("c", "copy_output", N_("Copy output dir"), id="monitor.copy",
                tooltip=N_("Copy the output directory to the clipboard")),
        Binding("l", "focus_log", N_("Log"), id="monitor.log", tooltip=N_("Scroll the log with the arrow keys")),
        Binding("t", "try_model", N_("Try"), id="monitor.try", tooltip=N_("Type an input and read the trained model's answer")),
        Binding("escape", "close", N_("Back"), id="monitor.close", tooltip=N_("Leave this pane; the run keeps going")),
    ]

    def __init__(self, run_dir: str | Path, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        translate_bindings(self)
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
        self._narrow: bool | None = None  # the eval table and the GPU panel are in tabs
        self._table = RunEvalTable(id="run-eval")
        self._gpu = RunGpu(id="run-gpu")

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield RunProgress(id="run-progress")
        with Horizontal(id="monitor-body"):
            yield RunCurves(id="run-curves")
            yield Vertical(id="monitor-side")
        yield RunSummary(id="run-summary")
        yield RunFailure(id="run-failure")
        yield Static(id="monitor-notice")
        yield RunLog(id="run-log")
        yield RunActions(id="run-actions")
        yield Footer()

    async def on_mount(self) -> None:
        self.title = _("run {name}", name=self.run_dir.name)
        await self._place_side(self.app.size.width < WIDE_MIN)
        self._start_tail()
        self.set_interval(RENDER_S, self._render_tick)
        self._render_tick()

    async def on_resize(self, event) -> None:
        await self._place_side(event.size.width < WIDE_MIN)
        if self._last_status is not None:
            with self._lock:
                self._show_ending(self._last_status)  # the summary is shorter on a short terminal

    async def _place_side(self, narrow: bool) -> None:
        """The eval table and the GPU panel beside the curves, or each in a tab of the curves
        (narrow): made anew in their new place and drawn there from the state."""
        if narrow == self._narrow:
            return
        self._narrow = narrow
        if self._table.is_attached:
            old = (self._table, self._gpu)
            self._table, self._gpu = RunEvalTable(id="run-eval"), RunGpu(id="run-gpu")
            for widget in old:
                await widget.remove()
        curves = self.query_one(RunCurves)
        if narrow:
            await curves.side_pane("tab-table").mount(self._table)
            await curves.side_pane("tab-gpu").mount(self._gpu)
        else:
            await self.query_one("#monitor-side", Vertical).mount_all((self._table, self._gpu))
        curves.show_side_tabs(narrow)
        with self._lock:
            self.state.mark("eval", "gpu")

    # ------------------------------------------------------------------ tailing (thread)

    def _start_tail(self) -> None:
        self._tail_worker = self._tail_loop(self.follower)

    @work(thread=True, exclusive=True, group="monitor-tail", exit_on_error=False, name="tail events")
    def _tail_loop(self, follower: Follower) -> None:
        worker = get_current_worker()
        log = LogTail(follower.run_dir / LOG_FILE)

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
        if not (self._table.is_mounted and self._gpu.is_mounted):
            state.mark(*(changes & {"eval", "gpu"}))  # moving between the side and the tabs
        else:
            if "eval" in changes:
                self._table.show(state)
            if "gpu" in changes or "info" in changes:
                self._gpu.show(state)
            if not self._narrow:  # as wide as the table (and a GPU's line) needs, within half the pane
                want = max(36, self._table.virtual_size.width, 58 if state.gpus else 0)
                self.query_one("#monitor-side").styles.width = min(want, self.size.width * 48 // 100)
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
            if self._gpu.is_mounted:
                self._gpu.show(state)
            self.refresh_bindings()
        self._show_notices()
        self.query_one(RunActions).show(self._output_dir(), can_stop=self._can_stop(),
                                        can_resume=self._resumable and not self.gone,
                                        can_try=self._has_model and not self.gone)

    def _show_ending(self, status: str) -> None:
        summary, failure = self.query_one(RunSummary), self.query_one(RunFailure)
        self.set_class(status == FAILED, "-failed")  # on a short terminal the failure shows the log
        if status == FAILED:
            failure.show(self.state.error, list(self.query_one(RunLog).lines_seen))
            summary.hide()
        elif status in FINAL_STATUSES:
            summary.show(self.state, compact=self.app.size.height < TALL_MIN)
            failure.hide()
        else:
            summary.hide()
            failure.hide()

    def _show_notices(self) -> None:
        # what became of the run folder, then the run's own notices: warnings, downloads
        notes = folder_notes(self.follower, self.state) + run_notes(self.state)
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
            self.notify(_("the run has already ended"), severity="warning")
            return
        name = self.state.name or self.run_dir.name

        def answered(yes: bool | None) -> None:
            if yes:
                self._request_stop()

        self.app.push_screen(ConfirmScreen(stop_question(name), yes=_("Stop")), answered)

    @work(thread=True, exclusive=True, group="monitor-action", exit_on_error=False)
    def _request_stop(self) -> None:
        try:
            record = RunRecord.load(self.run_dir)
            request_stop(record)
        except (OSError, ValueError) as exc:
            self.app.call_from_thread(self.notify, _("could not ask the run to stop: {error}", error=exc), severity="error")
            return
        with self._lock:
            self.state.set_stop_requested(True)
        self.app.call_from_thread(
            self.notify, _("stop requested: the run saves a checkpoint and ends at the next step"))

    def action_resume(self) -> None:
        if self.state.status not in (STOPPED, FAILED):
            self.notify(_("only a stopped or failed run can be resumed"), severity="warning")
            return
        if not self._resumable:
            self.notify(_("this run saved no complete checkpoint to continue from; start it again with Run in the wizard"),
                        title=_("nothing to resume"), severity="warning", timeout=8)
            return
        self._resume()

    @work(thread=True, exclusive=True, group="monitor-action", exit_on_error=False)
    def _resume(self) -> None:
        try:
            record = RunRecord.load(self.run_dir)
            new = resume_run(record)
        except PresetError as exc:
            text = "\n".join(_("{message} (fix: {hint})", message=p.message, hint=p.hint) if p.hint else p.message
                             for p in exc.problems)
            self.app.call_from_thread(self.notify, text or _("the run cannot be resumed"), title=_("cannot resume"),
                                      severity="error", timeout=10)
            return
        except (OSError, ValueError) as exc:
            self.app.call_from_thread(self.notify, _("cannot resume: {error}", error=exc), severity="error", timeout=10)
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
            self._pending_log.append("── " + _("resumed as run {name}", name=self.run_dir.name) + " ──")
            self._log_changed = True
        self.title = _("run {name}", name=self.run_dir.name)
        self.notify(_("resumed as run {name}", name=self.run_dir.name))
        self._start_tail()

    def action_copy_output(self) -> None:
        path = self._output_dir()
        self.app.copy_to_clipboard(path)
        self.notify(_("copied {path}", path=path))

    def action_try_model(self) -> None:
        if not self._has_model:
            self.notify(_("the run has no saved model to try yet"), severity="warning")
            return
        self.app.push_screen(TryModelScreen(self.run_dir))

    def action_focus_log(self) -> None:
        self.query_one(RunLog).focus()

    def action_close(self) -> None:
        if len(self.app.screen_stack) <= 1:
            self.app.exit()
        else:
            self.dismiss(None)
