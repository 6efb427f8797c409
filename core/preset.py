"""The preset: load (tomllib), save (tomlkit, keeping comments and order), `--set` overrides.

A `Preset` is immutable: every edit returns a new one (`with_value`), so the wizard, the
validator and the runner always read one consistent truth.
"""

from __future__ import annotations

import copy
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from hftui.core.fsutil import atomic_write_text
from hftui.core.i18n import _
from hftui.core.options.toml_text import parse_toml, read_text
from hftui.core.problems import PresetError, Problem
from hftui.core.shipped import is_shipped, locate

_MISSING = object()
_WHOLE = re.compile(r"[+-]?\d[\d_]*")


@dataclass(frozen=True)
class Preset:
    data: dict
    path: Path | None = None
    source_text: str | None = None
    notices: tuple[Problem, ...] = field(default=())

    # -- reading ---------------------------------------------------------------------------
    def get(self, dotted: str, default: Any = None) -> Any:
        node: Any = self.data
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return node

    def has(self, dotted: str) -> bool:
        return self.get(dotted, _MISSING) is not _MISSING

    def section(self, name: str) -> dict:
        value = self.get(name, {})
        return value if isinstance(value, dict) else {}

    @property
    def base_dir(self) -> Path:
        return self.path.parent if self.path else Path.cwd()

    @property
    def name(self) -> str:
        if self.data.get("name"):
            return str(self.data["name"])
        return self.path.stem if self.path else "untitled"

    @property
    def trainer_type(self) -> str:
        value = self.get("trainer.type", "sft")
        return value if isinstance(value, str) else "sft"

    @property
    def task(self) -> str:
        value = self.get("model.task", "causal-lm")
        return value if isinstance(value, str) else "causal-lm"

    def resolve(self, value: str | Path) -> Path:
        """A path from the preset, relative to the preset file's folder."""
        p = Path(value).expanduser()
        return p if p.is_absolute() else (self.base_dir / p)

    @property
    def output_base(self) -> Path:
        """Where relative outputs go (args.output_dir, and a model another preset trains):
        beside the preset file, but the current folder for a preset shipped with hftui, so its
        runs land where the person works, never inside the installation."""
        return Path.cwd() if is_shipped(self.path) else self.base_dir

    def resolve_output(self, value: str | Path) -> Path:
        """An output path from the preset, relative to `output_base`."""
        p = Path(value).expanduser()
        return p if p.is_absolute() else (self.output_base / p)

    def output_dir(self) -> Path:
        return self.resolve_output(self.get("args.output_dir") or f"runs/{self.name}")

    # -- editing ---------------------------------------------------------------------------
    def with_value(self, dotted: str, value: Any) -> "Preset":
        data = copy.deepcopy(self.data)
        parts = dotted.split(".")
        node = data
        for part in parts[:-1]:
            nxt = node.get(part)
            if not isinstance(nxt, dict):
                nxt = {}
                node[part] = nxt
            node = nxt
        node[parts[-1]] = value
        return replace(self, data=data)

    def without(self, dotted: str) -> "Preset":
        data = copy.deepcopy(self.data)
        parts = dotted.split(".")
        node = data
        for part in parts[:-1]:
            node = node.get(part)
            if not isinstance(node, dict):
                return self
        node.pop(parts[-1], None)
        return replace(self, data=data)


def load(path: str | Path, migrate: bool = True) -> Preset:
    """Read and parse a preset. Raises PresetError for unreadable files and TOML syntax.

    Semantic checks are `validate`'s job; legacy `[args]` names are migrated here, each with a
    notice naming the new key.
    """
    path = locate(path)  # a missing file: a shipped preset by name, else did-you-mean
    text = read_text(path)
    return from_text(text, path, migrate=migrate)


def from_text(text: str, path: Path | None = None, migrate: bool = True) -> Preset:
    data = parse_toml(text, path)
    preset = Preset(data=data, path=path.resolve() if path else None, source_text=text)
    if migrate:
        from hftui.core.options.migrate import migrate_preset

        preset = migrate_preset(preset)
    return preset


# -- saving -----------------------------------------------------------------------------------
def dumps(preset: Preset) -> str:
    """The preset as TOML; when it came from a file, that file's comments and order are kept."""
    import tomlkit

    if preset.source_text is not None:
        try:
            doc = tomlkit.parse(preset.source_text)
        except Exception:
            doc = tomlkit.document()
    else:
        doc = tomlkit.document()
    _merge(doc, preset.data)
    return tomlkit.dumps(doc)


def _merge(container: Any, data: dict) -> None:
    """Update a tomlkit container in place so it holds `data`, touching only what changed."""
    import tomlkit

    for key in [k for k in list(container.keys()) if k not in data]:
        del container[key]
    for key, value in data.items():
        if isinstance(value, dict):
            if key in container and isinstance(container[key], dict):
                _merge(container[key], value)
            else:
                if key in container:
                    del container[key]
                is_inline = all(not isinstance(v, dict) for v in value.values()) and key in ("data_files",)
                table = tomlkit.inline_table() if is_inline else tomlkit.table()
                _merge(table, value)
                container[key] = table
        else:
            if key in container and _same(_plain(container[key]), value):
                continue
            container[key] = value


def _plain(item: Any) -> Any:
    unwrap = getattr(item, "unwrap", None)
    return unwrap() if unwrap else item


def _same(old: Any, new: Any) -> bool:
    """Equal and of the same kind: 10 replaces 10.0 (and 1 replaces true) as it was typed."""
    if isinstance(old, list) and isinstance(new, list):
        return len(old) == len(new) and all(_same(a, b) for a, b in zip(old, new))
    if isinstance(old, dict) and isinstance(new, dict):
        return old.keys() == new.keys() and all(_same(old[k], new[k]) for k in old)
    return type(old) is type(new) and old == new


def save(preset: Preset, path: str | Path | None = None) -> Preset:
    """Write the preset atomically; returns the preset now bound to that file."""
    target = Path(path) if path else preset.path
    if target is None:
        raise ValueError("no path to save the preset to")
    text = dumps(preset)
    target = target.expanduser()
    if target.is_dir():
        raise PresetError([Problem("", "error", _("is a directory"), _("choose a file name ending in .toml"), None, str(target))], target)
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(target, text)
    return replace(preset, path=target.resolve(), source_text=text)


# -- --set overrides --------------------------------------------------------------------------
def field_type(preset: Preset, dotted: str) -> str | None:
    """The declared type of a dotted key, from the schema or the installed config class."""
    from hftui.core.options import sections as schema

    if dotted.startswith("args."):
        from hftui.core.options.catalog import get_catalog

        f = get_catalog(preset.trainer_type, preset.task).args.get(dotted[5:])
        return f.type if f else None
    if dotted.startswith("model.scratch."):
        f = schema.field_for(dotted)
        return f.type if f else "any"
    f = schema.field_for(dotted)
    return f.type if f else None


class ValueParseError(ValueError):
    pass


def parse_value(text: str, type_name: str | None) -> Any:
    """Turn the text of `--set key=value` into a value of the key's declared type."""
    t = (type_name or "any").replace("optional:", "")
    s = text.strip()
    low = s.lower()
    if t == "bool":
        if low in ("true", "1", "yes", "on"):
            return True
        if low in ("false", "0", "no", "off"):
            return False
        raise ValueParseError(_("expected true or false, got {value}", value=repr(text)))
    if t == "int":
        try:
            return int(s.replace("_", ""))
        except ValueError:
            try:
                as_float = float(s)
            except ValueError:
                raise ValueParseError(_("expected a whole number, got {value}", value=repr(text))) from None
            if as_float.is_integer():
                return int(as_float)
            raise ValueParseError(_("expected a whole number, got {value}", value=repr(text))) from None
    if t == "float":
        if _WHOLE.fullmatch(s):  # "10" stays 10, as the wizard saves it: steps, not 10.0
            return int(s.replace("_", ""))
        try:
            return float(s)
        except ValueError:
            raise ValueParseError(_("expected a number like 1e-4 or 0.1, got {value}", value=repr(text))) from None
    if t == "int_or_auto":
        return s if low == "auto" else parse_value(s, "int")
    if t in ("list", "dict", "str_or_dict", "str_or_list", "any", "int_or_float"):
        literal = _toml_literal(s)
        if literal is not _MISSING:
            if t == "list" and not isinstance(literal, list):
                return [literal]
            if t == "int_or_float" and not isinstance(literal, (int, float)):
                raise ValueParseError(_("expected a number, got {value}", value=repr(text)))
            return literal
        if t == "list":
            return [part.strip() for part in s.split(",") if part.strip()]
        if t == "dict":
            raise ValueParseError(_('expected an inline table like {{ key = "value" }}, got {value}', value=repr(text)))
        if t == "int_or_float":
            raise ValueParseError(_("expected a number, got {value}", value=repr(text)))
        return s
    if low in ("none", "null") and type_name and type_name.startswith("optional:"):
        return None
    return s


def _toml_literal(s: str) -> Any:
    from hftui.core.options.toml_text import MAX_NESTING, too_deep_at

    try:
        value = tomllib.loads(f"v = {s}")["v"]
    except tomllib.TOMLDecodeError:
        return _MISSING
    except RecursionError:  # tomllib recurses once per level
        too_deep = True
    else:
        too_deep = too_deep_at({"v": value}) is not None
    if too_deep:
        raise ValueParseError(_("the value nests tables or arrays more than {levels} levels deep", levels=MAX_NESTING))
    return value


def apply_overrides(preset: Preset, assignments: list[str], source: str = "--set") -> Preset:
    """Apply `KEY=VALUE` overrides; every bad one is reported together in one PresetError.

    An old `[args]` name (evaluation_strategy, ...) is accepted and migrated like one in the
    file, with the same notice.
    """
    problems: list[Problem] = []
    legacy_used = False
    for item in assignments:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            problems.append(Problem(key or item, "error", _("{source} {item} is not KEY=VALUE", source=source, item=repr(item)),
                                    _("write it like --set args.learning_rate=1e-4"), None, source))
            continue
        try:
            type_name = field_type(preset, key)
        except Exception:  # catalog unavailable: keep the text's own TOML type
            type_name = "any" if key.startswith("args.") else None
        if type_name is None and key.startswith("args."):
            from hftui.core.options.migrate import LEGACY

            entry = LEGACY.get(key[5:])
            if entry is not None:
                legacy_used = True
                try:
                    type_name = field_type(preset, f"args.{entry.new}") if entry.new and not entry.convert else "any"
                except Exception:
                    type_name = "any"
                type_name = type_name or "any"
        if type_name is None:
            from hftui.core.options.names import suggest_key

            hint = suggest_key(preset, key)
            problems.append(Problem(key, "error", _("{source}: unknown key {key}", source=source, key=repr(key)),
                                    hint or _("use a dotted preset path such as args.learning_rate or model.name_or_path"), None, source))
            continue
        try:
            value = parse_value(raw, type_name)
        except ValueParseError as exc:
            problems.append(Problem(key, "error", f"{source} {key}: {exc}", _override_hint(key, type_name), None, source))
            continue
        preset = preset.with_value(key, value)
    if problems:
        raise PresetError(problems, source)
    if legacy_used:
        from hftui.core.options.migrate import migrate_preset

        preset = migrate_preset(preset)
    return preset


def _override_hint(key: str, type_name: str) -> str:
    samples = {"bool": "true", "int": "100", "float": "1e-4", "int_or_auto": "auto", "dict": '{ key = "value" }', "int_or_float": "0.1"}
    sample = samples.get((type_name or "").replace("optional:", ""))
    return _("write it like --set {key}={sample}", key=key, sample=sample) if sample else ""
