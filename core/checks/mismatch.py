"""Settings that are each valid but do not fit together, said in plain words: nothing fails,
the run simply does not do what a person meant.

- a classification dataset (text plus a class label) under the SFT trainer, which only learns to
  continue the text and never reads the label;
- an evaluation interval longer than the run, so no evaluation happens;
- a warmup that takes most of the run (or all of it), so the learning rate barely reaches its
  set value.

Warnings, not errors: each can be meant. `hftui validate`, the wizard's fields and its review
show the same words, because they all come from here (called by `args.check_training_rules`).
"""

from __future__ import annotations

import math
from typing import Any

from hftui.core.i18n import _
from hftui.core.options.sections import column_name
from hftui.core.preset import Preset

from hftui.core.checks.data_size import _local_splits, _records, _Unknown
from hftui.core.checks.report import Report
from hftui.core.checks.values import num, show

# Rows looked at to tell a classification dataset; the first rows say it as well as all of them.
SAMPLE_ROWS = 50
# Columns that give SFT something to learn besides the text itself.
SFT_TARGET_KEYS = ("messages_column", "completion_column", "prompt_column")


def check_mismatches(rep: Report, preset: Preset, a) -> None:
    """`a(name)`: an [args] value as set, else the installed default."""
    _check_eval_interval(rep, a)
    _check_warmup(rep, preset, a)
    _check_classification_under_sft(rep, preset)


def _number(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _check_eval_interval(rep: Report, a) -> None:
    if a("eval_strategy") != "steps":
        return
    max_steps = _number(a("max_steps"))
    eval_steps, logging_steps = _number(a("eval_steps")), _number(a("logging_steps"))
    interval = eval_steps or logging_steps  # the Trainer falls back to logging_steps
    if max_steps is None or max_steps <= 0 or interval is None or interval < 1 or interval <= max_steps:
        return
    if eval_steps:
        message = _("eval_steps = {interval} is more than max_steps = {max_steps}: the run ends before its first evaluation, "
                    "so no evaluation happens (no eval loss, no metrics)", interval=num(interval), max_steps=num(max_steps))
    else:
        message = _("eval_steps is not set, so it follows logging_steps = {interval}, which is more than max_steps = {max_steps}: "
                    "the run ends before its first evaluation, so no evaluation happens (no eval loss, no metrics)",
                    interval=num(interval), max_steps=num(max_steps))
    rep.warning("args.eval_steps", message,
                _("write eval_steps = {steps} (or any number up to {max_steps}), or raise max_steps", steps=max(1, int(max_steps) // 2), max_steps=num(max_steps)))


def _check_warmup(rep: Report, preset: Preset, a) -> None:
    """A warmup as long as the run is reported with warmup_ratio's own rule (`args`); here, one
    longer than half of it."""
    args = preset.section("args")
    max_steps = _number(a("max_steps"))
    warmup = _number(args.get("warmup_steps"))
    if warmup is None or warmup <= 0:
        return
    if warmup < 1:
        if warmup > 0.5:
            rep.warning("args.warmup_steps", _("warmup_steps = {warmup} warms up over {percent}% of the run: the learning rate "
                                               "is still rising for most of training and reaches its set value only near the end",
                                               warmup=num(warmup), percent=round(warmup * 100)),
                        _("write warmup_steps = 0.1 (a tenth of the run); 0.03 to 0.1 is usual"))
        return
    if max_steps is None or max_steps <= 0 or warmup >= max_steps or warmup <= max_steps / 2:
        return
    rep.warning("args.warmup_steps", _("warmup_steps = {warmup} is more than half of the run's {max_steps} steps: the learning rate "
                                       "is still rising for most of training and reaches learning_rate only near the end",
                                       warmup=num(warmup), max_steps=num(max_steps)),
                _("write warmup_steps = {steps} (a tenth of the run) or a fraction such as 0.1", steps=max(1, int(max_steps) // 10)))


def classification_columns(preset: Preset) -> tuple[str, str] | None:
    """(text column, label column) when the local training data reads as a classification set:
    a text column and a label column of whole numbers (class ids) in every row looked at, and
    nothing else to learn from (no messages, prompt or completion column). None otherwise, or
    when the data is not local or cannot be read here (the data checks say why)."""
    ds = preset.get("dataset")
    if not isinstance(ds, dict):
        return None
    splits = _local_splits(preset, ds)
    if not splits:
        return None
    train = splits.get(str(ds.get("train_split") or "train"), [])
    label = column_name(ds, "label_column")
    targets = {column_name(ds, key) for key in SFT_TARGET_KEYS}
    text: str | None = None
    seen = 0
    try:
        for record in _records(train, SAMPLE_ROWS):
            value = record.get(label)
            if isinstance(value, str) and value.strip().isdigit():
                value = int(value)  # a csv cell
            if not isinstance(value, int) or targets & record.keys():
                return None  # a label column of text, a missing label, or a real SFT target
            if text is None:
                wanted = column_name(ds, "text_column")
                text = wanted if isinstance(record.get(wanted), str) else next((k for k, v in record.items() if k != label and isinstance(v, str)), None)
                if text is None:
                    return None
            seen += 1
    except (_Unknown, OSError, ValueError, RecursionError):
        return None
    return (text, label) if seen and text else None


def _check_classification_under_sft(rep: Report, preset: Preset) -> None:
    if preset.get("trainer.type") != "sft":
        return
    found = classification_columns(preset)
    if found is None:
        return
    text, label = found
    rep.warning("trainer.type", _("the data looks like classification (a text column {text} and a class column {label} of whole "
                                  "numbers), but the SFT trainer only learns to continue the text: it never reads the labels, so the model does not "
                                  "learn to classify", text=show(text), label=show(label)),
                _('to train a classifier, set trainer.type = "trainer" and model.task = "sequence-classification" (with model.num_labels); '
                  "to fine-tune a chat or text model, put each row's answer into the text (or a completion column)"))
