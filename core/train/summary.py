"""What the `end` event and the worker's last stderr line say about how training went.

A failure becomes one line a person can act on (the first problem of a PresetError, or the
exception's first line, with advice for running out of memory); a finished run keeps the
Trainer's own closing figures.
"""

from __future__ import annotations

from hftui.core.i18n import _
from hftui.core.options.catalog import checkpointing_option
from hftui.core.problems import PresetError

# The Trainer's end-of-training figures (its `train_runtime` times the loop alone).
TRAIN_SUMMARY_KEYS = ("train_runtime", "train_loss", "train_samples_per_second", "train_steps_per_second")


def error_summary(exc: BaseException) -> str:
    """One line for a failure: where and what, never a traceback."""
    if isinstance(exc, PresetError):
        first = exc.problems[0] if exc.problems else None
        text = f"{first.where()}: {first.message}" if first else _("invalid preset")
        return text + (_(" (+{count} more)", count=len(exc.problems) - 1) if len(exc.problems) > 1 else "")
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    summary = f"{type(exc).__name__}: {text}"[:500] if text else type(exc).__name__
    if "out of memory" in text.lower():
        summary += _(" (lower args.per_device_train_batch_size or dataset.max_length, or set args.{option} = true)", option=checkpointing_option())
    return summary


def train_summary(events_cb) -> dict:
    """The numeric TRAIN_SUMMARY_KEYS the events callback caught from the Trainer's last log."""
    logged = getattr(events_cb, "train_summary", None) or {}
    out = {}
    for key in TRAIN_SUMMARY_KEYS:
        value = logged.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out[key] = value
    return out
