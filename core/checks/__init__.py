"""Every check of a preset, all at once: what the trainer, the launcher or the data loader would
otherwise reject minutes into a run (or silently get wrong).

Each problem names the dotted key, the line in the file, what is wrong and what to write
instead. Validation reads the option catalog from its cache and the first record of local data
files; it never imports torch, transformers or datasets once the catalog cache exists, so the
wizard can run it on every edit and `hftui validate` answers in a fraction of a second.
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import math
import os
import re
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

from hftui.core.options import sections as schema
from hftui.core.problems import PresetError, Problem
from hftui.core.options.names import suggest_key
from hftui.core.options.toml_text import key_lines, line_of
from hftui.core.preset import Preset

# -- vocabulary --------------------------------------------------------------------------------
TYPE_WORDS = {
    "bool": "true or false",
    "int": "a whole number",
    "float": "a number",
    "str": 'a quoted string ("...")',
    "list": 'a list like ["a", "b"]',
    "dict": 'a table like { key = "value" }',
    "str_or_dict": "a string or a table",
    "str_or_list": "a string or a list of strings",
    "int_or_auto": 'a whole number or "auto"',
    "int_or_float": "a number",
    "any": "any value",
}

BUILDERS = ("json", "csv", "parquet", "text", "arrow", "pandas")
EVAL_SPLIT_NAMES = ("eval", "validation", "valid", "test")
INT_LIMIT = 2**31 - 1

# Limits of [args] options the config classes do not declare but the trainer (or torch) enforces.
# name -> (minimum, maximum, maximum is exclusive)
ARG_LIMITS: dict[str, tuple[float | None, float | None, bool]] = {
    "learning_rate": (0, None, False),
    "per_device_train_batch_size": (1, 65536, False),
    "per_device_eval_batch_size": (1, 65536, False),
    "gradient_accumulation_steps": (1, None, False),
    "eval_accumulation_steps": (1, None, False),
    "num_train_epochs": (0, None, False),
    "max_steps": (-1, None, False),
    "warmup_steps": (0, None, False),
    "weight_decay": (0, None, False),
    "adam_beta1": (0, 1, True),
    "adam_beta2": (0, 1, True),
    "adam_epsilon": (0, None, False),
    "max_grad_norm": (0, None, False),
    "label_smoothing_factor": (0, 1, False),
    "logging_steps": (0, None, False),
    "eval_steps": (0, None, False),
    "save_steps": (0, None, False),
    "save_total_limit": (0, None, False),
    "eval_delay": (0, None, False),
    "dataloader_num_workers": (0, 256, False),
    "dataloader_prefetch_factor": (1, None, False),
    "seed": (0, 2**32 - 1, False),
    "data_seed": (0, 2**32 - 1, False),
    "torch_empty_cache_steps": (1, None, False),
    "ddp_timeout": (1, None, False),
    "neftune_noise_alpha": (0, None, False),
    "max_length": (1, None, False),
    "num_ppo_epochs": (1, None, False),
    "num_mini_batches": (1, None, False),
    "response_length": (1, None, False),
    "total_episodes": (1, None, False),
    "local_rollout_forward_batch_size": (1, None, False),
    "temperature": (0, None, False),
    "kl_coef": (0, None, False),
    "cliprange": (0, None, False),
    "cliprange_value": (0, None, False),
    "vf_coef": (0, None, False),
    "gamma": (0, 1, False),
    "lam": (0, 1, False),
}

# Keys whose value is a credential, wherever they appear.
SECRET_KEYS = {
    "hub_token", "push_to_hub_token", "hf_token", "token", "use_auth_token", "auth_token",
    "access_token", "api_key", "wandb_api_key", "wandb_key", "comet_api_key", "password", "secret",
}
_HF_TOKEN = re.compile(r"\bhf_[A-Za-z0-9]{20,}\b")
_WANDB_KEY = re.compile(r"^(?:[0-9a-f]{40}|local-[0-9a-f]{40,})$")
_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*(/[A-Za-z0-9][A-Za-z0-9_.\-]*)?$")
_LOCALHOSTS = ("127.0.0.1", "localhost", "::1", "0.0.0.0")
_SCRATCH_POSITIVE = ("hidden_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads", "intermediate_size", "vocab_size", "max_position_embeddings", "n_embd", "n_layer", "n_head", "d_model", "num_layers", "num_heads", "d_ff", "n_positions")


class _Report:
    """Collects problems for one preset, each with the line where the TOML has one."""

    def __init__(self, preset: Preset, file: str | None):
        self.preset = preset
        self.file = file
        self.lines = key_lines(preset.source_text or "")
        self.items: list[Problem] = []
        self.for_run = False

    def add(self, path: str, severity: str, message: str, hint: str = "") -> None:
        line = line_of(self.lines, path) if path else None
        self.items.append(Problem(path, severity, message, hint, line, self.file))

    def error(self, path: str, message: str, hint: str = "") -> None:
        self.add(path, "error", message, hint)

    def warning(self, path: str, message: str, hint: str = "") -> None:
        self.add(path, "warning", message, hint)

    def notice(self, path: str, message: str, hint: str = "") -> None:
        self.add(path, "notice", message, hint)


# -- public API --------------------------------------------------------------------------------
def validate(preset: Preset, file: str | None = None, for_run: bool = False) -> list[Problem]:
    """Every problem of a loaded preset (migration notices included), errors and warnings alike.

    `file` is the name to show for the preset (as the person typed it); by default its path.
    `for_run`: the preset is about to train, so what must exist by then (a reward model still to
    be trained, say) is an error rather than a warning.
    """
    file = file or (str(preset.path) if preset.path else None)
    rep = _Report(preset, file)
    rep.for_run = for_run
    if not preset.data and preset.source_text is not None and not preset.source_text.strip():
        rep.error("", "the preset file is empty", "start from a shipped preset, e.g. copy presets/quickstart.toml, or run `hftui` to write one")
        return rep.items
    rep.items.extend(replace(p, file=file) for p in preset.notices)
    data = preset.data
    _check_top(rep, data)
    sections = {name: data.get(name) for name in schema.KNOWN_SECTIONS}
    for name, value in sections.items():
        if value is not None and not isinstance(value, dict):
            rep.error(name, f"{name} must be a table, not {_kind(value)}",
                      f"write [{name}] on its own line with its keys below it (e.g. [trainer] then type = \"sft\")")
    for section, fields in schema.SECTION_FIELDS.items():
        if section == "model.scratch":
            continue
        table = preset.get(section)
        if isinstance(table, dict):
            _check_section(rep, section, table, fields)
    _check_scratch(rep, preset)
    catalog = _check_args(rep, preset)
    _check_model(rep, preset)
    _check_dataset(rep, preset)
    _check_trainer(rep, preset)
    _check_training_rules(rep, preset, catalog)
    _check_ppo(rep, preset)
    _check_launch(rep, preset)
    _check_output_dir(rep, preset)
    _check_secrets(rep, preset)
    if not for_run:
        # Before a run the estimate is the worker's: it has torch loaded and the model built
        # anyway, where here it would cost the import of torch and transformers (seconds).
        _check_memory(rep, preset)
    return _dedupe(rep.items)


def validate_file(path: str | Path, overrides: Iterable[str] = (), for_run: bool = False) -> tuple[Preset | None, list[Problem]]:
    """Load a preset, apply `--set` overrides, migrate and validate it.

    Returns the preset (None when the file cannot be read or parsed) and every problem found.
    """
    from hftui.core.preset import apply_overrides, load

    file = str(path)
    try:
        preset = load(path)
    except PresetError as exc:
        return None, [replace(p, file=p.file if p.file and p.file != str(Path(path).resolve()) else file) for p in exc.problems]
    problems: list[Problem] = []
    overrides = list(overrides)
    if overrides:
        try:
            preset = apply_overrides(preset, overrides)
        except PresetError as exc:
            problems.extend(replace(p, file=file) for p in exc.problems)
            # keep the valid overrides: apply them one by one, skipping the bad ones
            for item in overrides:
                try:
                    preset = apply_overrides(preset, [item])
                except PresetError:
                    pass
    problems.extend(validate(preset, file=file, for_run=for_run))
    return preset, problems


# -- values ------------------------------------------------------------------------------------
def type_ok(value: Any, type_name: str) -> bool:
    """Whether a TOML value fits a declared type (a TOML integer is fine for a float)."""
    t = (type_name or "any").replace("optional:", "")
    if t == "any":
        return True
    if t == "bool":
        return isinstance(value, bool)
    if t == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if t in ("float", "int_or_float"):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if t == "str":
        return isinstance(value, str)
    if t == "list":
        return isinstance(value, list)
    if t == "dict":
        return isinstance(value, dict)
    if t == "str_or_list":
        return isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))
    if t == "str_or_dict":
        return isinstance(value, (str, dict))
    if t == "int_or_auto":
        return value == "auto" or (isinstance(value, int) and not isinstance(value, bool))
    return True


def _show(value: Any) -> str:
    """A value as TOML would spell it, short and with anything token-like masked."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = json.dumps("***" if _WANDB_KEY.match(value.strip()) else _HF_TOKEN.sub("hf_***", value), ensure_ascii=False)
    elif isinstance(value, float) and math.isinf(value):
        text = "inf" if value > 0 else "-inf"
    elif isinstance(value, float) and math.isnan(value):
        text = "nan"
    elif isinstance(value, dict):
        text = "{ " + ", ".join(f"{k} = {_show(v)}" for k, v in value.items()) + " }"
    elif isinstance(value, list):
        text = "[" + ", ".join(_show(v) for v in value) + "]"
    else:
        text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def _example(f: schema.Field, value: Any = None) -> str:
    if f.type in ("list", "str_or_list") and isinstance(value, str) and value:
        return f"{f.name} = {_show([value])}"
    if f.type in ("int", "float", "int_or_auto") and isinstance(value, str):
        try:
            number = float(value)
            if f.type != "float" and number.is_integer():
                return f"{f.name} = {int(number)} (no quotes)"
            if f.type == "float":
                return f"{f.name} = {value.strip()} (no quotes)"
        except ValueError:
            pass
    if f.type == "bool" and isinstance(value, str) and value.lower() in ("true", "yes", "on", "1", "false", "no", "off", "0"):
        return f"{f.name} = {'true' if value.lower() in ('true', 'yes', 'on', '1') else 'false'} (no quotes)"
    if f.type == "int" and isinstance(value, float) and math.isfinite(value):
        return f"{f.name} = {max(1, round(value))}"
    if f.choices:
        return f"{f.name} = {_show(f.choices[0])}"
    default = f.default
    usable = default not in (None, "", [], {}) and type_ok(default, f.type)
    if usable and isinstance(default, (int, float)) and not isinstance(default, bool) and default <= 0:
        usable = False  # "-1" or "0" often means "unset": not a helpful example
    if usable:
        return f"{f.name} = {_show(default)}"
    samples = {"bool": "true", "int": "100", "float": "0.1", "str": '"..."', "list": '["..."]', "int_or_auto": '"auto"',
               "str_or_list": '"..."', "str_or_dict": '"..."', "dict": "{ key = \"value\" }"}
    if f.name == "data_files":
        return 'data_files = "data/train.jsonl" (or { train = "...", eval = "..." })'
    return f"{f.name} = {samples.get(f.type, '...')}"


def _check_value(rep: _Report, path: str, value: Any, f: schema.Field, limits: tuple | None = None) -> bool:
    """Type, choices and range of one value; True when the type is right."""
    if not type_ok(value, f.type):
        rep.error(path, f"expected {TYPE_WORDS.get(f.type, f.type)}, got {_kind(value)} {_show(value)}",
                  f"write {_example(f, value)}")
        return False
    if isinstance(value, float) and not math.isfinite(value):
        rep.error(path, f"{_show(value)} is not a finite number", f"write {_example(f)}")
        return True
    if f.choices:
        values = value if isinstance(value, list) else [value]
        for v in values:
            if isinstance(v, (str, int)) and not isinstance(v, bool) and v not in f.choices:
                close = difflib.get_close_matches(str(v), [str(c) for c in f.choices], n=1, cutoff=0.5)
                options = ", ".join(_show(c) for c in f.choices[:12]) + (", ..." if len(f.choices) > 12 else "")
                hint = f"did you mean {_show(close[0]) if isinstance(f.choices[0], str) else close[0]}? " if close else ""
                rep.error(path, f"{_show(v)} is not one of the choices", f"{hint}choose one of: {options}")
    lo, hi, hi_open = limits if limits else (f.minimum, f.maximum, False)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if lo is not None and value < lo:
            rep.error(path, f"{_show(value)} is too small: it must be at least {_num(lo)}",
                      f"write a value >= {_num(lo)}")
        elif hi is not None and (value >= hi if hi_open else value > hi):
            rep.error(path, f"{_show(value)} is too large: it must be {'below' if hi_open else 'at most'} {_num(hi)}",
                      f"write a value {'<' if hi_open else '<='} {_num(hi)}")
        elif isinstance(value, int) and abs(value) > INT_LIMIT and hi is None:
            rep.error(path, f"{value} is too large: the trainer stores it as a 32-bit integer",
                      f"write a value <= {INT_LIMIT}")
    return True


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


# -- top level and hftui's own sections --------------------------------------------------------
def _check_top(rep: _Report, data: dict) -> None:
    if "schema" not in data:
        rep.error("schema", "the preset has no schema version", "add schema = 1 as the first line")
    else:
        value = data["schema"]
        if isinstance(value, bool) or not isinstance(value, int):
            rep.error("schema", f"schema must be the number 1, got {_kind(value)} {_show(value)}", "write schema = 1")
        elif value != schema.SCHEMA_VERSION:
            rep.error("schema", f"schema {value} is not supported: this hftui reads schema {schema.SCHEMA_VERSION}",
                      "write schema = 1 (a newer hftui may read newer presets)")
    for key in ("name", "description"):
        if key in data and not isinstance(data[key], str):
            rep.error(key, f"{key} must be a string, got {_kind(data[key])} {_show(data[key])}", f'write {key} = "..."')
    if isinstance(data.get("name"), str) and any(ch in data["name"] for ch in "/\\\0"):
        rep.error("name", f"name {_show(data['name'])} contains a path separator", "use letters, digits, - and _")
    for key, value in data.items():
        if key in schema.TOP_FIELDS or key in schema.KNOWN_SECTIONS:
            continue
        what = f"section [{key}]" if isinstance(value, dict) else f"key {key!r}"
        hint = _section_hint(key) if isinstance(value, dict) else suggest_key(rep.preset, key)
        rep.error(key, f"unknown {what}", hint or f"known sections: {', '.join(schema.KNOWN_SECTIONS)}")


def _section_hint(key: str) -> str:
    match = difflib.get_close_matches(key, list(schema.KNOWN_SECTIONS), n=1, cutoff=0.5)
    if match:
        return f"did you mean [{match[0]}]?"
    owner = [s for s, fields in schema.SECTION_FIELDS.items() if key in fields]
    if owner:
        return f"{key} is a key of [{owner[0]}], not a section"
    return ""


def _check_section(rep: _Report, section: str, table: dict, fields: dict[str, schema.Field]) -> None:
    for key, value in table.items():
        path = f"{section}.{key}"
        if section == "model" and key == "scratch":
            if not isinstance(value, dict):
                rep.error(path, "scratch must be a table: write [model.scratch] on its own line", "[model.scratch]")
            continue
        f = fields.get(key)
        if f is None:
            hint = suggest_key(rep.preset, path)
            rep.error(path, f"unknown key {key!r} in [{section}]", hint or f"known keys: {', '.join(fields)}")
            continue
        _check_value(rep, path, value, f)


# -- [model] -----------------------------------------------------------------------------------
def _check_scratch(rep: _Report, preset: Preset) -> None:
    scratch = preset.section("model").get("scratch")
    if not isinstance(scratch, dict):
        return
    fields = schema.SECTION_FIELDS["model.scratch"]
    for key in ("architecture", "tokenizer"):
        if key in scratch:
            _check_value(rep, f"model.scratch.{key}", scratch[key], fields[key])
    arch = scratch.get("architecture", fields["architecture"].default)
    if isinstance(arch, str):
        known = _model_types()
        if known and arch not in known:
            close = difflib.get_close_matches(arch, sorted(known), n=1, cutoff=0.6)
            rep.error("model.scratch.architecture", f"unknown architecture {_show(arch)}: not a model_type of the installed transformers",
                      (f"did you mean {_show(close[0])}? " if close else "") + "use an AutoConfig model_type such as llama, gpt2, bert, t5, qwen2")
        task = "sequence-classification" if preset.trainer_type == "reward" else preset.task
        able = _task_architectures().get(task)
        if known and arch in known and able and arch not in able:
            common = [a for a in ("llama", "gpt2", "qwen2", "mistral", "bert", "t5", "bart") if a in able]
            rep.error("model.scratch.architecture", f"architecture {_show(arch)} has no {task} model in the installed transformers",
                      f"pick one that has: {', '.join(common) or ', '.join(sorted(able)[:6])}")
    tok = scratch.get("tokenizer", "byte")
    if isinstance(tok, str) and tok not in schema.TOKENIZERS:
        p = preset.resolve(tok)
        if not p.is_dir():
            rep.error("model.scratch.tokenizer", f"tokenizer {_show(tok)} is neither \"byte\" nor a folder ({p} not found)",
                      'write tokenizer = "byte" (built offline) or the path of a saved tokenizer folder')
    for key in _SCRATCH_POSITIVE:
        value = scratch.get(key)
        if key in scratch and (isinstance(value, bool) or not isinstance(value, int)):
            example = f"{key} = {value.strip()} (no quotes)" if isinstance(value, str) and value.strip().isdigit() else f"{key} = 64"
            rep.error(f"model.scratch.{key}", f"expected a whole number, got {_kind(value)} {_show(value)}", f"write {example}")
        elif isinstance(value, int) and value < 1:
            rep.error(f"model.scratch.{key}", f"{key} = {value} must be at least 1", f"write {key} = 64")
    h, heads = scratch.get("hidden_size"), scratch.get("num_attention_heads")
    if isinstance(h, int) and isinstance(heads, int) and not isinstance(h, bool) and h > 0 and heads > 0 and h % heads:
        rep.error("model.scratch.num_attention_heads", f"hidden_size {h} is not divisible by num_attention_heads {heads}",
                  "pick a number of heads that divides hidden_size (e.g. 4 for 64)")


@lru_cache(maxsize=1)
def _model_types() -> frozenset[str]:
    """Model types of the installed transformers, read from its source (no import)."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("transformers")
    except (ImportError, ValueError):
        return frozenset()
    if spec is None or not spec.submodule_search_locations:
        return frozenset()
    auto = Path(next(iter(spec.submodule_search_locations))) / "models" / "auto"
    names: set[str] = set()
    pair = re.compile(r'\(\s*"([A-Za-z0-9_\-]+)"\s*,\s*"[A-Za-z0-9_]+Config"\s*\)')
    for fname in ("auto_mappings.py", "configuration_auto.py"):
        try:
            names.update(pair.findall((auto / fname).read_text(encoding="utf-8")))
        except OSError:
            continue
    return frozenset(names)


@lru_cache(maxsize=1)
def _task_architectures() -> dict[str, frozenset[str]]:
    """task -> model types with an Auto class for it, read from transformers' source (no import)."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("transformers")
        root = Path(next(iter(spec.submodule_search_locations))) if spec and spec.submodule_search_locations else None
        text = (root / "models" / "auto" / "modeling_auto.py").read_text(encoding="utf-8") if root else ""
    except (ImportError, ValueError, OSError, StopIteration):
        return {}
    out = {}
    for task, name in (("causal-lm", "MODEL_FOR_CAUSAL_LM_MAPPING_NAMES"), ("sequence-classification", "MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING_NAMES"),
                       ("seq2seq-lm", "MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES")):
        block = re.search(rf"^{name} = OrderedDict\(\s*\[(.*?)^\s*\]\s*\)", text, re.S | re.M)
        names = re.findall(r'\(\s*"([A-Za-z0-9_\-]+)"\s*,', block.group(1)) if block else []
        if names:
            out[task] = frozenset(names)
    return out


def _offline() -> bool:
    return any(os.environ.get(k, "").lower() in ("1", "true", "yes", "on") for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def _hub_cache() -> Path:
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    base = Path(os.environ["XDG_CACHE_HOME"]).expanduser() if os.environ.get("XDG_CACHE_HOME") else Path.home() / ".cache"
    return base / "huggingface" / "hub"


def _in_hub_cache(kind: str, repo_id: str) -> bool:
    return (_hub_cache() / f"{kind}--{repo_id.replace('/', '--')}").is_dir()


def _looks_local(value: str) -> bool:
    return value.startswith((".", "/", "~")) or value.count("/") > 1 or "\\" in value or value.endswith("/")


def beside_output_dir(preset: Preset, value: str) -> bool:
    """"runs/reward" next to output_dir "runs/ppo": a folder another preset trains, not a Hub id."""
    out = preset.get("args.output_dir")
    if not isinstance(out, str) or Path(out).is_absolute() or Path(value).is_absolute():
        return False
    mine, theirs = Path(out).parts, Path(value).parts
    return len(mine) > 1 and len(theirs) > 1 and mine[0] == theirs[0]


def _check_model_ref(rep: _Report, preset: Preset, key: str, value: str, what: str, missing_severity: str = "error", missing_hint: str = "") -> None:
    """A Hub id or a local model folder: the folder must hold a model, the id must be reachable."""
    p = preset.resolve(value)
    if p.exists():
        if not p.is_dir():
            rep.error(key, f"{what} {_show(value)} is a file, not a model folder", "point it at the folder that holds config.json")
        elif not any((p / n).exists() for n in ("config.json", "adapter_config.json")):
            rep.error(key, f"{what} folder {p} has no config.json: it is not a saved model",
                      "point it at a folder written by save_pretrained (the output_dir of a finished run)")
        return
    if _looks_local(value) or (key.startswith("ppo.") and beside_output_dir(preset, value)):
        rep.add(key, missing_severity, f"{what} folder not found: {p}", missing_hint or "check the path (relative paths start at the preset's folder), or train it first")
        return
    if not _HUB_ID.match(value) or ".." in value or value.endswith((".", "-")):
        rep.error(key, f"{_show(value)} is neither a Hub id (owner/name) nor an existing folder", "write a Hub id like gpt2 or owner/name, or a folder path")
        return
    if _offline() and not _in_hub_cache("models", value):
        rep.add(key, missing_severity, f"{what} {_show(value)} is not a local folder ({p}) and not in the Hugging Face cache, and HF_HUB_OFFLINE is set",
                missing_hint or "use a local folder, download the model while online, or use [model.scratch]")


def _check_model(rep: _Report, preset: Preset) -> None:
    model = preset.get("model")
    if model is None:
        rep.error("model", "the preset has no [model] section", 'add [model] with name_or_path = "gpt2" (or a [model.scratch] table)')
        return
    if not isinstance(model, dict):
        return
    scratch = isinstance(model.get("scratch"), dict)
    name = model.get("name_or_path")
    if not scratch and not name:
        rep.error("model.name_or_path", "no model given: name_or_path is empty and there is no [model.scratch]",
                  'set name_or_path = "gpt2" (a Hub id or a local folder), or add [model.scratch] to build a fresh model')
    elif scratch and name:
        rep.warning("model.name_or_path", "both name_or_path and [model.scratch] are set: [model.scratch] builds the model and name_or_path is ignored",
                    "remove one of them")
    elif isinstance(name, str) and name:
        _check_model_ref(rep, preset, "model.name_or_path", name, "model")
    if model.get("trust_remote_code") is True:
        rep.warning("model.trust_remote_code", "trust_remote_code = true runs Python code downloaded with the model",
                    "`hftui run` refuses it unless you pass --trust-remote-code; only use it for models you trust")
    if "num_labels" in model and preset.task != "sequence-classification":
        rep.warning("model.num_labels", f"num_labels is only used by sequence-classification, not {preset.task}", "remove num_labels")


# -- [dataset] ---------------------------------------------------------------------------------
def _data_file_entries(raw: Any) -> list[tuple[str, str, str]]:
    """(key path, split, file) for every file named in dataset.data_files."""
    out = []
    if isinstance(raw, str):
        out.append(("dataset.data_files", "train", raw))
    elif isinstance(raw, list):
        out.extend(("dataset.data_files", "train", v) for v in raw if isinstance(v, str))
    elif isinstance(raw, dict):
        for split, v in raw.items():
            files = v if isinstance(v, list) else [v]
            for item in files:
                if isinstance(item, str):
                    out.append((f"dataset.data_files.{split}", str(split), item))
    return out


def _check_dataset(rep: _Report, preset: Preset) -> None:
    ds = preset.get("dataset")
    if ds is None:
        rep.error("dataset", "the preset has no [dataset] section", 'add [dataset] with path = "json" and data_files = "data/train.jsonl"')
        return
    if not isinstance(ds, dict):
        return
    path = ds.get("path")
    raw = ds.get("data_files")
    if not path and raw is None:
        rep.error("dataset.path", "no dataset given: neither path nor data_files is set",
                  'set path = "json" and data_files = "data/train.jsonl" (relative to the preset), or a Hub dataset id')
    if isinstance(raw, dict):
        for split, v in raw.items():
            if not (isinstance(v, str) or (isinstance(v, list) and all(isinstance(x, str) for x in v))):
                rep.error(f"dataset.data_files.{split}", f"expected a file path or a list of paths, got {_kind(v)} {_show(v)}",
                          f'write {split} = "data/{split}.jsonl"')
    elif isinstance(raw, list) and not all(isinstance(x, str) for x in raw):
        rep.error("dataset.data_files", "every entry of data_files must be a file path", 'write data_files = ["data/a.jsonl", "data/b.jsonl"]')
    is_builder = isinstance(path, str) and path in BUILDERS
    if isinstance(path, str) and path and not is_builder:
        local = preset.resolve(path)
        if local.exists():
            if local.is_file():
                rep.warning("dataset.path", f"dataset.path {_show(path)} is a file; load_dataset expects a builder name or a folder",
                            f'write path = "json" (or csv) and data_files = {_show(path)}')
        elif _looks_local(path) or Path(path).suffix.lower() in (".json", ".jsonl", ".csv", ".parquet", ".txt"):
            rep.error("dataset.path", f"dataset folder not found: {local}", "check the path (relative paths start at the preset's folder)")
        elif not _HUB_ID.match(path):
            rep.error("dataset.path", f"{_show(path)} is not a builder (json, csv, parquet, text), a folder or a Hub dataset id",
                      'write path = "json" with data_files, or a Hub id like owner/name')
        elif _offline() and not _in_hub_cache("datasets", path) and not _in_datasets_cache(path):
            rep.error("dataset.path", f"dataset {_show(path)} is not a local folder and not in the Hugging Face cache, and HF_HUB_OFFLINE is set",
                      "use local files (path = \"json\", data_files = ...), or download the dataset while online")
    # files
    entries = _data_file_entries(raw)
    existing: list[tuple[str, str, Path]] = []
    for key, split, value in entries:
        p = preset.resolve(value)
        if any(ch in value for ch in "*?["):
            matches = sorted(p.parent.glob(p.name)) if p.parent.exists() else []
            if not matches:
                rep.error(key, f"no file matches {value!r} (looked in {p.parent})", "check the pattern; relative paths start at the preset's folder")
            existing.extend((key, split, m) for m in matches[:1])
            continue
        if not p.exists():
            rep.error(key, f"data file not found: {p}", "check the path; relative paths start at the preset's folder")
        elif p.is_dir():
            rep.error(key, f"data file {p} is a folder", "name the file inside it (or a pattern like data/*.jsonl)")
        else:
            existing.append((key, split, p))
    if is_builder and raw is None:
        rep.error("dataset.data_files", f"dataset.path = {_show(path)} reads local files, but data_files is not set",
                  'set data_files = "data/train.jsonl" (relative to the preset)')
    # builder against the file's format
    if is_builder and path in ("json", "csv"):
        for key, _split, p in existing:
            suffix = p.suffix.lower()
            if (path == "json" and suffix in (".csv", ".tsv", ".parquet")) or (path == "csv" and suffix in (".json", ".jsonl", ".parquet")):
                rep.error(key, f"dataset.path = {_show(path)} but {p.name} is a {suffix[1:]} file", f'write path = "{ {".csv": "csv", ".tsv": "csv", ".parquet": "parquet"}.get(suffix, "json") }"')
    # splits
    _check_splits(rep, preset, ds, raw, path)
    # columns of local json/csv files
    for key, split, p in existing:
        _check_columns(rep, preset, key, split, p)


def _in_datasets_cache(name: str) -> bool:
    root = Path(os.environ["HF_DATASETS_CACHE"]).expanduser() if os.environ.get("HF_DATASETS_CACHE") else (
        Path(os.environ["HF_HOME"]).expanduser() / "datasets" if os.environ.get("HF_HOME") else Path.home() / ".cache" / "huggingface" / "datasets")
    return (root / name.replace("/", "___")).is_dir()


def _check_splits(rep: _Report, preset: Preset, ds: dict, raw: Any, path: Any) -> None:
    train_split = ds.get("train_split", "train")
    eval_split = ds.get("eval_split")
    fraction = ds.get("eval_fraction")
    local_files = raw is not None and (not path or (isinstance(path, str) and path in BUILDERS))
    if local_files and isinstance(train_split, str):
        splits = list(raw) if isinstance(raw, dict) else ["train"]
        if train_split not in splits:
            rep.error("dataset.train_split", f"no split {train_split!r} in data_files (it has: {', '.join(map(str, splits))})",
                      f'name the training file {train_split} = "..." in data_files, or set train_split to one of: {", ".join(map(str, splits))}')
        if isinstance(eval_split, str) and eval_split not in splits:
            hint = (f'add {eval_split} = "data/{eval_split}.jsonl" to data_files, or use eval_fraction = 0.1'
                    if isinstance(raw, dict) else
                    f'data_files names one file (the train split): write data_files = {{ train = {_show(raw if isinstance(raw, str) else "...")}, {eval_split} = "..." }} or use eval_fraction = 0.1')
            rep.error("dataset.eval_split", f"no split {eval_split!r} in data_files (it has: {', '.join(map(str, splits))})", hint)
    if eval_split is not None and fraction:
        rep.warning("dataset.eval_fraction", "both eval_split and eval_fraction are set: the eval split is used and eval_fraction is ignored",
                    "remove one of them")


def first_record(path: Path) -> tuple[list[str] | None, str | None]:
    """(column names of the first record, problem) for a local json/jsonl/csv file.

    Reads at most the first megabyte; other formats answer (None, None).
    """
    suffix = path.suffix.lower()
    if suffix not in (".json", ".jsonl", ".csv", ".tsv"):
        return None, None
    try:
        with open(path, "rb") as fh:
            head = fh.read(1 << 20)
            truncated = bool(fh.read(1))
    except PermissionError:
        return None, "cannot be read (permission denied)"
    except OSError as exc:
        return None, f"cannot be read: {exc.strerror or exc}"
    if not head.strip():
        return None, "is empty"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if truncated and exc.start >= len(head) - 4:
            text = head[: exc.start].decode("utf-8")
        else:
            return None, f"is not UTF-8 text (byte {exc.start})"
    text = text.lstrip("\ufeff")
    if "\x00" in text:
        return None, "is not a text file (it contains NUL bytes)"
    if suffix in (".csv", ".tsv"):
        lines = text.splitlines()
        if truncated and len(lines) > 1:
            lines = lines[:-1]
        rows = [r for r in csv.reader(io.StringIO("\n".join(lines)), delimiter="\t" if suffix == ".tsv" else ",") if any(c.strip() for c in r)]
        if not rows:
            return None, "is empty"
        if len(rows) < 2:
            return None, "has a header line but no rows"
        return [c.strip() for c in rows[0]], None
    stripped = text.lstrip()
    decoder = json.JSONDecoder()
    try:
        if stripped.startswith("["):
            rest = stripped[1:].lstrip()
            if rest.startswith("]"):
                return None, "is an empty JSON list: there are no records"
            obj, _ = decoder.raw_decode(rest)
        else:
            obj, _ = decoder.raw_decode(stripped)
    except json.JSONDecodeError as exc:
        line = text[: len(text) - len(stripped)].count("\n") + exc.lineno
        return None, f"is not valid JSON (line {line}: {exc.msg})"
    if not isinstance(obj, dict):
        return None, f"holds {_kind(obj)} as its first record, not an object with named columns"
    if not obj:
        return None, "has an empty first record {}: there are no columns"
    return [str(k) for k in obj], None


def required_columns(preset: Preset) -> list[tuple[str, list[str]]]:
    """(dataset key, acceptable column names) for each column the trainer type needs."""
    ds = preset.section("dataset")

    def col(key: str) -> str:
        value = ds.get(key)
        return value if isinstance(value, str) and value else str(schema.SECTION_FIELDS["dataset"][key].default)

    ttype, task = preset.trainer_type, preset.task
    if ttype == "sft":
        return [("dataset.text_column", [col("text_column"), col("messages_column")])]
    if ttype == "reward":
        return [("dataset.chosen_column", [col("chosen_column")]), ("dataset.rejected_column", [col("rejected_column")])]
    if ttype == "ppo":
        return [("dataset.prompt_column", [col("prompt_column")])]
    needs = [("dataset.text_column", [col("text_column")])]
    if task == "sequence-classification":
        needs.append(("dataset.label_column", [col("label_column")]))
    elif task == "seq2seq-lm":
        needs.append(("dataset.target_column", [col("target_column")]))
    return needs


def _check_columns(rep: _Report, preset: Preset, key: str, split: str, p: Path) -> None:
    columns, problem = first_record(p)
    if problem:
        rep.error(key, f"data file {p.name} {problem}", f"fix or replace {p}")
        return
    if columns is None:
        return
    for ds_key, names in required_columns(preset):
        if not any(n in columns for n in names):
            wanted = " or ".join(repr(n) for n in names)
            setting = ds_key.rpartition(".")[2]
            close = difflib.get_close_matches(names[0], columns, n=1, cutoff=0.5)
            hint = f"set {setting} = {_show(close[0] if close else columns[0])} (columns there: {', '.join(columns[:12])})"
            if ds_key == "dataset.text_column" and preset.trainer_type == "sft":
                hint += "; for chat data set messages_column"
            rep.error(ds_key, f"the {split} file {p.name} has no column {wanted}", hint)


# -- [trainer] ---------------------------------------------------------------------------------
def _check_trainer(rep: _Report, preset: Preset) -> None:
    ttype = preset.get("trainer.type", "sft")
    task = preset.get("model.task", "causal-lm")
    if isinstance(ttype, str) and isinstance(task, str) and task in schema.TASKS:
        if ttype in ("sft", "ppo") and task != "causal-lm":
            rep.error("trainer.type", f"trainer.type = {_show(ttype)} trains causal language models, but model.task = {_show(task)}",
                      'use trainer.type = "trainer" for this task, or model.task = "causal-lm"')
        if ttype == "reward" and task == "seq2seq-lm":
            rep.error("trainer.type", 'a reward model scores text with a classification head; model.task = "seq2seq-lm" cannot be one',
                      'use model.task = "causal-lm" (the base model) or "sequence-classification"')
    if task == "sequence-classification":
        label = preset.get("dataset.label_column", "label")
        if isinstance(label, str) and not label.strip():
            rep.error("dataset.label_column", "sequence-classification needs a label column, but label_column is empty",
                      'set label_column = "label" (the column with the class of each row)')
    metrics = preset.get("trainer.metrics")
    if isinstance(metrics, list):
        for i, m in enumerate(metrics):
            if not isinstance(m, str):
                rep.error("trainer.metrics", f"metric #{i + 1} is {_kind(m)} {_show(m)}, not a name", 'write metrics = ["accuracy"]')
            elif m not in schema.METRIC_NAMES:
                close = difflib.get_close_matches(m.lower(), schema.METRIC_NAMES, n=1, cutoff=0.5)
                rep.error("trainer.metrics", f"unknown metric {m!r}",
                          (f"did you mean {close[0]!r}? " if close else "") + f"hftui computes: {', '.join(schema.METRIC_NAMES)}")
            elif isinstance(task, str) and m not in schema.METRICS_BY_TASK.get(task, schema.METRIC_NAMES):
                rep.warning("trainer.metrics", f"metric {m!r} does not mean much for {task}",
                            f"for {task} use: {', '.join(schema.METRICS_BY_TASK.get(task, ()))}")
        if metrics and ttype in ("ppo",):
            rep.warning("trainer.metrics", "PPO does not run compute_metrics: the metrics are ignored", "remove metrics")
        if metrics and ttype == "sft" and any(m != "perplexity" for m in metrics if isinstance(m, str)):
            rep.warning("trainer.metrics", "SFT logs its own eval_mean_token_accuracy and hftui adds eval_perplexity; other metrics are ignored",
                        'remove metrics, or use trainer.type = "trainer" for task metrics')


# -- [args] ------------------------------------------------------------------------------------
def _check_args(rep: _Report, preset: Preset):
    args = preset.get("args")
    ttype = preset.get("trainer.type", "sft")
    if not isinstance(args, dict) or not isinstance(ttype, str) or ttype not in schema.TRAINER_TYPES:
        return None
    from hftui.core.options.catalog import get_catalog

    try:
        cat = get_catalog(ttype, preset.task)
    except Exception as exc:
        rep.warning("args", f"cannot check [args]: the {ttype} config class is not available ({str(exc).splitlines()[0][:160]})",
                    "install the libraries in pyproject.toml (pip install -e .)")
        return None
    for key, value in args.items():
        path = f"args.{key}"
        f = cat.args.get(key)
        if f is None:
            hint = suggest_key(preset, path)
            rep.error(path, f"unknown option {key!r}: the installed {cat.class_name} has no such field", hint or "see `hftui` (the wizard) for every option with its help")
            continue
        if key.lower() in SECRET_KEYS:
            continue  # reported by the secrets check, never echoed
        _check_value(rep, path, value, f, ARG_LIMITS.get(key))
    return cat


def _arg(preset: Preset, cat, name: str) -> Any:
    """An [args] value, or the installed default when the preset does not set it."""
    args = preset.section("args")
    if name in args:
        return args[name]
    if cat is not None and name in cat.args:
        return cat.args[name].default
    return None


def _number(value: Any) -> float | None:
    """A finite number, or None (non-finite values are reported by the type checks)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _check_training_rules(rep: _Report, preset: Preset, cat) -> None:
    args = preset.section("args")
    a = lambda name: _arg(preset, cat, name)  # noqa: E731
    if a("fp16") is True and a("bf16") is True:
        rep.error("args.bf16", "fp16 and bf16 are both true: pick one mixed precision",
                  "keep bf16 = true on Ampere or newer GPUs (A100, RTX 30xx+), else fp16 = true")
    if a("fp16_full_eval") is True and a("bf16_full_eval") is True:
        rep.error("args.bf16_full_eval", "fp16_full_eval and bf16_full_eval are both true", "keep one of them")
    if a("bf16") is True and "bf16" in args:
        gpus = _gpus()
        if gpus and not all(g.supports_bf16 for g in gpus):
            rep.warning("args.bf16", f"bf16 needs an Ampere or newer GPU; {gpus[0].name} does not support it", "use fp16 = true on this machine")
    eval_strategy = a("eval_strategy")
    save_strategy = a("save_strategy")
    evaluating = isinstance(eval_strategy, str) and eval_strategy != "no"
    if evaluating and not _has_eval_data(preset):
        hint = 'set dataset.eval_fraction = 0.1, dataset.eval_split = "validation", or data_files = { train = "...", eval = "..." } (or eval_strategy = "no")'
        rep.error("args.eval_strategy", f"eval_strategy = {_show(eval_strategy)} but the dataset has no evaluation data", hint)
    logging_steps, eval_steps, save_steps = _number(a("logging_steps")), _number(a("eval_steps")), _number(a("save_steps"))
    if a("logging_strategy") == "steps" and logging_steps == 0:
        rep.error("args.logging_steps", 'logging_strategy = "steps" needs logging_steps > 0', "write logging_steps = 10")
    if eval_strategy == "steps" and not eval_steps and logging_steps == 0:
        rep.error("args.eval_steps", 'eval_strategy = "steps" needs eval_steps (or logging_steps) > 0', "write eval_steps = 100")
    for name, value, strategy in (("logging_steps", logging_steps, a("logging_strategy")), ("eval_steps", eval_steps, eval_strategy), ("save_steps", save_steps, save_strategy)):
        if name in args and value is not None and value > 1 and value != int(value) and strategy == "steps":
            rep.error(f"args.{name}", f"{name} = {_num(value)} must be a whole number when above 1 (below 1 it is a fraction of all steps)",
                      f"write {name} = {int(value)}")
    if a("load_best_model_at_end") is True:
        if save_strategy != "best" and eval_strategy != save_strategy:
            rep.error("args.load_best_model_at_end",
                      f"load_best_model_at_end needs the same eval and save strategy, but eval_strategy = {_show(eval_strategy)} and save_strategy = {_show(save_strategy)}",
                      f'set save_strategy = {_show(eval_strategy)}' if evaluating else 'set eval_strategy and save_strategy both to "steps" (or "epoch")')
        elif save_strategy == "steps" and eval_strategy == "steps":
            ev = eval_steps or logging_steps
            if ev and save_steps:
                mixed = (ev < 1) != (save_steps < 1)
                if mixed or round(save_steps * 1_000_000) % round(ev * 1_000_000):
                    rep.error("args.save_steps", f"load_best_model_at_end needs save_steps ({_num(save_steps)}) to be a multiple of eval_steps ({_num(ev)})",
                              f"write save_steps = {_num(ev * max(1, round(save_steps / ev)))}" if not mixed else "use whole step counts for both")
        if save_strategy == "no":
            rep.error("args.save_strategy", 'load_best_model_at_end needs checkpoints, but save_strategy = "no"', 'set save_strategy = "steps"')
    scheduler = a("lr_scheduler_type")
    if scheduler in ("reduce_lr_on_plateau", "greedy") and not evaluating:
        rep.error("args.lr_scheduler_type", f"lr_scheduler_type = {_show(scheduler)} adjusts on evaluation results, but eval_strategy = \"no\"",
                  'set eval_strategy = "steps" (with evaluation data), or another scheduler such as "linear"')
    if a("dataloader_prefetch_factor") is not None and a("dataloader_num_workers") == 0 and "dataloader_prefetch_factor" in args:
        rep.error("args.dataloader_prefetch_factor", "dataloader_prefetch_factor only works with dataloader_num_workers > 0",
                  "set dataloader_num_workers = 2, or remove dataloader_prefetch_factor")
    max_steps, epochs = _number(a("max_steps")), _number(a("num_train_epochs"))
    if max_steps is not None and max_steps <= 0 and epochs == 0 and ("max_steps" in args or "num_train_epochs" in args):
        rep.error("args.num_train_epochs", "nothing to train: max_steps is not set (<= 0) and num_train_epochs = 0", "set max_steps = 100 or num_train_epochs = 1")
    lr = _number(args.get("learning_rate"))
    if lr is not None and lr > 1 and math.isfinite(lr):
        rep.warning("args.learning_rate", f"learning_rate = {_num(lr)} is far above any usual value; training will diverge",
                    "try 2e-5 to 5e-5 for fine-tuning, 1e-4 to 2e-4 for LoRA")
    metric = args.get("metric_for_best_model")
    metrics = preset.get("trainer.metrics")
    if isinstance(metric, str) and isinstance(metrics, list) and metrics:
        base = metric.removeprefix("eval_")
        if base != "loss" and base not in metrics:
            rep.warning("args.metric_for_best_model", f"metric_for_best_model = {metric!r} is not among trainer.metrics ({', '.join(map(str, metrics))}) or loss",
                        f"write metric_for_best_model = {_show(metrics[0])} or \"eval_loss\"")
    _check_report_to(rep, args.get("report_to"))
    resume = args.get("resume_from_checkpoint")
    if isinstance(resume, str) and resume:
        p = preset.resolve(resume)
        if not p.is_dir():
            rep.error("args.resume_from_checkpoint", f"checkpoint folder not found: {p}",
                      "point it at an existing checkpoint-N folder, or use `hftui run --resume` to find the last one")
    for key in ("deepspeed", "fsdp_config"):
        value = args.get(key)
        if isinstance(value, str) and value.endswith(".json") and not preset.resolve(value).is_file():
            rep.error(f"args.{key}", f"{key} file not found: {preset.resolve(value)}", "check the path (relative to the preset's folder)")
    if args.get("trust_remote_code") is True:
        rep.warning("args.trust_remote_code", "trust_remote_code = true runs Python code downloaded with the model",
                    "`hftui run` refuses it unless you pass --trust-remote-code")


# report_to name -> the packages that provide it (any one of them)
INTEGRATION_PACKAGES = {
    "tensorboard": ("tensorboard", "tensorboardX"), "wandb": ("wandb",), "comet_ml": ("comet_ml",), "mlflow": ("mlflow",),
    "neptune": ("neptune",), "trackio": ("trackio",), "codecarbon": ("codecarbon",), "clearml": ("clearml",),
    "dagshub": ("dagshub",), "flyte": ("flytekit",), "dvclive": ("dvclive",), "swanlab": ("swanlab",), "azure_ml": ("azureml",),
}


@lru_cache(maxsize=1)
def _integrations() -> tuple[str, ...]:
    """The report_to names the installed transformers accepts, read from its source (no import)."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("transformers")
        root = Path(next(iter(spec.submodule_search_locations))) if spec and spec.submodule_search_locations else None
        text = (root / "integrations" / "integration_utils.py").read_text(encoding="utf-8") if root else ""
    except (ImportError, ValueError, OSError, StopIteration):
        text = ""
    block = re.search(r"INTEGRATION_TO_CALLBACK = \{(.*?)\}", text, re.S)
    names = re.findall(r'"([a-z_]+)"\s*:', block.group(1)) if block else []
    return tuple(names) or tuple(INTEGRATION_PACKAGES)


def _check_report_to(rep: _Report, value: Any) -> None:
    """report_to names the Trainer would reject, or whose package is missing, at start-up."""
    import importlib.util

    names = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    known = _integrations()
    for name in names:
        if not isinstance(name, str) or name in ("none", "all"):
            continue
        if name not in known:
            close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.5)
            rep.error("args.report_to", f"report_to {name!r} is not an integration the installed transformers knows",
                      (f"did you mean {close[0]!r}? " if close else "") + f"choose from: none, {', '.join(known)}")
            continue
        packages = INTEGRATION_PACKAGES.get(name)
        if packages and not any(importlib.util.find_spec(p) is not None for p in packages):
            rep.error("args.report_to", f"report_to {name!r} needs the {packages[0]} package, which is not installed",
                      f"pip install {packages[0]}, or remove {name!r} from report_to (hftui's own pane shows loss and metrics)")


def _has_eval_data(preset: Preset) -> bool:
    """Whether the worker will find evaluation data (it also picks eval/validation/test files)."""
    ds = preset.section("dataset")
    if ds.get("eval_split") or ds.get("eval_fraction"):
        return True
    raw = ds.get("data_files")
    train = ds.get("train_split", "train")
    return isinstance(raw, dict) and any(k in EVAL_SPLIT_NAMES and k != train for k in raw)


# -- [ppo] -------------------------------------------------------------------------------------
_TRAIN_REWARD_FIRST = ('train it before this run: a preset with trainer.type = "reward" whose output_dir is this folder '
                       "(see presets/reward.toml); or use a Hub id")

def _check_ppo(rep: _Report, preset: Preset) -> None:
    ppo = preset.get("ppo")
    ttype = preset.get("trainer.type")
    if ttype == "ppo":
        reward = preset.get("ppo.reward_model")
        if not reward:
            rep.error("ppo.reward_model", "PPO needs a reward model, but ppo.reward_model is not set",
                      'add [ppo] with reward_model = "runs/my-reward-model" (a folder trained with trainer.type = "reward") or a Hub id')
        elif isinstance(reward, str):
            _check_model_ref(rep, preset, "ppo.reward_model", reward, "reward model", missing_severity="error" if rep.for_run else "warning", missing_hint=_TRAIN_REWARD_FIRST)
        value = preset.get("ppo.value_model")
        if isinstance(value, str) and value and value != reward:
            _check_model_ref(rep, preset, "ppo.value_model", value, "value model", missing_severity="error" if rep.for_run else "warning", missing_hint=_TRAIN_REWARD_FIRST)
    elif isinstance(ppo, dict) and ppo:
        rep.warning("ppo", f"[ppo] is ignored: trainer.type is {_show(ttype or 'sft')}", 'remove [ppo], or set trainer.type = "ppo"')


# -- [launch] ----------------------------------------------------------------------------------
def _gpus() -> list:
    from hftui.core import gpu

    try:
        return gpu.detect()
    except Exception:
        return []


def _check_launch(rep: _Report, preset: Preset) -> None:
    launch = preset.section("launch")
    args = preset.section("args")
    backend = launch.get("backend", "auto")
    nproc = launch.get("num_processes", "auto")
    machines = launch.get("num_machines", 1)
    rank = launch.get("machine_rank", 0)
    ints = lambda v: isinstance(v, int) and not isinstance(v, bool)  # noqa: E731
    if ints(rank) and ints(machines) and machines >= 1 and rank >= machines:
        rep.error("launch.machine_rank", f"machine_rank = {rank} but there are only {machines} machine(s): ranks go from 0 to {machines - 1}",
                  f"set machine_rank to 0..{machines - 1} on each machine, or num_machines = {rank + 1}")
    if backend == "single" and ((ints(nproc) and nproc > 1) or (ints(machines) and machines > 1)):
        rep.error("launch.backend", f'backend = "single" runs one process, but num_processes = {_show(nproc)} and num_machines = {_show(machines)}',
                  'use backend = "ddp" (or "auto") for several processes, or num_processes = 1')
    if ints(nproc) and nproc > 1:
        gpus = _gpus()
        if gpus and nproc > len(gpus):
            rep.error("launch.num_processes", f"num_processes = {nproc} but this machine has {len(gpus)} visible GPU(s)",
                      f'set num_processes = {len(gpus)} or "auto"')
    if ints(machines) and machines > 1 and isinstance(launch.get("main_process_ip", "127.0.0.1"), str) and launch.get("main_process_ip", "127.0.0.1") in _LOCALHOSTS:
        rep.warning("launch.main_process_ip", f"num_machines = {machines} but main_process_ip is {launch.get('main_process_ip', '127.0.0.1')}: the other machines cannot reach it",
                    "set main_process_ip to machine 0's address on the network (e.g. 10.0.0.1)")
    fsdp = args.get("fsdp")
    deepspeed = args.get("deepspeed")
    if backend == "deepspeed" and fsdp:
        rep.error("args.fsdp", 'backend = "deepspeed" and args.fsdp are both set: DeepSpeed and FSDP cannot shard the same model',
                  'remove args.fsdp, or use backend = "fsdp"')
    elif deepspeed and fsdp:
        rep.error("args.fsdp", "args.deepspeed and args.fsdp are both set: DeepSpeed and FSDP cannot shard the same model", "keep one of them")
    if backend == "fsdp" and deepspeed:
        rep.error("args.deepspeed", 'backend = "fsdp" and args.deepspeed are both set', 'remove args.deepspeed, or use backend = "deepspeed"')
    offload = launch.get("offload", "none")
    if isinstance(offload, str) and offload != "none" and backend not in ("deepspeed", "fsdp"):
        rep.warning("launch.offload", f'offload = {_show(offload)} only applies with backend = "deepspeed" (or "fsdp"); backend is {_show(backend)}',
                    'set backend = "deepspeed", or offload = "none"')
    if "zero_stage" in launch and backend not in ("deepspeed", "auto"):
        rep.notice("launch.zero_stage", f"zero_stage only applies with backend = \"deepspeed\"; backend is {_show(backend)}", "remove zero_stage")


# -- output_dir, secrets, memory ---------------------------------------------------------------
def _check_output_dir(rep: _Report, preset: Preset) -> None:
    raw = preset.get("args.output_dir")
    if raw is not None and not isinstance(raw, str):
        return  # reported as a type error
    if isinstance(raw, str) and not raw.strip():
        rep.error("args.output_dir", "output_dir is empty", 'write output_dir = "runs/my-run"')
        return
    try:
        out = preset.output_dir()
    except (OSError, RuntimeError, ValueError):
        return
    key = "args.output_dir"
    if out.exists() and not out.is_dir():
        rep.error(key, f"output_dir {out} is a file, not a folder", "choose a folder name (it is created when training starts)")
        return
    probe = out
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        rep.error(key, f"output_dir {out} is inside {probe}, which is a file", "choose a folder name that is not below a file")
    elif probe.exists() and not os.access(probe, os.W_OK | os.X_OK):
        rep.error(key, f"output_dir {out} cannot be written: no write permission on {probe}",
                  "choose a folder you can write (e.g. under your home directory), or fix the permissions")


def _check_secrets(rep: _Report, preset: Preset) -> None:
    found = list(_walk(preset.data))
    dropped = {p.path for p in preset.notices}
    if dropped and preset.source_text:
        import tomllib

        try:  # keys migration dropped (push_to_hub_token, ...) are still written in the file
            found += [(path, value) for path, value in _walk(tomllib.loads(preset.source_text)) if path in dropped]
        except tomllib.TOMLDecodeError:
            pass
    for path, value in found:
        leaf = path.rpartition(".")[2].lower()
        is_secret_key = leaf in SECRET_KEYS or leaf.endswith(("_api_key", "_password", "_secret"))
        if is_secret_key and isinstance(value, str) and value.strip():
            rep.error(path, f"{leaf} is a secret and must not be written in a preset (presets are shared and copied into run folders)",
                      "remove it and export it in the environment instead (HF_TOKEN for the Hub, WANDB_API_KEY for W&B)")
        elif isinstance(value, str) and (_HF_TOKEN.search(value) or (_WANDB_KEY.match(value.strip()) and not any(w in leaf for w in ("revision", "commit", "sha", "hash")))):
            rep.error(path, "this value looks like an access token (Hugging Face or W&B key); a preset must not hold secrets",
                      "remove it and export it in the environment instead (HF_TOKEN for the Hub, WANDB_API_KEY for W&B)")


def _walk(node: Any, prefix: str = "") -> Iterable[tuple[str, Any]]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _walk(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(node, list):
        for v in node:
            yield from _walk(v, prefix)
    else:
        yield prefix, node


def _check_memory(rep: _Report, preset: Preset) -> None:
    """The memory estimate's warning, when the run will not fit the GPUs here."""
    from hftui.core.checks import memory

    try:
        found = memory.check(preset)
    except Exception:
        return  # an estimate that cannot be made is not the person's mistake
    for p in found or ():
        rep.items.append(replace(p, file=rep.file, line=p.line or (line_of(rep.lines, p.path) if p.path else None)))


def _dedupe(items: list[Problem]) -> list[Problem]:
    seen = set()
    out = []
    for p in items:
        k = (p.path, p.severity, p.message)
        if k not in seen:
            seen.add(k)
            out.append(p)
    return out
