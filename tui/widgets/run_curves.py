"""Training curves: loss (raw and smoothed), every eval metric, the learning rate, and the reward
of the runs that log one (GRPO/RLOO reward, DPO margin; its tab appears with its first point)."""

from __future__ import annotations

import math

from textual.app import ComposeResult
from textual.containers import Grid
from textual.widget import Widget
from textual.widgets import TabbedContent, TabPane
from textual_plotext import PlotextPlot

from hftui.core.run.series import Series
from hftui.core.run.state import RunState


Points = tuple[list[float], list[float]]
Line = tuple[str, Series | Points, str]  # label, series (or its points), colour

_COLORS = ("cyan", "magenta", "yellow", "blue", "red", "green", "white")


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
    RunCurves #eval-grid { grid-size: 2; grid-gutter: 0 1; height: 1fr; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        # What each plot shows, by line label: the points last drawn (tests and views read it).
        self.drawn: dict[str, dict[str, Points]] = {"loss": {}, "eval": {}, "lr": {}, "reward": {}}
        self._reward_plot: PlotextPlot | None = None  # made when the run logs its first reward

    def compose(self) -> ComposeResult:
        with TabbedContent(id="curve-tabs"):
            with TabPane("Loss", id="tab-loss"):
                yield PlotextPlot(id="plot-loss")
            with TabPane("Eval", id="tab-eval"):
                # One small plot per metric, each on its own scale (accuracy and perplexity
                # share no axis); mounted as metrics appear.
                yield Grid(id="eval-grid")
            with TabPane("Learning rate", id="tab-lr"):
                yield PlotextPlot(id="plot-lr")

    def on_mount(self) -> None:
        for plot_id, title in (("plot-loss", "training loss"), ("plot-lr", "learning rate")):
            plot = next(iter(self.query(f"#{plot_id}").results(PlotextPlot)), None)
            if plot is None:  # the app closed while the pane was still mounting
                return
            plt = plot.plt
            plt.title(title)
            plt.xlabel("step")

    def show(self, state: RunState, parts: set[str] | None = None) -> None:
        parts = {"loss", "eval"} if parts is None else parts
        if "loss" in parts:
            self._draw("loss", "training loss (raw · smoothed)", [
                ("loss", state.loss, "gray"),
                ("smoothed", state.smoothed_loss(), "orange"),
            ] + ([("eval loss", state.metrics["eval_loss"].history, "cyan")] if "eval_loss" in state.metrics else []))
            self._draw("lr", "learning rate", [("learning rate", state.learning_rate, "green")])
            if state.reward:
                self._show_reward(state)
        if "eval" in parts:
            grid = self.query_one("#eval-grid", Grid)
            keys = list(state.metrics)
            grid.styles.grid_size_columns = 1 if len(keys) <= 1 else 2
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
                arrow = "lower is better" if summary.lower_is_better else "higher is better"
                color = _COLORS[i % len(_COLORS)]
                drawn.update(self._draw_on(plot, f"{summary.label} ({arrow})",
                                           [(summary.label, summary.history, color)], markers=True))
            self.drawn["eval"] = drawn

    def _show_reward(self, state: RunState) -> None:
        if self._reward_plot is None:
            self._reward_plot = PlotextPlot(id="plot-reward")
            self.query_one("#curve-tabs", TabbedContent).add_pane(TabPane("Reward", self._reward_plot, id="tab-reward"))
        label = state.reward_key or "reward"
        self.drawn["reward"] = self._draw_on(self._reward_plot, f"{label} (higher is better)", [(label, state.reward, "green")])

    def _draw(self, which: str, title: str, lines: list[Line], markers: bool = False) -> None:
        self.drawn[which] = self._draw_on(self.query_one(f"#plot-{which}", PlotextPlot), title, lines, markers)

    def _draw_on(self, plot: PlotextPlot, title: str, lines: list[Line],
                 markers: bool = False) -> dict[str, Points]:
        plt = plot.plt
        plt.clear_data()
        plt.title(title)
        drawn = {}
        for label, series, color in lines:
            xs, ys = _finite(*(series if isinstance(series, tuple) else series.points()))
            if not xs:
                continue
            drawn[label] = (xs, ys)
            if markers or len(xs) == 1:
                plt.plot(xs, ys, label=label, color=color, marker="dot" if len(xs) > 1 else "hd")
            else:
                plt.plot(xs, ys, label=label, color=color, marker="braille")
        plt.xlabel("step")
        plot.refresh()
        return drawn
