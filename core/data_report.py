"""The data report: what training will make of a preset's data, before it trains.

Rows per split, columns and their types, token lengths (percentiles and a histogram), what
max_length cuts or drops, padding at the batch size, label balance, packing, and one row as the
trainer sees it. Tokens come from `data_view`, which runs the trainer type's own preparation
with the preset's tokenizer; on large data only a sample of the train split is tokenized (the
first `sample` rows, as `dataset.max_train_samples` would take them), and the report says so.

`build_report` returns a plain dict (the `--json` output, and what the wizard's child process
sends back). `python -m hftui.core.data_report BASE SAMPLE` reads a preset's TOML text on stdin
and writes that dict, or the problems, as JSON: the wizard runs it there, so torch is never
imported into the wizard.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections import Counter
from dataclasses import asdict
from pathlib import Path

from hftui.core.i18n import _
from hftui.core import data_stats
from hftui.core.options.sections import REWARD_TRAINER_TYPES, column_name
from hftui.core.problems import PresetError, Problem
from hftui.core.train import data as data_mod
from hftui.core.train.modeling import scratch_setting

DEFAULT_SAMPLE = 2000


def feature_type(feature) -> str:
    """A datasets feature as a short type: string, int64, list[{content: string, role: string}]."""
    import datasets

    if isinstance(feature, datasets.Value):
        return str(feature.dtype)
    if isinstance(feature, datasets.ClassLabel):
        return "class(" + ", ".join(feature.names[:6]) + (", …" if len(feature.names) > 6 else "") + ")"
    if isinstance(feature, dict):
        return "{" + ", ".join(f"{k}: {feature_type(v)}" for k, v in feature.items()) + "}"
    if isinstance(feature, list) and feature:
        return f"list[{feature_type(feature[0])}]"
    inner = getattr(feature, "feature", None)
    if inner is not None:
        return f"list[{feature_type(inner)}]"
    return type(feature).__name__


def _columns(preset, train) -> list[dict]:
    used = {column: f"dataset.{key}" for need in data_mod.required_columns(preset) for key, column in need.items()}
    if preset.trainer_type in REWARD_TRAINER_TYPES and data_mod.needs_solution(preset):
        used[data_mod.solution_column(preset)] = "grpo.solution_column"
    return [{"name": name, "type": feature_type(feature), "key": used.get(name)}
            for name, feature in train.features.items()]


def _splits(preset, train, evald) -> list[dict]:
    out = [{"name": "train", "split": str(preset.get("dataset.train_split") or "train"), "rows": len(train)}]
    if evald is not None:
        fraction = preset.get("dataset.eval_fraction")
        split = _("{fraction:g} of the train file", fraction=fraction) if fraction and not preset.get("dataset.eval_split") else str(preset.get("dataset.eval_split") or "eval")
        out.append({"name": "eval", "split": split, "rows": len(evald)})
    return out


def _label_balance(preset, train, evald) -> list[dict] | None:
    """Rows per class in the train split, ids numbered as the trainer numbers them."""
    if preset.trainer_type != "trainer" or preset.task != "sequence-classification" or preset.get("model.num_labels") == 1:
        return None
    column = column_name(preset.section("dataset"), "label_column")
    values = list(train[column])
    everything = values + (list(evald[column]) if evald is not None else [])
    if any(not isinstance(v, (int, str)) or v is None for v in everything):
        return None  # prepare names the bad label
    mapping = data_mod.label_mapping(everything)
    counts = Counter(values)
    return [{"name": str(label), "id": ident, "count": counts.get(label, 0)} for label, ident in sorted(mapping.items(), key=lambda kv: kv[1])]


def _sample_preset(preset, n: int, total: int, labels: list[dict] | None):
    """The preset limited to the first n train rows (and one eval row: the report reads train only).

    A sample can hold fewer classes than the data; num_labels is fixed from the whole split so the
    sample is prepared as the whole would be."""
    out = preset
    if n < total:
        out = out.with_value("dataset.max_train_samples", n)
    out = out.with_value("dataset.max_eval_samples", 1)
    if labels and not preset.get("model.num_labels"):
        out = out.with_value("model.num_labels", max(label["id"] for label in labels) + 1)
    return out


def _config(view, preset):
    """The trainer's config (batch size, seed, padding); a problem when its class is not installed."""
    from hftui.core.train.trainer_config import make_config

    if view.config is not None:
        return view.config
    try:
        return make_config(preset)
    except ImportError as exc:
        file = str(preset.path) if preset.path else None
        raise PresetError([Problem("trainer.type", "error", _("cannot make the {type} trainer's config: {error}", type=preset.trainer_type, error=exc),
                                   _("install the libraries in pyproject.toml (pip install -e .)"))], file) from None


def build_report(preset, sample: int = DEFAULT_SAMPLE, trust_remote_code_allowed: bool = False) -> dict:
    """The report for `preset`; PresetError for a problem of the preset or its data."""
    from hftui.core.data_view import trainer_view
    from hftui.core.train import modeling

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    train, evald = data_mod.load_splits(preset)
    data_mod.check_columns(preset, train, evald)
    labels = _label_balance(preset, train, evald)
    total = len(train)
    n = max(1, min(int(sample), total))
    limited = _sample_preset(preset, n, total, labels)
    tokenizer = modeling.load_tokenizer(preset, trust_remote_code_allowed)
    view = trainer_view(limited, tokenizer)
    config = _config(view, limited)

    sequences = [length for row in view.full for length in row]
    limit = view.limit
    full_tokens = sum(sequences)
    kept_tokens = sum(length for row in view.kept for length in row)
    over = sum(1 for row in view.full if limit and any(length > limit for length in row))
    cut = {"mode": view.cut, "rows_over": over, "tokens_lost": full_tokens - kept_tokens, "tokens": full_tokens,
           "rows_dropped": 0 if view.packed else len(view.full) - len(view.kept)}
    if view.padding_free:
        padding = {"free": True, "batch_size": int(config.per_device_train_batch_size)}
    else:
        padding = data_stats.padding(view.kept, config.per_device_train_batch_size, int(config.seed),
                                     getattr(config, "pad_to_multiple_of", None), view.together, bool(getattr(config, "group_by_length", False)))
    packing = data_stats.packing([row[0] for row in view.kept], limit or 0, n, total) if view.packed else None
    return {
        "preset": preset.name,
        "file": str(preset.path) if preset.path else None,
        "trainer_type": preset.trainer_type,
        "task": preset.task,
        "tokenizer": _tokenizer_label(preset, tokenizer),
        "splits": _splits(preset, train, evald),
        "columns": _columns(preset, train),
        "sample": {"rows": n, "of": total, "whole": n >= total},
        "max_length": limit,
        "sequences_per_row": max((len(row) for row in view.full), default=1),
        "lengths": data_stats.length_stats(sequences),
        "histogram": data_stats.histogram(sequences, limit=limit if view.cut else None),
        "cut": cut,
        "padding": padding,
        "packing": packing,
        "epoch_tokens": round(kept_tokens * total / n) if n else 0,
        "prompts_only": view.prompts_only,
        "labels": labels,
        "rendered": view.sample,
        "notes": view.notes,
    }


def _tokenizer_label(preset, tokenizer) -> str:
    """Which tokenizer the report used: the model's, or [model.scratch]'s made on the spot."""
    scratch = preset.section("model").get("scratch")
    if isinstance(scratch, dict):
        name = f"{scratch_setting(scratch, 'tokenizer')} ([model.scratch])"
    else:
        name = str(preset.get("model.name_or_path") or "")
    return _("{name}, {count:,} tokens", name=name, count=len(tokenizer))


def problems_of(exc: PresetError) -> list[dict]:
    return [asdict(p) for p in exc.problems]


def problems_from(items: list[dict]) -> list[Problem]:
    return [Problem(**item) for item in items]


def main(argv: list[str] | None = None) -> int:
    """The wizard's child process: preset TOML on stdin; {"report": ...} or {"problems": [...]} out."""
    from hftui.core.preset import from_text
    from hftui.core.run.folder import EXIT_INVALID, EXIT_OK

    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print("usage: python -m hftui.core.data_report PRESET_PATH SAMPLE < preset.toml", file=sys.stderr)
        return EXIT_INVALID
    path, sample = argv
    try:
        with contextlib.redirect_stdout(sys.stderr):  # stdout carries the answer alone
            preset = from_text(sys.stdin.read(), path=Path(path))
            out = {"report": build_report(preset, int(sample))}
    except PresetError as exc:
        out = {"problems": problems_of(exc)}
    sys.stdout.write(json.dumps(out))
    sys.stdout.flush()
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
