"""Every option the wizard shows has Korean help: our curated `help_ko`, or the library option's
translation in `core/locale/ko/options/*.toml`; and the libraries' help reads as written, without
the `%%` that transformers escapes `%` with for argparse."""

from __future__ import annotations

import dataclasses
import tomllib

import pytest

from ppo_world import NEEDS_PPO, needs_ppo
from hftui.core.i18n import LOCALE_DIR
from hftui.core.options.catalog import CONFIG_CLASSES, cached_catalog, fields_of, load_config_class
from hftui.core.options.curated import CURATED
from hftui.tui.i18n import help_text

OPTIONS_DIR = LOCALE_DIR / "ko" / "options"
# PPOConfig's own options: the base install has no PPO (TRL 1.13 removed it), so this file's names
# are checked against PPOConfig only where the `ppo` extra is installed.
PPO_FILE = "ppo.toml"
TYPES = [pytest.param(key, marks=NEEDS_PPO) if key == "ppo" else key for key in CONFIG_CLASSES]


def _hangul(text: str) -> bool:
    return any("\uac00" <= ch <= "\ud7a3" for ch in text)


def _option_files() -> dict[str, dict[str, str]]:
    return {p.name: tomllib.loads(p.read_text(encoding="utf-8")) for p in sorted(OPTIONS_DIR.glob("*.toml"))}


@pytest.mark.parametrize("trainer_type", TYPES)
def test_every_option_of_each_trainer_type_has_korean_help(trainer_type, warm_catalog, monkeypatch):
    cat = cached_catalog(trainer_type)
    assert cat is not None and cat.args, f"no catalog was built for {trainer_type}"
    monkeypatch.setenv("HFTUI_LANG", "ko")
    missing = sorted(name for name, f in cat.args.items() if not _hangul(help_text(f)))
    assert not missing, f"{cat.class_name}: no Korean help for {missing} (add them to {OPTIONS_DIR})"
    escaped = sorted(name for name, f in cat.args.items() if "%%" in f.help + f.extra["doc"] + help_text(f))
    assert not escaped, f"{cat.class_name}: help with '%%' for {escaped}"


def test_the_option_files_name_only_options_of_the_installed_classes(warm_catalog):
    files = _option_files()
    assert files and PPO_FILE in files
    known: set[str] = set()  # the options of every config class but PPO's
    for key in CONFIG_CLASSES:
        if key != "ppo":
            cat = cached_catalog(key)
            assert cat is not None, f"no catalog was built for {key}"
            known.update(cat.args)
    seen: dict[str, str] = {}
    for file_name, helps in files.items():
        for name, text in helps.items():
            assert name not in seen, f"{name} is in both {seen.get(name)} and {file_name}"
            seen[name] = file_name
            assert isinstance(text, str) and _hangul(text) and "%%" not in text, f"{file_name}: {name}"
            assert not (CURATED.get(name) or ("", "", ""))[2], f"{file_name}: {name} has curated Korean help already"
            if file_name != PPO_FILE:
                assert name in known, f"{file_name}: {name} is not an option of any installed config class"
    assert not set(files[PPO_FILE]) & known, f"{PPO_FILE} holds only options that PPOConfig alone has"


@needs_ppo
def test_the_ppo_option_file_names_options_of_the_installed_ppo_config():
    names = {f.name for f in fields_of(load_config_class("ppo"))}
    stale = sorted(set(_option_files()[PPO_FILE]) - names)
    assert not stale, f"{PPO_FILE}: not options of the installed PPOConfig: {stale}"


def test_library_help_loses_the_argparse_percent_escaping():
    @dataclasses.dataclass
    class Config:
        empty_cache_steps: int = dataclasses.field(
            default=0, metadata={"help": "Avoids OOM at a cost of ~10%%\n   slower steps; 100% stays."})

    (field,) = fields_of(Config)
    assert field.help == field.extra["doc"] == "Avoids OOM at a cost of ~10% slower steps; 100% stays."
