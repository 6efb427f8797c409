"""Saving a preset elsewhere: its relative paths keep pointing at the same files."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hftui.core.options.paths import PATH_KEYS
from hftui.core.options.sections import BUILDERS
from hftui.core.preset import Preset



def rebase_paths(preset: Preset, new_base: Path) -> Preset:
    """The preset as saved in new_base: each relative path that names an existing file still does."""
    old_base = preset.base_dir
    if old_base.resolve() == new_base.resolve():
        return preset

    def move(value: Any) -> Any:
        if isinstance(value, str) and value and not os.path.isabs(os.path.expanduser(value)):
            target = old_base / value
            if target.exists():
                return os.path.relpath(target.resolve(), new_base.resolve())
        if isinstance(value, list):
            return [move(v) for v in value]
        if isinstance(value, dict):
            return {k: move(v) for k, v in value.items()}
        return value

    for key in PATH_KEYS:
        value = preset.get(key)
        if value is None or (key == "dataset.path" and value in BUILDERS):
            continue  # a builder name (json, csv, ...) is not a path
        moved = move(value)
        if moved != value:
            preset = preset.with_value(key, moved)
    return preset
