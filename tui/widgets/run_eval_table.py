"""The eval table: each metric's latest and best value, and the step of the best."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from hftui.core.i18n import _
from hftui.core.run.state import RunState
from hftui.tui.format import fmt_number


class RunEvalTable(DataTable):
    DEFAULT_CSS = """
    RunEvalTable { height: auto; max-height: 12; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="none", zebra_stripes=True, show_cursor=False, **kwargs)

    def on_mount(self) -> None:
        self.add_column(_("metric"), key="metric")
        self.add_column(_("latest"), key="latest")
        self.add_column(_("best"), key="best")
        self.add_column(_("step"), key="step")

    def show(self, state: RunState) -> None:
        for key, m in state.metrics.items():
            arrow = "↓" if m.lower_is_better else "↑"
            best_is_latest = m.best is not None and m.best == m.latest
            cells = (
                Text(f"{m.label} {arrow}"),
                Text(fmt_number(m.latest), style="bold" if best_is_latest else ""),
                Text(fmt_number(m.best), style="green"),
                Text("—" if m.best_step is None else str(m.best_step)),
            )
            if key in self.rows:
                for column, cell in zip(("metric", "latest", "best", "step"), cells):
                    self.update_cell(key, column, cell)
            else:
                self.add_row(*cells, key=key)

    def values(self) -> dict[str, tuple[str, str, str]]:
        """What the table shows, by metric label: (latest, best, at step)."""
        out = {}
        for row_key in self.rows:
            row = [str(c) for c in self.get_row(row_key)]
            out[row[0].rsplit(" ", 1)[0]] = (row[1], row[2], row[3])
        return out
