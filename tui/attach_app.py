"""`hftui attach`: a small app around the live pane (one run) or the runs screen (all runs)."""

from __future__ import annotations

from pathlib import Path

from textual.app import App
from textual.binding import Binding

from hftui.core.i18n import N_
from hftui.tui.format import goes_on
from hftui.tui.i18n import translate_bindings
from hftui.tui.screens.monitor import MonitorScreen
from hftui.tui.screens.runs import RunsScreen


def leaving_message(screen: MonitorScreen) -> str | None:
    """What the terminal says once the pane closes on a run that goes on: that it goes on, and
    how to come back to it; None for a finished run."""
    if screen.state.finished or screen.gone:
        return None
    return goes_on(screen.run_dir.name)


class AttachApp(App[int]):
    """Shows `MonitorScreen(run_dir)`, or `RunsScreen()` when no run is given; leaving it quits.

    Quitting never touches the run: it goes on in its own process session, and the terminal
    says so on the way out.
    """

    TITLE = "hftui"
    CSS_PATH = "app.tcss"  # the wizard's styles, so dialogs look the same in both
    BINDINGS = [Binding("ctrl+q", "quit", N_("Quit"), id="attach.quit", tooltip=N_("Quit; the run keeps going"),
                        priority=True)]

    def __init__(self, run_dir: str | Path | None = None) -> None:
        super().__init__()
        translate_bindings(self)
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self._monitor: MonitorScreen | None = None

    def on_mount(self) -> None:
        if self.run_dir is not None:
            self._monitor = MonitorScreen(self.run_dir)
            self.push_screen(self._monitor, lambda _result: self.action_quit())
        else:
            self.push_screen(RunsScreen(), lambda _result: self.exit(0))

    def action_quit(self) -> None:
        """Quit; a live pane open on a run that goes on says so in the terminal."""
        shown = [s for s in self.screen_stack if isinstance(s, MonitorScreen)] or [self._monitor]
        self.exit(0, message=leaving_message(shown[-1]) if shown[-1] is not None else None)
