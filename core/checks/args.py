"""[args]: every option is a field of the installed config class with a value it accepts, and
the options agree with each other the way the Trainer will insist on at start-up."""

from __future__ import annotations

import difflib
import math
from typing import Any

from hftui.core import extras
from hftui.core.i18n import N_, _
from hftui.core.options import sections as schema
from hftui.core.options.names import suggest_key
from hftui.core.options.sections import EVAL_SPLIT_NAMES
from hftui.core.preset import Preset

from hftui.core.checks import installed, machine
from hftui.core.checks.data_size import check_data_size
from hftui.core.checks.mismatch import check_mismatches
from hftui.core.checks.report import Report
from hftui.core.checks.secrets import SECRET_KEYS
from hftui.core.checks.values import check_value, num, show

UNKNOWN_OPTION = N_("unknown option {key}: the installed {config} has no such field")


def check_args(rep: Report, preset: Preset):
    """Each [args] value against its catalog field; the catalog (None when unavailable)."""
    args = preset.get("args")
    ttype = preset.get("trainer.type", "sft")
    if not isinstance(args, dict) or not isinstance(ttype, str) or ttype not in schema.TRAINER_TYPES:
        return None
    if extras.trainer_missing(ttype):
        return None  # check_trainer says why, in one line
    from hftui.core.options.catalog import get_catalog

    try:
        cat = get_catalog(ttype, preset.task)
    except Exception as exc:
        rep.warning("args", _("cannot check [args]: the {trainer} config class is not available ({error})", trainer=ttype, error=str(exc).splitlines()[0][:160]),
                    _("install the libraries in pyproject.toml (pip install -e .)"))
        return None
    for key, value in args.items():
        path = f"args.{key}"
        f = cat.args.get(key)
        if f is None:
            hint = suggest_key(preset, path)
            rep.error(path, _(UNKNOWN_OPTION, key=repr(key), config=cat.class_name), hint or _("see `hftui` (the wizard) for every option with its help"))
            continue
        if key.lower() in SECRET_KEYS:
            continue  # reported by the secrets check, never echoed
        check_value(rep, path, value, f)
    return cat


def _number(value: Any) -> float | None:
    """A finite number, or None (non-finite values are reported by the type checks)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def has_eval_data(preset: Preset) -> bool:
    """Whether the worker will find evaluation data (it also picks eval/validation/test files)."""
    ds = preset.section("dataset")
    if ds.get("eval_split") or ds.get("eval_fraction"):
        return True
    raw = ds.get("data_files")
    train = ds.get("train_split", "train")
    return isinstance(raw, dict) and any(k in EVAL_SPLIT_NAMES and k != train for k in raw)


def check_training_rules(rep: Report, preset: Preset, cat) -> None:
    """Options that contradict each other, given the installed defaults of the ones not set."""
    args = preset.section("args")

    def a(name: str) -> Any:
        if name in args:
            return args[name]
        return cat.args[name].default if cat is not None and name in cat.args else None

    _check_precision(rep, args, a)
    _check_schedule(rep, preset, args, a)
    _check_run_length(rep, preset, args, a)
    check_data_size(rep, preset, a)
    check_mismatches(rep, preset, a)
    if a("dataloader_prefetch_factor") is not None and a("dataloader_num_workers") == 0 and "dataloader_prefetch_factor" in args:
        rep.error("args.dataloader_prefetch_factor", _("dataloader_prefetch_factor only works with dataloader_num_workers > 0"),
                  _("set dataloader_num_workers = 2, or remove dataloader_prefetch_factor"))
    max_steps, epochs = _number(a("max_steps")), _number(a("num_train_epochs"))
    if max_steps is not None and max_steps <= 0 and epochs == 0 and ("max_steps" in args or "num_train_epochs" in args):
        rep.error("args.num_train_epochs", _("nothing to train: max_steps is not set (<= 0) and num_train_epochs = 0"), _("set max_steps = 100 or num_train_epochs = 1"))
    lr = _number(args.get("learning_rate"))
    if lr is not None and lr > 1 and math.isfinite(lr):
        rep.warning("args.learning_rate", _("learning_rate = {value} is far above any usual value; training will diverge", value=num(lr)),
                    _("try 2e-5 to 5e-5 for fine-tuning, 1e-4 to 2e-4 for LoRA"))
    metric = args.get("metric_for_best_model")
    metrics = preset.get("trainer.metrics")
    if isinstance(metric, str) and isinstance(metrics, list) and metrics:
        base = metric.removeprefix("eval_")
        if base != "loss" and base not in metrics:
            rep.warning("args.metric_for_best_model", _("metric_for_best_model = {metric} is not among trainer.metrics ({metrics}) or loss",
                                                         metric=repr(metric), metrics=", ".join(map(str, metrics))),
                        _('write metric_for_best_model = {metric} or "eval_loss"', metric=show(metrics[0])))
    check_report_to(rep, args.get("report_to"))
    _check_optimizer(rep, args.get("optim"))
    _check_files(rep, preset, args)
    if args.get("trust_remote_code") is True:
        rep.warning("args.trust_remote_code", _("trust_remote_code = true runs Python code downloaded with the model"),
                    _("`hftui run` refuses it unless you pass --trust-remote-code"))


def _check_precision(rep: Report, args: dict, a) -> None:
    if a("fp16") is True and a("bf16") is True:
        rep.error("args.bf16", _("fp16 and bf16 are both true: pick one mixed precision"),
                  _("keep bf16 = true on Ampere or newer GPUs (A100, RTX 30xx+), else fp16 = true"))
    if a("fp16_full_eval") is True and a("bf16_full_eval") is True:
        rep.error("args.bf16_full_eval", _("fp16_full_eval and bf16_full_eval are both true"), _("keep one of them"))
    if a("bf16") is True and "bf16" in args:
        gpus = machine.visible_gpus()
        if gpus and not all(g.supports_bf16 for g in gpus):
            rep.warning("args.bf16", _("bf16 needs an Ampere or newer GPU; {gpu} does not support it", gpu=gpus[0].name), _("use fp16 = true on this machine"))
    both = a("fp16") is True and a("bf16") is True  # reported above: one fix at a time
    for name in ("fp16", "bf16"):
        # transformers accepts both on the CPU (hftui sets use_cpu there) and runs CPU autocast
        if not both and args.get(name) is True and (a("use_cpu") is True or not machine.visible_gpus()):
            rep.warning(f"args.{name}", _("{name} = true, but this run goes on the CPU (no GPU here): {name} mixed precision on a CPU is no faster "
                                          "than float32, often much slower, and less precise", name=name),
                        _("set {name} = false for runs on this machine (--set args.{name}=false); keep it in presets meant for a GPU", name=name))


def _check_schedule(rep: Report, preset: Preset, args: dict, a) -> None:
    """When the run evaluates, logs and saves, and what load_best_model_at_end needs of that."""
    eval_strategy = a("eval_strategy")
    save_strategy = a("save_strategy")
    evaluating = isinstance(eval_strategy, str) and eval_strategy != "no"
    if evaluating and not has_eval_data(preset):
        hint = _('set dataset.eval_fraction = 0.1, dataset.eval_split = "validation", or data_files = { train = "...", eval = "..." } (or eval_strategy = "no")')
        rep.error("args.eval_strategy", _("eval_strategy = {value} but the dataset has no evaluation data", value=show(eval_strategy)), hint)
    logging_steps, eval_steps, save_steps = _number(a("logging_steps")), _number(a("eval_steps")), _number(a("save_steps"))
    if a("logging_strategy") == "steps" and logging_steps == 0:
        rep.error("args.logging_steps", _('logging_strategy = "steps" needs logging_steps > 0'), _("write logging_steps = 10"))
    if eval_strategy == "steps" and not eval_steps and logging_steps == 0:
        rep.error("args.eval_steps", _('eval_strategy = "steps" needs eval_steps (or logging_steps) > 0'), _("write eval_steps = 100"))
    for name, value, strategy in (("logging_steps", logging_steps, a("logging_strategy")), ("eval_steps", eval_steps, eval_strategy), ("save_steps", save_steps, save_strategy)):
        if name in args and value is not None and value > 1 and value != int(value) and strategy == "steps":
            rep.error(f"args.{name}", _("{name} = {value} must be a whole number when above 1 (below 1 it is a fraction of all steps)", name=name, value=num(value)),
                      _("write {line}", line=f"{name} = {int(value)}"))
    if a("load_best_model_at_end") is True:
        if save_strategy != "best" and eval_strategy != save_strategy:
            rep.error("args.load_best_model_at_end",
                      _("load_best_model_at_end needs the same eval and save strategy, but eval_strategy = {eval} and save_strategy = {save}",
                        eval=show(eval_strategy), save=show(save_strategy)),
                      _("set {line}", line=f"save_strategy = {show(eval_strategy)}") if evaluating else _('set eval_strategy and save_strategy both to "steps" (or "epoch")'))
        elif save_strategy == "steps" and eval_strategy == "steps":
            ev = eval_steps or logging_steps
            if ev and save_steps:
                mixed = (ev < 1) != (save_steps < 1)
                if mixed or round(save_steps * 1_000_000) % round(ev * 1_000_000):
                    rep.error("args.save_steps", _("load_best_model_at_end needs save_steps ({save}) to be a multiple of eval_steps ({eval})", save=num(save_steps), eval=num(ev)),
                              _("write {line}", line=f"save_steps = {num(ev * max(1, round(save_steps / ev)))}") if not mixed else _("use whole step counts for both"))
        if save_strategy == "no":
            rep.error("args.save_strategy", _('load_best_model_at_end needs checkpoints, but save_strategy = "no"'), _('set save_strategy = "steps"'))
    scheduler = a("lr_scheduler_type")
    if scheduler in ("reduce_lr_on_plateau", "greedy") and not evaluating:
        rep.error("args.lr_scheduler_type", _('lr_scheduler_type = {value} adjusts on evaluation results, but eval_strategy = "no"', value=show(scheduler)),
                  _('set eval_strategy = "steps" (with evaluation data), or another scheduler such as "linear"'))


def _check_run_length(rep: Report, preset: Preset, args: dict, a) -> None:
    """What checkpoints are kept, and a warmup that the run is too short to finish."""
    if args.get("save_total_limit") == 0 and not isinstance(args.get("save_total_limit"), bool):
        rep.error("args.save_total_limit", _('save_total_limit = 0 does not mean "keep no checkpoints": transformers reads 0 as no limit '
                                             "and keeps every checkpoint it saves"),
                  _('to save none, write save_strategy = "no"; to keep the last N, save_total_limit = N (1 or more); to keep all, remove it'))
    max_steps = _number(a("max_steps"))
    ratio = _number(args.get("warmup_ratio"))
    migrated = any(p.path == "args.warmup_ratio" for p in preset.notices)
    warmup = _number(args.get("warmup_steps"))
    if ratio is None and migrated and warmup is not None:
        ratio = warmup
    if ratio is not None and ratio >= 1:
        if not migrated:
            message = _("warmup_ratio = {value} asks for a warmup as long as the whole run or longer: the learning rate would never reach its set value",
                        value=num(ratio))
        elif int(ratio) == 1:
            message = _("warmup_ratio = {value} asks for a warmup as long as the whole run or longer: the learning rate would never reach its set value; "
                        "moved to warmup_steps, transformers 5 reads {value} as 1 step instead", value=num(ratio))
        else:
            message = _("warmup_ratio = {value} asks for a warmup as long as the whole run or longer: the learning rate would never reach its set value; "
                        "moved to warmup_steps, transformers 5 reads {value} as {steps} steps instead", value=num(ratio), steps=int(ratio))
        rep.warning("args.warmup_ratio", message, _("write warmup_steps = 0.1 (a fraction below 1 of all steps) or a number of steps below max_steps"))
    elif warmup is not None and warmup >= 1 and max_steps is not None and max_steps > 0 and warmup >= max_steps:
        rep.warning("args.warmup_steps", _("warmup_steps = {warmup} is not shorter than the run (max_steps = {max_steps}): the learning rate is "
                                           "still rising when training ends and never reaches learning_rate", warmup=num(warmup), max_steps=num(max_steps)),
                    _("write warmup_steps = {steps} (a tenth of the run) or a fraction such as 0.1", steps=max(1, int(max_steps) // 10)))


def _check_optimizer(rep: Report, optim: Any) -> None:
    """An optimizer from a package that is not installed, which the Trainer imports only when
    training starts."""
    if not isinstance(optim, str) or optim not in installed.OPTIMIZER_PACKAGES:
        return
    module, package = installed.OPTIMIZER_PACKAGES[optim]
    if installed.missing_package(module):
        rep.error("args.optim", _("optim = {value} needs the {package} package, which is not installed", value=show(optim), package=package),
                  _('pip install {package}, or write optim = "adamw_torch" (PyTorch\'s AdamW, always there)', package=package))


def _check_files(rep: Report, preset: Preset, args: dict) -> None:
    """Files and folders [args] points at: a checkpoint to resume, a sharding config."""
    resume = args.get("resume_from_checkpoint")
    if isinstance(resume, str) and resume:
        p = preset.resolve(resume)
        if not p.is_dir():
            rep.error("args.resume_from_checkpoint", _("checkpoint folder not found: {path}", path=p),
                      _("point it at an existing checkpoint-N folder, or use `hftui run --resume` to find the last one"))
    for key in ("deepspeed", "fsdp_config"):
        value = args.get(key)
        if isinstance(value, str) and value.endswith(".json") and not preset.resolve(value).is_file():
            rep.error(f"args.{key}", _("{key} file not found: {path}", key=key, path=preset.resolve(value)), _("check the path (relative to the preset's folder)"))


def check_report_to(rep: Report, value: Any) -> None:
    """report_to names the Trainer would reject, or whose package is missing, at start-up."""
    names = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    known = installed.integrations()
    for name in names:
        if not isinstance(name, str) or name in ("none", "all"):
            continue
        if name not in known:
            close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.5)
            choices = ", ".join(known)
            rep.error("args.report_to", _("report_to {name} is not an integration the installed transformers knows", name=repr(name)),
                      _("did you mean {close}? choose from: none, {choices}", close=repr(close[0]), choices=choices) if close
                      else _("choose from: none, {choices}", choices=choices))
        elif not installed.integration_installed(name):
            package = installed.INTEGRATION_PACKAGES[name][0]
            rep.error("args.report_to", _("report_to {name} needs the {package} package, which is not installed", name=repr(name), package=package),
                      _("pip install {package}, or remove {name} from report_to (hftui's own pane shows loss and metrics)", package=package, name=repr(name)))
