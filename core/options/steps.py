"""The wizard's questions as data: the steps in order, and which preset keys each step asks.

A screen renders this; it decides nothing about which option belongs where. The same answer
serves the step forms, the search over every option and the review's list of changes, so the
three always agree, and a problem found by `validate` leads to the step that asks its key.

`preset` below is a `hftui.core.preset.Preset` and `catalog` a `catalog.Catalog` (or None
while the installed library's options have not been read yet).
"""

from __future__ import annotations

import copy
import dataclasses

from hftui.core.options.sections import COLUMN_KEYS, PAIRED_COLUMNS, REWARD_TRAINER_TYPES, SCRATCH_CONFIG_FIELDS, SECTION_FIELDS, TOP_FIELDS, Field, column_needs, field_for

STEPS = (
    "model",
    "dataset",
    "trainer",
    "training",
    "evaluation",
    "optimizer",
    "precision",
    "distribution",
    "peft",
    "integrations",
    "review",
)

STEP_TITLES = {
    "model": ("Model", "모델"),
    "dataset": ("Dataset", "데이터셋"),
    "trainer": ("Trainer type", "트레이너 유형"),
    "training": ("Training", "학습"),
    "evaluation": ("Evaluation, logging, saving", "평가 · 로깅 · 저장"),
    "optimizer": ("Optimizer & schedule", "옵티마이저 · 스케줄"),
    "precision": ("Precision", "정밀도"),
    "distribution": ("Distribution", "분산 학습"),
    "peft": ("PEFT / LoRA", "PEFT / LoRA"),
    "integrations": ("Integrations", "연동"),
    "review": ("Review", "검토"),
}

# The step of an [args] option nobody curated, guessed from words in its name; "training" else.
STEP_WORDS = (
    ("evaluation", ("eval", "logging", "log_", "save", "metric_for_best", "greater_is_better", "load_best", "include_", "prediction", "hub_strategy")),
    ("optimizer", ("learning_rate", "lr_", "adam", "optim", "weight_decay", "warmup", "max_grad_norm", "scheduler")),
    ("precision", ("fp16", "bf16", "tf32", "half_", "fp8")),
    ("distribution", ("ddp", "fsdp", "deepspeed", "local_rank", "parallel", "accelerator", "use_cpu", "tpu", "dispatch")),
    ("integrations", ("report_to", "run_name", "hub", "push_to", "project", "trackio", "wandb")),
)

# The preset's own sections in the order the wizard asks them, each with when it is asked.
SECTIONS_ASKED = (
    ("", lambda preset: True),  # name, description
    ("model", lambda preset: True),
    ("model.scratch", lambda preset: preset.has("model.scratch")),
    ("dataset", lambda preset: True),
    ("trainer", lambda preset: True),
    ("grpo", lambda preset: preset.trainer_type in REWARD_TRAINER_TYPES),
    ("ppo", lambda preset: preset.trainer_type == "ppo"),
    ("launch", lambda preset: True),
    ("peft", lambda preset: preset.has("peft")),
)

# The optional section a step switches on and off as a whole (a scratch model, a LoRA adapter).
SWITCHED_SECTIONS = {"model": "model.scratch", "peft": "peft"}

# Old [args] names the installed library still accepts next to the new one: asked only when set.
ALIASES = {"gradient_checkpointing": "activation_checkpointing"}
# [args] options that one of the preset's own keys already sets (train/trainer_config passes
# dataset.max_length on as SFT/DPO/reward's max_length): one concept, one field; asked only when set.
SET_BY_OWN_KEYS = {"max_length": "dataset.max_length"}

# A scratch model switched on in the wizard is a smoke-test size, so it builds and trains at once.
SMOKE_TEST_MODEL = {"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4}


def guess_step(name: str) -> str:
    for step, words in STEP_WORDS:
        if any(w in name for w in words):
            return step
    return "training"


def needed_columns(preset) -> tuple[str, ...]:
    """The [dataset] *_column keys the preset's trainer type reads (any one of a one-of need, and
    the column a paired one goes with: SFT's prompt beside its completion)."""
    keys = [key for need in column_needs(preset.trainer_type, preset.task) for key in need]
    return tuple(dict.fromkeys(keys + [PAIRED_COLUMNS[k] for k in keys if k in PAIRED_COLUMNS]))


def _section_fields(section: str) -> list[Field]:
    if not section:
        return list(TOP_FIELDS.values())
    fields = list(SECTION_FIELDS.get(section, {}).values())
    if section == "model.scratch":
        fields += SCRATCH_CONFIG_FIELDS.values()
    return fields


def _asked(f: Field, preset, needed: tuple[str, ...], advanced: bool) -> bool:
    if f.path == "model.num_labels":
        return preset.task == "sequence-classification"
    if f.section == "dataset" and f.name in COLUMN_KEYS and f.name not in needed:
        return advanced
    return advanced or not f.advanced


def _ampere_or_newer(gpus: list) -> bool:
    return bool(gpus) and all(g.supports_bf16 for g in gpus)  # compute capability 8.0 and up


# [args] options whose ★ depends on the machine: name -> whether these GPUs earn it.
HARDWARE_STARS = {"tf32": _ampere_or_newer}


def with_hardware_star(f: Field, gpus: list | None) -> Field:
    """`f` with its ★ decided by the GPUs (None: not known yet, the curated ★ stands)."""
    decide = HARDWARE_STARS.get(f.name) if f.section == "args" else None
    if decide is None or gpus is None:
        return f
    star = decide(gpus)
    return f if star == f.star else dataclasses.replace(f, star=star)


def step_fields(step: str, preset, catalog, advanced: bool = False, gpus: list | None = None) -> list[tuple[str, Field]]:
    """(preset path, Field) pairs a step asks, in order; advanced adds every other option.
    `gpus`: the machine's GPUs, which decide the ★ of HARDWARE_STARS (None: not known)."""
    needed = needed_columns(preset)
    out = [
        (f.path if f.section else f.name, f)
        for section, when in SECTIONS_ASKED
        if when(preset)
        for f in _section_fields(section)
        if f.step == step and _asked(f, preset, needed, advanced)
    ]
    if catalog is not None:
        for f in catalog.step_fields(step, advanced=advanced):
            set_here = preset.has(f"args.{f.name}")
            if f.extra.get("deprecated") and not set_here:
                continue
            if ALIASES.get(f.name) in catalog.args and not set_here:
                continue
            if f.name in SET_BY_OWN_KEYS and not set_here:
                continue
            out.append((f"args.{f.name}", with_hardware_star(f, gpus)))
    return out


def step_of(path: str, catalog=None) -> str:
    """The step that asks a preset key; "review" for keys no step asks (schema, unknown sections)."""
    if path.startswith("args."):
        name = path.split(".")[1]
        if catalog is not None and name in catalog.args:
            return catalog.args[name].step
        return guess_step(name)
    f = field_for(path)
    if f is not None and f.step:
        return f.step
    # A key the schema does not describe (model.scratch.rope_theta, dataset.data_files.train)
    # belongs to the step of its section's first key.
    section = SECTION_FIELDS.get(path.split(".")[0])
    return next(iter(section.values())).step if section else "review"


def section_default(section: str) -> dict:
    """What a section holds when the wizard switches it on: its starred keys at their defaults."""
    value = {name: copy.deepcopy(f.default) for name, f in SECTION_FIELDS.get(section, {}).items() if f.star}
    if section == "model.scratch":
        value.update(SMOKE_TEST_MODEL)
    return value
