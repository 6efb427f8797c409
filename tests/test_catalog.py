"""The option catalog reads the installed config classes, caches them, and adds our curation."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys

import pytest

from conftest import REPO
from ppo_world import NEEDS_PPO, needs_ppo
from hftui.core.options import catalog as catalog_mod
from hftui.core.options.catalog import CURATED, cached_catalog, get_catalog
from hftui.core.options.steps import STEPS

BEGINNER_OPTIONS = [
    "output_dir", "num_train_epochs", "max_steps", "per_device_train_batch_size", "per_device_eval_batch_size",
    # "checkpointing": activation_checkpointing, or gradient_checkpointing in the 5.x releases before it
    "gradient_accumulation_steps", "checkpointing", "eval_strategy", "eval_steps", "logging_strategy",
    "logging_steps", "save_strategy", "save_steps", "save_total_limit", "learning_rate", "weight_decay", "adam_beta1",
    "adam_beta2", "adam_epsilon", "max_grad_norm", "lr_scheduler_type", "warmup_steps", "fp16", "bf16",
    "fp16_full_eval", "ddp_backend", "fsdp", "fsdp_config", "resume_from_checkpoint", "save_on_each_node",
    "dataloader_num_workers", "dataloader_pin_memory", "report_to", "run_name", "disable_tqdm", "push_to_hub",
]
STARRED = {"output_dir", "max_steps", "per_device_train_batch_size", "per_device_eval_batch_size", "eval_strategy", "logging_strategy", "save_strategy"}


def test_trainer_catalog_is_the_installed_training_arguments():
    from transformers import TrainingArguments

    cat = get_catalog("trainer")
    assert cat.class_name == "TrainingArguments"
    fields = {f.name: f for f in dataclasses.fields(TrainingArguments) if f.init and not f.name.startswith("_")}
    assert set(cat.args) == set(fields)
    for name in ("learning_rate", "max_steps", "per_device_train_batch_size", "bf16", "seed", "eval_strategy"):
        real = fields[name].default
        real = getattr(real, "value", real)
        assert cat.args[name].default == real, name
    assert cat.args["learning_rate"].type == "float"
    assert cat.args["max_steps"].type == "int"
    assert cat.args["bf16"].type == "bool"
    assert cat.args["report_to"].type == "str_or_list"
    assert {"no", "steps", "epoch"} <= set(cat.args["eval_strategy"].choices)
    assert {"no", "steps", "epoch", "best"} <= set(cat.args["save_strategy"].choices)
    assert {"linear", "cosine"} <= set(cat.args["lr_scheduler_type"].choices)
    # names transformers 5 dropped are not offered
    for gone in ("evaluation_strategy", "logging_dir", "overwrite_output_dir", "warmup_ratio"):
        assert gone not in cat.args


def test_trl_catalogs_follow_their_classes():
    from trl import SFTConfig

    sft = get_catalog("sft")
    assert sft.class_name == "SFTConfig"
    fields = {f.name: f for f in dataclasses.fields(SFTConfig) if f.init and not f.name.startswith("_")}
    assert set(sft.args) == set(fields)
    assert sft.args["max_length"].default == fields["max_length"].default
    assert sft.args["packing"].type == "bool"
    assert get_catalog("reward").class_name == "RewardConfig"
    assert get_catalog("trainer", "seq2seq-lm").class_name == "Seq2SeqTrainingArguments"
    assert "predict_with_generate" in get_catalog("trainer", "seq2seq-lm").args


@needs_ppo
def test_ppo_catalog_follows_its_class():
    ppo = get_catalog("ppo")
    assert ppo.class_name == "PPOConfig" and "num_ppo_epochs" in ppo.args and "response_length" in ppo.args


@pytest.mark.parametrize("name", BEGINNER_OPTIONS)
def test_beginner_options_are_curated_in_english_and_korean(name):
    name = catalog_mod.checkpointing_option() if name == "checkpointing" else name
    f = get_catalog("trainer").args[name]
    assert name in CURATED
    assert f.help and f.help == CURATED[name][1]
    assert f.help_ko and any("\uac00" <= ch <= "\ud7a3" for ch in f.help_ko), f"no Korean help for {name}"
    assert f.step in STEPS
    assert not f.advanced
    assert f.star == (name in STARRED)


def test_stars_exactly_where_the_docs_recommend():
    starred = {n for n, f in get_catalog("trainer").args.items() if f.star}
    assert starred == STARRED


@pytest.mark.parametrize("key", ["trainer", "sft", "reward", pytest.param("ppo", marks=NEEDS_PPO)])
def test_every_option_has_a_known_step(key):
    for f in get_catalog(key).args.values():
        assert f.step in STEPS, (key, f.name, f.step)


def test_cache_is_written_and_read_without_transformers(hftui_home):
    get_catalog("trainer")
    files = list((hftui_home / "catalog").glob("trainer-*.json"))
    assert files, "no cache file written"
    payload = json.loads(files[0].read_text(encoding="utf-8"))
    assert payload["class_name"] == "TrainingArguments" and "learning_rate" in payload["args"]
    cached = cached_catalog("trainer")
    assert cached is not None and cached.args["learning_rate"].default == 5e-05
    beta = cached.args["adam_beta1"]  # range rules travel with the field through the cache
    assert (beta.minimum, beta.maximum, beta.exclusive_maximum) == (0, 1, True)
    assert cached.args["learning_rate"].minimum == 0 and cached.args["learning_rate"].maximum is None
    code = (
        "import sys\n"
        "from hftui.core.options.catalog import get_catalog\n"
        "cat = get_catalog('trainer')\n"
        "assert cat.args['eval_strategy'].star and cat.args['learning_rate'].type == 'float'\n"
        "assert 'transformers' not in sys.modules and 'torch' not in sys.modules, 'cache not used'\n"
        "print('ok', len(cat.args))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=os.environ.copy(), cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ok ")


def test_cache_is_per_installed_version(monkeypatch, hftui_home):
    get_catalog("trainer")
    monkeypatch.setattr(catalog_mod, "installed_versions", lambda: {"transformers": "0.0.0-other", "trl": "0.0"})
    assert cached_catalog("trainer") is None


def test_a_broken_cache_file_is_rebuilt(hftui_home):
    get_catalog("trainer")
    for f in (hftui_home / "catalog").glob("reward-*.json"):
        f.unlink()
    get_catalog.cache_clear()
    cat = get_catalog("reward")  # builds and writes
    path = next((hftui_home / "catalog").glob("reward-*.json"))
    original = path.read_text(encoding="utf-8")
    try:
        path.write_text("{ not json", encoding="utf-8")
        assert cached_catalog("reward") is None
        get_catalog.cache_clear()
        assert get_catalog("reward").args.keys() == cat.args.keys()
        assert json.loads(path.read_text(encoding="utf-8"))["class_name"] == "RewardConfig"
    finally:
        path.write_text(original, encoding="utf-8")
        get_catalog.cache_clear()


def test_installed_versions_match_the_package_metadata():
    from importlib import metadata

    versions = catalog_mod.installed_versions()
    assert versions == {d: metadata.version(d) for d in ("transformers", "trl")}


def test_renamed_options_are_named_as_the_installed_version_knows_them():
    from transformers import TrainingArguments

    fields = {f.name for f in dataclasses.fields(TrainingArguments)}
    name = catalog_mod.checkpointing_option()
    assert name in fields
    assert name == ("activation_checkpointing" if "activation_checkpointing" in fields else "gradient_checkpointing")
    assert catalog_mod.installed_name("no_such_option", "learning_rate") == "learning_rate"
    assert catalog_mod.installed_name("no_such_option", "nor_this") == "no_such_option"
