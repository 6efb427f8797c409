"""The trainer's config object (TrainingArguments, SFTConfig, DPOConfig, GRPOConfig, ...) for a preset.

[args] as written, plus the defaults hftui chooses where the preset is silent. The worker and
the exported script both start from `config_kwargs`, so they train with the same values.
"""

from __future__ import annotations

import os
import warnings

from hftui.core.i18n import _
from hftui.core.options.catalog import load_config_class
from hftui.core.problems import PresetError, Problem
from hftui.core.train import data as data_mod
from hftui.core.train.metrics import needs_generation


def world_size() -> int:
    """How many processes train together (torchrun's WORLD_SIZE; 1 outside it)."""
    return int(os.environ.get("WORLD_SIZE", "1") or 1)


def config_kwargs(preset, prepared=None, auto_cpu: bool = True) -> dict:
    """[args] plus the defaults hftui chooses where the preset is silent."""
    args = dict(preset.section("args"))
    ttype = preset.trainer_type
    args.setdefault("output_dir", str(preset.output_dir()))
    args["output_dir"] = str(preset.resolve(args["output_dir"]))
    args.setdefault("disable_tqdm", True)
    args.setdefault("report_to", "none")
    if auto_cpu and "use_cpu" not in args and not _cuda_available():
        args["use_cpu"] = True  # what the launcher sets too; lets SFTConfig's bf16 default work on CPU
    if ttype in ("sft", "reward", "dpo"):
        args.setdefault("max_length", data_mod.max_length(preset))
    if ttype == "sft" and prepared is not None:
        for k, v in prepared.config_updates.items():
            args.setdefault(k, v)
    if ttype == "trainer" and preset.task == "seq2seq-lm" and needs_generation(preset):
        args.setdefault("predict_with_generate", True)
        args.setdefault("generation_max_length", data_mod.max_length(preset))
    if ttype == "ppo":
        steps = int(args.pop("max_steps", 0) or 0)
        if steps > 0 and not args.get("total_episodes"):
            per = int(args.get("per_device_train_batch_size", 8)) * int(args.get("gradient_accumulation_steps", 1)) * world_size()
            args["total_episodes"] = steps * per
    return args


def _cuda_available() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def make_config(preset, prepared=None):
    """The config class of the trainer type, made from `config_kwargs`; a PresetError naming
    [args] when the class refuses an option."""
    cls = load_config_class(preset.trainer_type, preset.task)
    kwargs = config_kwargs(preset, prepared)
    file = str(preset.path) if preset.path else None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            return cls(**kwargs)
    except TypeError as exc:
        raise PresetError([Problem("args", "error", _("{cls} does not take this option: {error}", cls=cls.__name__, error=exc), _("run hftui validate to see the misspelled key and a suggestion"))], file) from None
    except ValueError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise PresetError([Problem("args", "error", _("{cls} rejected the options: {error}", cls=cls.__name__, error=first[:400]), _("change the [args] values it names"))], file) from None
