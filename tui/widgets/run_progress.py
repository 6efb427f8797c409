"""The headline of a run: status badge, step/max with a bar, epoch, elapsed, ETA, throughput and
MFU, the checkpoints on disk."""

from __future__ import annotations

import time

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import ProgressBar, Static

from hftui.core.i18n import _
from hftui.core.run.figures import EVALUATING, SAVING, STATUSES
from hftui.core.run.folder import COMPLETED, FAILED, RUNNING, STARTING, STOPPED, STOPPING
from hftui.core.run.state import RunState
from hftui.tui.format import fmt_duration, fmt_number, shown, status_label
from hftui.tui.speed_text import speed_parts

BADGE_STYLE = {
    STARTING: "bold black on grey70",
    RUNNING: "bold black on green",
    EVALUATING: "bold black on cyan",
    SAVING: "bold black on cyan",
    STOPPING: "bold black on yellow",
    COMPLETED: "bold black on bright_green",
    FAILED: "bold white on red",
    STOPPED: "bold black on yellow",
}


class RunProgress(Widget):
    """Reads a RunState; `show(state)` redraws it (the clock ticks even without events)."""

    DEFAULT_CSS = """
    RunProgress { height: auto; padding: 0 1; }
    RunProgress > Horizontal { height: 1; }
    RunProgress #run-badge { width: auto; margin-right: 1; }
    RunProgress #run-title { width: 1fr; }
    RunProgress ProgressBar { width: auto; margin-right: 1; }
    RunProgress #run-steps { width: auto; }
    RunProgress #run-figures { height: auto; max-height: 2; color: $text-muted; }
    """

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Static(id="run-badge")
            yield Static(id="run-title")
        with Horizontal():
            yield ProgressBar(total=None, show_eta=False, show_percentage=True, id="run-bar")
            yield Static(id="run-steps")
        yield Static(id="run-figures")

    def show(self, state: RunState, now: float | None = None) -> None:
        now = time.time() if now is None else now
        status = state.status
        for name in STATUSES:
            self.set_class(name == status, f"-{name}")
        badge = self.query_one("#run-badge", Static)
        badge.update(Text(f" {status_label(status).upper()} ", style=BADGE_STYLE.get(status, "bold reverse")))
        title = state.name or state.preset or _("run")
        bits = [f"[b]{shown(title)}[/b]"]
        if state.run_id:
            bits.append(f"[dim]{shown(state.run_id)}[/dim]")
        if state.trainer_type:
            bits.append(shown(state.trainer_type))
        if state.model:
            bits.append(f"[dim]{shown(state.model)}[/dim]")
        if state.num_processes and state.num_processes > 1:
            bits.append(_("{count} processes", count=state.num_processes))
        self.query_one("#run-title", Static).update(" · ".join(bits))

        bar = self.query_one("#run-bar", ProgressBar)
        if state.max_steps:
            bar.update(total=state.max_steps, progress=min(state.step, state.max_steps))
        elif state.progress is not None:
            bar.update(total=100, progress=round(state.progress * 100))
        elif state.status == COMPLETED:
            bar.update(total=1, progress=1)
        elif state.finished:
            bar.update(total=1, progress=0)
        else:
            bar.update(total=None)
        steps = [_("step {step}/{max_steps}", step=state.step, max_steps=state.max_steps) if state.max_steps
                 else _("step {step}", step=state.step)]
        if state.epoch is not None:
            epoch = f"{state.epoch:.2f}" + (f"/{state.num_train_epochs:g}" if state.num_train_epochs else "")
            steps.append(_("epoch {epoch}", epoch=epoch))
        self.query_one("#run-steps", Static).update(" · ".join(steps))

        figures = [_("elapsed {time}", time=fmt_duration(state.elapsed(now)))]
        if not state.finished:
            figures.append(_("ETA {time}", time=fmt_duration(state.eta(now))))
        figures.extend(speed_parts(state) or ["— steps/s"])
        if state.latest_loss is not None:
            figures.append(_("loss {value}", value=fmt_number(state.latest_loss)))
        if state.checkpoint_count:
            count = state.checkpoint_count
            figures.append(_("{count} checkpoint", count=count) if count == 1 else _("{count} checkpoints", count=count))
        self.query_one("#run-figures", Static).update(" · ".join(figures))
