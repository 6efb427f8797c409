"""The preset's shape: the schema version, the top-level keys, each section being a table, and
every key of hftui's own sections being one it knows, with a value of the right type."""

from __future__ import annotations

import difflib

from hftui.core.i18n import N_, _
from hftui.core.options import sections as schema
from hftui.core.options.names import suggest_key

from hftui.core.checks.report import Report
from hftui.core.checks.values import check_value, kind, show

# The messages of keys hftui does not know (`validate` folds a flood of them into one line).
UNKNOWN_SECTION = N_("unknown section [{key}]")
UNKNOWN_TOP_KEY = N_("unknown key {key}")
UNKNOWN_KEY = N_("unknown key {key} in [{section}]")


def check_layout(rep: Report) -> None:
    data = rep.preset.data
    _check_top(rep, data)
    for name in schema.KNOWN_SECTIONS:
        value = data.get(name)
        if value is not None and not isinstance(value, dict):
            rep.error(name, _("{name} must be a table, not {kind}", name=name, kind=kind(value)),
                      _('write [{name}] on its own line with its keys below it (e.g. [trainer] then type = "sft")', name=name))
    for section, fields in schema.SECTION_FIELDS.items():
        if section == "model.scratch":
            continue  # checked with the rest of the fresh model's config
        table = rep.preset.get(section)
        if isinstance(table, dict):
            _check_section(rep, section, table, fields)


def _check_top(rep: Report, data: dict) -> None:
    if "schema" not in data:
        rep.error("schema", _("the preset has no schema version"), _("add schema = 1 as the first line"))
    else:
        value = data["schema"]
        if isinstance(value, bool) or not isinstance(value, int):
            rep.error("schema", _("schema must be the number 1, got {kind} {value}", kind=kind(value), value=show(value)), _("write schema = 1"))
        elif value != schema.SCHEMA_VERSION:
            rep.error("schema", _("schema {value} is not supported: this hftui reads schema {version}", value=value, version=schema.SCHEMA_VERSION),
                      _("write schema = 1 (a newer hftui may read newer presets)"))
    for key in ("name", "description"):
        if key in data and not isinstance(data[key], str):
            rep.error(key, _("{key} must be a string, got {kind} {value}", key=key, kind=kind(data[key]), value=show(data[key])),
                      _('write {key} = "..."', key=key))
    if isinstance(data.get("name"), str) and any(ch in data["name"] for ch in "/\\\0"):
        rep.error("name", _("name {value} contains a path separator", value=show(data["name"])), _("use letters, digits, - and _"))
    for key, value in data.items():
        if key in schema.TOP_FIELDS or key in schema.KNOWN_SECTIONS:
            continue
        message = _(UNKNOWN_SECTION, key=key) if isinstance(value, dict) else _(UNKNOWN_TOP_KEY, key=repr(key))
        hint = _section_hint(key) if isinstance(value, dict) else suggest_key(rep.preset, key)
        rep.error(key, message, hint or _("known sections: {sections}", sections=", ".join(schema.KNOWN_SECTIONS)))


def _section_hint(key: str) -> str:
    match = difflib.get_close_matches(key, list(schema.KNOWN_SECTIONS), n=1, cutoff=0.5)
    if match:
        return _("did you mean [{section}]?", section=match[0])
    owner = [s for s, fields in schema.SECTION_FIELDS.items() if key in fields]
    if owner:
        return _("{key} is a key of [{section}], not a section", key=key, section=owner[0])
    return ""


def _check_section(rep: Report, section: str, table: dict, fields: dict[str, schema.Field]) -> None:
    for key, value in table.items():
        path = f"{section}.{key}"
        if section == "model" and key == "scratch":
            if not isinstance(value, dict):
                rep.error(path, _("scratch must be a table: write [model.scratch] on its own line"), "[model.scratch]")
            continue
        f = fields.get(key)
        if f is None:
            hint = suggest_key(rep.preset, path)
            rep.error(path, _(UNKNOWN_KEY, key=repr(key), section=section), hint or _("known keys: {keys}", keys=", ".join(fields)))
            continue
        check_value(rep, path, value, f)
