"""What the Review lists under "Changed from the defaults": every option of the preset that is not
at its library default, each with that default, and the keys no step asks about."""

from __future__ import annotations

from hftui.core.i18n import _
from hftui.core.options.steps import STEPS, step_fields
from hftui.core.preset import Preset
from hftui.tui.widgets.option_field import MISSING, differs, show


def changed_lines(preset: Preset, catalog) -> list[str]:
    """`path = value   (default X)` for every option that is not at its default."""
    lines = []
    asked = [pair for step in STEPS for pair in step_fields(step, preset, catalog, advanced=True)]
    for path, f in asked:
        value = preset.get(path, MISSING)
        if value is not MISSING and differs(f, value):
            default = "" if f.default in (None, "") else "   " + _("(default {value})", value=show(f.default))
            lines.append(f"{path} = {show(value)}{default}")
    known = {path for path, _f in asked}
    for path, value in _leaves(preset.data, known=known):
        if path not in known and path != "schema":
            lines.append(f"{path} = {show(value)}")
    return lines


def _leaves(data: dict, prefix: str = "", known: set[str] = frozenset()):
    """(path, value) of every key; a table that is itself an option's value (data_files) stays whole."""
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and path not in known:
            yield from _leaves(value, path + ".", known)
        else:
            yield path, value
