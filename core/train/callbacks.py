"""The trainer's side of events.jsonl: a TrainerCallback that writes start/log/eval/checkpoint
events on rank 0. The class is defined inside a function, so importing this module never imports
transformers.
"""

from __future__ import annotations

import os
import time
from typing import Any

from hftui.core.run.events import EventWriter

# PPO logs its own keys; these map them onto the names every reader plots.
PPO_LOG_ALIASES = {"loss/policy_avg": "loss", "lr": "learning_rate"}


def make_events_callback(writer: EventWriter | None, run_info: dict):
    """A transformers TrainerCallback writing start/log/eval/checkpoint events on rank 0.

    `run_info` carries what the trainer does not know: preset, trainer_type, model, run_id,
    trainable_params, total_params, and `perplexity` (true for language-modelling tasks, whose
    eval events then get perplexity = exp(eval_loss)).
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
