"""What the wizard screen draws, as one immutable value the app hands down after every change.

The app owns the preset, the hardware and the validation; the screen only reads this snapshot
and asks for changes with messages, so neither needs to know the other's methods.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

from hftui.core.doctor import precision_default
from hftui.core.i18n import _
from hftui.core.launch import auto_rule_summary
from hftui.core.options.steps import step_of
from hftui.core.preset import Preset
from hftui.core.problems import Problem

SEVERITY_ORDER = {"error": 0, "warning": 1, "notice": 2}
HARDWARE_NOTES = ("precision", "distribution")


@dataclass(frozen=True, eq=False)
class WizardState:
    """eq=False: a new state is always news; the screen compares the parts it cares about."""

    preset: Preset
    catalog: Any = None  # the option catalog of the preset's trainer type; None until read
    field_errors: dict[str, str] = field(default_factory=dict)  # typed text that is not a value
    problems: tuple[Problem, ...] = ()  # from core validation
    validated: bool = False
    dirty: bool = False
    shipped: bool = False
    notes: dict[str, str] = field(default_factory=dict)  # hardware advice per step
    taken: dict[str, int] = field(default_factory=dict)  # per key, the serial of the last field change taken in

    def step_of(self, path: str) -> str:
        return step_of(path, self.catalog)

    def all_problems(self) -> list[tuple[Problem, str]]:
        """(problem, step): invalid typed values first, then core validation, errors before warnings."""
        typed = [Problem(path, "error", message, _("fix the value in the field")) for path, message in self.field_errors.items()]
        rest = sorted(self.problems, key=lambda p: SEVERITY_ORDER.get(p.severity, 3))
        return [(p, self.step_of(p.path)) for p in typed + rest]

    def step_state(self, step: str, visited: bool) -> str:
        """untouched | ok | warning | error, as the sidebar marks the step."""
        severities = {p.severity for p, s in self.all_problems() if s == step}
        if "error" in severities:
            return "error"
        if "warning" in severities:
            return "warning"
        if step == "review":
            return "ok" if visited and self.validated else "untouched"
        touched = visited or any(self.step_of(path) == step for path in leaf_paths(self.preset.data))
        return "ok" if touched else "untouched"


def leaf_paths(data: dict, prefix: str = "") -> Iterator[str]:
    """Every key's dotted path; a data_files table is one option, not a section."""
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and key != "data_files":
            yield from leaf_paths(value, path + ".")
        else:
            yield path


def hardware_note(kind: str, gpus: list | None) -> str:
    """This machine's advice for the precision or distribution step (None: still detecting)."""
    if gpus is None:
        return _("Detecting GPUs…")
    if kind == "precision":
        if not gpus:
            return _("This machine: no GPU. Training runs on the CPU in fp32 (bf16 and fp16 stay off).")
        g = gpus[0]
        cc = ".".join(str(x) for x in g.compute_capability) if g.compute_capability else _("unknown")
        if precision_default(gpus)[0] == "bf16":
            return _("This machine: {n}× {gpu} (compute capability {cc} ≥ 8.0): bf16 recommended.", n=len(gpus), gpu=g.name, cc=cc)
        return _("This machine: {n}× {gpu} (compute capability {cc} < 8.0, no bf16): fp16 recommended.", n=len(gpus), gpu=g.name, cc=cc)
    n = len(gpus)
    rule = auto_rule_summary(n)
    if n == 0:
        return _("This machine: no GPU. {rule}.", rule=rule)
    if n == 1:
        return _("This machine: 1 GPU. {rule}.", rule=rule)
    return _("This machine: {n} GPUs. {rule}.", n=n, rule=rule)
