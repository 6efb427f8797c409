"""`hftui attach`: a small app around the live pane (one run) or the runs screen (all runs)."""

from __future__ import annotations

from pathlib import Path

from textual.app import App
from textual.binding import Binding

from hftui.tui.screens.monitor import MonitorScreen
from hftui.tui.screens.runs import RunsScreen


class AttachApp(App[int]):
    """Shows `MonitorScreen(run_dir)`, or `RunsScreen()` when no run is given; leaving it quits.

    Quitting never touches the run: it goes on in its own process session.
    """

    TITLE = "hftui"
    CSS_PATH = "app.tcss"  # the wizard's styles, so dialogs look the same in both
    BINDINGS = [Binding("ctrl+q", "quit", "Quit", id="attach.quit", tooltip="Quit; the run keeps going", priority=True)]

    def __init__(self, run_dir: str | Path | None = None) -> None:
        super().__init__()
        self.run_dir = Path(run_dir) if run_dir is not None else None

    def on_mount(self) -> None:
        if self.run_dir is not None:
            self.push_screen(MonitorScreen(self.run_dir), lambda _: self.exit(0))
        else:
            self.push_screen(RunsScreen(), lambda _: self.exit(0))
