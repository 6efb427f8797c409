"""The wizard: a sidebar of steps, the current step's fields, and Back / Next.

The screen never owns the preset: it shows `app.preset` and, when a field changes, asks the
app to replace it; the app then announces the new preset and every step redraws from it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, ContentSwitcher, Footer, Header, Label, OptionList

from hftui.core.options.catalog import STEPS
from hftui.core.options.sections import SECTION_FIELDS
from hftui.tui.i18n import step_title, t
from hftui.tui.widgets.dataset_preview import DatasetPreview
from hftui.tui.widgets.model_check import ModelCheck
from hftui.tui.widgets.option_field import MISSING, OptionField, differs, field_id, show
from hftui.tui.widgets.quick_picks import QuickPicks
from hftui.tui.widgets.review_panel import ReviewPanel
from hftui.tui.widgets.step_form import StepForm, needed_columns, step_fields
from hftui.tui.widgets.step_sidebar import StepSidebar

if TYPE_CHECKING:
    from hftui.tui.app import HftuiApp


class WizardScreen(Screen):
    BINDINGS = [
        Binding("ctrl+n,f8", "next_step", "Next", id="wizard.next", tooltip="Go to the next step"),
        Binding("ctrl+b,f7", "previous_step", "Back", id="wizard.back", tooltip="Go to the previous step"),
        Binding("slash,f3", "search", "Search", id="wizard.search", tooltip="Search every option of every step (name and help)"),
        Binding("ctrl+t,f6", "toggle_advanced", "Advanced", id="wizard.advanced", tooltip="Show or hide every other option of this step"),
        Binding("ctrl+s,f2", "app.save", "Save", id="wizard.save", tooltip="Save the preset (asks for a file name when needed)"),
        Binding("ctrl+r,f5", "app.run", "Run", id="wizard.run", tooltip="Save, then start training in the background"),
        Binding("ctrl+e,f9", "go_review", "Review", id="wizard.review", tooltip="Jump to the review: problems, changes, launch command"),
    ]

    app: "HftuiApp"

    def __init__(self) -> None:
        super().__init__(id="wizard")
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
                with Horizontal(id="nav"):
                    yield Button(f"◀ {t('back')}", id="nav-back", tooltip="Previous step (ctrl+b / F7)")
                    yield Label("", id="nav-where")
                    yield Button(f"{t('next')} ▶", id="nav-next", variant="primary", tooltip="Next step (ctrl+n / F8)")
        yield Footer()

    def on_mount(self) -> None:
        model_form = self.query_one("#step-model", StepForm)
        model_form.mount(ModelCheck("", id="model-check"), after=model_form.query_one(".step-note"))
        model_form.mount(QuickPicks("models", id="model-picks"), after="#model-check")
        data_form = self.query_one("#step-dataset", StepForm)
        data_form.mount(QuickPicks("datasets", id="dataset-picks"), after=data_form.query_one(".step-note"))
        data_form.mount(DatasetPreview(id="dataset-preview"), after="#dataset-picks")
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
        i = STEPS.index(step)
        self.query_one("#nav-where", Label).update(f"{i + 1}/{len(STEPS)} · {step_title(step)}")
        self.query_one("#nav-back", Button).disabled = i == 0
        self.query_one("#nav-next", Button).disabled = i == len(STEPS) - 1
        self._sync_step(step)
        self.refresh_states()

    def action_next_step(self) -> None:
        i = STEPS.index(self.step)
        if i < len(STEPS) - 1:
            self.goto(STEPS[i + 1])

    def action_previous_step(self) -> None:
        i = STEPS.index(self.step)
        if i > 0:
            self.goto(STEPS[i - 1])

    def action_go_review(self) -> None:
        self.goto("review")

    def action_toggle_advanced(self) -> None:
        if self.step == "review":
            return
        form = self.query_one(f"#step-{self.step}", StepForm)
        form.set_advanced(not form.advanced)

    def action_search(self) -> None:
        from hftui.tui.screens.search import SearchItem, SearchScreen

        items: list[SearchItem] = []
        preset, catalog = self.app.preset, self.app.catalog()
        for step in STEPS:
            basic = {p for p, _ in step_fields(step, preset, catalog, advanced=False)}
            for path, f in step_fields(step, preset, catalog, advanced=True):
                items.append(SearchItem(step, path, f, path not in basic))
        self.app.push_screen(SearchScreen(items), self._jump_to_item)

    def _jump_to_item(self, item) -> None:
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
            form.sync(self.app.preset, self.app.catalog())

        def focus() -> None:
            try:
                widget = form.query_one(f"#{field_id(path)}", OptionField)
            except Exception:
                return
            widget.focus_control()
            form.scroll_to_widget(widget, top=True, animate=False)

        self.call_after_refresh(focus)
        self.set_timer(0.3, focus)  # again once fields mounted by the jump have their size

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
            self.app.action_save()
        elif bid == "review-run":
            self.app.action_run()
        else:
            return
        event.stop()

    def on_option_field_changed(self, event: OptionField.Changed) -> None:
        event.stop()
        self.app.edit(event.path, event.value, event.error)

    def on_step_form_advanced_toggled(self, event: StepForm.AdvancedToggled) -> None:
        event.stop()
        event.form.sync(self.app.preset, self.app.catalog())

    def on_step_form_section_toggled(self, event: StepForm.SectionToggled) -> None:
        event.stop()
        section, preset = event.section, self.app.preset
        if event.on and not preset.has(section):
            value: dict = {}
            if section == "model.scratch":
                value = {"architecture": "llama", "tokenizer": "byte", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4}
            elif section == "peft":
                value = {"method": "lora", "r": 16, "lora_alpha": 32, "target_modules": "all-linear"}
            self.app.replace_preset(preset.with_value(section, value))
        elif not event.on and preset.has(section):
            self.app.replace_preset(preset.without(section))

    def on_quick_picks_picked(self, event: QuickPicks.Picked) -> None:
        event.stop()
        preset = self.app.preset
        for path in event.pick.remove:
            preset = preset.without(path)
        for path, value in event.pick.values.items():
            preset = preset.with_value(path, value)
        self.app.replace_preset(preset)
        self.notify(f"{event.pick.label}: downloaded from the Hugging Face Hub when the run starts (needs the network)", timeout=4)

    def on_review_panel_jump_to(self, event: ReviewPanel.JumpTo) -> None:
        event.stop()
        self.jump(event.step, event.path, advanced=self._is_advanced(event.step, event.path))

    def _is_advanced(self, step: str, path: str) -> bool:
        basic = {p for p, _ in step_fields(step, self.app.preset, self.app.catalog(), advanced=False)}
        return path not in basic

    # -- redrawing from the app's preset ---------------------------------------------------
    def on_hftui_app_preset_changed(self, event) -> None:
        event.stop()
        self.refresh_all()

    def refresh_all(self) -> None:
        """The preset (or catalog, or hardware) changed: redraw the visible step, mark the rest."""
        self._stale = set(STEPS)
        self._sync_step(self.step)
        self.refresh_states()
        self.refresh_title()

    def refresh_title(self) -> None:
        app = self.app
        name = app.preset.path.name if app.preset.path else "new preset"
        self.sub_title = f"{name}{' *' if app.dirty else ''}" + (" (shipped: Save asks for a new file)" if app.shipped else "")
        self.title = f"hftui · {app.preset.name}"

    def _sync_step(self, step: str) -> None:
        if step not in self._stale:
            return
        self._stale.discard(step)
        app = self.app
        preset, catalog = app.preset, app.catalog()
        if step == "review":
            self.refresh_review()
            return
        form = self.query_one(f"#step-{step}", StepForm)
        form.sync(preset, catalog)
        form.set_note(self._note_for(step, catalog))
        if step == "model":
            self.query_one("#model-check", ModelCheck).check(preset)
        elif step == "dataset":
            needed = {k: preset.get(f"dataset.{k}") or SECTION_FIELDS["dataset"][k].default for k in needed_columns(preset)}
            self.query_one("#dataset-preview", DatasetPreview).load(preset, needed)

    def _note_for(self, step: str, catalog) -> str:
        app = self.app
        notes = []
        if catalog is None and step in ("training", "evaluation", "optimizer", "precision", "distribution", "integrations", "dataset", "trainer"):
            notes.append(t("loading_catalog"))
        if step == "precision":
            notes.append(app.hardware_note("precision"))
        elif step == "distribution":
            notes.append(app.hardware_note("distribution"))
        elif step == "trainer":
            notes.append({
                "trainer": "transformers Trainer: classification, causal LM or seq2seq.",
                "sft": "TRL SFTTrainer: supervised fine-tuning on text or chat messages.",
                "reward": "TRL RewardTrainer: a reward model from chosen/rejected pairs (for PPO).",
                "ppo": "TRL PPO: a policy trained against a reward model ([ppo] below).",
            }.get(app.preset.trainer_type, ""))
        return "\n".join(n for n in notes if n)

    def refresh_states(self) -> None:
        sidebar = self.query_one("#sidebar", StepSidebar)
        for step in STEPS:
            sidebar.set_state(step, self.app.step_state(step, step in self.visited))

    def refresh_review(self) -> None:
        app = self.app
        panel = self.query_one("#step-review", ReviewPanel)
        panel.show_problems(app.all_problems())
        panel.show_changes(self.changed_lines())
        app.refresh_review_extras()

    def changed_lines(self) -> list[str]:
        """`path = value (default X)` for every option that is not at its default."""
        app = self.app
        preset, catalog = app.preset, app.catalog()
        lines = []
        for step in STEPS:
            if step == "review":
                continue
            for path, f in step_fields(step, preset, catalog, advanced=True):
                value = preset.get(path, MISSING)
                if value is not MISSING and differs(f, value):
                    lines.append(f"{path} = {show(value)}" + ("" if f.default in (None, "") else f"   (default {show(f.default)})"))
        known = {line.split(" = ")[0] for line in lines} | {p for step in STEPS for p, _ in step_fields(step, preset, catalog, advanced=True)}
        for path, value in _leaves(preset.data, known=known):
            if path not in known and path != "schema":
                lines.append(f"{path} = {show(value)}")
        return lines

    def show_review_extras(self, memory: str, launch: str) -> None:
        panel = self.query_one("#step-review", ReviewPanel)
        panel.show_memory(memory)
        panel.show_launch(launch)


def _leaves(data: dict, prefix: str = "", known: set[str] = frozenset()):
    """(path, value) of every key; a table that is itself an option's value (data_files) stays whole."""
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and path not in known:
            yield from _leaves(value, path + ".", known)
        else:
            yield path, value
