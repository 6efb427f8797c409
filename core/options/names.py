"""Names of preset keys: every key hftui knows, short aliases people type from other tools'
docs, and the did-you-mean hint for a misspelled or misplaced key."""

from __future__ import annotations

import difflib
from functools import lru_cache
from typing import Any

from hftui.core.options import sections as schema
from hftui.core.options.migrate import LEGACY

# Short names people type from other tools' docs.
ALIASES = {
    "lr": "args.learning_rate",
    "batch_size": "args.per_device_train_batch_size",
    "bs": "args.per_device_train_batch_size",
    "train_batch_size": "args.per_device_train_batch_size",
    "eval_batch_size": "args.per_device_eval_batch_size",
    "epochs": "args.num_train_epochs",
    "num_epochs": "args.num_train_epochs",
    "steps": "args.max_steps",
    "warmup": "args.warmup_steps",
    "model": "model.name_or_path",
    "model_name": "model.name_or_path",
    "model_name_or_path": "model.name_or_path",
    "dataset": "dataset.path",
    "dataset_name": "dataset.path",
    "train_file": "dataset.data_files",
    "rank": "peft.r",
    "lora_r": "peft.r",
}


def suggest_key(preset: Any, dotted: str) -> str:
    """A "did you mean ...?" hint for a misspelled or misplaced dotted key, or ""."""
    section, _, name = dotted.rpartition(".")
    known = _known_keys(preset)
    alias = ALIASES.get(name.lower())
    if alias and alias in known:
        return f"did you mean {alias}?"
    legacy = _legacy_names()
    if section == "args" and name in legacy:
        new = legacy[name]
        return f"did you mean args.{new}? ({name} is its old name)" if new else f"{name}: {LEGACY[name].note}"
    # the same name in another section: a key put in the wrong table
    elsewhere = [k for k in known if k.rpartition(".")[2] == name and k != dotted]
    if elsewhere:
        return f"did you mean {elsewhere[0]}? ({name} belongs in [{elsewhere[0].rpartition('.')[0]}])" if "." in elsewhere[0] else f"did you mean {elsewhere[0]}?"
    # a close spelling within the same section
    siblings = {k.rpartition(".")[2]: k for k in known if k.rpartition(".")[0] == section}
    if section == "args":
        for old in legacy:
            siblings.setdefault(old, f"args.{old}")
    match = difflib.get_close_matches(name, list(siblings), n=1, cutoff=0.6)
    if match:
        target = siblings[match[0]]
        old = target.rpartition(".")[2]
        if section == "args" and old in legacy and old not in {k.rpartition(".")[2] for k in known if k.startswith("args.")}:
            new = legacy[old]
            if new:
                return f"did you mean args.{new}? ({old} is its old name)"
        return f"did you mean {target}?"
    # a close spelling anywhere
    match = difflib.get_close_matches(dotted, known, n=1, cutoff=0.75)
    if match:
        return f"did you mean {match[0]}?"
    return ""


# -- key vocabulary ----------------------------------------------------------------------------
def _known_keys(preset: Any) -> list[str]:
    keys = list(schema.TOP_FIELDS) + list(schema.KNOWN_SECTIONS) + ["model.scratch"]
    for section, fields in schema.SECTION_FIELDS.items():
        keys.extend(f"{section}.{n}" for n in fields)
    cat = _catalog_for(preset) if preset is not None else None
    if cat is not None:
        keys.extend(f"args.{n}" for n in cat.args)
    return keys


@lru_cache(maxsize=1)
def _legacy_names() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for old, entry in LEGACY.items():
        out[old] = f"args.{entry.new}" if entry.new else None
    return {k: (v.removeprefix("args.") if v else None) for k, v in out.items()}


def _catalog_for(preset: Any):
    """The catalog of the preset's trainer type, or None when it cannot be read."""
    ttype = preset.get("trainer.type", "sft")
    if not isinstance(ttype, str) or ttype not in schema.TRAINER_TYPES:
        return None
    from hftui.core.options.catalog import get_catalog

    try:
        return get_catalog(ttype, preset.task)
    except Exception:
        return None
