"""`hftui [PRESET]`: open the wizard on a preset, a new file, or the shipped quickstart."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from hftui.core import preset as preset_mod
from hftui.core.i18n import _
from hftui.core.preset import Preset
from hftui.core.problems import PresetError
from hftui.core.shipped import close_presets, missing_preset_error, shipped_by_name, shipped_presets_dir
from hftui.core.run.folder import EXIT_INVALID
from hftui.tui.app import HftuiApp
from hftui.tui.errors import print_problems


def quickstart_path() -> Path | None:
    path = shipped_presets_dir() / "quickstart.toml"
    return path if path.exists() else None


def open_preset(arg: str | None, new: bool = False) -> tuple[Preset, bool]:
    """(preset, fresh): an existing file, a shipped preset by name, a new blank preset bound to a
    missing file, or the quickstart.

    A missing file becomes a new preset only when the person asked for one (`--new`) or nothing
    close to the name exists; otherwise it is a typo, and PresetError says which files do exist.
    Raises PresetError when the file exists but cannot be read or parsed.
    """
    if arg:
        path = Path(arg).expanduser()
        if path.exists() or path.is_symlink() or shipped_by_name(arg):  # a link loop is no new file
            return preset_mod.load(arg), False
        if path.suffix != ".toml":
            raise missing_preset_error(arg)
        if new or not close_presets(arg):
            return Preset(data={"schema": 1}, path=path.absolute()), True
        problem = missing_preset_error(arg).problems[0]
        hint = f"{problem.hint} " + _("To start a new preset named {name}, run: hftui --new {name}", name=arg)
        raise PresetError([replace(problem, hint=hint)], arg)
    quick = quickstart_path()
    if quick is not None:
        return preset_mod.load(quick), False
    return Preset(data={"schema": 1}), True


def main(args, started: float | None = None) -> int:
    try:
        preset, fresh = open_preset(getattr(args, "preset", None), new=bool(getattr(args, "new", False)))
    except PresetError as exc:
        print_problems(exc.problems, exc.file)
        return EXIT_INVALID
    app = HftuiApp(preset, fresh=fresh, started=started)
    app.run()
    return int(app.return_code or 0)
