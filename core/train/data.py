"""Datasets for a preset: load the splits, check the columns, tokenize for the trainer type.

Every mistake a person can make here (a file that is missing or not readable, a column that is
not there, an empty split) is reported as a `Problem` naming the file or column and what the
data has instead, all at once.

The per-row functions (`tokenize_*`) take plain arguments, not a preset, and import nothing
from hftui: `export.export_python` copies their source into the exported script so that the
script processes the data exactly as the worker does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from hftui.core.i18n import N_, _
from hftui.core.options.sections import BUILDERS, DATA_EXTENSIONS, EVAL_SPLIT_NAMES, PAIRED_COLUMNS, REWARD_TRAINER_TYPES, SECTION_FIELDS, column_name, column_needs
from hftui.core.problems import PresetError, Problem

# What a column holds, for the hint when the data has none of the columns a need accepts.
COLUMN_KINDS = {"text_column": N_("plain text"), "messages_column": N_("chat"), "completion_column": N_("prompt/completion")}


@dataclass
class Prepared:
    train: Any
    eval: Any | None
    collator: Any | None = None
    num_labels: int | None = None
    label_names: list = field(default_factory=list)
    config_updates: dict = field(default_factory=dict)  # [args] the data decides (dataset_text_field, ...)


# -- per-row processing (copied verbatim into exported scripts) ---------------------------------
def label_mapping(values) -> dict:
    """Class label -> id. Integers keep their values; strings are numbered in sorted order."""
    uniq = sorted(set(values), key=lambda v: (isinstance(v, str), v))
    if all(isinstance(v, bool) for v in uniq):
        return {v: int(v) for v in uniq}
    if all(isinstance(v, int) for v in uniq):
        return {v: v for v in uniq}
    return {v: i for i, v in enumerate(uniq)}


def tokenize_classification(batch, tokenizer, text_column, label_column, max_length, label2id):
    out = tokenizer(batch[text_column], truncation=True, max_length=max_length)
    if label2id is None:  # regression (num_labels = 1): the label is the target value
        out["labels"] = [float(v) for v in batch[label_column]]
    else:
        out["labels"] = [label2id[v] for v in batch[label_column]]
    return out


def with_eos(tokenizer, texts, target=False):
    """Each text ended by the EOS token, once: a tokenizer that ends what it encodes with EOS
    itself (T5's) gets the texts as they are, so no target ends with two."""
    eos = tokenizer.eos_token
    if eos is None:
        return list(texts)
    probe = tokenizer(text_target="a") if target else tokenizer("a")
    if probe["input_ids"][-1:] == [tokenizer.eos_token_id]:
        return list(texts)
    return [t + eos for t in texts]


def tokenize_causal_lm(batch, tokenizer, text_column, max_length):
    out = tokenizer(with_eos(tokenizer, batch[text_column]), truncation=True, max_length=max_length)
    # Labels made here, padded with -100 by length (DataCollatorForSeq2Seq): a collator that
    # masks by the pad id would also mask every EOS where the tokenizer pads with EOS (gpt2,
    # llama), and the model would never learn to stop.
    out["labels"] = [list(ids) for ids in out["input_ids"]]
    return out


def tokenize_seq2seq(batch, tokenizer, text_column, target_column, max_length):
    out = tokenizer(batch[text_column], truncation=True, max_length=max_length)
    targets = with_eos(tokenizer, batch[target_column], target=True)
    out["labels"] = tokenizer(text_target=targets, truncation=True, max_length=max_length)["input_ids"]
    return out


def tokenize_prompts(batch, tokenizer, prompt_column, max_length):
    return {"input_ids": tokenizer(batch[prompt_column], truncation=True, max_length=max_length)["input_ids"]}


# -- loading ------------------------------------------------------------------------------------
def _err(path: str, message: str, hint: str = "", file: str | None = None) -> Problem:
    return Problem(path, "error", message, hint, None, file)


def one_class_problem(label) -> Problem:
    """One class is no classification: num_labels would come out as 1, which transformers
    trains as a regression on the label values."""
    return _err("dataset.label_column",
                _("every row has the same label ({label}): a classifier needs at least two classes, and with one "
                  "num_labels would be 1, which trains a regression model", label=repr(label)),
                _("add rows of the other classes (or fix the label column); for a regression on numeric labels set model.num_labels = 1"))


def _raise(problems: list[Problem], preset) -> None:
    if problems:
        raise PresetError(problems, str(preset.path) if preset.path else None)


def resolve_data_files(preset) -> tuple[Any, list[Problem]]:
    """data_files with every path made absolute against the preset folder; missing ones reported."""
    raw = preset.get("dataset.data_files")
    problems: list[Problem] = []
    if raw is None:
        return None, problems

    def one(value, key):
        if isinstance(value, list):
            return [one(v, key) for v in value]
        p = preset.resolve(str(value))
        if not any(ch in str(value) for ch in "*?[") and not p.exists():
            problems.append(_err(key, _("data file not found: {path}", path=p), _("check the path; relative paths start at the preset's folder"), str(p)))
        return str(p)

    if isinstance(raw, dict):
        return {k: one(v, f"dataset.data_files.{k}") for k, v in raw.items()}, problems
    return one(raw, "dataset.data_files"), problems


def dataset_builder(preset, data_files) -> str:
    """load_dataset's first argument: a packaged builder, a local folder or a Hub id."""
    path = str(preset.get("dataset.path") or "")
    if path:
        if path in BUILDERS:
            return path
        local = preset.resolve(path)
        return str(local) if local.exists() else path
    first = data_files
    while isinstance(first, (dict, list)):
        first = next(iter(first.values())) if isinstance(first, dict) else first[0]
    return DATA_EXTENSIONS.get(Path(str(first or "")).suffix.lower(), "json")


def load_splits(preset):
    """(train, eval or None) as `datasets.Dataset`s, after max_*_samples; PresetError on mistakes."""
    import datasets

    data_files, problems = resolve_data_files(preset)
    _raise(problems, preset)
    if not preset.get("dataset.path") and data_files is None:
        _raise([_err("dataset.path", _("no dataset given"), _("set dataset.path (json, csv, a folder or a Hub id) and dataset.data_files"))], preset)
    builder = dataset_builder(preset, data_files)
    kwargs: dict[str, Any] = {}
    if data_files is not None:
        kwargs["data_files"] = data_files
    if preset.get("dataset.name"):
        kwargs["name"] = preset.get("dataset.name")
    datasets.disable_progress_bars()
    try:
        loaded = datasets.load_dataset(builder, **kwargs)
    except Exception as exc:  # parse errors, offline Hub ids, bad config names
        first = _first_line(exc)
        where = _files_text(data_files) or builder
        hint = (_("check that the file is valid {builder} (one JSON object per line for .jsonl)", builder=builder) if builder in BUILDERS
                else _("check that the file is valid data (one JSON object per line for .jsonl)"))
        if "offline" in first.lower() or "couldn't reach" in first.lower() or "doesn't exist on the hub" in first.lower():
            hint = _("the dataset is not local: check dataset.path, or use data files in the repo while offline")
        _raise([_err("dataset.data_files" if data_files else "dataset.path", _("cannot read the dataset {where}: {error}", where=where, error=first), hint, _files_text(data_files) or None)], preset)
    train_name = str(preset.get("dataset.train_split") or "train")
    eval_name = preset.get("dataset.eval_split")
    if eval_name is None and not preset.get("dataset.eval_fraction"):
        eval_name = next((n for n in EVAL_SPLIT_NAMES if n in loaded and n != train_name), None)
    problems = []
    if train_name not in loaded:
        problems.append(_err("dataset.train_split", _("no split {name} in the dataset", name=repr(train_name)), _("splits there: {names}", names=", ".join(loaded))))
    if eval_name is not None and eval_name not in loaded:
        problems.append(_err("dataset.eval_split", _("no split {name} in the dataset", name=repr(eval_name)), _("splits there: {names}", names=", ".join(loaded))))
    _raise(problems, preset)
    train = loaded[train_name]
    evald = loaded[eval_name] if eval_name is not None else None
    fraction = preset.get("dataset.eval_fraction")
    if evald is None and fraction:
        if len(train) < 2:
            _raise([_err("dataset.eval_fraction", _("the train split has {count} row(s): too few to hold some out", count=len(train)), _("add rows or remove eval_fraction"))], preset)
        parts = train.train_test_split(test_size=float(fraction), seed=int(preset.get("args.seed", 42) or 42))
        train, evald = parts["train"], parts["test"]
    if preset.get("dataset.max_train_samples"):
        train = train.select(range(min(len(train), int(preset.get("dataset.max_train_samples")))))
    if evald is not None and preset.get("dataset.max_eval_samples"):
        evald = evald.select(range(min(len(evald), int(preset.get("dataset.max_eval_samples")))))
    for split, ds, key in ((train_name, train, "dataset.train_split"), (eval_name or "eval", evald, "dataset.eval_split")):
        if ds is not None and len(ds) == 0:
            problems.append(_err(key, _("the {split} split is empty", split=repr(split)),
                                 _("add rows to {files}", files=_files_text(data_files)) if data_files else _("add rows to the dataset")))
    _raise(problems, preset)
    return train, evald


def _files_text(data_files) -> str:
    if data_files is None:
        return ""
    if isinstance(data_files, dict):
        return ", ".join(_files_text(v) for v in data_files.values())
    if isinstance(data_files, list):
        return ", ".join(map(str, data_files))
    return str(data_files)


def _first_line(exc: BaseException) -> str:
    seen = exc
    # datasets wraps the parser's error; the innermost message names the real cause
    for _i in range(20):  # chains are short; the bound guards against a cycle
        if seen.__cause__ is None and seen.__context__ is None:
            break
        seen = seen.__cause__ or seen.__context__
    text = str(seen).strip() or type(seen).__name__
    outer = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    inner = text.splitlines()[0]
    return outer if inner in outer else f"{outer} ({inner[:200]})"


def required_columns(preset) -> list[dict[str, str]]:
    """The columns the trainer type reads: one {dataset.<key>: column} per need, of which one
    column must be there (sft reads text or chat messages)."""
    d = preset.section("dataset")
    return [{key: column_name(d, key) for key in need} for need in column_needs(preset.trainer_type, preset.task)]


def check_columns(preset, train, evald) -> None:
    problems: list[Problem] = []
    for split, ds in (("train", train), ("eval", evald)):
        if ds is None:
            continue
        have = list(ds.column_names)
        for need in required_columns(preset):
            found = next((key for key, column in need.items() if column in have), None)
            partner = PAIRED_COLUMNS.get(found or "")
            if partner and column_name(preset.section("dataset"), partner) not in have:
                column = column_name(preset.section("dataset"), partner)
                problems.append(_err(f"dataset.{partner}", _("the {split} data has a {found} column but no {column} column to go with it", split=split, found=repr(need[found]), column=repr(column)),
                                     _("columns there: {names}; set dataset.{key} to the column holding the prompts", names=", ".join(have), key=partner)))
            if found:
                continue
            (key, column), *others = need.items()
            if not others:
                problems.append(_err(f"dataset.{key}", _("the {split} data has no column {column}", split=split, column=repr(column)),
                                     _("columns there: {names}; set dataset.{key} to one of them", names=", ".join(have), key=key)))
                continue
            names = _(" nor a ").join(repr(c) for c in need.values())
            keys = _(" or ").join(f"dataset.{k} ({_(COLUMN_KINDS[k])})" if k in COLUMN_KINDS else f"dataset.{k}" for k in need)
            problems.append(_err(f"dataset.{key}", _("the {split} data has neither a {names} column", split=split, names=names),
                                 _("columns there: {names}; set {keys}", names=", ".join(have), keys=keys)))
    if preset.trainer_type in REWARD_TRAINER_TYPES and needs_solution(preset):
        column = solution_column(preset)
        for split, ds in (("train", train), ("eval", evald)):
            if ds is not None and column not in ds.column_names:
                problems.append(_err("grpo.solution_column", _("the {split} data has no column {column}, which the reward functions {names} compare answers with",
                                       split=split, column=repr(column), names=", ".join(needs_solution(preset))),
                                     _("columns there: {names}; set grpo.solution_column to the column with the right answers", names=", ".join(ds.column_names))))
    _raise(problems, preset)


def reward_function_names(preset) -> list[str]:
    """The names in [grpo] reward_functions (a single name counts as a list of one)."""
    names = preset.get("grpo.reward_functions") or []
    return [names] if isinstance(names, str) else [str(n) for n in names]


def needs_solution(preset) -> list[str]:
    """The chosen reward functions that compare answers with the solution column."""
    from hftui.core.train.rewards import NEEDS_SOLUTION

    return [n for n in reward_function_names(preset) if n in NEEDS_SOLUTION]


def solution_column(preset) -> str:
    value = preset.get("grpo.solution_column")
    return value if isinstance(value, str) and value else str(SECTION_FIELDS["grpo"]["solution_column"].default)


def max_length(preset) -> int:
    return int(preset.get("args.max_length") or preset.get("dataset.max_length") or 512)


def prepare(preset, tokenizer) -> Prepared:
    """Load, check and process the data for the preset's trainer type and task."""
    train, evald = load_splits(preset)
    check_columns(preset, train, evald)
    ttype, task = preset.trainer_type, preset.task
    d = preset.section("dataset")
    n = max_length(preset)
    if ttype == "sft":
        return _prepare_sft(preset, train, evald)
    if ttype in ("reward", "dpo"):
        keep = {column_name(d, "chosen_column"): "chosen", column_name(d, "rejected_column"): "rejected"}
        if ttype == "dpo":
            keep = {column_name(d, "prompt_column"): "prompt", **keep}
        return Prepared(_select_rename(train, keep), _select_rename(evald, keep))
    if ttype in REWARD_TRAINER_TYPES:
        keep = {column_name(d, "prompt_column"): "prompt"}
        if needs_solution(preset):
            keep[solution_column(preset)] = "solution"
        return Prepared(_select_rename(train, keep), _select_rename(evald, keep))
    if ttype == "ppo":
        prompt = column_name(d, "prompt_column")
        fn = _mapper(tokenize_prompts, tokenizer=tokenizer, prompt_column=prompt, max_length=n)
        return Prepared(_map(train, fn), _map(evald, fn))
    if task == "sequence-classification":
        text, label = column_name(d, "text_column"), column_name(d, "label_column")
        values = list(train[label]) + (list(evald[label]) if evald is not None else [])
        if preset.get("model.num_labels") == 1:
            bad = [v for v in values if isinstance(v, bool) or not isinstance(v, (int, float))]
            if bad:
                _raise([_err("dataset.label_column", _("num_labels = 1 means regression, but a label is {label}", label=repr(bad[0])), _("use numbers as labels, or remove model.num_labels for classes"))], preset)
            from transformers import DataCollatorWithPadding

            fn = _mapper(tokenize_classification, tokenizer=tokenizer, text_column=text, label_column=label, max_length=n, label2id=None)
            return Prepared(_map(train, fn), _map(evald, fn), DataCollatorWithPadding(tokenizer), 1, [])
        bad = [v for v in values if not isinstance(v, (int, str)) or v is None]
        if bad:
            _raise([_err("dataset.label_column", _("labels must be whole numbers or strings, found {label}", label=repr(bad[0])), _("use class ids 0..N-1 or class names"))], preset)
        label2id = label_mapping(values)
        if len(label2id) < 2 and not preset.get("model.num_labels"):
            _raise([one_class_problem(next(iter(label2id), None))], preset)
        num_labels = int(preset.get("model.num_labels") or (max(label2id.values()) + 1))
        if max(label2id.values()) >= num_labels:
            _raise([_err("model.num_labels", _("num_labels = {count} but the data has label id {id}", count=num_labels, id=max(label2id.values())),
                        _("set model.num_labels to at least {count} or remove it", count=max(label2id.values()) + 1))], preset)
        from transformers import DataCollatorWithPadding

        fn = _mapper(tokenize_classification, tokenizer=tokenizer, text_column=text, label_column=label, max_length=n, label2id=label2id)
        names = [str(k) for k, _id in sorted(label2id.items(), key=lambda kv: kv[1])]
        return Prepared(_map(train, fn), _map(evald, fn), DataCollatorWithPadding(tokenizer), num_labels, names)
    if task == "seq2seq-lm":
        text, target = column_name(d, "text_column"), column_name(d, "target_column")
        fn = _mapper(tokenize_seq2seq, tokenizer=tokenizer, text_column=text, target_column=target, max_length=n)
        return Prepared(_map(train, fn), _map(evald, fn))  # collator needs the model: see worker
    from transformers import DataCollatorForSeq2Seq

    text = column_name(d, "text_column")
    fn = _mapper(tokenize_causal_lm, tokenizer=tokenizer, text_column=text, max_length=n)
    # pads input_ids with the pad id and labels with -100: EOS stays a label even when pad = EOS
    return Prepared(_map(train, fn), _map(evald, fn), DataCollatorForSeq2Seq(tokenizer))


def _prepare_sft(preset, train, evald) -> Prepared:
    d = preset.section("dataset")
    keep = sft_columns(d, train.column_names)
    return Prepared(_select_rename(train, keep), _select_rename(evald, keep), config_updates={"dataset_text_field": "text"})


def sft_columns(d: dict, columns) -> dict:
    """The columns SFT reads, renamed to TRL's names: text, chat messages, or prompt and completion
    (TRL then computes the loss on the completion only)."""
    text, msgs, completion = (column_name(d, k) for k in ("text_column", "messages_column", "completion_column"))
    if text in columns:
        return {text: "text"}
    if msgs in columns:
        return {msgs: "messages"}
    return {column_name(d, "prompt_column"): "prompt", completion: "completion"}


def _select_rename(ds, mapping: dict):
    if ds is None:
        return None
    ds = ds.select_columns(list(mapping))
    for old, new in mapping.items():
        if old != new:
            ds = ds.rename_column(old, new)
    return ds


def _mapper(fn: Callable, **kwargs) -> Callable:
    def apply(batch):
        return fn(batch, **kwargs)

    return apply


def _map(ds, fn):
    if ds is None:
        return None
    return ds.map(fn, batched=True, remove_columns=ds.column_names)
