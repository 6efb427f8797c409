"""Every option the wizard shows, read from the installed library's config dataclasses.

Names, types, defaults, choices and help come from the installed `TrainingArguments`,
`SFTConfig`, `RewardConfig`, `DPOConfig`, `GRPOConfig`, `RLOOConfig` and the PPO config, never from a hard-coded table, because
library versions rename and drop options. On top of that sits our curation for the options
a beginner meets: the wizard step, short help in English and Korean, and a ★ where the docs
recommend setting the option.

Reading the dataclasses imports transformers (seconds), so the result is cached per installed
version as JSON in the state directory; `cached_catalog` never imports anything heavy.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import types
import typing
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from hftui.core.fsutil import atomic_write_text, state_dir
from hftui.core.options.curated import CURATED
from hftui.core.options.rules import arg_limits
from hftui.core.options.sections import Field
from hftui.core.options.steps import guess_step

CACHE_FORMAT = 7

# trainer type -> (import locations tried in order, class name)
CONFIG_CLASSES: dict[str, tuple[tuple[str, ...], str]] = {
    "trainer": (("transformers",), "TrainingArguments"),
    "seq2seq": (("transformers",), "Seq2SeqTrainingArguments"),
    "sft": (("trl",), "SFTConfig"),
    "reward": (("trl",), "RewardConfig"),
    "dpo": (("trl",), "DPOConfig"),
    "grpo": (("trl",), "GRPOConfig"),
    "rloo": (("trl",), "RLOOConfig"),
    "ppo": (("trl", "trl.experimental.ppo"), "PPOConfig"),
}

@dataclass(frozen=True)
class Catalog:
    trainer_type: str
    class_name: str
    versions: dict
    args: dict  # name -> Field

    def step_fields(self, step: str, advanced: bool = False) -> list[Field]:
        return [f for f in self.args.values() if f.step == step and (advanced or not f.advanced)]


def _version(dist: str) -> str:
    """The installed version of a distribution, from its dist-info folder name when possible.

    importlib.metadata costs ~50-100 ms of imports at every start; the folder name next to the
    package says the same thing for a regular install.
    """
    import importlib.util

    try:
        spec = importlib.util.find_spec(dist)
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        return "missing"
    if spec.submodule_search_locations:
        site = Path(next(iter(spec.submodule_search_locations))).parent
        found = list(site.glob(f"{dist}-*.dist-info"))
        if len(found) == 1:
            return found[0].name[len(dist) + 1 : -len(".dist-info")]
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "missing"


@lru_cache(maxsize=1)
def _installed_versions() -> tuple:
    return tuple((d, _version(d)) for d in ("transformers", "trl"))


def installed_versions() -> dict:
    return dict(_installed_versions())


def config_key(trainer_type: str, task: str | None = None) -> str:
    if trainer_type == "trainer" and task == "seq2seq-lm":
        return "seq2seq"
    return trainer_type if trainer_type in CONFIG_CLASSES else "trainer"


def _cache_path(key: str, versions: dict) -> Path:
    tag = "-".join(f"{k}{v}" for k, v in sorted(versions.items()))
    return state_dir() / "catalog" / f"{key}-{tag}-v{CACHE_FORMAT}.json"


def load_config_class(trainer_type: str, task: str | None = None) -> type:
    """The installed config class for a trainer type, wherever this trl version keeps it."""
    import importlib
    import os
    import warnings

    key = config_key(trainer_type, task)
    modules, name = CONFIG_CLASSES[key]
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    errors = []
    for module in modules:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                mod = importlib.import_module(module)
            cls = getattr(mod, name, None)
            if cls is not None:
                return cls
        except ImportError as exc:
            errors.append(f"{module}: {exc}")
    raise ImportError(f"{name} for trainer type {trainer_type!r} not found in the installed libraries ({'; '.join(errors) or 'absent'})")


def cached_catalog(trainer_type: str, task: str | None = None) -> Catalog | None:
    """The catalog from the on-disk cache only; None when it has not been built yet."""
    key = config_key(trainer_type, task)
    path = _cache_path(key, installed_versions())
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if raw.get("format") != CACHE_FORMAT:
        return None
    args = {}
    for name, f in raw["args"].items():
        f["choices"] = tuple(f.get("choices") or ())
        args[name] = Field(**f)
    return Catalog(trainer_type, raw["class_name"], raw["versions"], args)


@lru_cache(maxsize=None)
def get_catalog(trainer_type: str, task: str | None = None) -> Catalog:
    """The catalog, from the cache when possible, else built from the installed classes."""
    cat = cached_catalog(trainer_type, task)
    if cat is not None:
        return cat
    return build_catalog(trainer_type, task)


def build_catalog(trainer_type: str, task: str | None = None) -> Catalog:
    key = config_key(trainer_type, task)
    cls = load_config_class(trainer_type, task)
    versions = installed_versions()
    args = {f.name: f for f in fields_of(cls)}
    cat = Catalog(trainer_type, cls.__name__, versions, args)
    try:
        path = _cache_path(key, versions)
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "format": CACHE_FORMAT,
            "class_name": cls.__name__,
            "versions": versions,
            "args": {n: asdict(f) for n, f in args.items()},
        }
        atomic_write_text(path, json.dumps(payload, default=str))
    except OSError:
        pass  # a read-only state dir only costs speed
    return cat


def installed_name(*names: str, trainer_type: str = "trainer") -> str:
    """The first of `names` the installed config class takes (else the first): for options
    that transformers renamed, so a hint names the option this installation knows
    (`activation_checkpointing`, or `gradient_checkpointing` before it existed)."""
    try:
        args = get_catalog(trainer_type).args
    except Exception:
        return names[0]
    return next((n for n in names if n in args), names[0])


def checkpointing_option(trainer_type: str = "trainer") -> str:
    """The installed name of "recompute activations in the backward pass"."""
    return installed_name("activation_checkpointing", "gradient_checkpointing", trainer_type=trainer_type)


def warm_all() -> None:
    """Build every catalog cache (the wizard runs this in a worker, off the start-up path)."""
    for key in CONFIG_CLASSES:
        if key == "seq2seq":
            continue
        try:
            get_catalog(key)
        except ImportError:
            pass
    try:
        get_catalog("trainer", "seq2seq-lm")
    except ImportError:
        pass


# -- reading a dataclass ---------------------------------------------------------------------
def fields_of(cls: type) -> list[Field]:
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        if not f.init or f.name.startswith("_"):
            continue
        type_name, choices, nullable = describe_type(hints.get(f.name, Any))
        default = _default_of(f)
        help_text = doc_text(f.metadata.get("help", ""))
        if not choices and "choices" in f.metadata:
            choices = tuple(f.metadata["choices"])
        deprecated = "deprecated" in help_text.lower()[:120] and "deprecated)" not in help_text.lower()[:120]
        curated = CURATED.get(f.name)
        step = curated[0] if curated else guess_step(f.name)
        out.append(
            Field(
                section="args",
                name=f.name,
                type=type_name,
                default=default,
                choices=tuple(_jsonable(c) for c in choices),
                help=curated[1] if curated else help_text,
                help_ko=curated[2] if curated else "",
                star=curated[3] if curated else False,
                step=step,
                advanced=curated is None,
                **arg_limits(f.name),
                extra={"nullable": nullable, "doc": help_text, "deprecated": deprecated},
            )
        )
    return out


def doc_text(help_value: Any) -> str:
    """A field's metadata help as people read it: on one line, and with the `%%` that
    transformers writes for argparse (which formats help with `%`) back to `%`."""
    return " ".join(str(help_value or "").split()).replace("%%", "%")


def _default_of(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return _jsonable(f.default)
    if f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        try:
            return _jsonable(f.default_factory())  # type: ignore[misc]
        except Exception:
            return None
    return None


def _jsonable(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return repr(value)


def describe_type(tp: Any) -> tuple[str, tuple, bool]:
    """(type name, choices, nullable) for a dataclass field annotation."""
    args = _union_args(tp)
    nullable = type(None) in args
    args = [a for a in args if a is not type(None)]
    choices: list = []
    kinds: set[str] = set()
    for a in args:
        origin = typing.get_origin(a)
        if origin is typing.Literal:
            lits = [v for v in typing.get_args(a) if v is not False and v is not None]
            choices.extend(lits)
            kinds.update(_kind_of_value(v) for v in lits)
            if False in typing.get_args(a):
                kinds.add("bool")
        elif isinstance(a, type) and issubclass(a, enum.Enum):
            choices.extend(m.value for m in a)
            kinds.add("str")
        elif a is bool:
            kinds.add("bool")
        elif a is int:
            kinds.add("int")
        elif a is float:
            kinds.add("float")
        elif a is str:
            kinds.add("str")
        elif origin in (list, tuple) or a in (list, tuple):
            kinds.add("list")
        elif origin is dict or a is dict:
            kinds.add("dict")
        else:
            kinds.add("any")
    return _combine(kinds), tuple(dict.fromkeys(choices)), nullable


def _kind_of_value(v: Any) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    return "str"


def _combine(kinds: set[str]) -> str:
    if "any" in kinds or not kinds:
        return "any"
    if len(kinds) == 1:
        return next(iter(kinds))
    if kinds == {"int", "float"}:
        return "float"
    if kinds <= {"str", "list"}:
        return "str_or_list"
    if kinds <= {"str", "dict"}:
        return "str_or_dict"
    return "any"


def _union_args(tp: Any) -> list:
    origin = typing.get_origin(tp)
    if origin is typing.Union or (hasattr(types, "UnionType") and isinstance(tp, types.UnionType)):
        out = []
        for a in typing.get_args(tp):
            out.extend(_union_args(a))
        return out
    return [tp]
