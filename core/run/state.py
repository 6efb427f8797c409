"""What a run looks like right now, folded from its `events.jsonl` (and `run.json`).

The live pane, `hftui attach`, the headless display and `hftui runs` all read the same events;
this module turns them into one small, plain object so that every view agrees. It is pure
(standard library only) and incremental: `apply()` takes the next batch of events, however
many there are, so a reader tails the file by offset and never re-reads it.

Histories are bounded: each series keeps at most ~`SERIES_POINTS` points by thinning itself
(every other point dropped, stride doubled) as it grows, always keeping the newest point, so a
million-event file folds into a few hundred kilobytes.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Iterable

SERIES_POINTS = 2000
EMA_ALPHA = 0.1  # weight of the newest loss in the smoothed curve (an exponential moving average)

# Display statuses, in the words a person sees on the badge.
STATUSES = ("starting", "running", "evaluating", "saving", "stopping", "done", "failed", "stopped")
FINAL_STATUSES = ("done", "failed", "stopped")
_RUN_JSON_STATUS = {"completed": "done", "stopped": "stopped", "failed": "failed",
                    "stopping": "stopping", "running": "running", "starting": "starting"}

# Eval keys that describe the evaluation itself rather than the model's quality.
_EVAL_BOOKKEEPING = ("runtime", "samples_per_second", "steps_per_second", "epoch", "step",
                     "model_preparation_time", "tokens_per_second", "num_tokens")
_LOWER_IS_BETTER = ("loss", "perplexity", "ppl", "wer", "cer", "mse", "mae", "rmse", "error",
                    "ter", "entropy")
# Fields of a log event that are not scalars to plot.
_LOG_SKIP = {"event", "time", "step"}


# How a line written by EventWriter (json.dumps, "event" first) starts, for each kind that
# `apply_lines` may count without parsing; compact separators are accepted too.
_LOG_PREFIXES = (b'{"event": "log",', b'{"event":"log",')
_GPU_PREFIXES = (b'{"event": "gpu",', b'{"event":"gpu",')


def _whole(raw: bytes) -> bool:
    """One complete object on the line (not two glued together by a crash mid-write)."""
    return raw.rstrip().endswith(b"}") and raw.count(b'"event"') == 1


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


def _number(value: Any) -> float | None:
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


class RunState:
    """The folded state of one run. Feed it events with `apply`; read its attributes."""

    def __init__(self, run_info: dict | None = None, series_points: int = SERIES_POINTS):
        self.series_points = series_points
        self.run_id: str | None = None
        self.name: str | None = None
        self.preset: str | None = None
        self.trainer_type: str | None = None
        self.model: str | None = None
        self.device: str | None = None
        self.output_dir: str | None = None
        self.num_processes: int | None = None
        self.trainable_params: int | None = None
        self.total_params: int | None = None

        self.event_status: str = "starting"  # from events alone
        self.info_status: str | None = None  # from run.json
        self.stop_requested = False
        self.phase: str | None = None  # "evaluating" / "saving" while it lasts

        self.step = 0
        self.max_steps: int | None = None
        self.num_train_epochs: float | None = None
        self.epoch: float | None = None
        self.start_time: float | None = None
        self.last_time: float | None = None
        self.end_time: float | None = None
        self.runtime: float | None = None

        self.samples_per_second: float | None = None
        self.tokens_per_second: float | None = None
        self._rate_window: deque[tuple[float, int]] = deque(maxlen=20)  # (time, step) of recent logs

        self.loss = Series(series_points)
        self.learning_rate = Series(series_points)
        self.grad_norm = Series(series_points)
        self._latest_log_event: dict = {}

        self.metrics: dict[str, MetricSummary] = {}
        self.eval_count = 0
        self.checkpoints: deque[tuple[int, str]] = deque(maxlen=200)
        self.checkpoint_count = 0

        self.gpus: dict[int, GpuDevice] = {}
        self.no_gpu = False
        self.gpu_samples = 0

        self.notices: deque[str] = deque(maxlen=50)
        self.ended = False
        self.end_status: str | None = None  # completed / stopped / failed, as the end event says
        self.error: str | None = None
        self.best_metric: float | None = None
        self.best_checkpoint: str | None = None

        self.events_seen = 0
        self.counts: dict[str, int] = {}
        self.bad_lines = 0
        # Which parts changed since the last `take_changes()`: progress, loss, eval, gpu, info.
        self._changes: set[str] = set()
        if run_info:
            self.apply_run_info(run_info)

    # ------------------------------------------------------------------ input

    def apply(self, events: Iterable[dict]) -> int:
        """Fold a batch of events in; returns how many were applied."""
        n = 0
        one = self._apply_one
        for ev in events:
            one(ev)
            n += 1
        return n

    def _apply_one(self, ev: dict) -> None:
        kind = ev.get("event")
        self.events_seen += 1
        self.counts[kind] = self.counts.get(kind, 0) + 1
        t = ev.get("time")
        if isinstance(t, (int, float)):
            self.last_time = t if self.last_time is None or t > self.last_time else self.last_time
        handler = self._handlers.get(kind)
        if handler is not None:
            try:
                handler(self, ev)
            except (TypeError, ValueError, AttributeError, KeyError):
                # A well-formed line with odd content: skip it, count it like a garbled one.
                self.bad_lines += 1

    def apply_lines(self, lines: list[bytes]) -> int:
        """Fold raw events.jsonl lines in; returns how many were garbled (and skipped).

        The same result as parsing every line and calling `apply`, only faster on a long
        history: a `log` or `gpu` line whose points the bounded series would drop anyway is
        counted without being parsed (a log line only when it carries loss, learning rate and
        grad norm, so every series counts it). The last such line of each batch is always
        parsed, so the newest values are exact.
        """
        last_log = last_gpu = -1
        for i in range(len(lines) - 1, -1, -1):
            line = lines[i]
            if last_log < 0 and line.startswith(_LOG_PREFIXES):
                last_log = i
            elif last_gpu < 0 and line.startswith(_GPU_PREFIXES):
                last_gpu = i
            if last_log >= 0 and last_gpu >= 0:
                break
        bad = 0
        loads, one = json.loads, self._apply_one
        log_series = (self.loss, self.learning_rate, self.grad_norm)
        log_budget = gpu_budget = 0  # lines of each kind that may be counted unparsed, in a row
        log_skipped = gpu_skipped = 0
        for i, raw in enumerate(lines):
            if raw.startswith(_LOG_PREFIXES):
                if (log_budget > 0 and i != last_log and b'"loss"' in raw and b'"learning_rate"' in raw
                        and b'"grad_norm"' in raw and _whole(raw)):
                    log_budget -= 1
                    log_skipped += 1
                    continue
                if log_skipped:
                    self._count_skipped("log", log_series, log_skipped)
                    log_skipped = 0
            elif raw.startswith(_GPU_PREFIXES):
                if gpu_budget > 0 and i != last_gpu and _whole(raw):
                    gpu_budget -= 1
                    gpu_skipped += 1
                    continue
                if gpu_skipped:
                    self._count_skipped("gpu", self._gpu_series(), gpu_skipped)
                    gpu_skipped = 0
            elif not raw.strip():
                continue
            try:
                ev = loads(raw)
            except ValueError:
                bad += 1
                continue
            if not isinstance(ev, dict) or "event" not in ev:
                bad += 1
                continue
            one(ev)
            kind = ev["event"]
            if kind == "log":
                log_budget = min(s.to_next() for s in log_series)
            elif kind == "gpu" and self.gpus:
                gpu_budget = min(s.to_next() for s in self._gpu_series())
        if log_skipped:
            self._count_skipped("log", log_series, log_skipped)
        if gpu_skipped:
            self._count_skipped("gpu", self._gpu_series(), gpu_skipped)
        self.bad_lines += bad
        if bad:
            self._changes.add("info")
        return bad

    def _gpu_series(self) -> list[Series]:
        out = []
        for d in self.gpus.values():
            out.append(d.memory)
            out.append(d.utilisation)
        return out

    def _count_skipped(self, kind: str, series: Iterable[Series], n: int) -> None:
        for s in series:
            s.skip(n)
        if kind == "gpu":
            self.gpu_samples += n
        self.events_seen += n
        self.counts[kind] = self.counts.get(kind, 0) + n

    def apply_run_info(self, info: dict) -> None:
        """Take what `run.json` knows: identity, times and, once it ends, the final status."""
        if not isinstance(info, dict):
            return
        self.run_id = info.get("id") or self.run_id
        self.name = info.get("name") or self.name
        self.output_dir = info.get("output_dir") or self.output_dir
        status = _RUN_JSON_STATUS.get(str(info.get("status") or ""))
        if status != self.info_status:
            self.info_status = status
            self._changes.add("progress")
        if info.get("error") and not self.error:
            self.error = str(info["error"])
            self._changes.add("progress")
        for key, attr in (("started", "start_time"), ("ended", "end_time")):
            value = _timestamp(info.get(key))
            if value is not None and getattr(self, attr) is None:
                setattr(self, attr, value)
        if status in ("done", "failed", "stopped") and self.end_time is None:
            self.end_time = _timestamp(info.get("ended"))

    def set_stop_requested(self, requested: bool) -> None:
        if requested != self.stop_requested:
            self.stop_requested = requested
            self._changes.add("progress")

    def restart(self) -> None:
        """A resumed run continues this one: keep the history, forget how it ended."""
        self.ended, self.end_status, self.error, self.phase = False, None, None, None
        self.event_status, self.info_status, self.end_time = "starting", None, None
        self.stop_requested = False
        self._changes.update(("progress", "info"))

    def mark(self, *parts: str) -> None:
        """Ask views to redraw these parts at their next look (e.g. a draw that was put off)."""
        self._changes.update(parts)

    def take_changes(self) -> set[str]:
        """The parts changed since the last call (a view redraws only those)."""
        changes, self._changes = self._changes, set()
        return changes

    # ------------------------------------------------------------------ events

    def _on_start(self, ev: dict) -> None:
        self.event_status = "running"
        t = _number(ev.get("time"))
        if t is not None and (self.start_time is None or self.counts.get("start", 0) <= 1):
            self.start_time = t
        max_steps = _number(ev.get("max_steps"))
        self.max_steps = int(max_steps) if max_steps is not None and max_steps > 0 else self.max_steps
        epochs = _number(ev.get("num_train_epochs"))
        if epochs is not None and epochs > 0:
            self.num_train_epochs = epochs
        for key in ("run_id", "preset", "trainer_type", "model", "device", "output_dir"):
            if ev.get(key) is not None:
                setattr(self, key, str(ev[key]))
        for key in ("num_processes", "trainable_params", "total_params"):
            value = _number(ev.get(key))
            if value is not None:
                setattr(self, key, int(value))
        if self.device and str(self.device).lower().startswith("cpu"):
            self.no_gpu = True
        step = int(ev.get("step") or 0)
        self.step = max(self.step, step)
        # A resumed run starts again at its checkpoint's step: the rate window restarts.
        self._rate_window.clear()
        if t is not None:
            self._rate_window.append((t, step))
        self.ended, self.end_status, self.phase = False, None, None
        self._changes.update(("progress", "info"))

    def _on_log(self, ev: dict) -> None:
        step = int(ev.get("step") or 0)
        self._advance(step, ev)
        loss = _number(ev.get("loss"))
        if loss is not None:
            self.loss.add(step, loss)
            self._changes.add("loss")
        lr = _number(ev.get("learning_rate"))
        if lr is not None:
            self.learning_rate.add(step, lr)
            self._changes.add("loss")
        gn = _number(ev.get("grad_norm"))
        if gn is not None:
            self.grad_norm.add(step, gn)
        self._latest_log_event = ev
        get = ev.get
        sps = get("samples_per_second", get("train_samples_per_second"))
        if sps is not None:
            self.samples_per_second = _number(sps) or self.samples_per_second
        tps = get("tokens_per_second", get("train_tokens_per_second"))
        if tps is not None:
            self.tokens_per_second = _number(tps) or self.tokens_per_second
        runtime = get("train_runtime")
        if runtime is not None:
            self.runtime = _number(runtime)
        if self.phase is not None:
            self.phase = None
        self._changes.add("progress")

    def _on_eval(self, ev: dict) -> None:
        step = int(ev.get("step") or 0)
        self._advance(step, ev)
        self.eval_count += 1
        for key, value in ev.items():
            if key in _LOG_SKIP:
                continue
            bare = metric_label(key)
            if bare in _EVAL_BOOKKEEPING or key in _EVAL_BOOKKEEPING:
                continue
            num = _number(value)
            if num is None:
                continue
            summary = self.metrics.get(key)
            if summary is None:
                summary = self.metrics[key] = MetricSummary(
                    key, lower_is_better(key), history=Series(self.series_points))
            summary.add(step, num)
        self.phase = None
        self._changes.update(("eval", "progress"))

    def _on_checkpoint(self, ev: dict) -> None:
        step = int(ev.get("step") or 0)
        self._advance(step, ev)
        self.checkpoints.append((step, str(ev.get("path") or "")))
        self.checkpoint_count += 1
        self.phase = None
        self._changes.update(("progress", "info"))

    def _on_gpu(self, ev: dict) -> None:
        devices = ev.get("devices") or []
        t = _number(ev.get("time"))
        x = (t - self.start_time) if (t is not None and self.start_time is not None) else float(self.gpu_samples)
        self.gpu_samples += 1
        for d in devices:
            if not isinstance(d, dict):
                continue
            index = int(d.get("index", 0) or 0)
            dev = self.gpus.get(index)
            if dev is None:
                dev = self.gpus[index] = GpuDevice(index, memory=Series(self.series_points),
                                                   utilisation=Series(self.series_points))
            dev.name = str(d.get("name") or dev.name)
            used, total, util = _number(d.get("used")), _number(d.get("total")), _number(d.get("util"))
            if used is not None:
                dev.used = used
                dev.memory.add(x, used)
            if total is not None:
                dev.total = total
            if util is not None:
                dev.util = util
                dev.utilisation.add(x, util)
        if self.gpus:
            self.no_gpu = False
        self._changes.add("gpu")

    def _on_notice(self, ev: dict) -> None:
        message = str(ev.get("message") or "").strip()
        phase = ev.get("phase")
        if phase in ("evaluating", "saving"):
            self.phase = phase
            self._changes.add("progress")
        if message:
            self.notices.append(message)
            if message.lower().startswith("no gpu") and not self.gpus:
                self.no_gpu = True
                self._changes.add("gpu")
            self._changes.add("info")

    def _on_end(self, ev: dict) -> None:
        self.ended = True
        self.phase = None
        status = str(ev.get("status") or "completed")
        self.end_status = status
        self.event_status = _RUN_JSON_STATUS.get(status, "failed" if ev.get("error") else "done")
        if ev.get("error"):
            self.error = str(ev["error"])
        step = ev.get("step")
        if isinstance(step, (int, float)) and step > self.step:
            self.step = int(step)
        for key in ("best_metric",):
            value = _number(ev.get(key))
            if value is not None:
                self.best_metric = value
        if ev.get("best_checkpoint"):
            self.best_checkpoint = str(ev["best_checkpoint"])
        if ev.get("output_dir"):
            self.output_dir = str(ev["output_dir"])
        runtime = _number(ev.get("runtime"))
        if runtime is not None:
            self.runtime = runtime
        t = _number(ev.get("time"))
        if t is not None:
            self.end_time = t
        self._changes.update(("progress", "info"))

    _handlers = {
        "start": _on_start, "log": _on_log, "eval": _on_eval, "checkpoint": _on_checkpoint,
        "gpu": _on_gpu, "notice": _on_notice, "end": _on_end,
    }

    def _advance(self, step: int, ev: dict) -> None:
        if step > self.step:
            self.step = step
        epoch = _number(ev.get("epoch"))
        if epoch is not None:
            self.epoch = epoch
        if self.event_status == "starting":
            self.event_status = "running"
        t = _number(ev.get("time"))
        if t is not None and ev.get("event") == "log" and step > 0:
            if not self._rate_window or step > self._rate_window[-1][1]:
                self._rate_window.append((t, step))

    # ------------------------------------------------------------------ derived

    @property
    def status(self) -> str:
        """The badge: the end event or run.json's final word, else what the events show."""
        if self.ended:
            return self.event_status
        if self.info_status in FINAL_STATUSES:
            return self.info_status  # the process ended without writing an end event
        if self.stop_requested or self.info_status == "stopping":
            return "stopping"
        if self.phase:
            return self.phase
        if self.event_status == "starting" and self.info_status == "running" and self.events_seen:
            return "running"
        return self.event_status

    @property
    def finished(self) -> bool:
        return self.status in FINAL_STATUSES

    def elapsed(self, now: float | None = None) -> float | None:
        """Seconds since the start; frozen at the end for a finished run."""
        if self.start_time is None:
            return None
        if self.finished:
            end = self.end_time or self.last_time
            if self.runtime is not None and end is None:
                return self.runtime
            return max(0.0, (end or self.start_time) - self.start_time)
        return max(0.0, (now if now is not None else time.time()) - self.start_time)

    @property
    def steps_per_second(self) -> float | None:
        if len(self._rate_window) < 2:
            return None
        (t0, s0), (t1, s1) = self._rate_window[0], self._rate_window[-1]
        if t1 <= t0 or s1 <= s0:
            return None
        return (s1 - s0) / (t1 - t0)

    @property
    def progress(self) -> float | None:
        """0..1, by steps when max_steps is known, else by epochs."""
        if self.max_steps:
            return max(0.0, min(1.0, self.step / self.max_steps))
        if self.num_train_epochs and self.epoch is not None:
            return max(0.0, min(1.0, self.epoch / self.num_train_epochs))
        return None

    def eta(self, now: float | None = None) -> float | None:
        """Seconds left, from the recent step rate; None when unknown or finished."""
        if self.finished:
            return None
        rate = self.steps_per_second
        if self.max_steps and rate:
            left = max(0, self.max_steps - self.step) / rate
            if self.last_time is not None and now is not None:
                left = max(0.0, left - max(0.0, now - self.last_time))
            return left
        frac = self.progress
        elapsed = self.elapsed(now)
        if frac and elapsed and 0 < frac < 1:
            return elapsed * (1 - frac) / frac
        return None

    def throughput(self) -> tuple[float, str] | None:
        """The most telling rate available: tokens/s, else samples/s, else steps/s."""
        if self.tokens_per_second:
            return self.tokens_per_second, "tokens/s"
        if self.samples_per_second:
            return self.samples_per_second, "samples/s"
        rate = self.steps_per_second
        if rate:
            return rate, "steps/s"
        return None

    @property
    def latest_log(self) -> dict[str, float]:
        """Every scalar of the newest log event (loss, learning_rate, grad_norm, ...)."""
        out = {}
        for key, value in self._latest_log_event.items():
            if key not in _LOG_SKIP:
                num = _number(value)
                if num is not None:
                    out[key] = num
        return out

    def smoothed_loss(self) -> tuple[list[float], list[float]]:
        """The loss curve smoothed by an exponential moving average, over the kept points.

        Like TensorBoard, the smoothing runs over the points drawn; its weight is scaled by
        the thinning stride so that it spans the same number of steps however long the run.
        Seeded with the first loss, so the smoothed curve starts where the raw one does.
        """
        xs, ys = self.loss.points()
        alpha = 1 - (1 - EMA_ALPHA) ** self.loss.stride
        out_x, out_y, ema = [], [], None
        for x, y in zip(xs, ys):
            if not math.isfinite(y):
                continue
            ema = y if ema is None else ema * (1 - alpha) + y * alpha
            out_x.append(x)
            out_y.append(ema)
        return out_x, out_y

    @property
    def latest_loss(self) -> float | None:
        return self.loss.last[1] if self.loss.last else None

    @property
    def latest_checkpoint(self) -> str | None:
        return self.checkpoints[-1][1] if self.checkpoints else None

    def summary(self) -> dict:
        """A plain dict of the headline figures (for `hftui runs`, reports and tests)."""
        return {
            "status": self.status,
            "step": self.step,
            "max_steps": self.max_steps,
            "epoch": self.epoch,
            "loss": self.latest_loss,
            "metrics": {k: {"latest": m.latest, "best": m.best, "best_step": m.best_step}
                        for k, m in self.metrics.items()},
            "checkpoints": self.checkpoint_count,
            "error": self.error,
            "events": self.events_seen,
            "bad_lines": self.bad_lines,
        }


def _timestamp(value: Any) -> float | None:
    """run.json times may be unix seconds or ISO 8601 strings."""
    num = _number(value)
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


class EventLines:
    """Follow events.jsonl by byte offset, handing out whole raw lines for `apply_lines`.

    The same contract as `core.events.EventTail` (a partial last line waits for its newline;
    a file that shrank is read again from the start; a missing file is reported, not raised),
    but the lines are left unparsed so that `RunState.apply_lines` parses only those it needs.
    """

    def __init__(self, path: str | Path, offset: int = 0):
        self.path = Path(path)
        self.offset = offset
        self._partial = b""
        self.missing = False

    def read(self, max_bytes: int | None = None) -> list[bytes]:
        """The next complete lines (at most about `max_bytes` read); [] when there is nothing new."""
        try:
            with open(self.path, "rb") as fh:
                size = os.fstat(fh.fileno()).st_size
                if size < self.offset:
                    self.offset, self._partial = 0, b""
                fh.seek(self.offset)
                chunk = fh.read() if max_bytes is None else fh.read(max_bytes)
        except OSError:
            self.missing = True
            return []
        self.missing = False
        if not chunk:
            return []
        self.offset += len(chunk)
        lines = (self._partial + chunk).split(b"\n")
        self._partial = lines.pop()
        return lines


def fold_file(path: str | Path, run_info: dict | None = None, chunk_bytes: int = 1 << 20) -> RunState:
    """A RunState from a whole events file, read in bounded chunks (post-mortems, benchmarks)."""
    state, tail = RunState(run_info), EventLines(path)
    while True:
        before = tail.offset
        state.apply_lines(tail.read(chunk_bytes))
        if tail.offset - before < chunk_bytes:
            return state


def fold(events: Iterable[dict], run_info: dict | None = None) -> RunState:
    """A RunState from a whole list of events (tests, post-mortems)."""
    state = RunState(run_info)
    state.apply(events)
    return state


def fmt_duration(seconds: float | None) -> str:
    """`1h02m`, `3m05s`, `12s`; `—` when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return "—"
    seconds = int(round(max(0.0, seconds)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    if h:
        return f"{h}h{m:02d}m"
    if m:
        return f"{m}m{s:02d}s"
    return f"{s}s"


def fmt_bytes(value: float | None) -> str:
    if value is None:
        return "—"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.1f} {unit}" if unit != "B" else f"{int(value)} B"
        value /= 1024
    return f"{value:.1f} TiB"


def fmt_number(value: float | None) -> str:
    """Compact, readable numbers for losses, rates and learning rates."""
    if value is None:
        return "—"
    if not math.isfinite(value):
        return str(value)
    if value == 0:
        return "0"
    mag = abs(value)
    if mag >= 1e5 or mag < 1e-3:
        return f"{value:.3g}"
    if mag >= 100:
        return f"{value:.1f}"
    return f"{value:.4g}"
