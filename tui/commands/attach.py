"""`hftui attach [RUN]`: the live pane of a running or finished run; no RUN lists the runs."""

from __future__ import annotations

import argparse
import sys

from hftui.core.i18n import _


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", nargs="?", help=_("run id, id prefix, run name or run folder (default: the one run still going, else pick from the list)"))


def main(args: argparse.Namespace) -> int:
    from hftui.core.run.folder import EXIT_INVALID, EXIT_OK
    from hftui.core.run.index import RunLookupError, find_run

    run_dir = None
    if args.run:
        try:
            record = find_run(args.run)
        except RunLookupError as exc:
            _print_lookup_error(args.run, exc)
            return EXIT_INVALID
        run_dir = record.run_dir
    else:
        run_dir = only_live_run()
    from hftui.tui.attach_app import AttachApp

    AttachApp(run_dir).run()
    return EXIT_OK


def only_live_run():
    """The run folder of the one run still going, when there is exactly one: attach opens it
    directly; with none or several, the runs list lets the person choose."""
    from hftui.core.run.folder import ACTIVE_STATUSES
    from hftui.core.run.index import list_runs

    live = [r for r in list_runs() if r.status in ACTIVE_STATUSES]
    return live[0].run_dir if len(live) == 1 else None


def _print_lookup_error(ref: str, exc) -> None:
    from hftui.tui.format import printable

    print(_("hftui {command}: error: {message}", command="attach", message=printable(exc.message)), file=sys.stderr)
    if exc.candidates:
        print("    " + _("fix: did you mean one of these?"), file=sys.stderr)
        for r in exc.candidates[:5]:
            print(f"      {printable(r.id)}  {printable(r.name)}  ({printable(r.status)})", file=sys.stderr)
    else:
        print("    " + _("fix: list the runs with 'hftui runs', or give the run's folder"), file=sys.stderr)
