"""[trainer] and [ppo]: a trainer type that can learn the model's task, metrics that mean
something for it, and the reward and value models PPO needs."""

from __future__ import annotations

import difflib

from hftui.core.options import sections as schema
from hftui.core.preset import Preset

from hftui.core.checks.model import check_model_ref
from hftui.core.checks.report import Report
from hftui.core.checks.values import kind, show

_TRAIN_REWARD_FIRST = ('train it before this run: a preset with trainer.type = "reward" whose output_dir is this folder '
                       "(see presets/reward.toml); or use a Hub id")


def check_trainer(rep: Report, preset: Preset) -> None:
    ttype = preset.get("trainer.type", "sft")
    task = preset.get("model.task", "causal-lm")
    if isinstance(ttype, str) and isinstance(task, str) and task in schema.TASKS:
        if ttype in ("sft", "ppo") and task != "causal-lm":
            rep.error("trainer.type", f"trainer.type = {show(ttype)} trains causal language models, but model.task = {show(task)}",
                      'use trainer.type = "trainer" for this task, or model.task = "causal-lm"')
        if ttype == "reward" and task == "seq2seq-lm":
            rep.error("trainer.type", 'a reward model scores text with a classification head; model.task = "seq2seq-lm" cannot be one',
                      'use model.task = "causal-lm" (the base model) or "sequence-classification"')
    if task == "sequence-classification":
        label = preset.get("dataset.label_column", "label")
        if isinstance(label, str) and not label.strip():
            rep.error("dataset.label_column", "sequence-classification needs a label column, but label_column is empty",
                      'set label_column = "label" (the column with the class of each row)')
    metrics = preset.get("trainer.metrics")
    if isinstance(metrics, list):
        _check_metrics(rep, metrics, ttype, task)
        scored = [m for m in metrics if isinstance(m, str) and m != "perplexity"]
        if ttype == "trainer" and task == "seq2seq-lm" and scored and preset.get("args.predict_with_generate") is False:
            rep.warning("args.predict_with_generate", f"predict_with_generate = false, but {', '.join(scored)} compare the text the model writes: "
                        "without generation they score its teacher-forced guesses, one token at a time",
                        "remove predict_with_generate (hftui turns it on when seq2seq metrics are set)")


def _check_metrics(rep: Report, metrics: list, ttype: object, task: object) -> None:
    for i, m in enumerate(metrics):
        if not isinstance(m, str):
            rep.error("trainer.metrics", f"metric #{i + 1} is {kind(m)} {show(m)}, not a name", 'write metrics = ["accuracy"]')
        elif m not in schema.METRIC_NAMES:
            close = difflib.get_close_matches(m.lower(), schema.METRIC_NAMES, n=1, cutoff=0.5)
            rep.error("trainer.metrics", f"unknown metric {m!r}",
                      (f"did you mean {close[0]!r}? " if close else "") + f"hftui computes: {', '.join(schema.METRIC_NAMES)}")
        elif isinstance(task, str) and m not in schema.METRICS_BY_TASK.get(task, schema.METRIC_NAMES):
            rep.warning("trainer.metrics", f"metric {m!r} does not mean much for {task}",
                        f"for {task} use: {', '.join(schema.METRICS_BY_TASK.get(task, ()))}")
    if metrics and ttype in ("ppo",):
        rep.warning("trainer.metrics", "PPO does not run compute_metrics: the metrics are ignored", "remove metrics")
    if metrics and ttype == "sft" and any(m != "perplexity" for m in metrics if isinstance(m, str)):
        rep.warning("trainer.metrics", "SFT logs its own eval_mean_token_accuracy and hftui adds eval_perplexity; other metrics are ignored",
                    'remove metrics, or use trainer.type = "trainer" for task metrics')


def check_ppo(rep: Report, preset: Preset) -> None:
    ppo = preset.get("ppo")
    ttype = preset.get("trainer.type")
    if ttype == "ppo":
        missing = "error" if rep.for_run else "warning"
        reward = preset.get("ppo.reward_model")
        if not reward:
            rep.error("ppo.reward_model", "PPO needs a reward model, but ppo.reward_model is not set",
                      'add [ppo] with reward_model = "runs/my-reward-model" (a folder trained with trainer.type = "reward") or a Hub id')
        elif isinstance(reward, str):
            check_model_ref(rep, preset, "ppo.reward_model", reward, "reward model", missing_severity=missing, missing_hint=_TRAIN_REWARD_FIRST)
        value = preset.get("ppo.value_model")
        if isinstance(value, str) and value and value != reward:
            check_model_ref(rep, preset, "ppo.value_model", value, "value model", missing_severity=missing, missing_hint=_TRAIN_REWARD_FIRST)
    elif isinstance(ppo, dict) and ppo:
        rep.warning("ppo", f"[ppo] is ignored: trainer.type is {show(ttype or 'sft')}", 'remove [ppo], or set trainer.type = "ppo"')
