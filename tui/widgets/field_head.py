"""An option's first line: its name, ★ when it matters most, whether it differs from the library's
default, and that default. On a narrow screen the notes after the name go onto lines of their own,
each kept whole where it fits, rather than be cut at the edge."""

from __future__ import annotations

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import Label, Static

from hftui.tui.i18n import t

GAP = "  "


class FieldNotes(Static):
    """The notes after an option's name, laid out again whenever its width changes."""

    def __init__(self, parts: list[tuple[str, str]]) -> None:
        super().__init__("", classes="field-notes", markup=False)
        self.parts = parts  # (text, style)
        self.update(self._laid_out(0))  # on one line until the first resize says how wide it is

    def show_parts(self, parts: list[tuple[str, str]]) -> None:
        self.parts = parts
        self.update(self._laid_out(self.content_size.width))

    def on_resize(self) -> None:
        self.update(self._laid_out(self.content_size.width))

    def _laid_out(self, width: int) -> Content:
        """The parts in order, a line broken between two parts rather than inside one."""
        pieces: list[str | tuple[str, str]] = []
        used = 0
        for text, style in self.parts:
            size = cell_len(text)
            if pieces and width > 0 and used + len(GAP) + size > width:
                pieces.append("\n")
                used = 0
            elif pieces:
                pieces.append(GAP)
                used += len(GAP)
            pieces.append((text, style))
            used += size
        return Content.assemble(*pieces)


class FieldHead(Horizontal):
    """`name ★ ● changed from the default  default: 8`; the name keeps its own label so the focus
    can colour it (app.tcss)."""

    def __init__(self, name: str, star: bool, default: str, changed: bool = False) -> None:
        super().__init__(classes="field-head")
        self._option = name
        self._star = star
        self._changed = changed
        self._default = default

    def compose(self) -> ComposeResult:
        yield Label(self._option, classes="field-name", markup=False)
        yield Label("★" if self._star else "", classes="field-star")
        yield FieldNotes(self._parts())

    def show(self, *, star: bool | None = None, changed: bool | None = None, default: str | None = None) -> None:
        if star is not None and star != self._star:
            self._star = star
            for label in self.query(".field-star").results(Label):
                label.update("★" if star else "")
        self._changed = self._changed if changed is None else changed
        self._default = self._default if default is None else default
        self._draw()

    def _parts(self) -> list[tuple[str, str]]:
        parts = [("● " + t("changed"), "$success")] if self._changed else []
        parts.append((f"{t('default')}: {self._default}", "$text-muted"))
        return parts

    def _draw(self) -> None:
        for notes in self.query(FieldNotes):  # none before the head is composed
            notes.show_parts(self._parts())
