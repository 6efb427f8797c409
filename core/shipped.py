"""The presets shipped with hftui: where they are, their names, and finding the preset a person
meant when what they typed is not a file.

`hftui quickstart`, `hftui run quickstart` and `hftui validate quickstart.toml` reach the shipped
preset from any folder; a mistyped path is an error that names the close files that exist.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

import hftui.presets
from hftui.core.i18n import _
from hftui.core.problems import PresetError, Problem

SUFFIX = ".toml"


def shipped_presets_dir() -> Path:
    """The presets installed with hftui (hftui.presets)."""
    return Path(hftui.presets.__file__).resolve().parent


def is_shipped(path: Path | None) -> bool:
    """A file of the installed hftui: saving over it would change every user's copy, and
    training beside it would write into the installation."""
    if path is None:
        return False
    try:
        Path(path).resolve().relative_to(shipped_presets_dir())
        return True
    except ValueError:
        return False


@dataclass(frozen=True)
class ShippedPreset:
    name: str  # what a person types: `hftui run quickstart`
    path: Path
    description: str


def shipped_presets() -> list[ShippedPreset]:
    """Every shipped preset, by name, with the first line of its description."""
    found = []
    for path in sorted(shipped_presets_dir().glob(f"*{SUFFIX}")):
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
            data = {}
        about = data.get("description") if isinstance(data.get("description"), str) else ""
        found.append(ShippedPreset(path.stem, path, about.strip().splitlines()[0] if about.strip() else ""))
    return found


def shipped_by_name(arg: str) -> Path | None:
    """The shipped preset a bare name means (`quickstart` or `quickstart.toml`), else None."""
    if not arg or os.sep in arg or "/" in arg:
        return None
    stem = arg[: -len(SUFFIX)] if arg.endswith(SUFFIX) else arg
    path = shipped_presets_dir() / f"{stem}{SUFFIX}"
    return path if path.is_file() else None


def close_presets(arg: str, limit: int = 3) -> list[str]:
    """Preset files that exist close to what was typed (names compared without `.toml`): siblings
    in the folder it names, shown as the person would type them; then, when that folder holds no
    close name, shipped presets by name."""
    typed = Path(os.path.expanduser(arg))
    stem = typed.name[: -len(SUFFIX)] if typed.name.endswith(SUFFIX) else typed.name
    siblings: dict[str, str] = {}
    try:
        for entry in sorted(os.listdir(typed.parent)):
            if entry.endswith(SUFFIX):
                siblings[entry[: -len(SUFFIX)]] = os.path.join(os.path.dirname(arg), entry)
    except OSError:
        pass
    close = [siblings[n] for n in difflib.get_close_matches(stem, list(siblings), n=limit, cutoff=0.75)]
    if not close:
        close = difflib.get_close_matches(stem, [p.name for p in shipped_presets()], n=limit, cutoff=0.75)
    return close


def missing_preset_error(arg: str) -> PresetError:
    """`no such file`, with the close names that do exist and the shipped presets' names."""
    close = close_presets(arg)
    if close:
        hint = _("did you mean {names}?", names=" or ".join(close))
    else:
        names = ", ".join(p.name for p in shipped_presets())
        hint = _("check the path; presets shipped with hftui open by name from any folder: {names} (`hftui presets` lists them)", names=names)
    return PresetError([Problem("", "error", _("no such file"), hint, None, arg)], arg)


def locate(arg: str | Path) -> Path:
    """The preset file a person meant: the path when it exists, else a shipped preset by name.

    Raises PresetError (with did-you-mean) when neither exists.
    """
    path = Path(arg).expanduser()
    if path.exists() or path.is_symlink():
        return path
    shipped = shipped_by_name(str(arg))
    if shipped is not None:
        return shipped
    raise missing_preset_error(str(arg))
