"""Saving the wizard's preset: in place, or as a new file when it is new or ships with hftui.

Nothing typed is lost on the way: saving waits for keys still on their way to the preset, and
refuses while a field holds text that is not a value, which the file could not hold.
"""

from __future__ import annotations

import copy
from pathlib import Path

from hftui.core import preset as preset_mod
from hftui.core.i18n import _
from hftui.core.options.steps import STEPS
from hftui.core.preset import is_shipped
from hftui.core.problems import PresetError
from hftui.tui.preset_files import rebase_paths
from hftui.tui.screens.confirm import ConfirmScreen
from hftui.tui.screens.save_as import SaveAsScreen


class SaveFlow:
    """The save steps of `HftuiApp`, which mixes them in: they read and replace its preset."""

    def action_save(self, then=None) -> None:
        self.after_typing(lambda: self._save(then))

    def _save(self, then=None) -> None:
        """Save in place, or ask for a file when the preset is new or shipped with hftui."""
        if self.refuse_invalid():
            return
        if self.preset.path is None or self.shipped:
            suggestion = Path.cwd() / f"{self.preset.name}.toml"
            reason = _("This preset ships with hftui: save your copy as") if self.shipped else _("Save the new preset as:")
            self.push_screen(SaveAsScreen(suggestion, reason), lambda path: self._save_as_chosen(path, then))
            return
        if self.write(self.preset.path) and then:
            then()

    def refuse_invalid(self) -> bool:
        """Text typed into a field that is not a value is not in the preset: saving would drop
        it without a word. Say which fields and why, take the person to the first, write nothing."""
        if not self.field_errors:
            return False
        state = self.state
        paths = sorted(self.field_errors, key=lambda p: STEPS.index(state.step_of(p)) if state.step_of(p) in STEPS else len(STEPS))
        lines = [f"{path}: {self.field_errors[path]}" for path in paths]
        self.notify("\n".join(lines) + "\n" + _("Fix the value, or clear the field to use the default."), title=_("Not saved"), severity="error", timeout=10)
        if self.wizard is not None and self.screen is self.wizard:
            self.wizard.show_field(paths[0])
        return True

    def _save_as_chosen(self, path: Path | None, then) -> None:
        if path is None:
            return
        if is_shipped(path):
            self.notify(_("That file ships with hftui; choose another name."), severity="error")
            return
        if path.exists() and (self.preset.path is None or path.resolve() != self.preset.path):

            def answer(yes: bool | None) -> None:
                if yes and self.write(path) and then:
                    then()

            self.push_screen(ConfirmScreen(_("{path} exists. Replace it?", path=path), yes=_("Replace"), no=_("Cancel")), answer)
            return
        if self.write(path) and then:
            then()

    def write(self, path: Path) -> bool:
        preset = rebase_paths(self.preset, Path(path).parent) if self.preset.path is None or Path(path).resolve() != self.preset.path else self.preset
        try:
            saved = preset_mod.save(preset, path)
        except PresetError as exc:
            self.notify("; ".join(p.message for p in exc.problems), title=_("Not saved"), severity="error")
            return False
        except OSError as exc:
            self.notify(f"{path}: {exc.strerror or exc}", title=_("Not saved"), severity="error")
            return False
        self.preset = saved
        self.saved_data = copy.deepcopy(saved.data)
        self.shipped = is_shipped(saved.path)
        self.notify(_("saved {path}", path=saved.path), timeout=3)
        self._announce()
        return True
