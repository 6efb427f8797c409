"""What the trainer sees of the data: token lengths and loss masks after the trainer type's own
preparation, once as trained (max_length applied, rows dropped, packed) and once uncut.

Rows go through `train.data.prepare` (loading, column checks, the worker's `tokenize_*`
functions) with the tokenizer of `train.modeling.load_tokenizer`. TRL trainers that prepare
their datasets themselves (SFT, reward, DPO) then run that trainer's own
`_prepare_dataset`, given the few trainer attributes it reads (`_TrainerAttributes`), with the
config `train.trainer_config.make_config` builds for the run. So the report counts the tokens
the trainer counts: chat template applied, EOS added, completion-only mask, truncation, packing.
Heavy libraries are imported inside the functions.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from hftui.core.i18n import _
from hftui.core.options.sections import REWARD_TRAINER_TYPES, column_name
from hftui.core.problems import PresetError, Problem
from hftui.core.train import data as data_mod
from hftui.core.train.trainers import TRL_TRAINERS

# max_length for the uncut pass of the hftui-tokenized trainer types: longer than any row.
UNCUT = 1 << 30

# Trainer types whose TRL trainer tokenizes the data itself (GRPO and RLOO tokenize prompts as
# they generate).
TRL_PREPARED = tuple(t for t in TRL_TRAINERS if t not in REWARD_TRAINER_TYPES)
# TRL trainer types whose batches hold chosen and rejected sequences padded to one length.
PADDED_TOGETHER = ("reward", "dpo")
# Packing strategies that split a long row over packed sequences instead of cutting it.
SPLITTING_PACKING = ("bfd_split", "wrapped")


@dataclass
class View:
    """One split's sample as the trainer sees it. A row holds one length per sequence it trains on."""

    full: list[list[int]]
    kept: list[list[int]]
    limit: int | None  # the max_length that cuts; None when nothing is cut
    cut: str  # "truncate" | "drop" | "split" | "" (how rows over the limit are handled)
    together: bool = False
    padding_free: bool = False
    packed: bool = False
    sample: list[dict] = field(default_factory=list)  # parts {"title", "segments": [[text, trained]]}
    notes: list[str] = field(default_factory=list)
    prompts_only: bool = False  # the trainer generates the answers: the rows are prompts
    label_names: list[str] = field(default_factory=list)
    config: object = None


def trainer_view(preset, tokenizer) -> View:
    """The train split of `preset` (already limited to the sample) as its trainer type sees it."""
    ttype = preset.trainer_type
    if ttype in TRL_PREPARED:
        return _trl_view(preset, tokenizer)
    if ttype in REWARD_TRAINER_TYPES:
        return _prompt_view(preset, tokenizer)
    return _hftui_view(preset, tokenizer)


# -- segments of a sample ---------------------------------------------------------------------
def segments(tokenizer, ids: list[int], trained: list[bool] | None) -> list[list]:
    """[[text, trained]] runs of tokens alike in whether they carry loss (None: no mask applies)."""
    if trained is None:
        return [[tokenizer.decode(ids), None]] if ids else []
    out: list[list] = []
    start = 0
    for i in range(1, len(ids) + 1):
        if i == len(ids) or trained[i] != trained[start]:
            out.append([tokenizer.decode(ids[start:i]), bool(trained[start])])
            start = i
    return out


def _part(title: str, segs: list[list]) -> dict:
    return {"title": title, "segments": segs}


# -- the worker's own tokenization (Trainer, Seq2SeqTrainer, PPO) ------------------------------
def _uncut(preset):
    """The preset with a max_length no row reaches."""
    out = preset.with_value("dataset.max_length", UNCUT)
    return out.without("args.max_length") if out.has("args.max_length") else out


def _hftui_view(preset, tokenizer) -> View:
    seen = data_mod.prepare(preset, tokenizer)
    full = data_mod.prepare(_uncut(preset), tokenizer)
    limit = data_mod.max_length(preset)
    task, ttype = preset.task, preset.trainer_type
    columns = ("input_ids", "labels") if task == "seq2seq-lm" and ttype != "ppo" else ("input_ids",)

    def lengths(ds):
        cols = [ds[c] for c in columns]
        return [[len(col[i]) for col in cols] for i in range(len(ds))]

    row = seen.train[0]
    ids = list(row["input_ids"])
    prompts_only = False
    if ttype == "ppo":
        prompts_only = True
        sample = [_part("prompt", segments(tokenizer, ids, None))]
        notes = [_("the policy writes the answers while training; only prompts are tokenized here")]
    elif task == "sequence-classification":
        label = row["labels"]
        name = seen.label_names[label] if seen.label_names and isinstance(label, int) else label
        sample = [_part("text", segments(tokenizer, ids, None)), _part("label", [[str(name), None]])]
        notes = []
    elif task == "seq2seq-lm":
        sample = [_part("input", segments(tokenizer, ids, None)), _part("target", segments(tokenizer, list(row["labels"]), [True] * len(row["labels"])))]
        notes = []
    else:
        sample = [_part("text", segments(tokenizer, ids, [label != -100 for label in row["labels"]]))]
        notes = []
    return View(lengths(full.train), lengths(seen.train), limit, "truncate", sample=sample, notes=notes,
                prompts_only=prompts_only, label_names=list(seen.label_names))


# -- TRL trainers that prepare the data themselves ----------------------------------------------
class _TrainerAttributes:
    """The attributes of a TRL trainer that its `_prepare_dataset` reads, set as its __init__ sets them."""

    def __init__(self, ttype: str, tokenizer, config, columns: list[str]) -> None:
        self._tokenizer = tokenizer
        self.chat_template = None
        if ttype == "sft":
            from trl.chat_template_utils import get_training_chat_template, has_generation_markers

            if config.assistant_only_loss and not has_generation_markers(tokenizer.chat_template):
                self.chat_template = get_training_chat_template(tokenizer)
            wanted = config.completion_only_loss
            self.completion_only_loss = ("prompt" in columns and "completion" in columns) if wanted is None else wanted


def _trl_prepare(preset, attrs, dataset, tokenizer, config, packing: bool):
    """The TRL trainer's own preparation; what it refuses (a chat template that cannot mask the
    assistant's turns, ...) the trainer would refuse too: a problem naming [args]."""
    import trl

    name = TRL_TRAINERS[preset.trainer_type]
    cls = getattr(trl, name)
    try:
        if preset.trainer_type == "sft":
            return cls._prepare_dataset(attrs, dataset, tokenizer, config, packing, None, "train")
        return cls._prepare_dataset(attrs, dataset, tokenizer, config, "train")
    except (ValueError, RuntimeError) as exc:
        raise _refused(preset, name, exc) from None


def _refused(preset, name: str, exc: Exception) -> PresetError:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    file = str(preset.path) if preset.path else None
    return PresetError([Problem("args", "error", _("{name} cannot prepare this data: {error}", name=name, error=first[:400]),
                                _("change the option or the data it names; training would stop here too"))], file)


def _trl_lengths(ttype: str, ds, limit: int | None = None) -> list[list[int]]:
    cols = {c: ds[c] for c in ds.column_names if c.endswith("_ids")}

    def cap(n: int) -> int:
        return min(n, limit) if limit else n

    if ttype == "sft":
        return [[len(ids)] for ids in cols["input_ids"]]
    if ttype == "reward":
        return [[len(a), len(b)] for a, b in zip(cols["chosen_ids"], cols["rejected_ids"])]
    # DPO: the collator cuts prompt + answer at max_length
    return [[cap(len(p) + len(a)), cap(len(p) + len(b))] for p, a, b in zip(cols["prompt_ids"], cols["chosen_ids"], cols["rejected_ids"])]


def _trl_view(preset, tokenizer) -> View:
    from hftui.core.train.trainer_config import make_config

    ttype = preset.trainer_type
    prepared = data_mod.prepare(preset, tokenizer)
    config = make_config(preset, prepared)
    trained = copy.copy(config)
    if hasattr(trained, "shuffle_dataset"):
        trained.shuffle_dataset = False  # the sample row shown is the first row
    uncut = copy.copy(trained)
    uncut.max_length = None
    packing = bool(getattr(config, "packing", False))
    if hasattr(uncut, "packing"):
        uncut.packing = False
    try:
        attrs = _TrainerAttributes(ttype, tokenizer, config, list(prepared.train.column_names))
    except (ValueError, RuntimeError) as exc:
        raise _refused(preset, TRL_TRAINERS[ttype], exc) from None
    full_ds = _trl_prepare(preset, attrs, prepared.train, tokenizer, uncut, False)
    seen_ds = _trl_prepare(preset, attrs, prepared.train, tokenizer, trained, packing)
    limit = config.max_length
    view = View(_trl_lengths(ttype, full_ds), _trl_lengths(ttype, seen_ds, limit), limit, "truncate" if limit else "",
                together=ttype in PADDED_TOGETHER, packed=packing, config=config)
    if ttype == "sft":
        strategy = getattr(config, "packing_strategy", "bfd")
        view.padding_free = bool(config.padding_free or (packing and strategy in ("bfd", "bfd_split")))
        if packing and strategy in SPLITTING_PACKING:
            view.cut = "split"
        source = full_ds if packing else seen_ds
        if len(source):
            row = source[0]
            ids, labels = list(row["input_ids"]), list(row["labels"])
            if packing and limit and view.cut != "split":
                ids, labels = ids[:limit], labels[:limit]
            view.sample = [_part("text", segments(tokenizer, ids, [label != -100 for label in labels]))]
        if attrs.completion_only_loss:
            view.notes.append(_("completion-only loss: the prompt carries no loss"))
    elif ttype == "reward":
        view.cut = "drop" if limit else ""
        if len(seen_ds):
            row = seen_ds[0]
            view.sample = [_part("chosen", segments(tokenizer, list(row["chosen_ids"]), None)),
                           _part("rejected", segments(tokenizer, list(row["rejected_ids"]), None))]
    elif len(seen_ds):  # DPO: the loss is on the answers, after the prompt
        row = seen_ds[0]
        prompt = list(row["prompt_ids"])
        view.sample = [_part("prompt", segments(tokenizer, prompt, [False] * len(prompt)))]
        for column in ("chosen_ids", "rejected_ids"):
            ids = list(row[column])
            view.sample.append(_part(column[: -len("_ids")], segments(tokenizer, ids, [True] * len(ids))))
    return view


# -- trainers that generate from prompts and learn from rewards (GRPO, RLOO) ---------------------------------------------
def _prompt_view(preset, tokenizer) -> View:
    from trl.data_utils import _tokenize, is_conversational

    prepared = data_mod.prepare(preset, tokenizer)
    column = "prompt" if "prompt" in prepared.train.column_names else column_name(preset.section("dataset"), "prompt_column")
    rows = []
    first: list[int] = []
    for i, prompt in enumerate(prepared.train[column]):
        kwargs = {"add_generation_prompt": True} if is_conversational({"prompt": prompt}) else {}
        ids = list(_tokenize(tokenizer, prompt, **kwargs)["input_ids"])
        rows.append([len(ids)])
        if i == 0:
            first = ids
    notes = [_("the model writes the answers while training; only prompts are tokenized here")]
    return View(rows, rows, None, "", sample=[_part("prompt", segments(tokenizer, first, None))], notes=notes, prompts_only=True)
