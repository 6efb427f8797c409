"""Evaluation only: a run's final model (or a checkpoint) on an evaluation split, with the
preset's metrics, through the same trainer and metric code as training (`trainers.make_trainer`,
`metrics.build_compute_metrics`), so the figures compare with the run's own `eval` events.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

from hftui.core.i18n import _
from hftui.core.problems import PresetError, Problem
from hftui.core.train import data as data_mod
from hftui.core.train import infer
from hftui.core.train.metrics import perplexity
from hftui.core.train.trainer_config import make_config

# Settings of a multi-process launch (merged into the run's [args] by the launcher) that mean
# nothing to one process evaluating: dropped, so the evaluation runs wherever it is asked.
LAUNCH_ONLY_ARGS = ("deepspeed", "fsdp", "fsdp_config", "ddp_backend", "use_cpu")
NO_EVALUATION = ("ppo",)  # trainer types whose trainer has no evaluate()


@dataclass
class EvalResult:
    metrics: dict  # as the Trainer reports them: eval_loss, eval_accuracy, ...
    split: str
    rows: int
    model: str  # "final model" or "checkpoint-N"


def _file(preset) -> str | None:
    return str(preset.path) if preset.path else None


def eval_preset(preset, split: str | None):
    """The run's preset for one process evaluating `split` (default: its own eval split)."""
    for key in LAUNCH_ONLY_ARGS:
        preset = preset.without(f"args.{key}")
    preset = preset.with_value("args.report_to", "none")
    if split:
        preset = preset.with_value("dataset.eval_split", split).without("dataset.eval_fraction")
    return preset


def _split_name(preset, split: str | None) -> str:
    if split:
        return split
    if preset.get("dataset.eval_split"):
        return str(preset.get("dataset.eval_split"))
    if preset.get("dataset.eval_fraction"):
        return _("held out from train (eval_fraction {fraction})", fraction=preset.get("dataset.eval_fraction"))
    return "eval"


def _quiet(trainer) -> None:
    """The Trainer prints its logs (or a progress bar) to stdout; the figures are returned here."""
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    for callback in (PrinterCallback, ProgressCallback):
        trainer.remove_callback(callback)


def evaluate_run(run_dir: str | Path, checkpoint: int | None = None, split: str | None = None) -> EvalResult:
    """Evaluate; NoModel when the run has no such model, PresetError for a split that is not there."""
    from hftui.core.train.trainers import make_trainer

    run_preset = infer.run_preset(run_dir)
    if run_preset.trainer_type in NO_EVALUATION:
        raise PresetError([Problem("trainer.type", "error", _("{type} runs have no evaluation loop", type=run_preset.trainer_type),
                                   _("try the model instead: hftui try RUN --prompt TEXT"))], _file(run_preset))
    loaded = infer.load(run_dir, checkpoint)
    preset = eval_preset(loaded.preset, split)
    tokenizer = loaded.tokenizer
    prepared = data_mod.prepare(preset, tokenizer)
    if prepared.eval is None:
        raise PresetError([Problem("dataset.eval_split", "error", _("the run's preset has no evaluation split"),
                                   _("name one: --split NAME (e.g. --split train)"))], _file(preset))
    config = make_config(preset, prepared)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer = make_trainer(preset, loaded.model, tokenizer, prepared, config, [], infer.trust_allowed(run_dir))
        _quiet(trainer)
        metrics = dict(trainer.evaluate())
    # the events callback adds perplexity to a language model's eval events (worker.build's info)
    if preset.task == "causal-lm" and preset.trainer_type in ("trainer", "sft") and "eval_loss" in metrics:
        metrics.setdefault("eval_perplexity", perplexity(metrics["eval_loss"]))
    return EvalResult(metrics, _split_name(preset, split), len(prepared.eval), loaded.source.label)
