"""The list of wizard steps, each with its state: untouched, ok, warning or error."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from hftui.core.options.steps import STEPS
from hftui.tui.i18n import step_title

MARKS = {
    "untouched": ("○", "dim"),
    "ok": ("✓", "green"),
    "warning": ("!", "yellow"),
    "error": ("✗", "bold red"),
}


class StepSidebar(OptionList):
    """Steps in order; selecting one (keys or mouse) posts OptionList.OptionSelected."""

    def __init__(self, *, id: str | None = None) -> None:
        self.states = {step: "untouched" for step in STEPS}
        super().__init__(*[Option(self._prompt(step), id=step) for step in STEPS], id=id)

    def _prompt(self, step: str) -> Text:
        mark, style = MARKS[self.states[step]]
        text = Text()
        text.append(f"{mark} ", style=style)
        text.append(step_title(step))
        return text

    def set_state(self, step: str, state: str) -> None:
        if self.states.get(step) == state:
            return
        self.states[step] = state
        self.replace_option_prompt(step, self._prompt(step))

    def point_at(self, step: str) -> None:
        index = self.get_option_index(step)
        if self.highlighted != index:
            self.highlighted = index
