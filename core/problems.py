"""The one shape every check in hftui reports: a problem with a key path and a fix."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from hftui.core.i18n import N_, _

# How each severity is named to a person (the code compares the English word).
SEVERITY_WORDS = {"error": N_("error"), "warning": N_("warning"), "notice": N_("notice")}


@dataclass(frozen=True)
class Problem:
    path: str  # dotted key path in the preset ("args.learning_rate"), "" for the whole file
    severity: str  # "error" | "warning" | "notice"
    message: str
    hint: str = ""
    line: int | None = None
    file: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    @property
    def severity_word(self) -> str:
        """The severity in the reader's language."""
        return _(SEVERITY_WORDS[self.severity]) if self.severity in SEVERITY_WORDS else self.severity

    def where(self) -> str:
        parts = []
        if self.file:
            parts.append(self.file + (f":{self.line}" if self.line else ""))
        if self.path:
            parts.append(self.path)
        return " ".join(parts) if parts else _("(preset)")

    def format(self) -> str:
        text = f"{self.where()}: {self.severity_word}: {self.message}"
        if self.hint:
            text += "\n    " + _("fix: {hint}", hint=self.hint)
        return text


@dataclass
class ProblemList:
    items: list[Problem] = field(default_factory=list)

    def add(self, path: str, severity: str, message: str, hint: str = "", line: int | None = None) -> None:
        self.items.append(Problem(path, severity, message, hint, line))

    def error(self, path: str, message: str, hint: str = "") -> None:
        self.add(path, "error", message, hint)

    def warning(self, path: str, message: str, hint: str = "") -> None:
        self.add(path, "warning", message, hint)

    @property
    def has_errors(self) -> bool:
        return any(p.is_error for p in self.items)


class PresetError(Exception):
    """Raised when a preset cannot be used; carries every problem found, not the first."""

    def __init__(self, problems: list[Problem], file: str | Path | None = None):
        self.problems = list(problems)
        self.file = str(file) if file else None
        super().__init__("\n".join(p.format() for p in self.problems))
