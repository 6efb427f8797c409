"""Ctrl+F (or F3, or `/` outside a text field): a search over every option of every step (name and help), then jump to it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.fuzzy import Matcher
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option

from hftui.core.i18n import N_, _
from hftui.core.options.sections import Field
from hftui.tui.i18n import help_text, step_title, translate_bindings

LIMIT = 40


@dataclass(frozen=True)
class SearchItem:
    step: str
    path: str
    field: Field
    advanced: bool


def rank(items: list[SearchItem], query: str) -> list[SearchItem]:
    """Items best first: an option named exactly so, then names that start with the query, then
    names that hold it, then help texts that hold every word, then loose (fuzzy) name matches.
    Within each kind the options a step shows by default come before the advanced ones."""
    query = query.strip().lower()
    if not query:
        return items[:LIMIT]
    key = "_".join(query.split())  # "learning rate" finds learning_rate
    matcher = Matcher(key.replace("_", ""))  # "lrsched" finds lr_scheduler_type
    words = [re.compile(r"\b" + re.escape(w)) for w in query.split()]  # each word starts a word of the help
    scored = []
    for order, item in enumerate(items):
        name, path = item.field.name.lower(), item.path.lower()
        if key in (name, path):
            tier, loose = 0, 0.0
        elif name.startswith(key) or path.startswith(key):
            tier, loose = 1, 0.0
        elif key in name or key in path:
            tier, loose = 2, 0.0
        elif all(w.search(help_text(item.field).lower()) for w in words):
            tier, loose = 3, 0.0
        else:
            loose = matcher.match(name)
            if not loose:
                continue
            tier = 4
        scored.append(((tier, item.advanced, -loose, len(name), order), item))
    scored.sort(key=lambda pair: pair[0])
    return [item for _score, item in scored[:LIMIT]]


class SearchScreen(ModalScreen[SearchItem | None]):
    BINDINGS = [
        Binding("escape", "cancel", N_("Close"), id="search.close", tooltip=N_("Close the search")),
        Binding("down", "move(1)", N_("Next"), show=False, id="search.down"),
        Binding("up", "move(-1)", N_("Previous"), show=False, id="search.up"),
    ]

    def __init__(self, items: list[SearchItem]) -> None:
        super().__init__(classes="modal")
        translate_bindings(self)
        self.items = items
        self.shown: list[SearchItem] = []

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog search-dialog"):
            yield Input(placeholder=_("search every option: name or help text"), id="search-input")
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
                text.append(" " + _("(advanced)"), style="dim")
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
