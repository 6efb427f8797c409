"""Training curves: loss (raw and smoothed), every eval metric, the learning rate, and the reward
of the runs that log one (GRPO/RLOO reward, DPO margin; its tab appears with its first point).

Two more tabs hold the eval table and the GPU panel when the pane is too narrow to show them
beside the curves (the live pane moves them; `show_side_tabs`). Titles and the loss legend are
drawn by Textual, not plotext: plotext counts one cell per character, and a Korean label (two
cells) would break the frame of the plot it sits in."""

from __future__ import annotations

import math

from textual.app import ComposeResult
from rich.text import Text
from textual.containers import Grid, VerticalScroll
from textual.widget import Widget
from textual.widgets import Static, TabbedContent, TabPane
from textual_plotext import PlotextPlot

from hftui.core.i18n import N_, _
from hftui.core.run.series import Series
from hftui.core.run.state import RunState


Points = tuple[list[float], list[float]]
Line = tuple[str, Series | Points, str]  # label, series (or its points), colour

# The lines of the loss plot: key (in `drawn`), legend label, plotext colour, the legend's colour.
LOSS_LINES = (("loss", N_("raw"), "gray", "grey62"), ("smoothed", N_("smoothed"), "orange", "dark_orange"),
              ("eval loss", N_("eval loss"), "cyan", "cyan"))
SIDE_TABS = ("tab-table", "tab-gpu")  # the eval table's and the GPU panel's tabs on a narrow pane

_COLORS = ("cyan", "magenta", "yellow", "blue", "red", "green", "white")
# An eval plot is never smaller than this (its title, axes and a few rows of points): when the
# metrics do not all fit, the eval tab scrolls rather than squeezing them.
EVAL_MIN_ROWS = 8
EVAL_MIN_COLS = 34  # two plots side by side only when each gets this many columns
_TAB_ROWS = 2  # the tab bar above the plots


def _css_id(key: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in key)


def _finite(xs: list[float], ys: list[float]) -> tuple[list[float], list[float]]:
    """plotext cannot draw NaN or infinity: such points are left out of the picture."""
    if all(math.isfinite(y) for y in ys):
        return xs, ys
    kept = [(x, y) for x, y in zip(xs, ys) if math.isfinite(y)]
    return [p[0] for p in kept], [p[1] for p in kept]


class RunCurves(Widget):
    """Three tabs of plots; `show(state)` redraws them from the state's bounded series."""

    DEFAULT_CSS = """
    RunCurves { height: 1fr; min-height: 8; }
    RunCurves TabbedContent, RunCurves TabPane { height: 1fr; }
    RunCurves TabPane { padding: 0; }
    RunCurves PlotextPlot { height: 1fr; min-height: 6; }
    RunCurves #loss-legend { height: 1; padding: 0 1; text-wrap: nowrap; text-overflow: ellipsis; }
    RunCurves #tab-table, RunCurves #tab-gpu { padding: 0 1; }
    RunCurves #eval-scroll { height: 1fr; scrollbar-size-vertical: 1; }
    RunCurves #eval-grid { grid-size: 2; grid-gutter: 0 1; height: auto; }
    RunCurves #eval-grid PlotextPlot { min-height: 0; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        # What each plot shows, by line label: the points last drawn (tests and views read it).
        self.drawn: dict[str, dict[str, Points]] = {"loss": {}, "eval": {}, "lr": {}, "reward": {}}
        self._reward_plot: PlotextPlot | None = None  # made when the run logs its first reward

    def compose(self) -> ComposeResult:
        with TabbedContent(id="curve-tabs"):
            with TabPane(_("Loss"), id="tab-loss"):
                yield Static(id="loss-legend")
                yield PlotextPlot(id="plot-loss")
            with TabPane(_("Eval"), id="tab-eval"):
                # One plot per metric, each on its own scale (accuracy and perplexity share
                # no axis); mounted as metrics appear, laid out by `_lay_out_eval`.
                with VerticalScroll(id="eval-scroll"):
                    yield Grid(id="eval-grid")
            with TabPane(_("Learning rate"), id="tab-lr"):
                yield PlotextPlot(id="plot-lr")
            yield TabPane(_("Eval table"), id="tab-table")
            yield TabPane("GPU", id="tab-gpu")

    def on_mount(self) -> None:
        self._show_legend()
        for plot_id, title in (("plot-loss", None), ("plot-lr", N_("learning rate"))):
            plot = next(iter(self.query(f"#{plot_id}").results(PlotextPlot)), None)
            if plot is None:  # the app closed while the pane was still mounting
                return
            if title:
                plot.plt.title(_(title))
            plot.plt.xlabel(_("step"))

    def side_pane(self, pane_id: str) -> TabPane:
        """The tab that holds the eval table (`tab-table`) or the GPU panel (`tab-gpu`)."""
        return self.query_one(f"#{pane_id}", TabPane)

    def show_side_tabs(self, shown: bool) -> None:
        """Show the eval table's and the GPU panel's tabs (a narrow pane), or hide them."""
        tabs = self.query_one("#curve-tabs", TabbedContent)
        for pane_id in SIDE_TABS:
            if shown:
                tabs.show_tab(pane_id)
            else:
                if tabs.active == pane_id:
                    tabs.active = "tab-loss"
                tabs.hide_tab(pane_id)

    def show(self, state: RunState, parts: set[str] | None = None) -> None:
        parts = {"loss", "eval"} if parts is None else parts
        if "loss" in parts:
            series = {"loss": state.loss, "smoothed": state.smoothed_loss()}
            if "eval_loss" in state.metrics:
                series["eval loss"] = state.metrics["eval_loss"].history
            self._draw("loss", None,  # titled by its legend
                       [(key, series[key], color) for key, _label, color, _legend in LOSS_LINES if key in series])
            self._show_legend()
            self._draw("lr", _("learning rate"), [("learning rate", state.learning_rate, "green")])
            if state.reward:
                self._show_reward(state)
        if "eval" in parts:
            grid = self.query_one("#eval-grid", Grid)
            keys = list(state.metrics)
            drawn: dict[str, Points] = {}
            for i, key in enumerate(keys):
                summary = state.metrics[key]
                plot_id = "plot-eval-" + _css_id(key)
                found = grid.query(f"#{plot_id}")
                if found:
                    plot = found.first(PlotextPlot)
                else:
                    plot = PlotextPlot(id=plot_id)
                    grid.mount(plot)
                title = (_("{metric} (lower is better)", metric=summary.label) if summary.lower_is_better
                         else _("{metric} (higher is better)", metric=summary.label))
                color = _COLORS[i % len(_COLORS)]
                drawn.update(self._draw_on(plot, title,
                                           [(summary.label, summary.history, color)], markers=True))
            self.drawn["eval"] = drawn
            self._lay_out_eval()

    def on_resize(self) -> None:
        self._lay_out_eval()

    def _lay_out_eval(self) -> None:
        """Share the pane among the eval plots: two columns when both are wide enough, rows
        that fill the height and are never squeezed (the tab scrolls instead)."""
        grid = next(iter(self.query("#eval-grid").results(Grid)), None)
        if grid is None:
            return
        n = len(grid.children)
        width, height = self.size.width, max(1, self.size.height - _TAB_ROWS)
        columns = 2 if n > 1 and width >= 2 * EVAL_MIN_COLS + 1 else 1
        rows, row_height = self._rows(n, columns, height)
        if rows * row_height > height and columns == 2 and width - 1 < 2 * EVAL_MIN_COLS + 1:
            columns = 1  # the scroll bar takes a column
            rows, row_height = self._rows(n, columns, height)
        grid.styles.grid_size_columns = columns
        grid.styles.grid_rows = str(row_height)
        grid.styles.height = rows * row_height

    @staticmethod
    def _rows(n: int, columns: int, height: int) -> tuple[int, int]:
        """How many rows of plots, and how tall: the shown height shared, each at least
        EVAL_MIN_ROWS, or all of a pane shorter than that (one plot at a time, never cut)."""
        rows = max(1, math.ceil(n / columns))
        return rows, max(min(EVAL_MIN_ROWS, height), height // rows)

    def eval_plot_sizes(self) -> dict[str, tuple[int, int]]:
        """Each eval plot's (columns, rows) as laid out now, by metric label (tests read it)."""
        return {str(p.id).removeprefix("plot-eval-"): (p.size.width, p.size.height)
                for p in self.query("#eval-grid PlotextPlot").results(PlotextPlot)}

    def _show_reward(self, state: RunState) -> None:
        if self._reward_plot is None:
            self._reward_plot = PlotextPlot(id="plot-reward")
            self.query_one("#curve-tabs", TabbedContent).add_pane(TabPane(_("Reward"), self._reward_plot, id="tab-reward"))
        label = state.reward_key or "reward"
        self.drawn["reward"] = self._draw_on(self._reward_plot, _("{metric} (higher is better)", metric=label),
                                             [(label, state.reward, "green")])

    def _show_legend(self) -> None:
        """The loss plot's title and legend, one line above it: each line drawn, in its colour."""
        drawn = self.drawn["loss"]
        legend = Text(_("training loss"), style="bold").append("   ")
        for key, label, _color, legend_color in LOSS_LINES:
            if key in drawn:
                legend.append("━━ ", style=legend_color).append(_(label)).append("   ")
        found = self.query("#loss-legend").results(Static)
        for static in found:
            static.update(legend)

    def _draw(self, which: str, title: str | None, lines: list[Line], markers: bool = False) -> None:
        self.drawn[which] = self._draw_on(self.query_one(f"#plot-{which}", PlotextPlot), title, lines, markers)

    def _draw_on(self, plot: PlotextPlot, title: str | None, lines: list[Line],
                 markers: bool = False) -> dict[str, Points]:
        plt = plot.plt
        plt.clear_data()
        if title:
            plt.title(title)
        drawn = {}
        for label, series, color in lines:
            xs, ys = _finite(*(series if isinstance(series, tuple) else series.points()))
            if not xs:
                continue
            drawn[label] = (xs, ys)
            # No plotext legend: the title names a plot's one line, the loss legend sits above.
            if markers or len(xs) == 1:
                plt.plot(xs, ys, color=color, marker="dot" if len(xs) > 1 else "hd")
            else:
                plt.plot(xs, ys, color=color, marker="braille")
        plt.xlabel(_("step"))
        plot.refresh()
        return drawn
