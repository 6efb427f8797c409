"""`hftui presets`: the presets shipped with hftui, each opened by name from any folder."""

from __future__ import annotations

from hftui.core.i18n import _


def add_arguments(parser) -> None:
    parser.add_argument("--json", action="store_true", help=_("print a JSON list (name, path, description)"))


def main(args) -> int:
    import json

    from rich.console import Console
    from rich.table import Table

    from hftui.core.run.folder import EXIT_OK
    from hftui.core.shipped import shipped_presets

    found = shipped_presets()
    if args.json:
        print(json.dumps([{"name": p.name, "path": str(p.path), "description": p.description} for p in found], indent=2))
        return EXIT_OK
    out = Console(highlight=False)
    table = Table(box=None, pad_edge=False)
    table.add_column(_("name"), style="bold")
    table.add_column(_("trains"))
    for p in found:
        table.add_row(p.name, p.description)
    out.print(table)
    out.print("\n" + _("Open one in the wizard: [bold]hftui NAME[/]; train it headless: [bold]hftui run NAME[/] "
                       "(runs are written under the current folder)."), soft_wrap=True)
    return EXIT_OK
