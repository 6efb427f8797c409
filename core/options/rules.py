"""The range rules of option values, held on each catalog `Field` and judged in one place.

The config classes declare types and choices but not ranges, although the trainer (or torch)
rejects a negative learning rate or a beta of 1 minutes into a run. The limits below are put on
the `[args]` fields when the catalog is built; the sections' own fields carry theirs where they
are defined. `out_of_range` is the only judge, so `hftui validate` and the wizard's field give a
person the same words for the same value.
"""

from __future__ import annotations

import math
from typing import Any

from hftui.core.i18n import _
from hftui.core.options.sections import Field

# The largest whole number the trainer stores without overflow (a 32-bit integer).
INT_LIMIT = 2**31 - 1

# [args] option -> (minimum, maximum, maximum is exclusive)
ARG_LIMITS: dict[str, tuple[float | None, float | None, bool]] = {
    "learning_rate": (0, None, False),
    "per_device_train_batch_size": (1, 65536, False),
    "per_device_eval_batch_size": (1, 65536, False),
    "gradient_accumulation_steps": (1, None, False),
    "eval_accumulation_steps": (1, None, False),
    "num_train_epochs": (0, None, False),
    "max_steps": (-1, None, False),
    "warmup_steps": (0, None, False),
    "weight_decay": (0, None, False),
    "adam_beta1": (0, 1, True),
    "adam_beta2": (0, 1, True),
    "adam_epsilon": (0, None, False),
    "max_grad_norm": (0, None, False),
    "label_smoothing_factor": (0, 1, False),
    "logging_steps": (0, None, False),
    "eval_steps": (0, None, False),
    "save_steps": (0, None, False),
    "save_total_limit": (0, None, False),
    "eval_delay": (0, None, False),
    "dataloader_num_workers": (0, 256, False),
    "dataloader_prefetch_factor": (1, None, False),
    "seed": (0, 2**32 - 1, False),
    "data_seed": (0, 2**32 - 1, False),
    "torch_empty_cache_steps": (1, None, False),
    "ddp_timeout": (1, None, False),
    "neftune_noise_alpha": (0, None, False),
    "max_length": (1, None, False),
    "num_ppo_epochs": (1, None, False),
    "num_mini_batches": (1, None, False),
    "response_length": (1, None, False),
    "total_episodes": (1, None, False),
    "local_rollout_forward_batch_size": (1, None, False),
    "temperature": (0, None, False),
    "kl_coef": (0, None, False),
    "cliprange": (0, None, False),
    "cliprange_value": (0, None, False),
    "vf_coef": (0, None, False),
    "gamma": (0, 1, False),
    "lam": (0, 1, False),
}


def arg_limits(name: str) -> dict[str, Any]:
    """The range attributes of the `[args]` field `name`, as `Field` keyword arguments."""
    lo, hi, hi_open = ARG_LIMITS.get(name, (None, None, False))
    return {"minimum": lo, "maximum": hi, "exclusive_maximum": hi_open}


def out_of_range(field: Field, value: Any) -> tuple[str, str] | None:
    """(message, fix) when a number lies outside the field's range; None when it fits.

    Values that are not finite numbers are left to the type checks.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    lo, hi, hi_open = field.minimum, field.maximum, field.exclusive_maximum
    if lo is not None and value < lo:
        return (_("{value} is too small: it must be at least {limit}", value=value, limit=_num(lo)),
                _("write a value >= {limit}", limit=_num(lo)))
    if hi is not None and hi_open and value >= hi:
        return (_("{value} is too large: it must be below {limit}", value=value, limit=_num(hi)),
                _("write a value < {limit}", limit=_num(hi)))
    if hi is not None and not hi_open and value > hi:
        return (_("{value} is too large: it must be at most {limit}", value=value, limit=_num(hi)),
                _("write a value <= {limit}", limit=_num(hi)))
    if isinstance(value, int) and hi is None and abs(value) > INT_LIMIT:
        return (_("{value} is too large: the trainer stores it as a 32-bit integer", value=value),
                _("write a value <= {limit}", limit=INT_LIMIT))
    return None


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)
