"""How the command line reports problems: one clear line per problem, never a traceback."""

from __future__ import annotations

import sys
import traceback
from pathlib import Path

from hftui.core.i18n import _
from hftui.core.problems import Problem


def print_problems(problems: list[Problem], file: str | None = None, stream=None) -> None:
    """Print problems grouped by file, errors first, each with its key, line and fix."""
    from rich.console import Console

    from hftui.tui.format import shown

    console = Console(file=stream or sys.stderr, highlight=False, soft_wrap=True)
    order = {"error": 0, "warning": 1, "notice": 2}
    colors = {"error": "bold red", "warning": "yellow", "notice": "cyan"}
    for p in sorted(problems, key=lambda p: (str(p.file or file or ""), order.get(p.severity, 3), p.line or 0)):
        where = str(p.file or file or "")
        if p.line:
            where += f":{p.line}"
        key = f" [bold]{shown(p.path)}[/]" if p.path else ""
        console.print(f"{shown(where)}{key}: [{colors.get(p.severity, 'white')}]{shown(p.severity_word)}[/]: {shown(p.message)}")
        if p.hint:
            console.print("    " + _("[dim]fix:[/] {hint}", hint=shown(p.hint)))


def report_internal_error(exc: BaseException) -> int:
    """An unexpected failure: a short message for the person, the traceback in a file."""
    from hftui.core.fsutil import ensure_private_dir, state_dir

    detail = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    where = None
    try:
        logs = ensure_private_dir(state_dir() / "logs")
        where = logs / "last-error.txt"
        where.write_text(detail, encoding="utf-8")
    except OSError:
        pass
    from hftui.core.printable import printable

    print(_("hftui: internal error: {kind}: {error}", kind=type(exc).__name__, error=printable(exc)), file=sys.stderr)
    if where:
        print(_("hftui: the details are in {path}; please include them in a bug report", path=where), file=sys.stderr)
    return 1


def existing_file(path: str) -> Path:
    return Path(path).expanduser()
