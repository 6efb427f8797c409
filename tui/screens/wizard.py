"""The wizard: a sidebar of steps, the current step's fields, and Back / Next.

The screen never owns the preset. The app hands it a `WizardState` after every change and the
screen draws from it; what a person does here goes up as a message and the app decides. Which
options a step asks comes from `core.options.steps`; this module only lays them out.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, ContentSwitcher, Footer, Header, OptionList, Switch

from hftui.core.extras import trainer_missing
from hftui.core.i18n import N_, _, pick
from hftui.core.options.sections import TRAINER_TYPE_HELP
from hftui.core.options.steps import STEPS, section_default, step_fields
from hftui.tui.changed_options import changed_lines
from hftui.tui.format import printable
from hftui.tui.i18n import t, translate_bindings
from hftui.tui.screens.search import SearchItem, SearchScreen
from hftui.tui.widgets.dataset_preview import DatasetPreview
from hftui.tui.widgets.dataset_verdict import DatasetVerdict
from hftui.tui.widgets.model_check import ModelCheck
from hftui.tui.widgets.option_field import MISSING, OptionField, field_id
from hftui.tui.widgets.quick_picks import QuickPicks
from hftui.tui.widgets.review_panel import ReviewPanel
from hftui.tui.widgets.step_form import StepForm
from hftui.tui.widgets.step_sidebar import StepSidebar
from hftui.tui.widgets.wizard_nav import WizardNav
from hftui.tui.wizard_state import WizardState

NO_CATALOG_STEPS = ("model", "peft", "review")  # steps that ask no option of the installed library


class WizardScreen(Screen):
    # Laid out for 80x24 first: a wider screen gets the sidebar's full step titles (app.tcss),
    # a taller one its blank lines back.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]
    BINDINGS = [
        Binding("ctrl+n,f8", "next_step", N_("Next"), id="wizard.next", tooltip=N_("Go to the next step")),
        Binding("ctrl+b,f7", "previous_step", N_("Back"), id="wizard.back", tooltip=N_("Go to the previous step")),
        # priority: ctrl+f works while a text field has focus (the field would take it otherwise);
        # "/" only where nothing is typed, so paths keep their slashes
        Binding("ctrl+f,f3", "search", N_("Search"), id="wizard.search", tooltip=N_("Search every option of every step (name and help)"), priority=True),
        Binding("slash", "search", N_("Search"), id="wizard.search-slash", show=False),
        Binding("ctrl+t,f6", "toggle_advanced", N_("Advanced"), id="wizard.advanced", tooltip=N_("Show or hide every other option of this step")),
        Binding("ctrl+s,f2", "save", N_("Save"), id="wizard.save", tooltip=N_("Save the preset (asks for a file name when needed)")),
        Binding("ctrl+r,f5", "run", N_("Run"), id="wizard.run", tooltip=N_("Save, then start training in the background")),
        Binding("ctrl+e,f9", "go_review", N_("Review"), id="wizard.review", tooltip=N_("Jump to the review: problems, changes, launch command")),
    ]

    @dataclass
    class EditRequested(Message):
        """Set one preset key (MISSING removes it); with `error`, the typed text is not a value."""

        path: str
        value: Any
        error: str | None = None
        serial: int | None = None  # the field's count of its changes (OptionField.Changed.serial)

    @dataclass
    class ChangesRequested(Message):
        """Several keys at once, in order: (path, value) pairs, MISSING removes the key."""

        changes: tuple[tuple[str, Any], ...]

    class SaveRequested(Message):
        """Save the preset (the app asks for a file when it is new or shipped)."""

    class RunRequested(Message):
        """Save, then start training."""

    class ReviewExtrasRequested(Message):
        """The review is showing: estimate the memory and work out the launch command."""

    def __init__(self, state: WizardState) -> None:
        super().__init__(id="wizard")
        translate_bindings(self)
        self.state = state
        self.step = STEPS[0]
        self.visited: set[str] = {STEPS[0]}
        self._stale: set[str] = set(STEPS)

    # -- layout ----------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header(icon="⚙")
        with Horizontal(id="body"):
            yield StepSidebar(id="sidebar")
            with Vertical(id="main"):
                with ContentSwitcher(id="steps", initial=f"step-{STEPS[0]}"):
                    for step in STEPS:
                        if step == "review":
                            yield ReviewPanel(id="step-review")
                        else:
                            yield StepForm(step, id=f"step-{step}")
                yield WizardNav(id="nav")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        model_form = self.query_one("#step-model", StepForm)
        model_form.mount(ModelCheck("", id="model-check"), after=model_form.query_one(".step-note"))
        model_form.mount(QuickPicks("models", id="model-picks"), after="#model-check")
        data_form = self.query_one("#step-dataset", StepForm)
        data_form.mount(QuickPicks("datasets", id="dataset-picks"), after=data_form.query_one(".step-note"))
        data_form.mount(DatasetVerdict(id="dataset-preview"), after="#dataset-picks")
        self.refresh_all()
        self.goto(self.step)

    # -- steps -----------------------------------------------------------------------------
    def goto(self, step: str) -> None:
        if step not in STEPS:
            return
        self.step = step
        self.visited.add(step)
        self.query_one("#steps", ContentSwitcher).current = f"step-{step}"
        self.query_one("#sidebar", StepSidebar).point_at(step)
        self.query_one("#nav", WizardNav).show_step(step)
        self._sync_step(step)
        self._show_step_problems(step)
        self.refresh_states()

    def action_next_step(self) -> None:
        i = STEPS.index(self.step)
        if i < len(STEPS) - 1:
            self.goto(STEPS[i + 1])
            self.call_after_refresh(self.focus_first_field)

    def action_previous_step(self) -> None:
        i = STEPS.index(self.step)
        if i > 0:
            self.goto(STEPS[i - 1])
            self.call_after_refresh(self.focus_first_field)

    def focus_first_field(self) -> None:
        """Next and Back take the focus to the step's first question, not the sidebar."""
        if self.step == "review":
            self.query_one("#review-problems").focus()
            return
        form = self.query_one(f"#step-{self.step}", StepForm)
        shown = [w for w in form.query(OptionField) if w.display]
        if shown:
            shown[0].focus_control()
        else:
            form.query_one(Switch).focus()  # a step whose fields are behind its switch (LoRA)

    def action_go_review(self) -> None:
        self.goto("review")

    def action_save(self) -> None:
        self.post_message(self.SaveRequested())

    def action_run(self) -> None:
        self.post_message(self.RunRequested())

    def action_toggle_advanced(self) -> None:
        if self.step == "review":
            return
        form = self.query_one(f"#step-{self.step}", StepForm)
        form.set_advanced(not form.advanced)

    def action_search(self) -> None:
        items: list[SearchItem] = []
        preset, catalog = self.state.preset, self.state.catalog
        for step in STEPS:
            basic = {p for p, _f in step_fields(step, preset, catalog, advanced=False)}
            for path, f in step_fields(step, preset, catalog, advanced=True):
                items.append(SearchItem(step, path, f, path not in basic))
        self.app.push_screen(SearchScreen(items), self._jump_to_item)

    def _jump_to_item(self, item: SearchItem | None) -> None:
        if item is None:
            return
        self.jump(item.step, item.path, advanced=item.advanced)

    def jump(self, step: str, path: str, advanced: bool = False) -> None:
        """Show a step and focus one of its fields (opening the advanced options if needed)."""
        self.goto(step)
        if step == "review":
            return
        form = self.query_one(f"#step-{step}", StepForm)
        if advanced and not form.advanced:
            form.set_advanced(True)
            form.advanced = True
            form.sync(self.state)

        def focus(tries: int = 0) -> None:
            try:
                widget = form.query_one(f"#{field_id(path)}", OptionField)
            except Exception:  # not mounted yet (a slow machine): look again shortly
                if tries < 30 and self.step == step:
                    self.set_timer(0.1, lambda: focus(tries + 1))
                return
            widget.focus_control()
            form.scroll_to_widget(widget, top=True, animate=False)
            if tries >= 0:
                self.set_timer(0.3, lambda: focus(-1))  # again once the mounted fields have their size

        self.call_after_refresh(focus)

    # -- events from widgets ---------------------------------------------------------------
    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option_list.id == "sidebar" and event.option.id and event.option.id != self.step:
            event.stop()
            self.goto(event.option.id)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_list.id == "sidebar" and event.option.id:
            event.stop()
            self.goto(event.option.id)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        bid = event.button.id
        if bid == "nav-next":
            self.action_next_step()
        elif bid == "nav-back":
            self.action_previous_step()
        elif bid == "review-save":
            self.action_save()
        elif bid == "review-run":
            self.action_run()
        else:
            return
        event.stop()

    def on_option_field_changed(self, event: OptionField.Changed) -> None:
        event.stop()
        self.post_message(self.EditRequested(event.path, event.value, event.error, event.serial))

    def on_step_form_advanced_toggled(self, event: StepForm.AdvancedToggled) -> None:
        event.stop()
        event.form.sync(self.state)

    def on_step_form_section_toggled(self, event: StepForm.SectionToggled) -> None:
        event.stop()
        section, preset = event.section, self.state.preset
        if event.on and not preset.has(section):
            self.post_message(self.EditRequested(section, section_default(section)))
        elif not event.on and preset.has(section):
            self.post_message(self.EditRequested(section, MISSING))

    def on_quick_picks_picked(self, event: QuickPicks.Picked) -> None:
        event.stop()
        pick = event.pick
        self.post_message(self.ChangesRequested(tuple((path, MISSING) for path in pick.remove) + tuple(pick.values.items())))
        self.notify(_("{label}: downloaded from the Hugging Face Hub when the run starts (needs the network)", label=_(pick.label)), timeout=4)

    def on_review_panel_jump_to(self, event: ReviewPanel.JumpTo) -> None:
        event.stop()
        self.show_field(event.path, event.step)

    def show_field(self, path: str, step: str | None = None) -> None:
        """Take the person to an option: its step, its field focused (advanced ones opened)."""
        step = step or self.state.step_of(path)
        basic = {p for p, _f in step_fields(step, self.state.preset, self.state.catalog, advanced=False)}
        self.jump(step, path, advanced=path not in basic)

    def settled(self) -> bool:
        """Whether every change typed into a field has reached the app (none still on its way)."""
        taken = self.state.taken
        return all(f.settled(taken.get(f.path, 0)) for f in self.query(OptionField))

    def after_typing(self, then: Callable[[], None], patience: float = 2.0) -> None:
        """Run `then` once everything typed so far has reached the app's preset.

        A key bound on the app or the screen (ctrl+s, ctrl+q) is handled while keys typed just
        before it may still sit in the field's queue and their changes still travel up; saving
        or quitting at once would miss them. So `then` waits behind the keys queued at the
        focused widget, then until every field is settled (`patience` seconds at most).
        """
        deadline = time.monotonic() + patience

        def check() -> None:
            if not self.is_attached or self.settled() or time.monotonic() > deadline:
                then()
            else:
                self.set_timer(0.02, check)

        if self.focused is None or isinstance(self.focused, StepSidebar):
            check()  # no key for the preset can wait in the sidebar: no need to queue behind it
        else:
            self.focused.call_later(self.call_later, check)

    # -- drawing the app's state -----------------------------------------------------------
    def update_state(self, state: WizardState) -> None:
        """The app's news: a new preset, catalog or hardware redraws the steps; new problems
        only redraw the marks, so a field's invalid text stays as typed."""
        old, self.state = self.state, state
        if not self.is_mounted:
            return  # on_mount draws
        dropped = old.field_errors.keys() - state.field_errors.keys()  # typed text the app let go
        if state.preset is not old.preset or state.catalog is not old.catalog or state.notes != old.notes or dropped:
            self.refresh_all()
            return
        self.refresh_states()
        self.refresh_title()
        if self.step == "review":
            self.refresh_review()
        else:
            self._show_step_problems(self.step)

    def refresh_all(self) -> None:
        """Redraw the visible step, mark the rest for redrawing when shown."""
        self._stale = set(STEPS)
        self._sync_step(self.step)
        self.refresh_states()
        self.refresh_title()

    def refresh_title(self) -> None:
        state = self.state
        name = state.preset.path.name if state.preset.path else _("new preset")
        self.sub_title = f"{name}{' *' if state.dirty else ''}" + (" " + _("(shipped: Save asks for a new file)") if state.shipped else "")
        self.title = f"hftui · {printable(state.preset.name)}"

    def _sync_step(self, step: str) -> None:
        if step not in self._stale:
            return
        self._stale.discard(step)
        if step == "review":
            self.refresh_review()
            return
        preset = self.state.preset
        form = self.query_one(f"#step-{step}", StepForm)
        form.sync(self.state)
        form.set_note(self._note_for(step))
        if step == "model":
            self.query_one("#model-check", ModelCheck).check(preset)
        elif step == "dataset":
            self.query_one("#dataset-preview", DatasetPreview).load(preset)

    def _show_step_problems(self, step: str) -> None:
        if step != "review":
            self.query_one(f"#step-{step}", StepForm).show_problems(self.state)

    def _note_for(self, step: str) -> str:
        notes = []
        missing = trainer_missing(self.state.preset.trainer_type)
        if missing:
            notes.append(missing)
        elif self.state.catalog is None and step not in NO_CATALOG_STEPS:
            notes.append(t("loading_catalog"))
        if step in self.state.notes:
            notes.append(self.state.notes[step])
        elif step == "trainer":
            words = TRAINER_TYPE_HELP.get(self.state.preset.trainer_type)
            notes.append(pick(*words) if words else "")
        return "\n".join(n for n in notes if n)

    def refresh_states(self) -> None:
        sidebar = self.query_one("#sidebar", StepSidebar)
        for step in STEPS:
            sidebar.set_state(step, self.state.step_state(step, step in self.visited))

    def refresh_review(self) -> None:
        panel = self.query_one("#step-review", ReviewPanel)
        problems = self.state.all_problems()
        panel.show_problems(problems)
        self.query_one("#nav", WizardNav).block_run(any(p.is_error for p, _step in problems))
        panel.show_changes(changed_lines(self.state.preset, self.state.catalog))
        self.post_message(self.ReviewExtrasRequested())

    def show_review_extras(self, memory: str, launch: str) -> None:
        panel = self.query_one("#step-review", ReviewPanel)
        panel.show_memory(memory)
        panel.show_launch(launch)
