"""`events.jsonl`: the one record of what a run did, written by rank 0, read by everyone else.

One JSON object per line, appended and flushed, each with `event`, `time` (unix seconds) and
`step`. Kinds: start, log, eval, checkpoint, gpu, end, plus `notice` for one-off remarks
(e.g. "no GPU: running on CPU"). Readers tail the file by byte offset and never re-read it:
`EventTail` is the one follower every reader uses.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

KINDS = ("start", "log", "eval", "checkpoint", "gpu", "end", "notice")
# The end of a file is read this far back for its last event or step.
TAIL_WINDOW = 65536


class EventWriter:
    """Append-only, line-buffered, thread-safe (the GPU sampler writes from a thread)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._fh = open(self.path, "a", encoding="utf-8")

    def write(self, event: str, step: int = 0, **fields: Any) -> dict:
        record = {"event": event, "time": round(time.time(), 3), "step": int(step or 0), **fields}
        line = json.dumps(record, default=_default, allow_nan=True) + "\n"
        with self._lock:
            if self._fh.closed:
                return record
            self._fh.write(line)
            self._fh.flush()
        return record

    def close(self) -> None:
        with self._lock:
            if not self._fh.closed:
                try:
                    os.fsync(self._fh.fileno())
                except OSError:
                    pass
                self._fh.close()


def _default(value: Any) -> Any:
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


@dataclass
class TailResult:
    events: list[dict] = field(default_factory=list)
    bad_lines: int = 0  # lines that were not JSON objects (garbled): skipped, counted
    missing: bool = False  # the file (or its folder) is gone


def parse_lines(lines: Iterable[bytes]) -> TailResult:
    """The events of some raw lines; garbled ones are counted, blank ones ignored."""
    result = TailResult()
    for raw in lines:
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except ValueError:
            result.bad_lines += 1
            continue
        if not isinstance(obj, dict) or "event" not in obj:
            result.bad_lines += 1
            continue
        result.events.append(obj)
    return result


class EventTail:
    """Follow an events file by byte offset; a partial last line waits for its newline.

    `read_lines` hands out whole raw lines (for `RunState.apply_lines`, which parses only the
    lines it needs); `read` parses them. A file that shrank is read again from the start; a
    missing one sets `missing` instead of raising.
    """

    def __init__(self, path: str | Path, offset: int = 0):
        self.path = Path(path)
        self.offset = offset
        self._partial = b""
        self.missing = False
        self.bad_lines = 0

    def read_lines(self, max_bytes: int | None = None) -> list[bytes]:
        """The next complete lines (at most about `max_bytes` read); [] when there is nothing new."""
        try:
            with open(self.path, "rb") as fh:
                size = os.fstat(fh.fileno()).st_size
                if size < self.offset:  # truncated or replaced: start over
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
        self._partial = lines.pop()  # b"" when the chunk ended on a newline
        return lines

    def read(self, max_bytes: int | None = None) -> TailResult:
        result = parse_lines(self.read_lines(max_bytes))
        result.missing = self.missing
        self.bad_lines += result.bad_lines
        return result


def read_all(path: str | Path) -> TailResult:
    return EventTail(path).read()


def _tail_lines(fh, window: int) -> list[bytes]:
    """The whole lines of the last `window` bytes of an open file, newest last."""
    size = os.fstat(fh.fileno()).st_size
    fh.seek(max(0, size - window))
    tail = fh.read()
    if size > window:
        tail = tail.split(b"\n", 1)[-1]
    return tail.split(b"\n")


def _objects_backwards(lines: list[bytes]) -> Iterable[dict]:
    for raw in reversed(lines):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except ValueError:
            continue
        if isinstance(obj, dict):
            yield obj


def last_end_event(path: str | Path, window: int = TAIL_WINDOW) -> dict | None:
    """The `end` event, when it is the file's last event (read from the end only)."""
    try:
        with open(path, "rb") as fh:
            lines = _tail_lines(fh, window)
    except OSError:
        return None
    for obj in _objects_backwards(lines):
        if obj.get("event"):
            return obj if obj["event"] == "end" else None
    return None


def last_progress(path: str | Path, max_steps: int | None = None,
                  window: int = TAIL_WINDOW) -> tuple[int | None, int | None]:
    """(last step, max_steps) from the end of an events file, without reading all of it.

    `max_steps` is what the run record knows; when it is None the `start` event says.
    """
    step = None
    try:
        with open(path, "rb") as fh:
            lines = _tail_lines(fh, window)
            if max_steps is None:
                fh.seek(0)
                head = fh.readline()
                with contextlib.suppress(ValueError):
                    first = json.loads(head)
                    if isinstance(first, dict) and first.get("event") == "start":
                        max_steps = first.get("max_steps")
    except OSError:
        return step, max_steps
    for obj in _objects_backwards(lines):
        if isinstance(obj.get("step"), int):
            if obj.get("event") == "start" and max_steps is None:
                max_steps = obj.get("max_steps")
            step = obj["step"] if step is None else step
            if max_steps is not None:
                break
    return step, max_steps


# -- the training side --------------------------------------------------------------------------
# PPO logs its own keys; these map them onto the names every reader plots.
PPO_LOG_ALIASES = {"loss/policy_avg": "loss", "lr": "learning_rate"}


def make_events_callback(writer: EventWriter | None, run_info: dict):
    """A transformers TrainerCallback writing start/log/eval/checkpoint events on rank 0.

    `run_info` carries what the trainer does not know: preset, trainer_type, model, run_id,
    trainable_params, total_params, and `perplexity` (true for language-modelling tasks, whose
    eval events then get perplexity = exp(eval_loss)). The class is defined here, inside the
    function, so importing this module never imports transformers.
    """
    import math

    from transformers import TrainerCallback

    class EventsCallback(TrainerCallback):
        def __init__(self) -> None:
            self.writer = writer
            self.info = dict(run_info)
            self.last_time: float | None = None
            self.last_step = 0
            self.last_tokens: float | None = 0
            self.train_summary: dict = {}

        def _on(self, state) -> bool:
            return self.writer is not None and state.is_world_process_zero

        def on_train_begin(self, args, state, control, **kwargs):
            self.last_time, self.last_step = time.time(), state.global_step
            # a resumed run's running token count starts high: measure from its first log on
            self.last_tokens = (getattr(state, "num_input_tokens_seen", 0) or 0) if state.global_step == 0 else None
            if not self._on(state):
                return
            device = getattr(getattr(args, "device", None), "type", None) or "cpu"
            self.writer.write(
                "start",
                state.global_step,
                max_steps=int(state.max_steps or getattr(args, "max_steps", 0) or 0),
                num_train_epochs=_num(getattr(state, "num_train_epochs", None) or getattr(args, "num_train_epochs", None)),
                num_processes=int(getattr(args, "world_size", 1) or 1),
                preset=self.info.get("preset"),
                trainer_type=self.info.get("trainer_type"),
                model=self.info.get("model"),
                run_id=self.info.get("run_id"),
                trainable_params=self.info.get("trainable_params"),
                total_params=self.info.get("total_params"),
                device=device,
                resumed_from=self.info.get("resumed_from"),
            )

        def on_log(self, args, state, control, logs=None, **kwargs):
            if not self._on(state) or not logs:
                return
            if any(k.startswith("eval_") for k in logs):
                return  # written by on_evaluate, with every metric
            if "train_runtime" in logs:
                self.train_summary = dict(logs)
                return
            fields = {}
            for key, value in logs.items():
                scalar = _scalar(value)
                if scalar is not None:
                    fields[key] = scalar
            for old, new in PPO_LOG_ALIASES.items():
                if old in fields and new not in fields:
                    fields[new] = fields[old]
            now = time.time()
            steps = state.global_step - self.last_step
            if self.last_time is not None and steps > 0 and now > self.last_time:
                dt = now - self.last_time
                per_step = int(getattr(args, "per_device_train_batch_size", 1) or 1) * int(getattr(args, "gradient_accumulation_steps", 1) or 1) * int(getattr(args, "world_size", 1) or 1)
                fields.setdefault("samples_per_second", round(steps * per_step / dt, 3))
                # SFT logs a running token count; the Trainer counts only when asked to
                tokens = fields.get("num_tokens") or getattr(state, "num_input_tokens_seen", 0) or 0
                if self.last_tokens is not None and tokens > self.last_tokens:
                    fields.setdefault("tokens_per_second", round((tokens - self.last_tokens) / dt, 3))
                self.last_tokens = tokens
            self.last_time, self.last_step = now, state.global_step
            self.writer.write("log", state.global_step, **fields)

        def on_evaluate(self, args, state, control, metrics=None, **kwargs):
            if not self._on(state) or not metrics:
                return
            fields = {k: v for k, v in ((k, _scalar(v)) for k, v in metrics.items()) if v is not None}
            if self.info.get("perplexity") and "eval_loss" in fields and "eval_perplexity" not in fields:
                try:
                    fields["eval_perplexity"] = math.exp(fields["eval_loss"])
                except OverflowError:
                    fields["eval_perplexity"] = float("inf")
                metrics["eval_perplexity"] = fields["eval_perplexity"]
            fields.setdefault("epoch", _num(state.epoch))
            self.writer.write("eval", state.global_step, **fields)
            if control.should_save:  # the checkpoint of this step comes next
                self.writer.write("notice", state.global_step, phase="saving", message="")

        def on_step_end(self, args, state, control, **kwargs):
            # The Trainer evaluates and saves right after this hook: say so, so the live pane
            # can show "evaluating" / "saving" while it lasts (the eval/checkpoint event ends it).
            if not self._on(state):
                return
            if control.should_evaluate:
                self.writer.write("notice", state.global_step, phase="evaluating", message="")
            elif control.should_save:
                self.writer.write("notice", state.global_step, phase="saving", message="")

        def on_save(self, args, state, control, **kwargs):
            if not self._on(state):
                return
            path = os.path.join(args.output_dir, f"checkpoint-{state.global_step}")
            self.writer.write("checkpoint", state.global_step, path=os.path.abspath(path))

    return EventsCallback()


def _scalar(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _num(value: Any) -> Any:
    if value is None:
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return int(f) if f.is_integer() else f
