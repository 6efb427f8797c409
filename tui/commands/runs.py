"""`hftui runs`: the runs of this machine, newest first, with status and progress."""

from __future__ import annotations

import json
import time

from hftui.core.i18n import N_, _


def add_arguments(parser) -> None:
    parser.add_argument("--json", action="store_true", help=_("print the runs as JSON (one list)"))
    parser.add_argument("--all", action="store_true", help=_("also list runs whose folder was deleted"))
    parser.add_argument("-n", "--limit", type=int, default=0, help=_("show only the newest N runs"))


def main(args) -> int:
    from rich.console import Console
    from rich.table import Table

    from hftui.core.run.events import last_progress
    from hftui.core.run.folder import EXIT_OK
    from hftui.core.run.index import list_runs
    from hftui.tui.format import STATUS_STYLE, shown

    records = list_runs(include_missing=args.all)
    if args.limit and args.limit > 0:
        records = records[: args.limit]
    rows = []
    for r in records:
        step, max_steps = (None, r.max_steps) if r.missing else last_progress(r.events_path, r.max_steps)
        rows.append((r, step, max_steps))
    if args.json:
        data = []
        for r, step, max_steps in rows:
            item = r.to_dict()
            item.pop("launch_env", None)
            item.update(step=step, max_steps=max_steps, missing=r.missing)
            data.append(item)
        print(json.dumps(data, indent=2))
        return EXIT_OK
    console = Console(highlight=False)
    if not console.is_terminal:  # a pipe or a file: whole paths, no ellipses
        console = Console(highlight=False, width=max(console.width, 240))
    if not rows:
        console.print(_("no runs yet; start one with: hftui run PRESET"))
        return EXIT_OK
    table = Table(box=None, header_style="bold", pad_edge=False)
    for col in ("id", N_("name"), N_("status"), N_("step"), N_("started"), N_("output dir")):
        table.add_column(_(col), no_wrap=col in ("id", "status", "step", "started"))
    for r, step, max_steps in rows:
        if r.broken:  # one line of its own, below the table
            continue
        progress = f"{step if step is not None else '—'}/{max_steps or '?'}"
        when = r.started or r.created
        started = time.strftime("%Y-%m-%d %H:%M", time.localtime(when)) if when else "—"
        status = f"[{STATUS_STYLE.get(r.status, 'white')}]{shown(r.status)}[/]"
        table.add_row(shown(r.id), shown(r.name), status, progress, started, shown(r.output_dir))
    console.print(table)
    for r in records:
        if r.broken:
            text = (_("[red]broken[/] run record {record}; its processes still run: stop them with 'hftui stop {id}'",
                      record=shown(r.broken), id=shown(r.id)) if r.is_active
                    else _("[red]broken[/] run record {record}", record=shown(r.broken)))
            console.print(text, soft_wrap=True)
    return EXIT_OK
