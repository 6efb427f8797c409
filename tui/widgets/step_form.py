"""The fields of one wizard step, generated from the catalog and the schema (never by hand).

`step_fields` says which preset keys a step shows for the current preset (trainer type, task,
whether LoRA or a scratch model is on); the search screen and the review use it too, so the
three always agree.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Label, Static, Switch

from hftui.core.preset import Preset
from hftui.core.options.sections import SECTION_FIELDS, TOP_FIELDS, Field
from hftui.tui.i18n import step_title, t
from hftui.tui.widgets.option_field import MISSING, OptionField

# Common keys of [model.scratch] beyond architecture/tokenizer: they go to the model config.
SCRATCH_EXTRA = [
    Field("model.scratch", "hidden_size", "int", None, (), "Width of the fresh model (e.g. 64 for a smoke test, 2048 for ~1B).", "새 모델의 폭(스모크 테스트는 64, 약 1B는 2048).", step="model", minimum=8),
    Field("model.scratch", "num_hidden_layers", "int", None, (), "Number of transformer layers.", "트랜스포머 레이어 수입니다.", step="model", minimum=1),
    Field("model.scratch", "num_attention_heads", "int", None, (), "Attention heads; must divide hidden_size.", "어텐션 헤드 수(hidden_size의 약수).", step="model", minimum=1),
    Field("model.scratch", "intermediate_size", "int", None, (), "Width of the feed-forward layer.", "피드포워드 레이어의 폭입니다.", step="model", minimum=1, advanced=True),
]

# The dataset columns each trainer type (and task) reads.
NEEDED_COLUMNS = {
    ("trainer", "causal-lm"): ("text_column",),
    ("trainer", "sequence-classification"): ("text_column", "label_column"),
    ("trainer", "seq2seq-lm"): ("text_column", "target_column"),
    ("sft", None): ("text_column", "messages_column"),
    ("reward", None): ("chosen_column", "rejected_column"),
    ("ppo", None): ("prompt_column",),
}
# Old names the installed library still accepts next to the new one: shown only when set.
ALIASES = {"gradient_checkpointing": "activation_checkpointing"}
ALL_COLUMNS = ("text_column", "label_column", "target_column", "messages_column", "prompt_column", "chosen_column", "rejected_column")


def needed_columns(preset: Preset) -> tuple[str, ...]:
    kind = preset.trainer_type
    return NEEDED_COLUMNS.get((kind, preset.task if kind == "trainer" else None), NEEDED_COLUMNS.get((kind, None), ("text_column",)))


def step_fields(step: str, preset: Preset, catalog, advanced: bool = False) -> list[tuple[str, Field]]:
    """(preset path, Field) pairs a step shows; advanced adds every other option."""
    out: list[tuple[str, Field]] = []

    def add(section: str, names: list[str] | None = None, only_basic: bool = True) -> None:
        for name, f in SECTION_FIELDS.get(section, {}).items():
            if names is not None and name not in names:
                continue
            if f.step != step:
                continue
            if f.advanced and only_basic and not advanced:
                continue
            out.append((f.path, f))

    if step == "model":
        for name in ("name", "description"):
            out.append((name, TOP_FIELDS[name]))
        names = ["name_or_path", "task", "dtype", "trust_remote_code", "revision"]
        if preset.task == "sequence-classification":
            names.append("num_labels")
        add("model", names)
        if preset.has("model.scratch"):
            add("model.scratch")
            out.extend((f.path, f) for f in SCRATCH_EXTRA if advanced or not f.advanced)
    elif step == "dataset":
        needed = needed_columns(preset)
        for name, f in SECTION_FIELDS["dataset"].items():
            is_column = name in ALL_COLUMNS
            if is_column and name not in needed and not advanced:
                continue
            if f.advanced and not advanced:
                continue
            out.append((f.path, f))
    elif step == "trainer":
        add("trainer", ["type"])
        if preset.trainer_type == "ppo":
            add("ppo")
    elif step == "evaluation":
        out.append(("trainer.metrics", SECTION_FIELDS["trainer"]["metrics"]))
    elif step == "distribution":
        add("launch")
    elif step == "peft":
        if preset.has("peft"):
            add("peft")
    if catalog is not None and step not in ("model", "review", "peft"):
        for f in catalog.step_fields(step, advanced=advanced):
            if f.extra.get("deprecated") and not preset.has(f"args.{f.name}"):
                continue
            alias_of = ALIASES.get(f.name)
            if alias_of and alias_of in catalog.args and not preset.has(f"args.{f.name}"):
                continue
            out.append((f"args.{f.name}", f))
    return out


def field_value(preset: Preset, path: str) -> Any:
    return preset.get(path, MISSING)


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
        if self.step == "model":
            yield self._section_switch("model.scratch", t("scratch_enable"))
        if self.step == "peft":
            yield self._section_switch("peft", t("peft_enable"))
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

    def sync(self, preset: Preset, catalog) -> None:
        """Show the preset: remount when the set of fields changed, else update the values."""
        for switch in self.query(".section-switch").results(Switch):
            on = preset.has(switch.name or "")
            if switch.value != on:
                with switch.prevent(Switch.Changed):
                    switch.value = on
        if self.step == "review":
            return
        wanted = step_fields(self.step, preset, catalog, self.advanced)
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
            widget.show_value(field_value(preset, path))

    @property
    def paths(self) -> list[str]:
        return list(self._paths)
