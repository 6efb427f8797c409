"""The list of wizard steps, each with its state: untouched, ok, warning or error.

A step's full title where the sidebar has room for every one of them on one line (a wide
screen, see app.tcss), else its short title: a title never wraps onto a second line."""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from hftui.core.i18n import N_, _
from hftui.core.options.steps import STEPS
from hftui.tui.i18n import step_title

MARKS = {
    "untouched": ("○", "dim"),
    "ok": ("✓", "green"),
    "warning": ("!", "yellow"),
    "error": ("✗", "bold red"),
}
# Titles for a narrow sidebar, where they differ from the full ones.
SHORT_TITLES = {
    "trainer": N_("Trainer"),
    "evaluation": N_("Eval & logs"),
    "optimizer": N_("Optimizer"),
}


def short_title(step: str) -> str:
    short = SHORT_TITLES.get(step)
    return _(short) if short else step_title(step)


class StepSidebar(OptionList):
    """Steps in order; selecting one (keys or mouse) posts OptionList.OptionSelected."""

    def __init__(self, *, id: str | None = None) -> None:
        self.states = {step: "untouched" for step in STEPS}
        self.short = True
        super().__init__(*[Option(self._prompt(step), id=step) for step in STEPS], id=id)

    def _prompt(self, step: str) -> Text:
        mark, style = MARKS[self.states[step]]
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f"{mark} ", style=style)
        text.append(short_title(step) if self.short else step_title(step))
        return text

    def on_resize(self) -> None:
        widest = max(cell_len(f"✓ {step_title(step)}") for step in STEPS)
        short = self.scrollable_content_region.width < widest
        if short != self.short:
            self.short = short
            for step in STEPS:
                self.replace_option_prompt(step, self._prompt(step))

    def set_state(self, step: str, state: str) -> None:
        if self.states.get(step) == state:
            return
        self.states[step] = state
        self.replace_option_prompt(step, self._prompt(step))

    def point_at(self, step: str) -> None:
        """Follow the wizard to `step`. Silently: a highlight posted from here would reach the
        wizard as a person's choice after a later step change, and two quick steps (Ctrl+N
        twice) would then send the wizard back and forth between them without end."""
        index = self.get_option_index(step)
        if self.highlighted != index:
            with self.prevent(OptionList.OptionHighlighted):
                self.highlighted = index
