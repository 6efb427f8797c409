"""One option of the preset, drawn from its `Field`: the right control, its help and default.

Choices become a Select, booleans a Switch, lists of known values a SelectionList, everything
else an Input that checks the text as it is typed. The field never edits the preset itself: it
posts `OptionField.Changed` and the app replaces its one Preset.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, Label, Select, SelectionList, Static, Switch

from hftui.core.i18n import _
from hftui.core.options.rules import out_of_range
from hftui.core.options.sections import Field
from hftui.core.problems import Problem
from hftui.tui.format import printable
from hftui.tui.i18n import help_text, t
from hftui.tui.widgets.field_head import FieldHead
from hftui.tui.widgets.typed_input import TypedInput

MISSING: Any = object()
_SHOW_AGAIN: Any = object()  # a value no preset holds: the next show_value redraws the control

# Options whose value is a list drawn from a short, known set.
MULTI_CHOICES: dict[str, tuple[str, ...]] = {
    "args.report_to": ("none", "tensorboard", "wandb", "comet_ml", "trackio"),
}


def show(value: Any) -> str:
    """A value as a person would type it in the preset."""
    if value is None:
        return _("(unset)")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value if value else '""'
    if isinstance(value, (list, tuple)):
        return ", ".join(show(v) for v in value) if value else "[]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {show(v)}" for k, v in value.items()) + " }"
    return str(value)


def field_id(path: str) -> str:
    return "f-" + path.replace(".", "--")


def differs(field: Field, value: Any) -> bool:
    """Whether a set value is not the library's default (1 and 1.0 count as equal)."""
    if value is MISSING:
        return False
    default = field.default
    if isinstance(default, (list, tuple)) and isinstance(value, str):
        return [value] != list(default)
    if isinstance(value, (list, tuple)) and isinstance(default, str):
        return list(value) != [default]
    if isinstance(default, (list, tuple)) and isinstance(value, (list, tuple)):
        return list(default) != list(value)
    return default != value


def parse_text(field: Field, text: str) -> Any:
    """The value a typed text stands for; ValueError with a readable reason when it is wrong."""
    from hftui.core.preset import ValueParseError, parse_value

    s = text.strip()
    kind = field.type
    if kind.replace("optional:", "") == "float" and _is_whole(s):
        kind = "int"  # a whole number stays one (eval_steps = 10), as TOML itself reads it
    try:
        if kind == "str_or_list" and "," in s and not s.startswith("["):
            value: Any = [part.strip() for part in s.split(",") if part.strip()]
        elif kind in ("str", "") or (kind == "any" and not _looks_like_toml(s)):
            value = s
        elif kind == "dict" or kind == "str_or_dict":
            value = tomllib.loads(f"v = {s}")["v"] if s.startswith("{") else (s if kind == "str_or_dict" else None)
            if value is None:
                raise ValueError(_('expected a table like { key = "value" }'))
        else:
            value = parse_value(s, kind)
    except (ValueParseError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(str(exc)) from None
    outside = out_of_range(field, value)
    if outside:
        raise ValueError(outside[0])
    if field.choices and not isinstance(value, list) and value not in field.choices:
        raise ValueError(_("expected one of {choices}", choices=", ".join(show(c) for c in field.choices)))
    return value


def _is_whole(s: str) -> bool:
    """Text TOML would read as an integer (10, -3, 1_000), not a float (10.0, 1e3)."""
    body = s[1:] if s[:1] in "+-" else s
    return bool(body) and body.replace("_", "").isdigit() and body.isascii()


def _looks_like_toml(s: str) -> bool:
    return bool(s) and (s[0] in "[{\"'" or s in ("true", "false") or s.replace(".", "", 1).replace("e-", "", 1).lstrip("-").isdigit())


class OptionField(Vertical):
    """A labelled control for one preset key."""

    @dataclass
    class Changed(Message):
        """A person changed the value (value MISSING: back to the default; error: text is invalid)."""

        option: "OptionField"
        path: str
        value: Any
        error: str | None = None
        serial: int = 0  # counts this field's changes, so the app can say which it has taken in

    def __init__(self, field: Field, path: str, value: Any = MISSING) -> None:
        super().__init__(id=field_id(path), classes="option-field")
        self.field = field
        self.path = path
        self.value = value
        self.error: str | None = None
        self.problems: list[Problem] = []  # validation's problems of this key
        self.sent = 0  # changes posted so far (the serial of the last one)
        self._accounted = ""  # the text the last change posted, or the value shown, stands for

    # -- building ------------------------------------------------------------------------
    @property
    def kind(self) -> str:
        f = self.field
        if self.path in MULTI_CHOICES:
            return "multi"
        if f.type == "bool" and f.default is not None:
            return "switch"
        if f.choices or f.type == "bool":
            return "select"
        return "input"

    def _choices(self) -> tuple:
        if self.field.choices:
            return self.field.choices
        return (True, False)

    def compose(self) -> ComposeResult:
        f = self.field
        yield FieldHead(f.name, f.star, show(f.default), changed=differs(f, self.value))
        kind = self.kind
        current = self.value
        control_id = "control"
        if kind == "switch":
            on = bool(f.default if current is MISSING else current)
            with Horizontal(classes="switch-row"):
                yield Switch(value=on, id=control_id, tooltip=f.name)
                yield Label(_on_off(on), classes="switch-state")  # the state in words, not only in colour
        elif kind == "select":
            options = [(show(c), c) for c in self._choices()]
            value = current if current is not MISSING and current in self._choices() else Select.NULL
            yield Select(options, value=value, prompt=f"{t('default')}: {show(f.default)}", id=control_id, compact=True, tooltip=f.name)
        elif kind == "multi":
            chosen = self._as_list(current if current is not MISSING else f.default)
            yield SelectionList[str](*[(c, c, c in chosen) for c in MULTI_CHOICES[self.path]], id=control_id, compact=True)
        else:
            text = "" if current is MISSING or current is None else _text_of(current)
            self._accounted = text
            yield TypedInput(value=text, placeholder=_placeholder(f.default), id=control_id, compact=True, tooltip=f.name, select_on_focus=False)
        yield Static(help_text(f), classes="field-help", markup=False)
        yield Static("", classes="field-error", markup=False)

    def on_mount(self) -> None:
        self._update_mark()

    def set_field(self, field: Field) -> None:
        """Another trainer type describes this key differently (its own default or help)."""
        self.field = field
        if not self.is_mounted:
            return
        self.query_one(FieldHead).show(star=field.star, default=show(field.default))
        self.query_one(".field-help", Static).update(help_text(field))
        control = self.query_one("#control")
        if isinstance(control, Input):
            control.placeholder = _placeholder(field.default)
        elif isinstance(control, Select) and field.choices:
            with control.prevent(Select.Changed):
                control.set_options([(show(c), c) for c in field.choices])
        self._update_mark()

    @staticmethod
    def _as_list(value: Any) -> list:
        if value is None:
            return []
        if isinstance(value, str):
            return [value]
        return list(value)

    # -- reading the control -------------------------------------------------------------
    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        text = event.value
        self._accounted = text
        if not text.strip():
            self._set(MISSING, None)
            return
        try:
            value = parse_text(self.field, text)
        except ValueError as exc:
            self._set(self.value, str(exc))
            return
        self._set(value, None)

    def on_switch_changed(self, event: Switch.Changed) -> None:
        event.stop()
        self._set(bool(event.value), None)

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        self._set(MISSING if event.value is Select.NULL else event.value, None)

    def on_selection_list_selected_changed(self, event: SelectionList.SelectedChanged) -> None:
        event.stop()
        chosen = list(event.selection_list.selected)
        if len(chosen) > 1 and "none" in chosen:
            chosen.remove("none")
        self._set(chosen if chosen else ["none"], None)

    def _set(self, value: Any, error: str | None) -> None:
        self.value = value
        self.error = error
        self.sent += 1
        self._update_mark()
        self.post_message(self.Changed(self, self.path, value, error, self.sent))

    def settled(self, taken: int) -> bool:
        """Whether the app has every change typed here (`taken`: the serial it last took in);
        false while keys or changes are still on their way up."""
        if taken < self.sent:
            return False
        try:
            control = self.query_one("#control")
        except Exception:
            return True
        return not isinstance(control, Input) or control.value == self._accounted

    # -- showing the preset's value ------------------------------------------------------
    def show_value(self, value: Any, taken: int, error_kept: bool = False) -> None:
        """Show the preset's value without announcing a change (keeps text being typed).

        `taken` is the serial of this field's last change the app had taken in when it sent
        `value`: while newer changes are still on their way, `value` is an echo of an older
        text and the newer one wins, so the control is left alone. `error_kept`: the app still
        holds this field's invalid text; without it, the app let that text go (its section was
        removed, another control set the key) and the field shows the preset again."""
        if not self.settled(taken):
            return
        if self.error is not None:
            if error_kept:
                return
            self.error, self.value = None, _SHOW_AGAIN
        if value == self.value and value is not MISSING:
            return
        self.value = value
        try:
            control = self.query_one("#control")
        except Exception:
            return
        f = self.field
        if isinstance(control, Input):
            try:
                if control.value.strip() and value is not MISSING and parse_text(f, control.value) == value:
                    self._update_mark()
                    return
            except ValueError:
                pass
            text = "" if value is MISSING or value is None else _text_of(value)
            with control.prevent(Input.Changed):
                control.value = text
            self._accounted = text
        elif isinstance(control, Switch):
            with control.prevent(Switch.Changed):
                control.value = bool(f.default if value is MISSING else value)
        elif isinstance(control, Select):
            with control.prevent(Select.Changed):
                control.value = value if value is not MISSING and value in self._choices() else Select.NULL
        elif isinstance(control, SelectionList):
            chosen = self._as_list(f.default if value is MISSING else value)
            with control.prevent(SelectionList.SelectedChanged):
                control.deselect_all()
                for c in chosen:
                    if c in MULTI_CHOICES[self.path]:
                        control.select(c)
        self._update_mark()

    def show_problems(self, problems: list[Problem]) -> None:
        """What validation says about this key (the same words as Review and `hftui validate`)."""
        problems = list(problems)
        if problems == self.problems:
            return
        self.problems = problems
        self._update_mark()

    def _update_mark(self) -> None:
        if not self.is_mounted:
            return
        changed = differs(self.field, self.value)
        # typed text that is not a value comes first: the preset's problems are about the last value
        problems = [] if self.error is not None else self.problems
        invalid = self.error is not None or any(p.is_error for p in problems)
        self.set_class(changed, "-changed")
        self.set_class(invalid, "-invalid")
        self.set_class(not invalid and bool(problems), "-warned")
        lines = [f"✗ {self.error}"] if self.error is not None else [problem_line(p) for p in problems]
        try:
            for state in self.query(".switch-state").results(Label):
                state.update(_on_off(self.query_one("#control", Switch).value))
            self.query_one(FieldHead).show(changed=changed, default=show(self.field.default))
            error = self.query_one(".field-error", Static)
            shown_before = bool(str(error.render()))
            error.update("\n".join(lines))
            if lines and not shown_before and self.has_focus_within:  # what was just typed is wrong: show why
                self.call_after_refresh(error.scroll_visible, animate=False)
        except Exception:
            pass

    def focus_control(self) -> None:
        try:
            self.query_one("#control").focus()
        except Exception:
            pass


MARK = {"error": "✗", "warning": "!", "notice": "·"}


def problem_line(p: Problem) -> str:
    """A problem as a field shows it: its mark, its words, what to write instead."""
    text = f"{MARK.get(p.severity, '!')} {printable(p.message)}"
    return text + (f" — {printable(p.hint)}" if p.hint else "")


def _on_off(on: bool) -> str:
    return _("on (true)") if on else _("off (false)")


def _placeholder(default: Any) -> str:
    return "" if default in ("", None) else show(default)


def _text_of(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        if all(isinstance(v, str) and "," not in v for v in value):
            return ", ".join(value)
        import tomlkit

        return tomlkit.item(list(value)).as_string()
    if isinstance(value, dict):
        import tomlkit

        table = tomlkit.inline_table()
        table.update(value)
        return table.as_string()
    return str(value)
