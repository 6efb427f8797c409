"""A run's trained model, loaded to answer: the final model or one checkpoint.

A run leaves its model in `args.output_dir` (what `save_model` wrote at the end) and its
checkpoints in `checkpoint-N` folders beside it. A full model loads with the Auto class of the
trainer type's task; a LoRA adapter is applied on the fly to the base model the preset names
(rebuilt from the run's seed when the base is a `[model.scratch]` model, exactly as the worker
built it). Nothing here imports torch at module level.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hftui.core import preset as preset_mod
from hftui.core.checks import output_folder
from hftui.core.i18n import N_, _
from hftui.core.options.sections import column_name
from hftui.core.run.folder import MERGED_SUBDIR, PRESET_FILE, RUN_FILE
from hftui.core.train import data as data_mod
from hftui.core.train import modeling

ADAPTER_CONFIG = "adapter_config.json"  # what peft writes beside LoRA weights
# What a model answers: generated text, class probabilities, one score, or seq2seq output.
GENERATE, CLASSIFY, SCORE, SEQ2SEQ = "generate", "classify", "score", "seq2seq"
FINAL = N_("final model")  # a label compared in English, shown through _()


class NoModel(Exception):
    """The run has no model to load as asked; `message` says what there is instead."""

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.message, self.hint = message, hint


@dataclass(frozen=True)
class ModelSource:
    """One loadable model of a run: the final model or a checkpoint."""

    path: Path
    label: str  # "final model" or "checkpoint-N"
    adapter: bool  # LoRA weights only: applied to the base model when loaded
    step: int | None = None  # a checkpoint's step


@dataclass
class Loaded:
    model: Any
    tokenizer: Any
    preset: Any
    source: ModelSource
    kind: str  # GENERATE, CLASSIFY, SCORE or SEQ2SEQ
    labels: list = field(default_factory=list)  # class names, by id (CLASSIFY)


def run_preset(run_dir: str | Path):
    """The resolved preset the run trained with."""
    return preset_mod.load(Path(run_dir) / PRESET_FILE)


def output_dir_of(run_dir: str | Path, preset=None) -> Path:
    preset = preset or run_preset(run_dir)
    return Path(preset.resolve(preset.get("args.output_dir") or preset.output_dir()))


def _source(folder: Path, label: str, step: int | None = None) -> ModelSource | None:
    if (folder / ADAPTER_CONFIG).is_file():
        return ModelSource(folder, label, True, step)
    if (folder / "config.json").is_file() and output_folder.trained_weights(folder):
        return ModelSource(folder, label, False, step)
    return None


def model_sources(output_dir: str | Path) -> list[ModelSource]:
    """Every model of an output folder that can be loaded: the final one first (merged when the
    run saved it so), then the complete checkpoints, newest first."""
    output_dir = Path(output_dir)
    found = []
    # `[peft] merge = true` also saved the adapters merged into the base: a plain model folder
    merged = _source(output_dir / MERGED_SUBDIR, FINAL)
    final = merged if merged is not None and not merged.adapter else _source(output_dir, FINAL)
    if final is not None:
        found.append(final)
    for path in reversed(output_folder.checkpoints(output_dir)):
        if output_folder.incomplete(path) is None:
            source = _source(path, path.name, int(output_folder.CHECKPOINT.match(path.name).group(1)))
            if source is not None:
                found.append(source)
    return found


def choose(output_dir: str | Path, checkpoint: int | None = None) -> ModelSource:
    """The final model, or checkpoint-N; NoModel names what the folder has instead."""
    sources = model_sources(output_dir)
    steps = [str(s.step) for s in sources if s.step is not None]
    there = ", ".join(_(s.label) for s in sources)
    if checkpoint is None:
        if sources and sources[0].label == FINAL:
            return sources[0]
        if sources:
            raise NoModel(_("the run saved no final model in {folder} (it did not finish); checkpoints there: {there}", folder=output_dir, there=there),
                          _("pass --checkpoint {step} to use the newest one", step=steps[0]))
        raise NoModel(_("the run saved no model in {folder} yet: no final model, no complete checkpoint", folder=output_dir),
                      _("let the run finish (or save checkpoints with args.save_steps), then try again"))
    for s in sources:
        if s.step == checkpoint:
            return s
    if steps:
        hint = _("pick one of: --checkpoint {steps}", steps=", ".join(steps))
    else:
        hint = _("leave out --checkpoint to use the final model") if sources else _("let the run save a checkpoint first")
    if there:
        raise NoModel(_("no complete checkpoint-{n} in {folder}; models there: {there}", n=checkpoint, folder=output_dir, there=there), hint)
    raise NoModel(_("no complete checkpoint-{n} in {folder}; the run saved no model", n=checkpoint, folder=output_dir), hint)


def answer_kind(preset) -> str:
    """What the run's model answers, from its trainer type and task."""
    task = modeling.model_task(preset.trainer_type, preset.task)
    if task == "sequence-classification":
        return SCORE if preset.trainer_type == "reward" or preset.get("model.num_labels") == 1 else CLASSIFY
    if task == "seq2seq-lm":
        return SEQ2SEQ
    return GENERATE


def class_labels(preset) -> list[str]:
    """The class names by id, as the worker numbered them from the data (`data.label_mapping`)."""
    train, evald = data_mod.load_splits(preset)
    column = column_name(preset.section("dataset"), "label_column")
    values = list(train[column]) + (list(evald[column]) if evald is not None else [])
    mapping = data_mod.label_mapping(values)
    count = int(preset.get("model.num_labels") or (max(mapping.values()) + 1))
    names = [str(i) for i in range(count)]
    for value, i in mapping.items():
        if i < count:
            names[i] = str(value)
    return names


def _tokenizer(preset, source: ModelSource, trust: bool):
    """The tokenizer saved with the model, else the one the preset builds (the byte tokenizer)."""
    if (source.path / "tokenizer_config.json").is_file():
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(str(source.path), trust_remote_code=trust)
        if tok.pad_token is None:
            tok.pad_token = tok.eos_token or tok.unk_token
        return tok
    return modeling.load_tokenizer(preset, trust)


def _base_model(preset, tokenizer, task: str, num_labels: int | None, trust: bool):
    """The base model of a LoRA run, built as the worker built it (seeded first: a scratch
    model's initial weights come from the seed)."""
    from transformers import set_seed

    set_seed(int(preset.get("args.seed", 42) or 42))
    return modeling.load_model(preset, tokenizer, task, num_labels=num_labels, trust_remote_code_allowed=trust)


def trust_allowed(run_dir: str | Path) -> bool:
    """The consent to run the model's own code, as given when the run started (run.json)."""
    try:
        return bool(json.loads((Path(run_dir) / RUN_FILE).read_text(encoding="utf-8")).get("trust_remote_code_allowed"))
    except (OSError, ValueError, AttributeError):
        return False


def load(run_dir: str | Path, checkpoint: int | None = None, device: str | None = None) -> Loaded:
    """The run's final model (or checkpoint-N), ready to answer; NoModel when there is none,
    PresetError when the preset's base model cannot be built."""
    import torch

    preset = run_preset(run_dir)
    source = choose(output_dir_of(run_dir, preset), checkpoint)
    trust = trust_allowed(run_dir)
    task = modeling.model_task(preset.trainer_type, preset.task)
    kind = answer_kind(preset)
    tokenizer = _tokenizer(preset, source, trust)
    labels: list[str] = []
    if kind == CLASSIFY:  # a full model's config names its classes; an adapter's base learns them from the data
        labels = (None if source.adapter else _config_labels(source)) or class_labels(preset)
    if source.adapter:
        from peft import PeftModel

        num_labels = 1 if kind == SCORE else (len(labels) if kind == CLASSIFY else None)
        base = _base_model(preset, tokenizer, task, num_labels, trust)
        model = PeftModel.from_pretrained(base, str(source.path))
    else:
        model = modeling.load_model(preset, tokenizer, task, trust_remote_code_allowed=trust,
                                    source=str(source.path), key="args.output_dir")
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    model.to(device).eval()
    return Loaded(model, tokenizer, preset, source, kind, labels)


def _config_labels(source: ModelSource) -> list[str]:
    """Class names from a full model's saved config (the worker sets id2label from the data)."""
    try:
        config = json.loads((source.path / "config.json").read_text(encoding="utf-8"))
        id2label = config.get("id2label") or {}
        return [str(id2label[k]) for k in sorted(id2label, key=int)]
    except (OSError, ValueError, KeyError, TypeError):
        return []
