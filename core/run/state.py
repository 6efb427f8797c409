"""The fold of a run's `events.jsonl` (and `run.json`) into one small, plain object.

The live pane, `hftui attach`, the headless display and `hftui runs` all read the same events;
this module turns them into a `RunState` so that every view agrees. It is pure (standard
library only) and incremental: `apply()` takes the next batch of events, however many there
are, so a reader tails the file by offset and never re-reads it (see `core.run.follow`).
"""

from __future__ import annotations

import json
from typing import Iterable

from hftui.core.run.events import DOWNLOAD_RUNNING, DOWNLOADED, DOWNLOADING, GPU_PREFIXES, LOG_PREFIXES, whole_line
from hftui.core.run.figures import LOG_SKIP, PHASES, RunFigures
from hftui.core.run.folder import ACTIVE_STATUSES, COMPLETED, FAILED, FINAL_STATUSES, RUNNING, STARTING
from hftui.core.run.series import (
    REWARD_KEYS,
    SERIES_POINTS,
    GpuDevice,
    MetricSummary,
    Series,
    as_number,
    as_timestamp,
    lower_is_better,
    metric_label,
)

_RUN_STATUSES = ACTIVE_STATUSES + FINAL_STATUSES
# Eval keys that describe the evaluation itself rather than the model's quality.
_EVAL_BOOKKEEPING = ("runtime", "samples_per_second", "steps_per_second", "epoch", "step",
                     "model_preparation_time", "tokens_per_second", "num_tokens")

# A log line holding one of these is always parsed: its reward has a series of its own.
_REWARD_MARKS = tuple(f'"{k}"'.encode() for k in REWARD_KEYS)


class RunState(RunFigures):
    """The folded state of one run. Feed it events with `apply`; read its figures."""

    _download_running = False  # the newest notice is a download's progress (the next replaces it)

    def __init__(self, run_info: dict | None = None, series_points: int = SERIES_POINTS):
        super().__init__(series_points)
        # Which parts changed since the last `take_changes()`: progress, loss, eval, gpu, info.
        self._changes: set[str] = set()
        if run_info:
            self.apply_run_info(run_info)

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
            if last_log < 0 and line.startswith(LOG_PREFIXES):
                last_log = i
            elif last_gpu < 0 and line.startswith(GPU_PREFIXES):
                last_gpu = i
            if last_log >= 0 and last_gpu >= 0:
                break
        bad = 0
        loads, one = json.loads, self._apply_one
        log_series = (self.loss, self.learning_rate, self.grad_norm)
        log_budget = gpu_budget = 0  # lines of each kind that may be counted unparsed, in a row
        log_skipped = gpu_skipped = 0
        for i, raw in enumerate(lines):
            if raw.startswith(LOG_PREFIXES):
                if (log_budget > 0 and i != last_log and b'"loss"' in raw and b'"learning_rate"' in raw
                        and b'"grad_norm"' in raw and not any(m in raw for m in _REWARD_MARKS) and whole_line(raw)):
                    log_budget -= 1
                    log_skipped += 1
                    continue
                if log_skipped:
                    self._count_skipped("log", log_series, log_skipped)
                    log_skipped = 0
            elif raw.startswith(GPU_PREFIXES):
                if gpu_budget > 0 and i != last_gpu and whole_line(raw):
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
        status = str(info.get("status") or "")
        status = status if status in _RUN_STATUSES else None
        if status != self.info_status:
            self.info_status = status
            self._changes.add("progress")
        if info.get("error") and not self.error:
            self.error = str(info["error"])
            self._changes.add("progress")
        for key, attr in (("started", "start_time"), ("ended", "end_time")):
            value = as_timestamp(info.get(key))
            if value is not None and getattr(self, attr) is None:
                setattr(self, attr, value)
        if status in FINAL_STATUSES and self.end_time is None:
            self.end_time = as_timestamp(info.get("ended"))

    def set_stop_requested(self, requested: bool) -> None:
        if requested != self.stop_requested:
            self.stop_requested = requested
            self._changes.add("progress")

    def restart(self) -> None:
        """A resumed run continues this one: keep the history, forget how it ended."""
        self.ended, self.end_status, self.error, self.phase = False, None, None, None
        self.event_status, self.info_status, self.end_time = STARTING, None, None
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
        self.event_status = RUNNING
        t = as_number(ev.get("time"))
        if t is not None and (self.start_time is None or self.counts.get("start", 0) <= 1):
            self.start_time = t
        max_steps = as_number(ev.get("max_steps"))
        self.max_steps = int(max_steps) if max_steps is not None and max_steps > 0 else self.max_steps
        epochs = as_number(ev.get("num_train_epochs"))
        if epochs is not None and epochs > 0:
            self.num_train_epochs = epochs
        for key in ("run_id", "preset", "trainer_type", "model", "device", "output_dir"):
            if ev.get(key) is not None:
                setattr(self, key, str(ev[key]))
        for key in ("num_processes", "trainable_params", "total_params"):
            value = as_number(ev.get(key))
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
        self.segment_time, self.segment_step, self.segment_progress = t, step, self.progress
        self._keep_checkpoints(ev.get("kept"), None)
        self.ended, self.end_status, self.phase = False, None, None
        self._changes.update(("progress", "info"))

    def _on_log(self, ev: dict) -> None:
        step = int(ev.get("step") or 0)
        self._advance(step, ev)
        loss = as_number(ev.get("loss"))
        if loss is not None:
            self.loss.add(step, loss)
            self._changes.add("loss")
        lr = as_number(ev.get("learning_rate"))
        if lr is not None:
            self.learning_rate.add(step, lr)
            self._changes.add("loss")
        gn = as_number(ev.get("grad_norm"))
        if gn is not None:
            self.grad_norm.add(step, gn)
        for key in REWARD_KEYS:
            reward = as_number(ev.get(key))
            if reward is not None:
                self.reward.add(step, reward)
                self.reward_key = self.reward_key or key
                self._changes.add("loss")
                break
        self._latest_log_event = ev
        get = ev.get
        sps = get("samples_per_second", get("train_samples_per_second"))
        if sps is not None:
            self.samples_per_second = as_number(sps) or self.samples_per_second
        tps = get("tokens_per_second", get("train_tokens_per_second"))
        if tps is not None:
            self.tokens_per_second = as_number(tps) or self.tokens_per_second
            self.tokens_estimated = get("tokens_estimated") is True
        mfu = as_number(get("mfu"))
        if mfu is not None and mfu > 0:
            self.mfu = mfu
        runtime = get("train_runtime")
        if runtime is not None:
            self.runtime = as_number(runtime)
        if self.phase is not None:
            self.phase = None
        self._changes.add("progress")

    def _on_eval(self, ev: dict) -> None:
        step = int(ev.get("step") or 0)
        self._advance(step, ev)
        self.eval_count += 1
        for key, value in ev.items():
            if key in LOG_SKIP:
                continue
            bare = metric_label(key)
            if bare in _EVAL_BOOKKEEPING or key in _EVAL_BOOKKEEPING:
                continue
            num = as_number(value)
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
        self._keep_checkpoints(ev.get("kept"), step)
        self.phase = None
        self._changes.update(("progress", "info"))

    def _on_gpu(self, ev: dict) -> None:
        devices = ev.get("devices") or []
        t = as_number(ev.get("time"))
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
            used, total, util = as_number(d.get("used")), as_number(d.get("total")), as_number(d.get("util"))
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
        if phase in PHASES:
            self.phase = phase
            self._changes.add("progress")
        if message:
            download = ev.get("download", DOWNLOAD_RUNNING if message.startswith(DOWNLOADING) else None)
            running = download == DOWNLOAD_RUNNING
            if running and self._download_running and self.notices:
                self.notice_kinds.pop(self.notices[-1], None)
                self.notices[-1] = message  # a download's progress: only the newest counts
            else:
                self.notices.append(message)
            self._download_running = running
            no_gpu = ev.get("no_gpu") is True or message.lower().startswith("no gpu")
            if download is not None or message.startswith(DOWNLOADED) or no_gpu:
                self.notice_kinds[message] = "no_gpu" if no_gpu else "download"
            if no_gpu and not self.gpus:
                self.no_gpu = True
                self._changes.add("gpu")
            self._changes.add("info")

    def _on_end(self, ev: dict) -> None:
        self.ended = True
        self.phase = None
        status = str(ev.get("status") or COMPLETED)
        self.end_status = status
        if status not in _RUN_STATUSES:
            status = FAILED if ev.get("error") else COMPLETED
        self.event_status = status
        if ev.get("error"):
            self.error = str(ev["error"])
        step = ev.get("step")
        if isinstance(step, (int, float)) and step > self.step:
            self.step = int(step)
        for key in ("best_metric",):
            value = as_number(ev.get(key))
            if value is not None:
                self.best_metric = value
        if ev.get("best_checkpoint"):
            self.best_checkpoint = str(ev["best_checkpoint"])
        if ev.get("output_dir"):
            self.output_dir = str(ev["output_dir"])
        runtime = as_number(ev.get("runtime"))
        if runtime is not None:
            self.runtime = runtime
        t = as_number(ev.get("time"))
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
        epoch = as_number(ev.get("epoch"))
        if epoch is not None:
            self.epoch = epoch
        if self.event_status == STARTING:
            self.event_status = RUNNING
        t = as_number(ev.get("time"))
        if t is not None and ev.get("event") == "log" and step > 0:
            if not self._rate_window or step > self._rate_window[-1][1]:
                self._rate_window.append((t, step))

def fold(events: Iterable[dict], run_info: dict | None = None) -> RunState:
    """A RunState from a whole list of events (tests, post-mortems)."""
    state = RunState(run_info)
    state.apply(events)
    return state
