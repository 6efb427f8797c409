"""The one shape every check in hftui reports: a problem with a key path and a fix."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


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

    def where(self) -> str:
        parts = []
        if self.file:
            parts.append(self.file + (f":{self.line}" if self.line else ""))
        if self.path:
            parts.append(self.path)
        return " ".join(parts) if parts else "(preset)"

    def format(self) -> str:
        text = f"{self.where()}: {self.severity}: {self.message}"
        if self.hint:
            text += f"\n    fix: {self.hint}"
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
