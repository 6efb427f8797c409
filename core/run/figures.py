"""The figures of one run and what follows from them: status, progress, ETA, throughput, the
smoothed loss. `RunState` fills the figures from events; every view reads them from here, so
the live pane, `hftui attach` and the headless display agree.
"""

from __future__ import annotations

import math
import time
from collections import deque

from hftui.core.run.folder import ACTIVE_STATUSES, COMPLETED, FAILED, FINAL_STATUSES, RUNNING, STARTING, STOPPED, STOPPING
from hftui.core.run.series import SERIES_POINTS, GpuDevice, MetricSummary, Series, as_number

EMA_ALPHA = 0.1  # weight of the newest loss in the smoothed curve (an exponential moving average)
# What the Trainer is busy with between steps, as `notice` events announce it.
EVALUATING, SAVING = "evaluating", "saving"
PHASES = (EVALUATING, SAVING)
# Every status a run can show: its own, plus the phases of a running run.
STATUSES = (STARTING, RUNNING, EVALUATING, SAVING, STOPPING, COMPLETED, FAILED, STOPPED)
# Fields of a log event that are not scalars to plot.
LOG_SKIP = {"event", "time", "step"}


class RunFigures:
    """Where a run stands; the attributes are filled by `RunState`, the properties derived."""

    def __init__(self, series_points: int = SERIES_POINTS):
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

        self.event_status: str = STARTING  # from events alone
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
        self.tokens_estimated = False  # tokens/s is samples/s x mean row length, not a count
        self.mfu: float | None = None  # share of the GPUs' peak FLOP/s (only where the peak is known)
        # Where this run's training began: a resumed run's latest start (time, step, progress).
        self.segment_time: float | None = None
        self.segment_step = 0
        self.segment_progress: float | None = None
        self._rate_window: deque[tuple[float, int]] = deque(maxlen=20)  # (time, step) of recent logs

        self.loss = Series(series_points)
        self.learning_rate = Series(series_points)
        self.grad_norm = Series(series_points)
        self.reward = Series(series_points)  # GRPO/RLOO reward, DPO margin (series.REWARD_KEYS)
        self.reward_key: str | None = None  # which of REWARD_KEYS the run logs
        self._latest_log_event: dict = {}

        self.metrics: dict[str, MetricSummary] = {}
        self.eval_count = 0
        self.checkpoints: deque[tuple[int, str]] = deque(maxlen=200)  # every save, as events tell
        self.kept_checkpoints: list[int] = []  # the steps whose folders are on disk (after rotation)
        self.checkpoint_count = 0

        self.gpus: dict[int, GpuDevice] = {}
        self.no_gpu = False
        self.gpu_samples = 0

        self.notices: deque[str] = deque(maxlen=50)
        self.notice_kinds: dict[str, str] = {}  # a notice's kind when it is "download" or "no_gpu"
        self.ended = False
        self.end_status: str | None = None  # completed / stopped / failed, as the end event says
        self.error: str | None = None
        self.best_metric: float | None = None
        self.best_checkpoint: str | None = None

        self.events_seen = 0
        self.counts: dict[str, int] = {}
        self.bad_lines = 0

    @property
    def status(self) -> str:
        """The badge: the end event or run.json's final word, else what the events show.

        While run.json says the run is active (its supervisor lives: a record whose processes
        are gone is corrected before it is read), an `end` line does not end it: the supervisor
        writes the final status, and a stray or forged `end` must not hide a run that goes on
        (nor disable its Stop).
        """
        live = self.info_status in ACTIVE_STATUSES
        if self.ended and not live:
            return self.event_status
        if self.info_status in FINAL_STATUSES:
            return self.info_status  # the process ended without writing an end event
        if self.stop_requested or self.info_status == STOPPING:
            return STOPPING
        if self.phase:
            return self.phase
        if self.ended or (self.event_status == STARTING and self.info_status == RUNNING and self.events_seen):
            return self.info_status if self.ended else RUNNING
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
        """Seconds left, from the recent step rate; None when unknown or finished.

        Only steps this run trained count: after a resume, neither the steps done before it nor
        the time the run stood still (the rate window restarts at each `start`).
        """
        if self.finished:
            return None
        rate = self.steps_per_second
        if self.max_steps and rate:
            left = max(0, self.max_steps - self.step) / rate
            if self.last_time is not None and now is not None:
                left = max(0.0, left - max(0.0, now - self.last_time))
            return left
        frac, since = self.progress, self.segment_progress or 0.0
        began = self.segment_time if self.segment_time is not None else self.start_time
        if frac is None or began is None or not 0 < frac < 1 or frac <= since:
            return None
        elapsed = max(0.0, (now if now is not None else time.time()) - began)
        return elapsed * (1 - frac) / (frac - since) if elapsed else None

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
            if key not in LOG_SKIP:
                num = as_number(value)
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

    def _keep_checkpoints(self, kept, saved: int | None) -> None:
        """The checkpoints on disk: the writer's list where it gives one (what save_total_limit
        kept), else every step saved so far (older events have no list)."""
        if isinstance(kept, list):
            steps = {int(k) for k in kept if isinstance(k, (int, float)) and not isinstance(k, bool)}
        elif saved is not None:
            steps = set(self.kept_checkpoints) | {saved}
        else:
            return
        self.kept_checkpoints = sorted(steps)
        self.checkpoint_count = len(steps)

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
