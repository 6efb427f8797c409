"""The catalogs of DPO, GRPO and RLOO: read from the installed TRL config classes, cached per
installed version like the others, with our curation (step, en/ko help, ★) on top."""

from __future__ import annotations

import dataclasses
import json

import pytest

from hftui.core.options import catalog as catalog_mod
from hftui.core.options.catalog import CONFIG_CLASSES, cached_catalog, get_catalog, load_config_class
from hftui.core.options.sections import SECTION_FIELDS, TRAINER_TYPE_HELP, TRAINER_TYPE_SHORT, TRAINER_TYPES
from hftui.core.options.steps import STEPS
from hftui.core.train.rewards import REWARD_FUNCTIONS

NEW = {"dpo": "DPOConfig", "grpo": "GRPOConfig", "rloo": "RLOOConfig"}


@pytest.mark.parametrize("ttype", list(NEW))
def test_each_new_type_reads_its_installed_config_class(ttype, hftui_home):
    import trl

    cls = getattr(trl, NEW[ttype])
    assert load_config_class(ttype) is cls
    cat = get_catalog.__wrapped__(ttype)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init and not f.name.startswith("_")}
    assert cat.class_name == NEW[ttype] and set(cat.args) == set(fields)
    assert cat.args["beta"].default == fields["beta"].default
    assert all(f.step in STEPS for f in cat.args.values())
    beta = cat.args["beta"]
    assert beta.star and beta.step == "trainer" and any("\uac00" <= ch <= "\ud7a3" for ch in beta.help_ko)
    files = list((hftui_home / "catalog").glob(f"{ttype}-*-v{catalog_mod.CACHE_FORMAT}.json"))
    assert len(files) == 1 and json.loads(files[0].read_text())["class_name"] == NEW[ttype]
    assert cached_catalog(ttype).args["beta"] == beta


def test_grpo_options_are_curated_and_the_cache_is_per_version(monkeypatch, hftui_home):
    cat = get_catalog.__wrapped__("grpo")
    for name in ("num_generations", "max_completion_length"):
        assert cat.args[name].star and not cat.args[name].advanced and cat.args[name].help_ko
    monkeypatch.setattr(catalog_mod, "installed_versions", lambda: {"transformers": "0.0.0-other", "trl": "0.0"})
    assert cached_catalog("grpo") is None


def test_every_trainer_type_is_described_and_has_a_config_class():
    assert set(TRAINER_TYPE_HELP) == set(TRAINER_TYPES)
    assert set(TRAINER_TYPES) <= set(CONFIG_CLASSES)
    assert set(TRAINER_TYPE_SHORT) == set(TRAINER_TYPES)  # a few words for each in the help of trainer.type
    help_lines = SECTION_FIELDS["trainer"]["type"].help.splitlines()
    assert [line.split(":")[0].strip() for line in help_lines[1:]] == list(TRAINER_TYPES)  # one line per type
    functions_help = SECTION_FIELDS["grpo"]["reward_functions"].help
    assert all(name in functions_help for name in REWARD_FUNCTIONS)
