"""`hftui compare RUN RUN [RUN...]`: what differs between runs and how they did, side by side.

Runs are named as `hftui runs` shows them (an id, a unique part of one, a name) or by their run
folder. Prints the preset keys that differ once defaults are applied, the metrics, steps,
runtime and throughput with the best of each row marked, and the environments' differences;
`--json` prints the same for scripts.
"""

from __future__ import annotations

import json
import sys

from hftui.core.i18n import N_, _


def add_arguments(parser) -> None:
    parser.add_argument("runs", nargs="+", metavar="RUN", help=_("run ids (as 'hftui runs' shows them) or run folders; two or more"))
    parser.add_argument("--json", action="store_true", help=_("print the comparison as one JSON object"))


def find_runs(refs: list[str]) -> tuple[list, list[str]]:
    """The runs named (each once, in order) and a message for each that names none."""
    from hftui.core.run.index import RunLookupError, find_run
    from hftui.tui.format import printable

    found, problems = [], []
    for ref in refs:
        try:
            record = find_run(ref)
        except RunLookupError as exc:
            known = ", ".join(printable(r.id) for r in exc.candidates[:5])
            problems.append(printable(exc.message) + (" " + _("(recent runs: {runs})", runs=known) if known else ""))
            continue
        if all(r.run_dir != record.run_dir for r in found):
            found.append(record)
    return found, problems


def main(args) -> int:
    from hftui.core.run.compare import CompareError, compare
    from hftui.core.run.folder import EXIT_INVALID, EXIT_OK
    from hftui.tui.format import printable

    records, problems = find_runs(args.runs)
    if not problems and len(records) < 2:
        problems.append(_("give two or more different runs to compare (see 'hftui runs')"))
    if not problems:
        try:
            result = compare(records)
        except CompareError as exc:
            problems.append(printable(str(exc)))
    if problems:
        for message in problems:
            print(f"hftui compare: {message}", file=sys.stderr)
        return EXIT_INVALID
    if args.json:
        print(json.dumps(result.to_json(), indent=2, default=str))
        return EXIT_OK
    from rich.console import Console

    console = Console(highlight=False)
    if not console.is_terminal:  # a pipe or a file: whole values, no ellipses
        console = Console(highlight=False, width=max(console.width, 160))
    print_comparison(result, console)
    return EXIT_OK


def print_comparison(result, console) -> None:
    from rich.table import Table
    from rich.text import Text

    from hftui.core.run.compare import UNSET
    from hftui.tui.compare_text import BEST, column_name, shown_figure, shown_value
    from hftui.tui.format import STATUS_STYLE, printable

    runs = result.runs
    head = Table(box=None, header_style="bold", pad_edge=False, title_justify="left")
    for col in ("", N_("run"), N_("name"), N_("status"), N_("output dir")):
        head.add_column(_(col) if col else col, no_wrap=col != "output dir")
    for i, r in enumerate(runs):
        rec = r.record
        head.add_row(column_name(i), Text(printable(rec.id)), Text(printable(rec.name)),
                     Text(printable(rec.status), style=STATUS_STYLE.get(rec.status, "")), Text(printable(rec.output_dir)))
    console.print(head)

    def table(title: str) -> Table:
        console.print(title)
        t = Table(box=None, header_style="bold", pad_edge=False)
        t.add_column("", no_wrap=True)
        for i in range(len(runs)):
            t.add_column(column_name(i), no_wrap=True)
        return t

    console.print()
    if result.keys:
        keys = table(_("[bold]preset keys that differ[/] (defaults applied; * marks a default)"))
        for key, values in result.keys:
            cells = []
            for r, v in zip(runs, values):
                default = v is not UNSET and r.values.get(key, (None, False))[1]
                cells.append(shown_value(v) + (" *" if default else ""))
            keys.add_row(Text(printable(key)), *(Text(c) for c in cells))
        console.print(keys)
    else:
        console.print(_("[bold]preset keys:[/] the same once defaults are applied"))
    console.print()
    if result.rows:
        figures = table(_("[bold]metrics[/]: {best} marks the best value of each row", best=_(BEST)))
        for row in result.rows:
            cells = []
            for i, v in enumerate(row.values):
                text = shown_figure(row, v)
                cells.append(Text(f"{text} {_(BEST)}", style="bold green") if i in row.best else Text(text))
            figures.add_row(row.label, *cells)
        console.print(figures)
    else:
        console.print(_("[bold]metrics:[/] none logged yet"))
    console.print()
    missing = result.without_environment
    if result.environment:
        env = table(_("[bold]environment differences[/]"))
        for fact, values in result.environment:
            env.add_row(Text(printable(fact)), *(Text(printable(v)) for v in values))
        console.print(env)
    elif len(missing) < len(runs) - 1:
        console.print(_("[bold]environment:[/] the same for the runs that have a record") if missing
                      else _("[bold]environment:[/] the same for these runs"))
    for r in missing:
        console.print(Text(_("run {id} has no environment record (it started before hftui kept one)", id=printable(r.record.id)),
                           style="dim"))

