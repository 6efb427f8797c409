"""`hftui stop RUN`: ask a run to save a checkpoint and end; `--kill` ends it at once."""

from __future__ import annotations

from hftui.core.i18n import _


def add_arguments(parser) -> None:
    parser.add_argument("run", help=_("a run id (or a unique part of it), a run name, or a run folder"))
    parser.add_argument("--kill", action="store_true", help=_("kill the run's processes now (no checkpoint)"))
    parser.add_argument("--wait", action="store_true", help=_("wait until the run has ended"))
    parser.add_argument("--timeout", type=float, default=None, help=_("with --wait: give up after this many seconds"))


def main(args) -> int:
    from rich.console import Console
    from hftui.tui.format import shown, status_word

    from hftui.core.run.folder import EXIT_FAILED, EXIT_INVALID, EXIT_OK
    from hftui.core.run.index import RunLookupError, find_run
    from hftui.core.run.stop import kill_run, request_stop, stop_leftovers, wait_for_end

    console = Console(highlight=False, soft_wrap=True)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        run = find_run(args.run)
    except RunLookupError as exc:
        print_lookup_error(exc, err)
        return EXIT_INVALID
    if not run.is_active:
        left = stop_leftovers(run, grace=1.0 if args.kill else 30.0)  # an ended run's processes still there
        console.print(_("run {id} is not running: it {status}; its processes left behind were ended (pid {pids})", id=shown(run.id),
                        status=shown(status_word(run.status)), pids=", ".join(map(str, left))) if left
                      else _("run {id} is not running: it {status}", id=shown(run.id), status=shown(status_word(run.status))))
        return EXIT_OK
    if args.kill:
        run = kill_run(run)
        console.print(_("run {id}: killed ({status})", id=shown(run.id), status=shown(status_word(run.status))))
        return EXIT_OK
    request_stop(run)
    console.print(_("run {id}: asked to stop; it saves a checkpoint and ends at the next step", id=shown(run.id)))
    if args.wait:
        run = wait_for_end(run, timeout=args.timeout)
        if run.is_active:
            console.print(_("run {id} is still {status} after {timeout:g} s (use 'hftui stop {id} --kill' to end it now)",
                            id=shown(run.id), status=shown(status_word(run.status)), timeout=args.timeout))
            return EXIT_FAILED
        console.print(_("run {id} {status}", id=shown(run.id), status=shown(status_word(run.status))))
    return EXIT_OK


def print_lookup_error(exc, console) -> None:
    """The lookup failure, with the runs a person may have meant."""
    from hftui.tui.format import shown

    console.print(_("[bold red]error[/]: {message}", message=shown(exc.message)))
    if exc.candidates:
        console.print(_("recent runs:"))
        for r in exc.candidates:
            console.print(f"  {shown(r.id)}  {shown(r.name)}  {shown(r.status)}  {shown(r.output_dir)}")
    console.print(_("list them all with: hftui runs"))
