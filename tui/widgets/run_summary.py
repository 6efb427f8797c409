"""The end summary of a finished run: how it ended, how long it took, its best result."""

from __future__ import annotations

from rich.markup import escape
from textual.widgets import Static

from hftui.core.run.folder import STOPPED
from hftui.core.run.series import metric_label
from hftui.core.run.state import RunState
from hftui.tui.format import fmt_duration, fmt_number


class RunSummary(Static):
    DEFAULT_CSS = """
    RunSummary { height: auto; max-height: 6; border: round $success; padding: 0 1; display: none; }
    RunSummary.-shown { display: block; }
    RunSummary.-stopped { border: round $warning; }
    """

    def show(self, state: RunState) -> None:
        status = state.status
        self.border_title = status
        steps = f"{state.step}/{state.max_steps}" if state.max_steps else str(state.step)
        took = fmt_duration(state.runtime if state.runtime else state.elapsed())
        training = state.elapsed()
        if state.runtime and training is not None and abs(training - state.runtime) >= 2:
            took += f" (training {fmt_duration(training)})"
        lines = [f"[b]{status}[/b] after {took} · step {steps}"
                 + (f" · final loss {fmt_number(state.latest_loss)}" if state.latest_loss is not None else "")]
        best = []
        for m in state.metrics.values():
            if m.best is not None:
                best.append(f"{escape(metric_label(m.key))} {fmt_number(m.best)} (step {m.best_step})")
        if best:
            lines.append("best: " + " · ".join(best))
        checkpoint = state.best_checkpoint or state.latest_checkpoint
        if checkpoint:
            label = "best checkpoint" if state.best_checkpoint else "last checkpoint"
            lines.append(f"{label}: {escape(checkpoint)}")
        if status == STOPPED:
            lines.append("[dim]press r to resume from the last checkpoint[/dim]")
        self.update("\n".join(lines))
        self.set_class(status == STOPPED, "-stopped")
        self.add_class("-shown")

    def hide(self) -> None:
        self.remove_class("-shown")
