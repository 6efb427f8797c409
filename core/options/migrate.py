"""Legacy `[args]` names from older docs, migrated to what the installed version calls them.

One table names each old key and what replaced it (Axolotl keeps such a table too); on top of
it, any option the installed config class marks "Deprecated alias of `new`" is migrated by
reading that help text, so the next rename needs no code change here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Callable

from hftui.core.i18n import N_, _
from hftui.core.options.toml_text import key_lines, line_of
from hftui.core.problems import Problem


@dataclass(frozen=True)
class Legacy:
    old: str
    new: str | None  # the new [args] key, or None when there is no equivalent
    note: str  # what replaced it, said to the user (marked with N_, translated where shown)
    convert: Callable[[Any, dict], dict] | None = None  # returns {new_key: value} to merge


def _fsdp_sub(key: str) -> Callable[[Any, dict], dict]:
    def convert(value: Any, args: dict) -> dict:
        cfg = dict(args.get("fsdp_config") or {}) if isinstance(args.get("fsdp_config"), dict) else {}
        if key == "offload_params":
            cfg["offload_params"] = bool(value)
        elif key == "transformer_layer_cls_to_wrap":
            cfg[key] = [value] if isinstance(value, str) else list(value)
        else:
            cfg[key] = value
        return {"fsdp_config": cfg}

    return convert


LEGACY: dict[str, Legacy] = {
    entry.old: entry
    for entry in [
        Legacy("evaluation_strategy", "eval_strategy", N_("renamed to eval_strategy in transformers 4.46")),
        Legacy("warmup_ratio", "warmup_steps", N_("transformers 5 takes a fraction < 1 in warmup_steps instead of warmup_ratio")),
        Legacy("logging_dir", None, N_("removed in transformers 5: TensorBoard writes under output_dir; set the TENSORBOARD_LOGGING_DIR environment variable to choose another folder")),
        Legacy("overwrite_output_dir", None, N_("removed in transformers 5: the Trainer no longer refuses a non-empty output_dir; use resume_from_checkpoint (hftui run --resume) to continue a run")),
        Legacy("fp16_opt_level", None, N_("removed in transformers 5 together with apex AMP; fp16 = true uses torch.amp")),
        Legacy("half_precision_backend", None, N_("removed in transformers 5: mixed precision always uses torch.amp")),
        Legacy("tpu_num_cores", None, N_("removed in transformers 5: TPU runs are launched with accelerate, not a TrainingArguments field")),
        Legacy("fsdp_offload_params", "fsdp_config", N_("moved into fsdp_config.offload_params"), _fsdp_sub("offload_params")),
        Legacy("fsdp_transformer_layer_cls_to_wrap", "fsdp_config", N_("moved into fsdp_config.transformer_layer_cls_to_wrap"), _fsdp_sub("transformer_layer_cls_to_wrap")),
        Legacy("fsdp_min_num_params", "fsdp_config", N_("moved into fsdp_config.min_num_params"), _fsdp_sub("min_num_params")),
        Legacy("no_cuda", "use_cpu", N_("renamed to use_cpu")),
        Legacy("per_gpu_train_batch_size", "per_device_train_batch_size", N_("renamed to per_device_train_batch_size")),
        Legacy("per_gpu_eval_batch_size", "per_device_eval_batch_size", N_("renamed to per_device_eval_batch_size")),
        Legacy("push_to_hub_token", None, N_("removed: hftui reads the token from HF_TOKEN in the environment; never write it in a preset")),
        Legacy("hub_token", None, N_("hftui reads the token from HF_TOKEN in the environment; never write it in a preset")),
    ]
}

_ALIAS = re.compile(r"deprecated alias of `([A-Za-z0-9_]+)`", re.IGNORECASE)


def deprecated_aliases(catalog) -> dict[str, str]:
    """old -> new for options the installed class itself marks as deprecated aliases."""
    out = {}
    for name, f in catalog.args.items():
        doc = f.extra.get("doc", "") if f.extra else ""
        m = _ALIAS.search(doc)
        if m and m.group(1) in catalog.args and m.group(1) != name:
            out[name] = m.group(1)
    return out


def migrate_args(args: dict, catalog) -> tuple[dict, list[tuple[str, str, str]]]:
    """Return migrated args and (old key, severity, message) notices."""
    args = dict(args)
    notices: list[tuple[str, str, str]] = []
    aliases = deprecated_aliases(catalog)
    for old in list(args):
        if old in catalog.args and old not in aliases:
            continue  # the installed version still has it
        value = args[old]
        if old in aliases:
            new = aliases[old]
            del args[old]
            if new not in args:
                args[new] = value
            notices.append((old, "notice", _("{old} is deprecated in the installed version; migrated to {new}", old=old, new=new)))
            continue
        entry = LEGACY.get(old)
        if entry is None:
            continue
        del args[old]
        note = _(entry.note)
        if entry.new is None:
            notices.append((old, "warning", _("{old} was dropped: {note}", old=old, note=note)))
            continue
        if entry.new not in catalog.args:
            notices.append((old, "warning", _("{old} was dropped: {note}, but the installed version has no {new} either",
                                              old=old, note=note, new=entry.new)))
            continue
        if entry.convert:
            args.update(entry.convert(value, args))
        elif entry.new in args:
            notices.append((old, "warning", _("{old} ignored: {new} is set too ({note})", old=old, new=entry.new, note=note)))
            continue
        else:
            args[entry.new] = value
        notices.append((old, "notice", _("{old} migrated to {new}: {note}", old=old, new=entry.new, note=note)))
    return args, notices


def migrate_preset(preset):
    """Migrate `[args]` of a preset; the notices are kept on the preset for `validate`."""
    args = preset.data.get("args")
    if not isinstance(args, dict) or not args:
        return preset
    if not any(k in LEGACY or k in ("gradient_checkpointing", "gradient_checkpointing_kwargs") for k in args):
        # Only reach for the catalog (it may import transformers) when something may be old.
        from hftui.core.options.catalog import cached_catalog

        cat = cached_catalog(preset.trainer_type, preset.task)
        aliases = deprecated_aliases(cat) if cat is not None else {}
        if not any(k in aliases for k in args):
            return preset
    from hftui.core.options.catalog import get_catalog

    try:
        cat = get_catalog(preset.trainer_type if isinstance(preset.trainer_type, str) else "trainer", preset.task)
    except (ImportError, KeyError):
        return preset
    new_args, notes = migrate_args(args, cat)
    if not notes:
        return preset
    data = dict(preset.data)
    data["args"] = new_args
    file = str(preset.path) if preset.path else None
    lines = key_lines(preset.source_text or "")
    problems = tuple(
        Problem(f"args.{old}", sev, msg, _hint(old), line_of(lines, f"args.{old}"), file) for old, sev, msg in notes
    )
    return replace(preset, data=data, notices=preset.notices + problems)


def _hint(old: str) -> str:
    entry = LEGACY.get(old)
    if entry and entry.new:
        return _("write {new} instead of {old} (hftui save does this for you)", new=entry.new, old=old)
    if entry:
        return _("remove {old} from [args]", old=old)
    return _("use the new name shown")
