"""A yes/no question that must be answered before something irreversible happens."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from hftui.core.i18n import N_, _
from hftui.tui.i18n import translate_bindings


class ConfirmScreen(ModalScreen[bool]):
    BINDINGS = [
        Binding("escape,n", "answer(False)", N_("No"), id="confirm.no", tooltip=N_("Cancel")),
        Binding("y", "answer(True)", N_("Yes"), id="confirm.yes", tooltip=N_("Confirm")),
    ]

    def __init__(self, question: str, yes: str | None = None, no: str | None = None) -> None:
        """`yes` and `no` label the buttons, in the reader's language already (default: Yes / No)."""
        super().__init__(classes="modal")
        translate_bindings(self)
        self.question = question
        self.yes = _("Yes") if yes is None else yes
        self.no = _("No") if no is None else no

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.question, classes="dialog-text", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self.yes} (y)", id="confirm-yes", variant="warning")
                yield Button(f"{self.no} (n)", id="confirm-no", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#confirm-no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "confirm-yes")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)
