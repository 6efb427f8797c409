"""The headless progress display of `hftui run`: follows a run's events file, then sums it up.

On a terminal it is one Rich Live panel redrawn a few times a second; when the output is a file
or a pipe (CI logs, `nohup`), it prints one plain line per logged step and evaluation instead,
so the log stays readable. Either way it reads `events.jsonl` by offset, never from the start.

Everything it shows of the run's own text (names, paths, notices, the error, the log's last
lines) passes through `shown`/`printable`, and the error and log lines through `redact` too:
a name cannot drive the terminal, and a token printed by a library is not echoed back.
"""

from __future__ import annotations

import re
import time
from collections import deque
from pathlib import Path

from rich.console import Console, Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from hftui.core.i18n import N_, _
from hftui.core.run.folder import FAILED, FINAL_STATUSES, STOPPED, STOPPING, exit_code_of
from hftui.core.run.follow import Follower
from hftui.core.run.record import RunRecord
from hftui.core.run.redact import redact
from hftui.core.run.series import metric_label
from hftui.tui.format import STATUS_STYLE, fmt_duration, fmt_short, printable, shown, status_label, status_word
from hftui.tui.speed_text import event_speed_parts, speed_parts

POLL_S = 0.25
# After an end event, how long the supervisor may take to write its final word in run.json
# before the display says that the run goes on.
FINAL_WAIT_S = 15.0
LOG_TAIL_LINES = 15
# The metrics a person chose for the task come before the trainer's own extras (entropy, ...).
PRIMARY_METRICS = ("accuracy", "f1", "precision", "recall", "roc_auc", "bleu", "wer", "mse")
# Colour codes libraries write to the log: dropped from the log's last lines (every other control
# character is shown escaped).
_COLOUR = re.compile(r"\x1b\[[0-9;]*m")
STOPPING_NOTE = N_("stopping: saving a checkpoint; press Ctrl-C again to kill")


class HeadlessDisplay:
    """Follow one run until it ends; `follow()` may be called again after a KeyboardInterrupt."""

    def __init__(self, run: RunRecord, console: Console | None = None, live: bool | None = None):
        self.run = run
        self.console = console or Console(highlight=False)
        self.live = self.console.is_terminal if live is None else live
        # plain output prints every event, so the follower hands them over parsed
        self.follower = Follower(run.run_dir, record=run, keep_events=not self.live)
        self.state = self.follower.state
        self._bad_lines_said = 0
        self._end_seen_at: float | None = None
        self._said_goes_on = False
        self.message: tuple[str, str] | None = None  # (text, style) shown under the live panel

    def say(self, text: str, style: str = "yellow") -> None:
        """A message for the person: inside the live panel, or as a plain line."""
        if self.live:
            self.message = (text, style)
        else:
            self.console.print(Text(printable(text), style=style), soft_wrap=True)

    # -- following ------------------------------------------------------------------------------
    def _take(self, events: list[dict]) -> None:
        """What the follower just read: a word on garbled lines, the moment the end came."""
        if self.state.bad_lines > self._bad_lines_said:
            self._bad_lines_said = self.state.bad_lines
            self.say(_("skipped {count} garbled line(s) of {name}", count=self.state.bad_lines, name=self.run.events_path.name), "dim")
        if self.state.ended and self._end_seen_at is None:
            self._end_seen_at = time.time()
        if not self.live:
            for event in events:
                self.print_event(event)

    def done(self) -> bool:
        """Over when run.json says so. The supervisor writes the final status, and a run whose
        processes vanished is marked failed when its record is read, so an `end` line while the
        record still says active (a stray or forged one) does not end the display."""
        if not self.run.is_active:
            return True
        if self._end_seen_at is not None and not self._said_goes_on and time.time() - self._end_seen_at > FINAL_WAIT_S:
            self._said_goes_on = True
            self.say(_("{name} has an end line, but the run goes on (its processes are alive): following on", name=self.run.events_path.name))
        return False

    def follow(self, on_tick=None) -> RunRecord:
        """Show the run until it ends; `on_tick()` runs between polls (Ctrl-C handling)."""
        live = None

        def polled(caught_up: bool, events: list[dict]) -> bool:
            if on_tick:
                on_tick()
            self._take(events)
            if live is not None:
                live.update(self.render())
            return self.done()

        if self.live:
            with Live(self.render(), console=self.console, refresh_per_second=4, transient=False) as live:
                self.follower.follow(polled, pause=POLL_S)
        else:
            self.follower.follow(polled, pause=POLL_S)
        # whatever arrived between the last poll and the end
        caught_up = False
        while not caught_up:
            caught_up, events = self.follower.read_events()
            self._take(events)
        return self.run

    # -- plain output ---------------------------------------------------------------------------
    def print_event(self, event: dict) -> None:
        kind = event.get("event")
        step = event.get("step", 0)
        of = f"/{self.state.max_steps}" if self.state.max_steps else ""
        if kind == "start":
            self.console.print(_("started: {model} on {device}, {steps} steps", model=shown(event.get("model") or self.run.name),
                                 device=shown(event.get("device") or "?"), steps=self.state.max_steps or "?"), soft_wrap=True)
        elif kind == "log":
            parts = [_("step {step}{of}", step=step, of=of)]
            if isinstance(event.get("epoch"), (int, float)):
                parts.append(_("epoch {epoch:.2f}", epoch=event["epoch"]))
            for key in ("loss", "learning_rate", "grad_norm"):
                if isinstance(event.get(key), (int, float)):
                    parts.append(f"{key} {fmt_short(event[key])}")
            parts.extend(event_speed_parts(event))
            eta = self.state.eta(time.time())
            if eta is not None:
                parts.append(_("ETA {eta}", eta=fmt_duration(eta)))
            self.console.print("  ".join(parts), soft_wrap=True)
        elif kind == "eval":
            metrics = [f"{shown(metric_label(k))} {fmt_short(v)}" for k, v in event.items()
                       if k.startswith("eval_") and isinstance(v, (int, float)) and not _bookkeeping(k)]
            self.console.print(_("eval at step {step}: {metrics}", step=step, metrics="  ".join(metrics) or "—"), soft_wrap=True)
        elif kind == "checkpoint":
            self.console.print(_("checkpoint saved at step {step}: {path}", step=step, path=shown(event.get("path", ""))), soft_wrap=True)
        elif kind == "notice" and event.get("message"):
            self.console.print(_("note: {message}", message=shown(redact(str(event["message"])))), soft_wrap=True)

    # -- the live panel -------------------------------------------------------------------------
    def render(self):
        s = self.state
        now = time.time()
        status = s.status
        style = ("bold " if status in FINAL_STATUSES else "") + STATUS_STYLE.get(status, "white")
        head = Text.assemble(
            (f" {status_label(status)} ", f"reverse {style}"), "  ",
            (printable(self.run.name), "bold"), f"  {printable(self.run.id)}",
        )
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column()
        total = s.max_steps or 0
        bar = ProgressBar(total=float(total) if total else None, completed=float(s.step), width=30)
        progress = Text(_("step {step}{of}", step=s.step, of=f"/{total or '?'}"))
        if s.epoch is not None:
            progress.append("  " + _("epoch {epoch:.2f}", epoch=s.epoch))
        line = Table.grid(padding=(0, 2))
        line.add_row(bar, progress)
        grid.add_row(_("progress"), line)
        timing = _("elapsed {elapsed}  ETA {eta}", elapsed=fmt_duration(s.elapsed(now)), eta=fmt_duration(s.eta(now)))
        speed = speed_parts(s)
        if speed:
            timing += "  " + "  ".join(speed)
        grid.add_row(_("time"), timing)
        latest = s.latest_log
        if latest:
            figures = [f"{k} {fmt_short(v)}" for k, v in latest.items() if k in ("loss", "learning_rate", "grad_norm")]
            grid.add_row(_("train"), "  ".join(figures) or "—")
        if s.metrics:
            grid.add_row(_("eval"), "  ".join(
                _("{metric} {latest} (best {best})", metric=shown(m.label), latest=fmt_short(m.latest), best=fmt_short(m.best))
                for m in self._ranked_metrics()[:4]))
        if s.latest_checkpoint:
            grid.add_row(_("checkpoint"), shown(s.latest_checkpoint))
        if s.notices:
            grid.add_row(_("note"), shown(redact(s.notices[-1])))
        if self.message:
            grid.add_row("", Text(*self.message))
        elif s.status == STOPPING:
            grid.add_row("", Text(_(STOPPING_NOTE), style="yellow"))
        return Group(head, grid)

    # -- the end --------------------------------------------------------------------------------
    def final_status(self) -> str:
        status = self.run.status
        if status in FINAL_STATUSES:
            return status
        return self.state.end_status or FAILED

    def exit_code(self) -> int:
        return exit_code_of(self.final_status())

    def print_summary(self) -> None:
        s = self.state
        status = self.final_status()
        style = "bold " + STATUS_STYLE.get(status, STATUS_STYLE[FAILED])
        self.console.print()
        self.console.print(Text.assemble((_("run") + " ", ""), (printable(self.run.id), "bold"), " ", (printable(status_word(status)), style)))
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column()
        grid.add_row(_("steps"), f"{s.step}/{s.max_steps or '?'}")
        elapsed = s.elapsed()
        if self.run.started and self.run.ended:  # the whole run, model loading included
            elapsed = self.run.ended - self.run.started
        grid.add_row(_("time"), fmt_duration(elapsed))
        if s.latest_loss is not None:
            grid.add_row(_("last loss"), fmt_short(s.latest_loss))
        best = self._best_metric()
        if best:
            grid.add_row(_("best"), best)
        if s.latest_checkpoint:
            grid.add_row(_("checkpoint"), shown(s.latest_checkpoint))
        grid.add_row(_("output"), shown(self.run.output_dir))
        grid.add_row(_("run folder"), shown(self.run.run_dir))
        self.console.print(grid)
        if status == FAILED:
            error = str(self.run.error or s.error or _("unknown (see the log)"))
            self.console.print(Text(_("error: {error}", error=printable(redact(error))), style="red"), soft_wrap=True)
            lines = log_tail(self.run.log_path, LOG_TAIL_LINES)
            if lines:
                self.console.print(Text(_("last lines of {path}:", path=printable(self.run.log_path)), style="dim"), soft_wrap=True)
                for line in lines:
                    self.console.print(Text("  " + line, style="dim"), soft_wrap=True)
        elif status == STOPPED:
            self.console.print(_("stopped; continue it with: hftui run {preset} --resume", preset=shown(self.run.preset_path or self.run.preset_file)))

    def _ranked_metrics(self) -> list:
        """Task metrics first (accuracy, f1, ...), then the eval loss, then the rest."""
        def rank(item):
            key = item[0].removeprefix("eval_")
            if key in PRIMARY_METRICS:
                return (0, PRIMARY_METRICS.index(key))
            if key in ("loss", "perplexity"):
                return (1, ("loss", "perplexity").index(key))
            return (2, 0)

        return [m for _key, m in sorted(self.state.metrics.items(), key=rank)]

    def _best_metric(self) -> str | None:
        s = self.state
        ranked = self._ranked_metrics()
        if ranked and ranked[0].best is not None:
            m = ranked[0]
            return _("{metric} {value} at step {step}", metric=m.label, value=fmt_short(m.best), step=m.best_step)
        if s.best_metric is not None:
            return fmt_short(s.best_metric)
        return None


def _bookkeeping(key: str) -> bool:
    return any(key.endswith(suffix) for suffix in ("runtime", "samples_per_second", "steps_per_second", "tokens_per_second"))


def log_tail(path: Path, lines: int = LOG_TAIL_LINES, max_bytes: int = 32768) -> list[str]:
    """The last lines of a log file, read from its end only, as a person may see them: a line a
    progress bar redrew with carriage returns as its last state, secrets and colours out, every
    other control character escaped."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(max(0, size - max_bytes))
            text = fh.read().decode("utf-8", "replace")
    except OSError:
        return []
    # the supervisor's own lines ("[hftui] starting: ...") say nothing the summary does not
    out = deque((ln.rstrip() for ln in map(_last_state, text.split("\n")) if ln.strip() and not ln.startswith("[hftui]")), maxlen=lines)
    return [printable(redact(_COLOUR.sub("", ln))) for ln in out]


def _last_state(line: str) -> str:
    """What a terminal shows of a line redrawn with carriage returns: its last non-blank state."""
    states = [part for part in line.split("\r") if part.strip()]
    return states[-1] if states else ""
