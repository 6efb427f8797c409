"""The trainer's side of events.jsonl: a TrainerCallback that writes start/log/eval/checkpoint
events on rank 0. The class is defined inside a function, so importing this module never imports
transformers.
"""

from __future__ import annotations

import os
from typing import Any

from hftui.core.run.events import EventWriter
from hftui.core.train.speed import SpeedMeter

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
            self.speed = SpeedMeter(self.info)
            self.train_summary: dict = {}

        def _on(self, state) -> bool:
            return self.writer is not None and state.is_world_process_zero

        def on_train_begin(self, args, state, control, **kwargs):
            if not self._on(state):
                return
            self.speed.begin(args, state, kwargs.get("model"), kwargs.get("train_dataloader"))
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
                kept=_kept(args.output_dir),
            )

        def on_log(self, args, state, control, logs=None, **kwargs):
            if not self._on(state) or not logs:
                return
            if any(k.startswith("eval_") for k in logs):
                return  # written by on_evaluate, with every metric
            if "train_runtime" in logs and "train_steps_per_second" in logs:
                # the closing summary (a log with include_num_input_tokens_seen has a runtime too)
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
            speed = self.speed.measure(args, state, fields)
            if "tokens_per_second" in fields:  # the trainer's own measure wins over an estimate
                speed.pop("tokens_estimated", None)
            for key, value in speed.items():
                fields.setdefault(key, value)
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

        def on_step_begin(self, args, state, control, **kwargs):
            self.speed.resume()

        def on_step_end(self, args, state, control, **kwargs):
            # The Trainer evaluates and saves right after this hook: say so, so the live pane
            # can show "evaluating" / "saving" while it lasts (the eval/checkpoint event ends it).
            if not self._on(state):
                return
            if control.should_evaluate or control.should_save:
                self.speed.pause()  # not training time: the rate leaves it out
            if control.should_evaluate:
                self.writer.write("notice", state.global_step, phase="evaluating", message="")
            elif control.should_save:
                self.writer.write("notice", state.global_step, phase="saving", message="")

        def on_save(self, args, state, control, **kwargs):
            if not self._on(state):
                return
            path = os.path.join(args.output_dir, f"checkpoint-{state.global_step}")
            # the Trainer has already deleted what save_total_limit rotates out: say what is kept
            self.writer.write("checkpoint", state.global_step, path=os.path.abspath(path), kept=_kept(args.output_dir))

    return EventsCallback()


def _kept(output_dir) -> list[int]:
    """The steps of the checkpoint folders on disk in the output folder, oldest first."""
    from pathlib import Path

    from hftui.core.checks.output_folder import CHECKPOINT, checkpoints

    return [int(CHECKPOINT.match(p.name).group(1)) for p in checkpoints(Path(output_dir))]


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
