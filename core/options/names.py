"""Names of preset keys: every key hftui knows, short aliases people type from other tools'
docs, and the did-you-mean hint for a misspelled or misplaced key."""

from __future__ import annotations

import difflib
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterator

from hftui.core.i18n import _
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


# A did-you-mean compares one name with every known key (a few hundred): about a millisecond.
# A preset of thousands of unknown keys is not a preset with typos, so a check asks for at most
# so many hints (see `hint_budget`); names longer than any key are not compared at all.
MAX_HINTED_NAME = 64
_BUDGET: ContextVar[list[int] | None] = ContextVar("hftui_hint_budget", default=None)


@contextmanager
def hint_budget(limit: int) -> Iterator[None]:
    """Within the block, `suggest_key` answers at most `limit` times; after that it says nothing
    (the check reports so many unknown keys one by one, and the rest in one line)."""
    token = _BUDGET.set([limit])
    try:
        yield
    finally:
        _BUDGET.reset(token)


def _spend() -> bool:
    budget = _BUDGET.get()
    if budget is None:
        return True
    budget[0] -= 1
    return budget[0] >= 0


def suggest_key(preset: Any, dotted: str) -> str:
    """A "did you mean ...?" hint for a misspelled or misplaced dotted key, or ""."""
    if not _spend():
        return ""
    section, _dot, name = dotted.rpartition(".")
    vocab = _vocabulary(preset)
    known = vocab.keys
    alias = ALIASES.get(name.lower())
    if alias and alias in vocab.key_set:
        return _("did you mean {key}?", key=alias)
    legacy = _legacy_names()
    if section == "args" and name in legacy:
        new = legacy[name]
        return _("did you mean args.{new}? ({old} is its old name)", new=new, old=name) if new else f"{name}: {_(LEGACY[name].note)}"
    # the same name in another section: a key put in the wrong table
    elsewhere = [k for k in vocab.by_name.get(name, ()) if k != dotted]
    if elsewhere:
        if "." in elsewhere[0]:
            return _("did you mean {key}? ({name} belongs in [{section}])", key=elsewhere[0], name=name, section=elsewhere[0].rpartition(".")[0])
        return _("did you mean {key}?", key=elsewhere[0])
    if len(name) > MAX_HINTED_NAME:
        return ""
    # a close spelling within the same section
    siblings = dict(vocab.by_section.get(section, {}))
    if section == "args":
        for old in legacy:
            siblings.setdefault(old, f"args.{old}")
    match = difflib.get_close_matches(name, list(siblings), n=1, cutoff=0.6)
    if match:
        target = siblings[match[0]]
        old = target.rpartition(".")[2]
        if section == "args" and old in legacy and f"args.{old}" not in vocab.key_set:
            new = legacy[old]
            if new:
                return _("did you mean args.{new}? ({old} is its old name)", new=new, old=old)
        return _("did you mean {key}?", key=target)
    # a close spelling anywhere
    match = difflib.get_close_matches(dotted, known, n=1, cutoff=0.75)
    if match:
        return _("did you mean {key}?", key=match[0])
    return ""


# -- key vocabulary ----------------------------------------------------------------------------
@dataclass(frozen=True)
class _Vocabulary:
    keys: list[str]
    key_set: frozenset[str]
    by_name: dict[str, list[str]]  # last part -> every key ending in it
    by_section: dict[str, dict[str, str]]  # section -> {last part: key}


_VOCABULARIES: dict[tuple[str, str], _Vocabulary] = {}


def _vocabulary(preset: Any) -> _Vocabulary:
    """Every key hftui knows for the preset's trainer type and task, indexed for look-ups; kept
    once the option catalog could be read (before that it may still appear)."""
    ident = (str(preset.get("trainer.type", "sft")), str(preset.task)) if preset is not None else ("", "")
    if ident in _VOCABULARIES:
        return _VOCABULARIES[ident]
    keys = list(schema.TOP_FIELDS) + list(schema.KNOWN_SECTIONS) + ["model.scratch"]
    for section, fields in schema.SECTION_FIELDS.items():
        keys.extend(f"{section}.{n}" for n in fields)
    cat = _catalog_for(preset) if preset is not None else None
    if cat is not None:
        keys.extend(f"args.{n}" for n in cat.args)
    by_name: dict[str, list[str]] = {}
    by_section: dict[str, dict[str, str]] = {}
    for key in keys:
        section, _dot, last = key.rpartition(".")
        by_name.setdefault(last, []).append(key)
        by_section.setdefault(section, {})[last] = key
    vocab = _Vocabulary(keys, frozenset(keys), by_name, by_section)
    if cat is not None:
        _VOCABULARIES[ident] = vocab
    return vocab


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
