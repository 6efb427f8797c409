"""Bounded histories and metric summaries: what a run's curves and tables are drawn from.

A series keeps at most ~`SERIES_POINTS` points by thinning itself (every other point dropped,
stride doubled) as it grows, always keeping the newest point, so a million-event run folds into
a few hundred kilobytes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

SERIES_POINTS = 2000
# The log keys that carry a run's reward, first found wins: GRPO/RLOO's mean reward, DPO's margin
# between the chosen and the rejected answer, PPO's reward-model score.
REWARD_KEYS = ("reward", "rewards/margins", "objective/scores")
_LOWER_IS_BETTER = ("loss", "perplexity", "ppl", "wer", "cer", "mse", "mae", "rmse", "error",
                    "ter", "entropy")


def lower_is_better(metric: str) -> bool:
    """Loss-like metrics improve downwards; accuracy-like ones upwards."""
    name = metric.lower()
    if name.startswith("eval_"):
        name = name[5:]
    if "loss" in name:
        return True
    return any(part in _LOWER_IS_BETTER for part in name.replace("-", "_").split("_"))


def metric_label(key: str) -> str:
    """`eval_accuracy` -> `accuracy` (the Trainer's prefix is noise on screen)."""
    return key[5:] if key.startswith("eval_") else key


def as_number(value: Any) -> float | None:
    """A float from an event field (None for anything that is not a number)."""
    kind = type(value)
    if kind is float:
        return value
    if kind is int:
        return float(value)
    if value is None or kind is bool:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def as_timestamp(value: Any) -> float | None:
    """run.json times may be unix seconds or ISO 8601 strings."""
    num = as_number(value)
    if num is not None:
        return num
    if isinstance(value, str) and value:
        from datetime import datetime

        try:
            dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return dt.timestamp()
    return None


class Series:
    """An (x, y) history bounded to about `limit` points, thinned evenly as it grows."""

    __slots__ = ("limit", "xs", "ys", "_stride", "_seen", "last", "count")

    def __init__(self, limit: int = SERIES_POINTS):
        self.limit = max(4, int(limit))
        self.xs: list[float] = []
        self.ys: list[float] = []
        self._stride = 1
        self._seen = 0
        self.last: tuple[float, float] | None = None
        self.count = 0  # every point ever added, kept or not

    def add(self, x: float, y: float) -> None:
        self.count += 1
        self.last = (x, y)
        if self._seen % self._stride == 0:
            self.xs.append(x)
            self.ys.append(y)
            if len(self.xs) >= self.limit:
                del self.xs[1::2]
                del self.ys[1::2]
                self._stride *= 2
        self._seen += 1

    def to_next(self) -> int:
        """How many coming points would be dropped before the next kept one."""
        return -self._seen % self._stride

    def skip(self, n: int = 1) -> None:
        """Count `n` points that would not be kept anyway (see `to_next`)."""
        self.count += n
        self._seen += n

    @property
    def stride(self) -> int:
        """How many points each kept one stands for, now."""
        return self._stride

    def points(self) -> tuple[list[float], list[float]]:
        """The kept points plus the newest one (so a curve always ends where the run is)."""
        xs, ys = list(self.xs), list(self.ys)
        if self.last is not None and (not xs or xs[-1] != self.last[0] or ys[-1] != self.last[1]):
            xs.append(self.last[0])
            ys.append(self.last[1])
        return xs, ys

    def __len__(self) -> int:
        return len(self.xs)

    def __bool__(self) -> bool:
        return self.count > 0


@dataclass
class MetricSummary:
    key: str
    lower_is_better: bool
    latest: float | None = None
    latest_step: int | None = None
    best: float | None = None
    best_step: int | None = None
    history: Series = field(default_factory=Series)

    @property
    def label(self) -> str:
        return metric_label(self.key)

    def add(self, step: int, value: float) -> None:
        self.latest, self.latest_step = value, step
        self.history.add(step, value)
        if not math.isfinite(value):
            return
        if self.best is None or (value < self.best if self.lower_is_better else value > self.best):
            self.best, self.best_step = value, step


@dataclass
class GpuDevice:
    index: int
    name: str = ""
    used: float | None = None  # bytes
    total: float | None = None  # bytes
    util: float | None = None  # percent
    memory: Series = field(default_factory=lambda: Series(SERIES_POINTS))  # used bytes over time
    utilisation: Series = field(default_factory=lambda: Series(SERIES_POINTS))

    @property
    def memory_fraction(self) -> float | None:
        if self.used is None or not self.total:
            return None
        return max(0.0, min(1.0, self.used / self.total))
