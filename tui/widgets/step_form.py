"""One wizard step as a form: its title, notes, switches and fields.

Which fields a step shows comes from `core.options.steps.step_fields`; the form only mounts,
hides and updates the widgets, so a step's questions are never decided here.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Label, Static, Switch

from hftui.core.options.steps import SWITCHED_SECTIONS, step_fields
from hftui.core.preset import Preset
from hftui.core.problems import Problem
from hftui.tui.format import printable
from hftui.tui.i18n import step_title, t
from hftui.tui.widgets.option_field import MISSING, OptionField, problem_line
from hftui.tui.wizard_state import WizardState


def field_value(preset: Preset, path: str) -> Any:
    return preset.get(path, MISSING)


def field_of(path: str, fields) -> str | None:
    """The shown field a problem's key belongs to: the key itself, or the table holding it
    (dataset.data_files.train is said at dataset.data_files)."""
    while path:
        if path in fields:
            return path
        path = path.rpartition(".")[0]
    return None


class StepForm(VerticalScroll):
    """A step's title, notes and fields; it rebuilds itself when the set of fields changes."""

    class AdvancedToggled(Message):
        def __init__(self, form: "StepForm", on: bool) -> None:
            super().__init__()
            self.form = form
            self.on = on

    class SectionToggled(Message):
        """The step's own switch (LoRA on/off, scratch model on/off) was flipped."""

        def __init__(self, section: str, on: bool) -> None:
            super().__init__()
            self.section = section
            self.on = on

    def __init__(self, step: str, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="step-form")
        self.step = step
        self.advanced = False
        self._paths: list[str] = []
        self._note = ""

    def compose(self) -> ComposeResult:
        yield Label(step_title(self.step), classes="step-title")
        yield Static("", classes="step-note -empty", id=f"note-{self.step}", markup=False)
        yield Static("", classes="step-problems -empty", id=f"problems-{self.step}", markup=False)
        section = SWITCHED_SECTIONS.get(self.step)
        if section:
            yield self._section_switch(section, t(f"enable_{section}"))
        with Horizontal(classes="advanced-row"):
            yield Switch(value=False, id=f"advanced-{self.step}", classes="advanced-switch", tooltip=t("advanced"))
            yield Label(t("advanced"), classes="switch-label")

    def _section_switch(self, section: str, label: str) -> Horizontal:
        return Horizontal(
            Switch(value=False, id=f"enable-{section.replace('.', '-')}", classes="section-switch", name=section, tooltip=label),
            Label(label, classes="switch-label"),
            classes="section-row",
        )

    def set_note(self, text: str) -> None:
        self._note = text
        try:
            note = self.query_one(f"#note-{self.step}", Static)
            note.update(text)
            note.set_class(not text, "-empty")
        except Exception:
            pass

    def on_switch_changed(self, event: Switch.Changed) -> None:
        if event.switch.has_class("advanced-switch"):
            event.stop()
            self.advanced = event.value
            self.post_message(self.AdvancedToggled(self, event.value))
        elif event.switch.has_class("section-switch"):
            event.stop()
            self.post_message(self.SectionToggled(event.switch.name or "", event.value))

    def set_advanced(self, on: bool) -> None:
        switch = self.query_one(f"#advanced-{self.step}", Switch)
        if switch.value != on:
            switch.value = on

    def sync(self, state: WizardState) -> None:
        """Show the preset: remount when the set of fields changed, else update the values."""
        preset, catalog = state.preset, state.catalog
        for switch in self.query(".section-switch").results(Switch):
            on = preset.has(switch.name or "")
            if switch.value != on:
                with switch.prevent(Switch.Changed):
                    switch.value = on
        wanted = step_fields(self.step, preset, catalog, self.advanced, gpus=getattr(self.app, "gpus", None))
        paths = [p for p, _ in wanted]
        existing = {w.path: w for w in self.query(OptionField)}
        if paths != self._paths:
            # Fields are hidden, never removed: ids stay unique however fast steps change.
            for path, widget in existing.items():
                widget.display = path in paths
            anchor = self.query_one(".advanced-row")
            for path, f in wanted:
                widget = existing.get(path)
                if widget is None:
                    widget = OptionField(f, path, field_value(preset, path))
                    self.mount(widget, after=anchor)
                    existing[path] = widget
                anchor = widget
            self._paths = paths
        for path, f in wanted:
            widget = existing[path]
            if widget.field != f:
                widget.set_field(f)
            widget.show_value(field_value(preset, path), state.taken.get(path, 0), path in state.field_errors)
        self.show_problems(state)

    def show_problems(self, state: WizardState) -> None:
        """Each problem of this step at its field; those of a key with no field shown here (an
        advanced option while they are hidden, a whole section) in a list under the title."""
        fields = {w.path: w for w in self.query(OptionField) if w.display}
        at: dict[str, list[Problem]] = {path: [] for path in fields}
        elsewhere: list[Problem] = []
        for problem, step in state.all_problems():
            if step != self.step or problem.path in state.field_errors:
                continue  # typed text that is not a value shows at its field already
            home = field_of(problem.path, fields)
            if home is None:
                elsewhere.append(problem)
            else:
                at[home].append(problem)
        for path, widget in fields.items():
            widget.show_problems(at[path])
        try:
            box = self.query_one(f"#problems-{self.step}", Static)
        except Exception:
            return
        box.update("\n".join(f"{printable(p.path) + ': ' if p.path else ''}{problem_line(p)}" for p in elsewhere))
        box.set_class(not elsewhere, "-empty")
        box.set_class(any(p.is_error for p in elsewhere), "-errors")

    @property
    def paths(self) -> list[str]:
        return list(self._paths)
