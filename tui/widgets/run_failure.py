"""Why a run failed: the error summary and the log lines around it, not just "failed"."""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual.widgets import Static

from hftui.core.i18n import _
from hftui.core.run.folder import FAILED
from hftui.tui.format import status_word
from hftui.tui.widgets.run_log import line_style, lines_around_error


class RunFailure(Static):
    DEFAULT_CSS = """
    RunFailure { height: auto; max-height: 16; border: round $error; padding: 0 1; display: none; }
    RunFailure.-shown { display: block; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.border_title = status_word(FAILED)
        self.error: str | None = None
        self.excerpt: list[str] = []

    def show(self, error: str | None, log_lines: list[str], status: str = FAILED) -> None:
        self.error = error
        self.excerpt = lines_around_error(log_lines, error)
        self.border_title = status_word(status)
        summary = Text(error or _("the run ended without an error message; see the log below"), style="bold red")
        body = [summary]
        if self.excerpt:
            body.append(Text(_("log around the error:"), style="dim"))
            body.extend(Text(line, style=line_style(line) or "dim") for line in self.excerpt)
        self.update(Group(*body))
        self.add_class("-shown")

    def hide(self) -> None:
        self.remove_class("-shown")
