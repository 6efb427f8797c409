"""`hftui [PRESET]`: open the wizard on a preset, a new file, or the shipped quickstart."""

from __future__ import annotations

from pathlib import Path

from hftui.core import preset as preset_mod
from hftui.core.preset import Preset, shipped_presets_dir
from hftui.core.problems import PresetError
from hftui.core.run.folder import EXIT_INVALID
from hftui.tui.app import HftuiApp
from hftui.tui.errors import print_problems


def quickstart_path() -> Path | None:
    path = shipped_presets_dir() / "quickstart.toml"
    return path if path.exists() else None


def open_preset(arg: str | None) -> tuple[Preset, bool]:
    """(preset, fresh): an existing file, a new blank preset bound to a missing file, or the quickstart.

    Raises PresetError when the file exists but cannot be read or parsed.
    """
    if arg:
        path = Path(arg).expanduser()
        if not path.exists() and not path.is_symlink() and path.suffix == ".toml":  # a link loop is no new file
            return Preset(data={"schema": 1}, path=path.absolute()), True
        return preset_mod.load(path), False
    quick = quickstart_path()
    if quick is not None:
        return preset_mod.load(quick), False
    return Preset(data={"schema": 1}), True


def main(args, started: float | None = None) -> int:
    try:
        preset, fresh = open_preset(getattr(args, "preset", None))
    except PresetError as exc:
        print_problems(exc.problems, exc.file)
        return EXIT_INVALID
    app = HftuiApp(preset, fresh=fresh, started=started)
    app.run()
    return int(app.return_code or 0)
