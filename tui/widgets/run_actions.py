"""The action bar: the output directory (to copy), Stop, Resume and Try."""

from __future__ import annotations

from dataclasses import dataclass

from rich.markup import escape
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Button, Static

from hftui.core.i18n import _


class RunActions(Horizontal):
    DEFAULT_CSS = """
    RunActions { height: 1; padding: 0 1; }
    RunActions #output-dir { width: 1fr; height: 1; text-overflow: ellipsis; text-wrap: nowrap; }
    RunActions Button { margin-left: 1; min-width: 0; width: auto; padding: 0 1; }
    """

    @dataclass
    class Pressed(Message):
        """`action` is one of stop / resume / copy / try."""

        action: str

    def compose(self) -> ComposeResult:
        yield Static(id="output-dir")
        yield Button(_("Copy path"), id="action-copy", compact=True, tooltip=_("copy the output directory (c)"))
        yield Button(_("Try"), id="action-try", variant="primary", compact=True,
                     tooltip=_("type an input and read the trained model's answer (t)"))
        yield Button(_("Stop"), id="action-stop", variant="warning", compact=True,
                     tooltip=_("save a checkpoint and end at the next step (s)"))
        yield Button(_("Resume"), id="action-resume", variant="success", compact=True,
                     tooltip=_("continue from the last checkpoint (r)"))

    def on_mount(self) -> None:
        self.query_one("#action-try", Button).display = False

    def show(self, output_dir: str | None, can_stop: bool, can_resume: bool, can_try: bool = False) -> None:
        self.query_one("#output-dir", Static).update(
            _("output: {path}", path=f"[b]{escape(output_dir)}[/b]") if output_dir else _("output: —"))
        self.query_one("#action-stop", Button).display = can_stop
        self.query_one("#action-resume", Button).display = can_resume
        self.query_one("#action-try", Button).display = can_try

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(self.Pressed((event.button.id or "").removeprefix("action-")))
