"""The training settings a run will really use: the installed config class's defaults plus the
preset, resolved the way the class resolves them.

SFTConfig and RewardConfig default to bf16 (`bf16 = None` means "on unless fp16") and to
activation checkpointing, where TrainingArguments defaults to neither; hftui passes the sequence
length the data path uses (`args.max_length`, else `dataset.max_length`). An estimate that read
only the preset would miss all of that, so the memory estimate reads these settings instead.
Each setting carries where it came from, for the reasons people see.
"""

from __future__ import annotations

from dataclasses import dataclass

from hftui.core.i18n import N_, _

DEFAULT_ATTENTION = "sdpa"  # what transformers picks when the model does not say
# The name of each setting in `sources`, as people read it.
_LABELS = {"precision": N_("precision"), "activation checkpointing": N_("activation checkpointing"),
           "batch": N_("batch"), "sequence": N_("sequence"), "attention": N_("attention")}


@dataclass(frozen=True)
class TrainingShape:
    mixed: str | None  # "bf16" | "fp16" | None (fp32 compute)
    checkpointing: bool
    batch: int  # per device
    seq: int  # tokens per row at most
    optim: str
    attention: str
    sources: dict  # setting -> where its value came from, in words

    def reasons(self) -> list[str]:
        return [f"{_(_LABELS.get(k, k))}: {v}" for k, v in self.sources.items()]


def defaults(preset) -> tuple[dict, str]:
    """The installed config class's defaults for the preset's trainer type, and its name
    ({} when the catalog cannot be read here)."""
    from hftui.core.options.catalog import get_catalog

    try:
        cat = get_catalog(preset.trainer_type, preset.task)
    except Exception:
        return {}, _("the config class")
    return {name: f.default for name, f in cat.args.items()}, cat.class_name


def shape(preset) -> TrainingShape:
    """The effective precision, checkpointing, batch, sequence, optimizer and attention."""
    from hftui.core.train.data import max_length

    base, cls = defaults(preset)
    args = preset.section("args")

    def value(name, fallback=None):
        if name in args:
            return args[name], _("args.{name} = {value} in the preset", name=name, value=repr(args[name]))
        if name in base:
            return base[name], _("{cls}'s default {value}", cls=cls, value=repr(base[name]))
        return fallback, _("{value} (not in {cls})", value=repr(fallback), cls=cls)

    sources: dict = {}
    fp16, fp16_from = value("fp16", False)
    bf16, bf16_from = value("bf16", False)
    if fp16:
        mixed, sources["precision"] = "fp16", _("fp16 mixed precision ({source})", source=fp16_from)
    elif bf16 is None and "bf16" in base:
        # SFTConfig / RewardConfig: "If not set, it defaults to True if fp16 is not set."
        mixed, sources["precision"] = "bf16", _("bf16 mixed precision ({cls}'s default: on unless fp16)", cls=cls)
    elif bf16:
        mixed, sources["precision"] = "bf16", _("bf16 mixed precision ({source})", source=bf16_from)
    else:
        mixed, sources["precision"] = None, _("fp32 compute ({source})", source=bf16_from)

    act, act_from = value("activation_checkpointing", None)
    grad, grad_from = value("gradient_checkpointing", None)
    # transformers: gradient_checkpointing is the older alias, used when the new name is unset
    checkpointing, ckpt_from = (act, act_from) if act is not None else (grad, grad_from)
    sources["activation checkpointing"] = _("on ({source})", source=ckpt_from) if checkpointing else _("off ({source})", source=ckpt_from)

    batch, batch_from = value("per_device_train_batch_size", 8)
    batch = batch if isinstance(batch, int) and not isinstance(batch, bool) and batch > 0 else 8
    sources["batch"] = _("{batch} per device ({source})", batch=batch, source=batch_from)

    seq = max_length(preset)
    where = "args.max_length" if preset.get("args.max_length") else "dataset.max_length" if preset.get("dataset.max_length") else _("hftui's default")
    sources["sequence"] = _("up to {seq} tokens per row ({source})", seq=seq, source=where)

    optim, _optim_from = value("optim", "adamw_torch")
    attention = str(preset.get("model.attn_implementation") or preset.get("model.scratch.attn_implementation") or DEFAULT_ATTENTION)
    sources["attention"] = attention
    return TrainingShape(mixed, bool(checkpointing), int(batch), int(seq), str(optim or "adamw_torch"), attention, sources)
