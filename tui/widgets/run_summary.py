"""The end summary of a finished run: how it ended, how long it took, its best result."""

from __future__ import annotations

from rich.markup import escape
from textual.widgets import Static

from hftui.core.i18n import _
from hftui.core.run.folder import STOPPED
from hftui.core.run.series import metric_label
from hftui.core.run.state import RunState
from hftui.tui.format import fmt_duration, fmt_number, status_word


class RunSummary(Static):
    DEFAULT_CSS = """
    RunSummary { height: auto; max-height: 6; border: round $success; padding: 0 1; display: none; }
    RunSummary.-shown { display: block; }
    RunSummary.-stopped { border: round $warning; }
    """

    def show(self, state: RunState, compact: bool = False) -> None:
        """`compact` (a short terminal): the first line and the checkpoint only; the best values
        are in the eval table."""
        status = state.status
        self.border_title = status_word(status)
        steps = f"{state.step}/{state.max_steps}" if state.max_steps else str(state.step)
        took = fmt_duration(state.runtime if state.runtime else state.elapsed())
        training = state.elapsed()
        if state.runtime and training is not None and abs(training - state.runtime) >= 2:
            took = _("{total} (training {training})", total=took, training=fmt_duration(training))
        line = _("[b]{status}[/b] after {took} · step {steps}", status=status_word(status), took=took, steps=steps)
        if state.latest_loss is not None:
            line += " · " + _("final loss {value}", value=fmt_number(state.latest_loss))
        lines = [line]
        best = []
        for m in state.metrics.values():
            if m.best is not None:
                best.append(_("{metric} {value} (step {step})", metric=escape(metric_label(m.key)),
                              value=fmt_number(m.best), step=m.best_step))
        if best and not compact:
            lines.append(_("best: {metrics}", metrics=" · ".join(best)))
        checkpoint = state.best_checkpoint or state.latest_checkpoint
        if checkpoint:
            if state.best_checkpoint:
                lines.append(_("best checkpoint: {path}", path=escape(checkpoint)))
            else:
                lines.append(_("last checkpoint: {path}", path=escape(checkpoint)))
        if status == STOPPED:
            lines.append("[dim]" + _("press r to resume from the last checkpoint") + "[/dim]")
        self.update("\n".join(lines))
        self.set_class(status == STOPPED, "-stopped")
        self.add_class("-shown")

    def hide(self) -> None:
        self.remove_class("-shown")
