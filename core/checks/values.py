"""Whether a value has the type, choice and range its field allows, and how values are spelled
in messages: as TOML would write them, with anything token-like masked."""

from __future__ import annotations

import difflib
import json
import math
import re
from typing import Any

from hftui.core.i18n import N_, _
from hftui.core.options.rules import out_of_range
from hftui.core.options.sections import Field

from hftui.core.checks.report import Report

TYPE_WORDS = {
    "bool": N_("true or false"),
    "int": N_("a whole number"),
    "float": N_("a number"),
    "str": N_('a quoted string ("...")'),
    "list": N_('a list like ["a", "b"]'),
    "dict": N_('a table like { key = "value" }'),
    "str_or_dict": N_("a string or a table"),
    "str_or_list": N_("a string or a list of strings"),
    "int_or_auto": N_('a whole number or "auto"'),
    "int_or_float": N_("a number"),
    "any": N_("any value"),
}

# What a Hugging Face token and a W&B key look like: never echoed back, wherever they appear.
HF_TOKEN = re.compile(r"\bhf_[A-Za-z0-9]{20,}\b")
WANDB_KEY = re.compile(r"^(?:[0-9a-f]{40}|local-[0-9a-f]{40,})$")

_SAMPLES = {"bool": "true", "int": "100", "float": "0.1", "str": '"..."', "list": '["..."]', "int_or_auto": '"auto"',
            "str_or_list": '"..."', "str_or_dict": '"..."', "dict": "{ key = \"value\" }"}


def type_ok(value: Any, type_name: str) -> bool:
    """Whether a TOML value fits a declared type (a TOML integer is fine for a float)."""
    t = (type_name or "any").replace("optional:", "")
    if t == "any":
        return True
    if t == "bool":
        return isinstance(value, bool)
    if t == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if t in ("float", "int_or_float"):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if t == "str":
        return isinstance(value, str)
    if t == "list":
        return isinstance(value, list)
    if t == "dict":
        return isinstance(value, dict)
    if t == "str_or_list":
        return isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))
    if t == "str_or_dict":
        return isinstance(value, (str, dict))
    if t == "int_or_auto":
        return value == "auto" or (isinstance(value, int) and not isinstance(value, bool))
    return True


def show(value: Any) -> str:
    """A value as TOML would spell it, short and with anything token-like masked."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = json.dumps("***" if WANDB_KEY.match(value.strip()) else HF_TOKEN.sub("hf_***", value), ensure_ascii=False)
    elif isinstance(value, float) and math.isinf(value):
        text = "inf" if value > 0 else "-inf"
    elif isinstance(value, float) and math.isnan(value):
        text = "nan"
    elif isinstance(value, dict):
        text = "{ " + ", ".join(f"{k} = {show(v)}" for k, v in value.items()) + " }"
    elif isinstance(value, list):
        text = "[" + ", ".join(show(v) for v in value) + "]"
    else:
        text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def kind(value: Any) -> str:
    """What a person wrote, in words ("a string", "a list")."""
    if isinstance(value, bool):
        return _("true/false")
    if isinstance(value, int):
        return _("a whole number")
    if isinstance(value, float):
        return _("a number")
    if isinstance(value, str):
        return _("a string")
    if isinstance(value, list):
        return _("a list")
    if isinstance(value, dict):
        return _("a table")
    return type(value).__name__


def num(x: float) -> str:
    """A number without a needless ".0"."""
    return str(int(x)) if float(x).is_integer() else str(x)


def example(f: Field, value: Any = None) -> str:
    """A line to write instead, as close to what the person meant as can be guessed."""
    if f.type in ("list", "str_or_list") and isinstance(value, str) and value:
        return f"{f.name} = {show([value])}"
    if f.type in ("int", "float", "int_or_auto") and isinstance(value, str):
        try:
            number = float(value)
            if f.type != "float" and number.is_integer():
                return _("{line} (no quotes)", line=f"{f.name} = {int(number)}")
            if f.type == "float":
                return _("{line} (no quotes)", line=f"{f.name} = {value.strip()}")
        except ValueError:
            pass
    if f.type == "bool" and isinstance(value, str) and value.lower() in ("true", "yes", "on", "1", "false", "no", "off", "0"):
        return _("{line} (no quotes)", line=f"{f.name} = {'true' if value.lower() in ('true', 'yes', 'on', '1') else 'false'}")
    if f.type == "int" and isinstance(value, float) and math.isfinite(value):
        return f"{f.name} = {max(1, round(value))}"
    if f.choices:
        return f"{f.name} = {show(f.choices[0])}"
    default = f.default
    usable = default not in (None, "", [], {}) and type_ok(default, f.type)
    if usable and isinstance(default, (int, float)) and not isinstance(default, bool) and default <= 0:
        usable = False  # "-1" or "0" often means "unset": not a helpful example
    if usable:
        return f"{f.name} = {show(default)}"
    if f.name == "data_files":
        return _('data_files = "data/train.jsonl" (or { train = "...", eval = "..." })')
    return f"{f.name} = {_SAMPLES.get(f.type, '...')}"


def check_value(rep: Report, path: str, value: Any, f: Field) -> bool:
    """Type, choices and range of one value; True when the type is right."""
    if not type_ok(value, f.type):
        rep.error(path, _("expected {expected}, got {kind} {value}", expected=_(TYPE_WORDS.get(f.type, f.type)), kind=kind(value), value=show(value)),
                  _("write {example}", example=example(f, value)))
        return False
    if isinstance(value, float) and not math.isfinite(value):
        rep.error(path, _("{value} is not a finite number", value=show(value)), _("write {example}", example=example(f)))
        return True
    if f.choices:
        values = value if isinstance(value, list) else [value]
        for v in values:
            if isinstance(v, (str, int)) and not isinstance(v, bool) and v not in f.choices:
                close = difflib.get_close_matches(str(v), [str(c) for c in f.choices], n=1, cutoff=0.5)
                options = ", ".join(show(c) for c in f.choices[:12]) + (", ..." if len(f.choices) > 12 else "")
                hint = (_("did you mean {choice}? choose one of: {options}", choice=show(close[0]) if isinstance(f.choices[0], str) else close[0], options=options)
                        if close else _("choose one of: {options}", options=options))
                rep.error(path, _("{value} is not one of the choices", value=show(v)), hint)
    outside = out_of_range(f, value)
    if outside:
        rep.error(path, *outside)
    return True
