"""Ask where to save the preset (a shipped preset is never overwritten silently)."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from hftui.core.i18n import N_, _
from hftui.tui.i18n import translate_bindings


class SaveAsScreen(ModalScreen[Path | None]):
    BINDINGS = [Binding("escape", "cancel", N_("Cancel"), id="save_as.cancel", tooltip=N_("Close without saving"))]

    def __init__(self, suggestion: Path, reason: str = "") -> None:
        super().__init__(classes="modal")
        translate_bindings(self)
        self.suggestion = suggestion
        self.reason = reason

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.reason or _("Save the preset as:"), classes="dialog-text", markup=False)
            yield Input(str(self.suggestion), id="save-as-path", tooltip=_("A .toml file; relative paths are from the current folder"))
            yield Static("", id="save-as-error", classes="field-error", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button(_("Save"), id="save-as-ok", variant="primary")
                yield Button(_("Cancel"), id="save-as-cancel")

    def on_mount(self) -> None:
        self.query_one("#save-as-path", Input).focus()

    def _submit(self) -> None:
        text = self.query_one("#save-as-path", Input).value.strip()
        error = self.query_one("#save-as-error", Static)
        if not text:
            error.update(_("✗ type a file name"))
            return
        path = Path(text).expanduser()
        if path.is_dir():
            error.update(_("✗ that is a folder; add a file name ending in .toml"))
            return
        if path.suffix != ".toml":
            path = path.with_suffix(path.suffix + ".toml") if path.suffix else path.with_suffix(".toml")
        self.dismiss(path.absolute())

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "save-as-ok":
            self._submit()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)
