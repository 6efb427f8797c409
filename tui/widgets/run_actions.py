"""The action bar: the output directory (to copy), Stop, Resume and Try."""

from __future__ import annotations

from dataclasses import dataclass

from rich.markup import escape
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Button, Static


class RunActions(Horizontal):
    DEFAULT_CSS = """
    RunActions { height: 1; padding: 0 1; }
    RunActions #output-dir { width: 1fr; height: 1; }
    RunActions Button { margin-left: 1; }
    """

    @dataclass
    class Pressed(Message):
        """`action` is one of stop / resume / copy / try."""

        action: str

    def compose(self) -> ComposeResult:
        yield Static(id="output-dir")
        yield Button("Copy path", id="action-copy", compact=True, tooltip="copy the output directory (c)")
        yield Button("Try", id="action-try", variant="primary", compact=True,
                     tooltip="type an input and read the trained model's answer (t)")
        yield Button("Stop", id="action-stop", variant="warning", compact=True,
                     tooltip="save a checkpoint and end at the next step (s)")
        yield Button("Resume", id="action-resume", variant="success", compact=True,
                     tooltip="continue from the last checkpoint (r)")

    def on_mount(self) -> None:
        self.query_one("#action-try", Button).display = False

    def show(self, output_dir: str | None, can_stop: bool, can_resume: bool, can_try: bool = False) -> None:
        self.query_one("#output-dir", Static).update(
            f"output: [b]{escape(output_dir)}[/b]" if output_dir else "output: —")
        self.query_one("#action-stop", Button).display = can_stop
        self.query_one("#action-resume", Button).display = can_resume
        self.query_one("#action-try", Button).display = can_try

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(self.Pressed((event.button.id or "").removeprefix("action-")))
