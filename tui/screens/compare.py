"""Two or more runs side by side: their loss and eval curves overlaid, and what differs.

Opened from the runs screen with the runs marked there. The comparison (`core.run.compare`)
is read in a thread, so long event files never freeze the screen.
"""

from __future__ import annotations

import math
from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static, TabbedContent, TabPane
from textual_plotext import PlotextPlot

from hftui.core.i18n import N_, _
from hftui.core.run.compare import CompareError, Comparison, compare
from hftui.core.run.record import RecordError, RunRecord
from hftui.core.run.series import metric_label
from hftui.tui.compare_text import BEST, column_name, shown_figure, shown_value
from hftui.tui.format import printable
from hftui.tui.i18n import translate_bindings

# One colour per run, in the order the runs were marked.
RUN_COLORS = ("cyan", "magenta", "yellow", "green", "blue", "red", "white")
Points = tuple[list[float], list[float]]


def _finite(points: Points) -> Points:
    """plotext cannot draw NaN or infinity: such points are left out."""
    kept = [(x, y) for x, y in zip(*points) if math.isfinite(y)]
    return [p[0] for p in kept], [p[1] for p in kept]


def _css_id(key: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in key)


class CompareScreen(Screen[None]):
    """The runs' curves overlaid on one chart per figure, the differing keys beside them."""

    DEFAULT_CSS = """
    CompareScreen #compare-legend { padding: 0 1; height: auto; }
    CompareScreen #compare-body { height: 1fr; }
    CompareScreen #compare-tabs { width: 1fr; height: 1fr; }
    CompareScreen TabPane { padding: 0; height: 1fr; }
    CompareScreen PlotextPlot { height: 1fr; min-height: 8; }
    CompareScreen #compare-eval { grid-size: 1; height: 1fr; }
    CompareScreen #compare-side { width: auto; min-width: 40; max-width: 65%; height: 1fr; padding: 0 1; }
    CompareScreen #compare-side DataTable { width: auto; height: auto; max-height: 50%; margin-bottom: 1; }
    CompareScreen.-narrow #compare-body { layout: vertical; }
    CompareScreen.-narrow #compare-side { width: 1fr; max-width: 100%; }
    CompareScreen .compare-title { text-style: bold; }
    """
    # Narrower than this, the tables go below the charts: beside them, neither would fit.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    BINDINGS = [
        Binding("escape", "close", N_("Back"), id="compare.close", tooltip=N_("Back to the runs")),
        Binding("f5", "reload", N_("Refresh"), id="compare.reload",
                tooltip=N_("Read the runs again (a run still training moves on)")),
    ]

    def __init__(self, run_dirs: list[str | Path], **kwargs) -> None:
        super().__init__(**kwargs)
        translate_bindings(self)
        self.run_dirs = [Path(d) for d in run_dirs]
        self.result: Comparison | None = None
        # What each chart shows, by line label: the points last drawn (tests read it).
        self.drawn: dict[str, dict[str, Points]] = {"loss": {}, "eval": {}}

    def compose(self) -> ComposeResult:
        yield Static(_("reading {count} runs…", count=len(self.run_dirs)), id="compare-legend")
        with Horizontal(id="compare-body"):
            with TabbedContent(id="compare-tabs"):
                with TabPane(_("Loss"), id="compare-tab-loss"):
                    yield PlotextPlot(id="compare-loss")
                with TabPane(_("Eval"), id="compare-tab-eval"):
                    yield Grid(id="compare-eval")
            with VerticalScroll(id="compare-side"):
                yield Static(_("preset keys that differ"), classes="compare-title")
                yield DataTable(id="compare-keys", cursor_type="row", zebra_stripes=True)
                yield Static(_("metrics"), classes="compare-title")
                yield DataTable(id="compare-metrics", cursor_type="row", zebra_stripes=True)
                yield Static("", id="compare-env")
        yield Footer()

    def on_mount(self) -> None:
        self.title = _("compare runs")
        self._load()

    def action_reload(self) -> None:
        self._load()

    def action_close(self) -> None:
        self.dismiss(None)

    @work(thread=True, exclusive=True, group="compare-load", exit_on_error=False)
    def _load(self) -> None:
        try:
            result = compare([RunRecord.load(d) for d in self.run_dirs])
        except (CompareError, RecordError, OSError, ValueError) as exc:
            self.app.call_from_thread(self.notify, _("cannot compare these runs: {error}", error=exc),
                                      severity="error", timeout=10)
            return
        self.app.call_from_thread(self._show, result)

    # -- drawing --------------------------------------------------------------------------------
    def _show(self, result: Comparison) -> None:
        self.result = result
        legend = Text()
        for i, r in enumerate(result.runs):
            if i:
                legend.append("   ")
            legend.append("━━ ", style=RUN_COLORS[i % len(RUN_COLORS)])
            legend.append(f"{column_name(i)} ", style="bold")
            legend.append(printable(f"{r.record.id} {r.record.name}"))
        self.query_one("#compare-legend", Static).update(legend)
        self._draw_loss(result)
        self._draw_eval(result)
        self._fill_keys(result)
        self._fill_metrics(result)
        self._fill_environment(result)

    def _draw_loss(self, result: Comparison) -> None:
        """Training loss as lines and eval loss as dots, every run on the one chart. The lines'
        labels stay as the metrics are named: plotext lays text out one cell a character."""
        plot = self.query_one("#compare-loss", PlotextPlot)
        lines = []
        for i, r in enumerate(result.runs):
            color = RUN_COLORS[i % len(RUN_COLORS)]
            lines.append((f"{column_name(i)} loss", r.state.loss.points(), color, False))
            if "eval_loss" in r.state.metrics:
                lines.append((f"{column_name(i)} eval_loss", r.state.metrics["eval_loss"].history.points(), color, True))
        self.drawn["loss"] = self._plot(plot, _("training loss (lines) · eval loss (dots)"), lines)

    def _draw_eval(self, result: Comparison) -> None:
        """One chart per eval metric, every run on it."""
        grid = self.query_one("#compare-eval", Grid)
        keys: list[str] = []
        for r in result.runs:
            keys.extend(k for k in r.state.metrics if k not in keys)
        grid.styles.grid_size_columns = 1 if len(keys) <= 1 else 2
        drawn: dict[str, Points] = {}
        for key in keys:
            plot_id = "compare-eval-" + _css_id(key)
            found = grid.query(f"#{plot_id}")
            plot = found.first(PlotextPlot) if found else PlotextPlot(id=plot_id)
            if not found:
                grid.mount(plot)
            lines = [(f"{column_name(i)} {metric_label(key)}", r.state.metrics[key].history.points(),
                      RUN_COLORS[i % len(RUN_COLORS)], True)
                     for i, r in enumerate(result.runs) if key in r.state.metrics]
            drawn.update(self._plot(plot, metric_label(key), lines))
        self.drawn["eval"] = drawn

    @staticmethod
    def _plot(plot: PlotextPlot, title: str, lines: list) -> dict[str, Points]:
        plt = plot.plt
        plt.clear_data()
        plt.title(title)
        drawn = {}
        for label, points, color, dots in lines:
            xs, ys = _finite(points)
            if not xs:
                continue
            drawn[label] = (xs, ys)
            if dots or len(xs) == 1:  # evaluations are points in time, not a line
                plt.scatter(xs, ys, label=label, color=color, marker="dot" if len(xs) > 1 else "hd")
            else:
                plt.plot(xs, ys, label=label, color=color, marker="braille")
        plt.xlabel(_("step"))
        plot.refresh()
        return drawn

    # -- the tables -----------------------------------------------------------------------------
    def _columns(self, table: DataTable, first: str, n: int) -> None:
        table.clear(columns=True)
        table.add_column(first, key="label")
        for i in range(n):
            table.add_column(column_name(i), key=f"run-{i}")

    def _fill_keys(self, result: Comparison) -> None:
        table = self.query_one("#compare-keys", DataTable)
        self._columns(table, _("key"), len(result.runs))
        if not result.keys:
            table.add_row(_("(none: the same once defaults apply)"), *([""] * len(result.runs)))
        for key, values in result.keys:
            table.add_row(printable(key), *(shown_value(v) for v in values), key=key)

    def _fill_metrics(self, result: Comparison) -> None:
        table = self.query_one("#compare-metrics", DataTable)
        self._columns(table, "", len(result.runs))
        for row in result.rows:
            cells = [Text(f"{shown_figure(row, v)} {_(BEST)}", style="bold green") if i in row.best
                     else Text(shown_figure(row, v)) for i, v in enumerate(row.values)]
            table.add_row(row.label, *cells, key=row.key)

    def _fill_environment(self, result: Comparison) -> None:
        text = Text()
        if result.environment:
            text.append(_("environment differences") + "\n", style="bold")
            for fact, values in result.environment:
                text.append(printable(fact), style="bold")
                text.append(": " + " | ".join(f"{column_name(i)} {printable(v)}" for i, v in enumerate(values)) + "\n")
        else:
            text.append(_("environment: "), style="bold")
            text.append(_("the same") if len(result.without_environment) < len(result.runs) - 1 else _("not recorded"))
        for r in result.without_environment:
            text.append("\n" + _("run {id} has no environment record", id=printable(r.record.id)), style="dim")
        self.query_one("#compare-env", Static).update(text)

    def key_values(self) -> dict[str, list[str]]:
        """The differing keys as the side table shows them (tests read it)."""
        table = self.query_one("#compare-keys", DataTable)
        return {str(row.value): [str(c) for c in table.get_row(row)[1:]] for row in table.rows if row.value}
