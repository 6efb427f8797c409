"""The collector every check writes to: one preset's problems, each with the line of its key."""

from __future__ import annotations

from dataclasses import replace

from hftui.core.options.toml_text import key_lines, line_of
from hftui.core.preset import Preset
from hftui.core.problems import Problem


class Report:
    """Problems of one preset, in the order they are found.

    `for_run`: the preset is about to train, so what must exist by then (a reward model still
    to be trained, say) is an error rather than a warning.
    """

    def __init__(self, preset: Preset, file: str | None, for_run: bool = False):
        self.preset = preset
        self.file = file
        self.for_run = for_run
        self.lines = key_lines(preset.source_text or "")
        self.items: list[Problem] = []

    def add(self, path: str, severity: str, message: str, hint: str = "") -> None:
        line = line_of(self.lines, path) if path else None
        self.items.append(Problem(path, severity, message, hint, line, self.file))

    def error(self, path: str, message: str, hint: str = "") -> None:
        self.add(path, "error", message, hint)

    def warning(self, path: str, message: str, hint: str = "") -> None:
        self.add(path, "warning", message, hint)

    def notice(self, path: str, message: str, hint: str = "") -> None:
        self.add(path, "notice", message, hint)

    def adopt(self, problem: Problem) -> None:
        """A problem found elsewhere, shown with this preset's file name and the key's line."""
        line = problem.line or (line_of(self.lines, problem.path) if problem.path else None)
        self.items.append(replace(problem, file=self.file, line=line))

    def problems(self) -> list[Problem]:
        """Every problem once: two checks may reach the same conclusion."""
        seen = set()
        out = []
        for p in self.items:
            k = (p.path, p.severity, p.message)
            if k not in seen:
                seen.add(k)
                out.append(p)
        return out
