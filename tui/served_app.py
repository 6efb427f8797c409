"""What `hftui serve` runs for each browser connection: the wizard, with the live pane of a run
still going on top of it.

textual-serve starts one process per connection (`python -m hftui.tui.served_app ...`) and ends
it when the tab closes. A run started from the page trains in its own process session, so it
outlives the tab; when the page is opened again, the newest live run started since `hftui serve`
began, or writing into the folder it serves from, opens in its live pane, and leaving that pane
(Escape) shows the wizard beneath, as after pressing Run.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from hftui.core.i18n import _
from hftui.core.problems import PresetError
from hftui.core.run.folder import EXIT_INVALID, EXIT_OK
from hftui.core.run.index import list_runs
from hftui.core.run.record import RunRecord
from hftui.tui.app import HftuiApp


class ServedApp(HftuiApp):
    """The wizard; `live_run_dir` opens that run's live pane over it once the wizard is up."""

    def __init__(self, *args, live_run_dir: Path | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.live_run_dir = live_run_dir

    def on_mount(self) -> None:
        # Textual calls HftuiApp.on_mount after this one: push the pane once the wizard is there.
        if self.live_run_dir is not None:
            self.call_later(self._show_live_run)

    def _show_live_run(self) -> None:
        from hftui.tui.screens.monitor import MonitorScreen  # off the wizard's first frame

        self.push_screen(MonitorScreen(self.live_run_dir))


def _inside(path: str | None, folder: Path) -> bool:
    if not path:
        return False
    try:
        return Path(path).resolve().is_relative_to(folder)
    except (OSError, ValueError):
        return False


def live_run(since: float | None, folder: Path | None) -> RunRecord | None:
    """The newest run of this machine still going whose folder is there, started at or after
    `since` or writing into (or from a preset inside) `folder`; None when there is none."""
    folder = folder.resolve() if folder is not None else None
    for run in list_runs():  # newest first, each refreshed
        if not run.is_active or run.missing or run.broken or not run.run_dir.is_dir():
            continue
        if since is not None and (run.created or 0) >= since:
            return run
        if folder is not None and (_inside(run.output_dir, folder) or _inside(run.preset_path, folder)):
            return run
    return None


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m hftui.tui.served_app", description=__doc__.splitlines()[0])
    parser.add_argument("preset", nargs="?", help=_("the preset the wizard opens when no run is going"))
    parser.add_argument("--since", type=float, help=_("when `hftui serve` started (seconds since the epoch)"))
    parser.add_argument("--folder", type=Path, help=_("the folder `hftui serve` serves from"))
    parser.add_argument("--parent", type=int, help=_("the serve process: this one ends when it does"))
    return parser.parse_args(argv)


def _die_with(parent: int | None) -> None:
    """End with `hftui serve`, however it ends (its own shutdown asks each app to quit first).

    This also puts the app in a process group of its own: Ctrl+C in the server's terminal reaches
    the server alone, which then asks each app to quit. The runs an app starts are not bound to it.
    """
    if parent is None or os.getppid() != parent:
        return
    from hftui.core.run.liveness import die_with_parent_setup

    die_with_parent_setup(parent)()


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    _die_with(args.parent)
    from hftui.tui.commands.wizard import open_preset
    from hftui.tui.errors import print_problems

    run = live_run(args.since, args.folder)
    arg = args.preset
    if run is not None and run.preset_path and Path(run.preset_path).is_file():
        arg = run.preset_path  # the preset the run came from, as the wizard had it when Run was pressed
    try:
        preset, fresh = open_preset(arg)
    except PresetError as exc:
        print_problems(exc.problems, exc.file)
        return EXIT_INVALID
    app = ServedApp(preset, fresh=fresh, live_run_dir=run.run_dir if run is not None else None)
    app.run()
    return int(app.return_code or EXIT_OK)


if __name__ == "__main__":
    try:
        code = main()
    except Exception as exc:  # our bug: a short line for the serve log, the details in a file
        from hftui.tui.errors import report_internal_error

        code = report_internal_error(exc)
    sys.exit(code)
