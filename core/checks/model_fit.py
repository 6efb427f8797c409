"""[model] against what the run will feed it: a vocabulary as large as the tokenizer, a position
table as long as max_length, LoRA target_modules that name layers of this model, and a
[model.scratch] that says how big it is (the attention kernel is checked in `speed`).
Each of these is otherwise a traceback minutes into the run, or an out-of-memory kill.

What the preset states is compared directly; the model on the meta device (`meta_model`) is
asked only when the answer needs it, so presets that state enough never import torch here.
"""

from __future__ import annotations

import difflib
import json
import re

from hftui.core.i18n import N_, _
from hftui.core.options import sections as schema
from hftui.core.preset import Preset
from hftui.core.train import modeling

from hftui.core.checks import hub, installed
from hftui.core.checks.meta_model import ModelShape, model_shape
from hftui.core.checks.report import Report
from hftui.core.checks.values import show

# [model.scratch] keys that set a model's size, in the spellings of the common architectures.
SIZE_KEYS = ("hidden_size", "n_embd", "d_model", "dim", "num_hidden_layers", "n_layer", "num_layers", "n_layers")
# The config field that bounds the positions, as architectures spell it.
POSITION_KEYS = ("max_position_embeddings", "n_positions")
# A fresh model this big from a [model.scratch] that sets no size is a mistake, not a plan.
BIG_DEFAULT_PARAMS = 1_000_000_000
_SMALL_MODEL = N_("set hidden_size, num_hidden_layers, num_attention_heads and intermediate_size (64, 2, 4 and 192 in presets/quickstart.toml)")


def check_model_fit(rep: Report, preset: Preset) -> None:
    model = preset.get("model")
    ttype = preset.get("trainer.type", "sft")
    if not isinstance(model, dict) or ttype not in schema.TRAINER_TYPES or preset.task not in schema.TASKS:
        return
    scratch = model.get("scratch") if isinstance(model.get("scratch"), dict) else None
    if scratch is not None:
        _check_vocab(rep, preset, scratch)
    task = modeling.model_task(ttype, preset.task)
    built: list[ModelShape | None] = []

    def shape(always: bool = False) -> ModelShape | None:
        """The model on the meta device. Before a run the worker builds it anyway, so `hftui run`
        imports torch for it only when the run could not start otherwise (`always`)."""
        if not built or (built[0] is None and always):
            build = always or not rep.for_run
            found = model_shape(preset, task, _num_labels(preset, task), build=build) if _buildable(preset, scratch, task) else None
            built[:] = [found]
        return built[0]

    _check_default_size(rep, preset, scratch, shape)
    _check_positions(rep, preset, scratch, shape)
    _check_lora_targets(rep, preset, shape)


def _num_labels(preset: Preset, task: str) -> int | None:
    if preset.trainer_type == "reward":
        return 1
    value = preset.get("model.num_labels")
    if task == "sequence-classification" and isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None


def _buildable(preset: Preset, scratch: dict | None, task: str) -> bool:
    """Whether a config alone builds the model here, offline and with no code of the model's."""
    if scratch is not None:
        arch = scratch.get("architecture", schema.SECTION_FIELDS["model.scratch"]["architecture"].default)
        able = installed.task_architectures().get(task)
        return isinstance(arch, str) and arch in installed.model_types() and (not able or arch in able)
    name = preset.get("model.name_or_path")
    if not isinstance(name, str) or not name or preset.get("model.trust_remote_code") is True:
        return False
    if (preset.resolve(name) / "config.json").is_file():
        return True
    return not name.startswith((".", "/", "~")) and hub.is_hub_id(name) and hub.in_hub_cache("models", name)


def tokenizer_size(preset: Preset, spec: str) -> int | None:
    """How many token ids [model.scratch]'s tokenizer hands out (None when it cannot be read
    without loading it: only a tokenizer.json is read, never code)."""
    if spec == "byte":
        return modeling.BYTE_TOKENIZER_VOCAB
    path = preset.resolve(spec) / "tokenizer.json"
    try:
        if not path.is_file() or path.stat().st_size > 256 << 20:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        vocab = data.get("model", {}).get("vocab")
        ids = list(vocab.values()) if isinstance(vocab, dict) else list(range(len(vocab))) if isinstance(vocab, list) else []
        ids += [t["id"] for t in data.get("added_tokens") or () if isinstance(t, dict) and isinstance(t.get("id"), int)]
    except (OSError, ValueError, AttributeError, TypeError):
        return None
    ids = [i for i in ids if isinstance(i, int)]
    return max(ids) + 1 if ids else None


def _check_vocab(rep: Report, preset: Preset, scratch: dict) -> None:
    size = scratch.get("vocab_size")
    spec = scratch.get("tokenizer", "byte")
    if not isinstance(size, int) or isinstance(size, bool) or size < 1 or not isinstance(spec, str):
        return
    needed = tokenizer_size(preset, spec)
    if needed is not None and size < needed:
        rep.error("model.scratch.vocab_size",
                  _("vocab_size = {size} is smaller than the tokenizer, which has {needed} tokens: ids from {size} up have no embedding, "
                    "and the first batch holding one fails with an index error", size=size, needed=needed),
                  _("remove vocab_size (hftui sets it from the tokenizer), or write vocab_size = {needed}", needed=needed))


def _check_default_size(rep: Report, preset: Preset, scratch: dict | None, shape) -> None:
    if scratch is None or any(k in scratch for k in SIZE_KEYS):
        return
    found = shape(always=True)  # a default-size model may not even fit this machine's memory
    if found is None:
        return
    arch = scratch.get("architecture", schema.SECTION_FIELDS["model.scratch"]["architecture"].default)
    message = _("[model.scratch] sets no size, so it builds {arch} at its default size: {count} parameters, from random weights",
                arch=show(arch), count=_count(found.total_params))
    name = preset.get("model.name_or_path")
    if isinstance(name, str) and name:
        hint = _("to fine-tune {name}, remove [model.scratch] (the model's own tokenizer comes with it); for a small fresh model, {small}",
                 name=show(name), small=_(_SMALL_MODEL))
    else:
        hint = _("for a small fresh model, {small}", small=_(_SMALL_MODEL))
    rep.add("model.scratch", "error" if found.total_params >= BIG_DEFAULT_PARAMS else "warning", message, hint)


def _count(n: int) -> str:
    for unit, size in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return str(n)


def _int(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def longest_sequence(preset: Preset) -> tuple[int, str] | None:
    """(the longest sequence the model is fed, the key that sets it): max_length, plus the
    response PPO generates after each prompt."""
    for key in ("args.max_length", "dataset.max_length"):
        if preset.get(key) is not None:
            n, where = _int(preset.get(key)), key
            break
    else:
        n, where = schema.SECTION_FIELDS["dataset"]["max_length"].default, "dataset.max_length"
    if n is None:
        return None
    if preset.trainer_type == "ppo":
        response = _int(preset.get("args.response_length"))
        if response is None:
            try:
                from hftui.core.options.catalog import get_catalog

                response = _int(get_catalog("ppo", preset.task).args["response_length"].default)
            except Exception:
                response = None
        n += response or 0
    return n, where


def _declared_positions(preset: Preset, scratch: dict | None) -> tuple[int | None, str | None]:
    """(the position limit the preset or the model folder states, the key that states it)."""
    if scratch is not None:
        for key in POSITION_KEYS:
            if _int(scratch.get(key)):
                return scratch[key], f"model.scratch.{key}"
        arch = scratch.get("architecture", schema.SECTION_FIELDS["model.scratch"]["architecture"].default)
        if isinstance(arch, str) and arch in installed.model_types():
            return installed.config_default(arch, *POSITION_KEYS), None
        return None, None
    name = preset.get("model.name_or_path")
    if not isinstance(name, str) or not name:
        return None, None
    path = preset.resolve(name) / "config.json"
    try:
        config = json.loads(path.read_text(encoding="utf-8")) if path.is_file() and path.stat().st_size < 16 << 20 else {}
    except (OSError, ValueError):
        config = {}
    return next(((_int(config.get(k)), None) for k in POSITION_KEYS if isinstance(config, dict) and _int(config.get(k))), (None, None))


def _check_positions(rep: Report, preset: Preset, scratch: dict | None, shape) -> None:
    longest = longest_sequence(preset)
    declared, key = _declared_positions(preset, scratch)
    if longest is None or declared is None or longest[0] + 2 <= declared:
        return  # the margin covers tables whose first ids are reserved (RoBERTa's, BART's)
    need, where = longest
    found = shape()
    rows = found.position_rows if found is not None else None
    positions = found.positions if found is not None and found.positions else declared
    what = (_("max_length plus PPO's response_length let rows run to {need} tokens", need=need) if preset.trainer_type == "ppo"
            else _("max_length lets rows run to {need} tokens", need=need))
    fix_key = key or ("model.scratch.max_position_embeddings" if scratch is not None else None)
    field = fix_key.rpartition(".")[2] if fix_key else ""
    if rows is not None and need > rows:
        fix = (_("write {field} = {size} or more, or lower {key} to {rows}", field=field, size=need + positions - rows, key=where, rows=rows)
               if fix_key else _("lower {key} to {rows}", key=where, rows=rows))
        rep.error(key or where, _("{what}, but the model's position table holds {rows} positions: the first longer row fails with an index error",
                                  what=what, rows=rows), fix)
    elif rows is None and need > positions:
        fix = (_("write {field} = {size}, or lower {key} to {rows}", field=field, size=need, key=where, rows=positions)
               if fix_key else _("lower {key} to {rows}", key=where, rows=positions))
        rep.warning(key or where, _("{what}, past the model's max_position_embeddings = {positions}: its rotary positions run on, "
                                    "but beyond the length it is set up for", what=what, positions=positions), fix)


def _check_lora_targets(rep: Report, preset: Preset, shape) -> None:
    peft = preset.get("peft")
    targets = peft.get("target_modules", "all-linear") if isinstance(peft, dict) else "all-linear"
    if targets == "all-linear" or not (isinstance(targets, str) or (isinstance(targets, list) and targets and all(isinstance(t, str) for t in targets))):
        return
    key = "peft.target_modules"
    if isinstance(targets, str):
        try:
            pattern = re.compile(targets)
        except re.error as exc:
            rep.error(key, _("target_modules {value} is not a regular expression: {error}", value=show(targets), error=exc),
                      _('write a list of layer names, e.g. ["q_proj", "v_proj"], or "all-linear"'))
            return
        entries = {targets: lambda name: pattern.fullmatch(name) is not None}
    else:
        entries = {t: (lambda t: lambda name: name == t or name.endswith("." + t))(t) for t in targets}
    found = shape()
    if found is None:
        return
    head = set(found.head)
    layers = sorted({n.rsplit(".", 1)[-1] for n in found.lora_modules if n not in head})
    wrapped, unmatched, on_head = 0, [], []
    for entry, matches in entries.items():
        blocks = [n for n in found.other_modules if matches(n)]
        hits = [n for n in found.lora_modules if matches(n)]
        if blocks:
            rep.error(key, _("target_modules {value} names {block}, a block LoRA cannot wrap (it wraps layers: Linear, Embedding, Conv)",
                             value=show(entry), block=blocks[0]),
                      _("name its layers instead; this model's are: {layers}", layers=", ".join(layers[:12])))
        wrapped += len([n for n in hits if n not in head])
        if hits and all(n in head for n in hits):
            on_head.append(entry)
        elif not hits and not blocks:
            unmatched.append(entry)
    shown = ", ".join(layers[:12]) + ("" if len(layers) <= 12 else ", ...")
    for entry in unmatched:
        close = difflib.get_close_matches(entry.rsplit(".", 1)[-1], layers, n=1, cutoff=0.6)
        rep.add(key, "error" if not wrapped else "warning", _("target_modules {value} matches no layer of the model", value=show(entry)),
                _("did you mean {name}? this model's layers: {layers}", name=show(close[0]), layers=shown) if close
                else _("this model's layers: {layers}", layers=shown))
    for entry in on_head:
        rep.add(key, "error" if not wrapped else "warning",
                _("target_modules {value} names the classification head, which LoRA does not adapt", value=show(entry)),
                _("remove it: peft trains the classification head whole (modules_to_save), next to the adapters; "
                  "adapt layers such as {layers}", layers=", ".join(layers[:6])) if not wrapped
                else _("remove it: peft trains the classification head whole (modules_to_save), next to the adapters"))
