"""Comparing runs: the preset keys that differ once defaults are applied, the metrics, speed and
time side by side with the best of each row, and the environments' differences.

The presets compared are the runs' resolved presets (`RUN_DIR/preset.toml`); the defaults are
those of hftui's own sections and, for `[args]`, of the installed config class (the catalog).
Keys that only say where a run writes or what it is called differ between any two runs and are
left out (`PLACE_KEYS`): the runs' names and folders head the comparison instead.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from typing import Any

from hftui.core import preset as preset_mod
from hftui.core.i18n import _
from hftui.core.options.catalog import get_catalog
from hftui.core.options.sections import SECTION_FIELDS
from hftui.core.problems import PresetError
from hftui.core.run import env_facts, environment
from hftui.core.run.events import EventTail
from hftui.core.run.record import RunRecord
from hftui.core.run.series import as_number, lower_is_better, metric_label
from hftui.core.run.state import RunState

# Where a run writes and what it is called: different for any two runs, so never "a difference".
PLACE_KEYS = ("name", "description", "args.output_dir", "args.logging_dir", "args.run_name")
# Sections whose presence switches something on: their defaults apply only where a preset has them.
SWITCH_SECTIONS = ("model.scratch", "peft", "ppo", "grpo")
UNSET = object()  # a key one run has and another has not
LOWER, HIGHER = "lower", "higher"
_CHUNK = 8 << 20


class CompareError(ValueError):
    """A run that cannot be compared (its resolved preset is gone or unreadable)."""


@dataclass
class ComparedRun:
    record: RunRecord
    values: dict[str, tuple[Any, bool]]  # preset key -> (value, whether it is the default)
    state: RunState  # the folded events: curves, metrics, steps
    end: dict = field(default_factory=dict)  # the last `end` event
    tokens_per_second: float | None = None  # mean of the logged values
    environment: dict | None = None


@dataclass(frozen=True)
class Row:
    key: str  # stable name for scripts: final_loss, best_eval_accuracy, tokens_per_second, ...
    label: str
    values: list[float | None]
    better: str | None  # LOWER | HIGHER | None (no better way: steps)

    @property
    def best(self) -> list[int]:
        """The indices of the best value (all of them on a tie); none with fewer than two values."""
        known = [(i, v) for i, v in enumerate(self.values) if v is not None]
        if self.better is None or len(known) < 2:
            return []
        pick = min if self.better == LOWER else max
        top = pick(v for _i, v in known)
        return [i for i, v in known if v == top]


@dataclass
class Comparison:
    runs: list[ComparedRun]
    keys: list[tuple[str, list[Any]]]  # (preset key, one value per run; UNSET where a run has none)
    rows: list[Row]
    environment: list[tuple[str, list[str]]]  # (fact, one value per run)

    @property
    def without_environment(self) -> list[ComparedRun]:
        return [r for r in self.runs if r.environment is None]

    def to_json(self) -> dict:
        return {
            "runs": [{"id": r.record.id, "name": r.record.name, "status": r.record.status,
                      "run_dir": str(r.record.run_dir), "output_dir": r.record.output_dir,
                      "environment_recorded": r.environment is not None} for r in self.runs],
            # values: null where a run has no such key; from_default: the run left the key to its default
            "differing_keys": [{"key": k, "values": [None if v is UNSET else v for v in values],
                                "from_default": [bool(k in r.values and r.values[k][1]) for r in self.runs]}
                               for k, values in self.keys],
            "metrics": [{"key": row.key, "label": row.label, "values": [_json_number(v) for v in row.values],
                         "better": row.better, "best": row.best} for row in self.rows],
            "environment_differences": [{"fact": fact, "values": values} for fact, values in self.environment],
        }


def _json_number(value: float | None) -> float | str | None:
    """JSON has no NaN or infinity: those are written as the strings "nan", "inf", "-inf"."""
    if value is None or math.isfinite(value):
        return value
    return str(value)


# -- preset values ----------------------------------------------------------------------------
def effective_values(preset) -> dict[str, tuple[Any, bool]]:
    """Every preset key with its value, `(value, from_default)`: what the preset sets, then the
    default of each key it leaves out (hftui's sections; `[args]` from the installed catalog)."""
    out: dict[str, tuple[Any, bool]] = {}
    for key, value in preset.data.items():
        if isinstance(value, dict) and (key in SECTION_FIELDS or key == "args"):
            for name, inner in value.items():
                path = f"{key}.{name}"
                if isinstance(inner, dict) and path in SECTION_FIELDS:
                    out.update({f"{path}.{k}": (v, False) for k, v in inner.items()})
                else:
                    out[path] = (inner, False)
        else:
            out[key] = (value, False)
    for section, fields in SECTION_FIELDS.items():
        if section in SWITCH_SECTIONS and not isinstance(preset.get(section), dict):
            continue
        for name, f in fields.items():
            out.setdefault(f"{section}.{name}", (f.default, True))
    try:
        catalog = get_catalog(preset.trainer_type, preset.task)
    except (ImportError, KeyError):  # a trainer type this installation lacks: what the preset sets
        catalog = None
    for name, f in (catalog.args.items() if catalog else ()):
        out.setdefault(f"args.{name}", (f.default, True))
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)  # 1 and 1.0 are one value
    return value


def same_value(a: Any, b: Any) -> bool:
    if a is UNSET or b is UNSET:
        return a is b
    return json.dumps(_plain(a), sort_keys=True, default=str) == json.dumps(_plain(b), sort_keys=True, default=str)


def differing_keys(runs: list[ComparedRun]) -> list[tuple[str, list[Any]]]:
    keys: list[str] = []
    for r in runs:
        keys.extend(k for k in r.values if k not in keys and k not in PLACE_KEYS)
    out = []
    for key in sorted(keys):
        values = [r.values[key][0] if key in r.values else UNSET for r in runs]
        if any(not same_value(values[0], v) for v in values[1:]):
            out.append((key, values))
    return out


# -- figures from the events ------------------------------------------------------------------
def fold_events(record: RunRecord) -> tuple[RunState, dict, float | None]:
    """The run's folded state, its last `end` event and its mean logged tokens/s, read once in
    bounded chunks (a long run's file is never held in memory whole)."""
    state = RunState(record.to_dict())
    tail = EventTail(record.events_path)
    end: dict = {}
    tokens: list[float] = []
    while True:
        lines = tail.read_lines(_CHUNK)
        if not lines:
            try:
                if tail.offset >= os.path.getsize(record.events_path):
                    break
            except OSError:
                break
            continue
        for raw in lines:
            if not raw.strip():
                continue
            try:
                ev = json.loads(raw)
            except ValueError:
                state.bad_lines += 1
                continue
            if not isinstance(ev, dict) or "event" not in ev:
                state.bad_lines += 1
                continue
            state.apply((ev,))
            if ev["event"] == "end":
                end = ev
            elif ev["event"] == "log":
                tps = as_number(ev.get("tokens_per_second"))
                if tps is not None and ev.get("tokens_estimated") is not True:  # counted tokens only
                    tokens.append(tps)
    return state, end, (sum(tokens) / len(tokens) if tokens else None)


def load_run(record: RunRecord) -> ComparedRun:
    """Everything compared of one run; CompareError when its resolved preset cannot be read."""
    try:
        preset = preset_mod.load(record.preset_file, migrate=True)
    except PresetError as exc:
        reason = "; ".join(p.message for p in exc.problems) or _("cannot be read")
        raise CompareError(_("run {id}: its preset {file}: {reason}", id=record.id, file=record.preset_file,
                             reason=reason)) from None
    except OSError as exc:
        raise CompareError(_("run {id}: its preset {file}: {reason}", id=record.id, file=record.preset_file,
                             reason=exc.strerror or exc)) from None
    state, end, tokens = fold_events(record)
    return ComparedRun(record, effective_values(preset), state, end, tokens, environment.read(record.run_dir))


def _runtime(r: ComparedRun) -> float | None:
    for value in (r.end.get("train_runtime"), r.state.runtime):
        num = as_number(value)
        if num is not None:
            return num
    rec = r.record
    return (rec.ended - rec.started) if rec.started and rec.ended else None


def metric_rows(runs: list[ComparedRun]) -> list[Row]:
    rows = [Row("final_loss", _("final loss"), [r.state.latest_loss for r in runs], LOWER),
            Row("train_loss", _("mean train loss"), [as_number(r.end.get("train_loss")) for r in runs], LOWER)]
    keys: list[str] = []
    for r in runs:
        keys.extend(k for k in r.state.metrics if k not in keys)
    for key in keys:
        better = LOWER if lower_is_better(key) else HIGHER
        label = metric_label(key)
        found = [r.state.metrics.get(key) for r in runs]
        rows.append(Row(f"final_eval_{label}", _("final eval {metric}", metric=label),
                        [m.latest if m else None for m in found], better))
        rows.append(Row(f"best_eval_{label}", _("best eval {metric}", metric=label),
                        [m.best if m else None for m in found], better))
    rows += [
        Row("steps", _("steps"), [float(r.state.step) for r in runs], None),
        Row("runtime", _("runtime (s)"), [_runtime(r) for r in runs], LOWER),
        Row("tokens_per_second", _("tokens/s"), [r.tokens_per_second for r in runs], HIGHER),
        Row("samples_per_second", _("samples/s"), [as_number(r.end.get("train_samples_per_second")) for r in runs], HIGHER),
    ]
    return [row for row in rows if any(v is not None for v in row.values)]


def compare(records: list[RunRecord]) -> Comparison:
    """The comparison of these runs, in this order (CompareError for a run that cannot be read)."""
    runs = [load_run(r) for r in records]
    return Comparison(runs, differing_keys(runs), metric_rows(runs),
                      env_facts.differing([r.environment for r in runs]))
