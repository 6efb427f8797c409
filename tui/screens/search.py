"""`/`: a fuzzy search over every option of every step (name and help), then jump to it."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.fuzzy import Matcher
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option

from hftui.core.options.sections import Field
from hftui.tui.i18n import help_text, step_title

LIMIT = 40


@dataclass(frozen=True)
class SearchItem:
    step: str
    path: str
    field: Field
    advanced: bool


def rank(items: list[SearchItem], query: str) -> list[SearchItem]:
    """Items best first: a match in the key counts more than one in the help text."""
    query = query.strip()
    if not query:
        return items[:LIMIT]
    matcher = Matcher(query.replace(" ", ""))  # keys have no spaces: "lr sched" finds lr_scheduler_type
    words = query.lower().split()
    scored = []
    for item in items:
        # Fuzzy on the (short) key; plain words on the help text, which can be long.
        score = matcher.match(item.path) * 2
        if query.lower() in item.field.name.lower():
            score += 1
        text = help_text(item.field).lower()
        if words and all(w in text for w in words):
            score += 0.5
        if score > 0:
            scored.append((score + (0 if item.advanced else 0.25), item))
    scored.sort(key=lambda pair: -pair[0])
    return [item for _, item in scored[:LIMIT]]


class SearchScreen(ModalScreen[SearchItem | None]):
    BINDINGS = [
        Binding("escape", "cancel", "Close", id="search.close", tooltip="Close the search"),
        Binding("down", "move(1)", "Next", show=False, id="search.down"),
        Binding("up", "move(-1)", "Previous", show=False, id="search.up"),
    ]

    def __init__(self, items: list[SearchItem]) -> None:
        super().__init__(classes="modal")
        self.items = items
        self.shown: list[SearchItem] = []

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog search-dialog"):
            yield Input(placeholder="search every option: name or help text", id="search-input")
            yield OptionList(id="search-results")

    def on_mount(self) -> None:
        self._fill("")
        self.query_one("#search-input", Input).focus()

    def _fill(self, query: str) -> None:
        self.shown = rank(self.items, query)
        box = self.query_one("#search-results", OptionList)
        box.clear_options()
        for i, item in enumerate(self.shown):
            text = Text()
            text.append(item.path, style="bold")
            text.append(f"  · {step_title(item.step)}", style="italic")
            if item.advanced:
                text.append(" (advanced)", style="dim")
            summary = help_text(item.field)
            if summary:
                text.append("\n  " + (summary if len(summary) < 100 else summary[:97] + "…"), style="dim")
            box.add_option(Option(text, id=str(i)))
        if self.shown:
            box.highlighted = 0

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._fill(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        box = self.query_one("#search-results", OptionList)
        if box.highlighted is not None and self.shown:
            self.dismiss(self.shown[box.highlighted])

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.shown[int(event.option.id or 0)])

    def action_move(self, delta: int) -> None:
        box = self.query_one("#search-results", OptionList)
        if not self.shown:
            return
        current = box.highlighted or 0
        box.highlighted = max(0, min(len(self.shown) - 1, current + delta))

    def action_cancel(self) -> None:
        self.dismiss(None)
