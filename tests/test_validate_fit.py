"""Validation of what a run will meet: its data's classes and size, its model's tables and
layers, the packages and the machine here. Each of these used to pass `validate` and then fail
minutes into the run, or train the wrong thing without a word."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import PRESETS
from hftui.core.checks import installed, machine, meta_model, validate_file
from hftui.core.gpu import GpuInfo
from hftui.core.preset import Preset, load, save
from hftui.core.train import data as data_mod
from hftui.core.train.modeling import byte_tokenizer
from hftui.core.problems import PresetError

TINY = {"architecture": "llama", "tokenizer": "byte", "hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 4, "intermediate_size": 64}
BASE = {
    "schema": 1,
    "name": "t",
    "model": {"task": "causal-lm", "scratch": TINY},
    "dataset": {"path": "json", "data_files": "data/train.jsonl", "max_length": 32},
    "trainer": {"type": "trainer"},
    "args": {"output_dir": "runs/t", "max_steps": 2},
}
CLASSIFY = {"model.task": "sequence-classification"}
GPU = [GpuInfo(0, "Test GPU", 80 << 30, (9, 0), "550.0")]


@pytest.fixture
def project(tmp_path) -> Path:
    folder = tmp_path / "project"
    (folder / "data").mkdir(parents=True)
    _rows(folder / "data" / "train.jsonl", [{"text": f"row {i}", "label": i % 2} for i in range(8)])
    return folder


def _rows(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def _check(folder: Path, changes: dict | None = None, for_run: bool = False):
    p = Preset(data=copy.deepcopy(BASE))
    for key, value in (changes or {}).items():
        p = p.with_value(key, value)
    save(p, folder / "p.toml")
    preset, problems = validate_file(folder / "p.toml", for_run=for_run)
    assert preset is not None
    return problems


def _at(problems, path, severity=None):
    return [p for p in problems if p.path == path and (severity is None or p.severity == severity)]


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(machine, "visible_gpus", lambda: [])


@pytest.fixture
def a_gpu(monkeypatch):
    monkeypatch.setattr(machine, "visible_gpus", lambda: GPU)


# -- the data --------------------------------------------------------------------------------
def test_one_class_is_an_error_not_a_regression(project):
    _rows(project / "data" / "train.jsonl", [{"text": f"row {i}", "label": "pos"} for i in range(8)])
    (problem,) = _at(_check(project, CLASSIFY), "dataset.label_column")
    assert problem.severity == "error" and "same label ('pos')" in problem.message and "regression" in problem.message
    assert problem.line is not None or problem.file  # named in the file, where the key is not written
    # a declared class count: the run is legal, but it only learns one answer
    (problem,) = _at(_check(project, {**CLASSIFY, "model.num_labels": 2}), "dataset.label_column")
    assert problem.severity == "warning"
    regression = _check(project, {**CLASSIFY, "model.num_labels": 1})
    assert not [p for p in regression if "same label" in p.message]
    # a second class anywhere, eval file included, is enough
    _rows(project / "data" / "eval.jsonl", [{"text": "x", "label": "neg"}])
    assert not _at(_check(project, {**CLASSIFY, "dataset.data_files": {"train": "data/train.jsonl", "eval": "data/eval.jsonl"}}), "dataset.label_column")


def test_one_class_stops_the_worker_before_it_builds_a_regression(tmp_path):
    _rows(tmp_path / "train.jsonl", [{"text": f"row {i}", "label": 0} for i in range(6)])
    (tmp_path / "p.toml").write_text('schema = 1\n[model]\ntask = "sequence-classification"\n[trainer]\ntype = "trainer"\n'
                                     '[dataset]\npath = "json"\ndata_files = "train.jsonl"\n', encoding="utf-8")
    with pytest.raises(PresetError) as err:
        data_mod.prepare(load(tmp_path / "p.toml"), byte_tokenizer())
    assert err.value.problems[0].path == "dataset.label_column" and "same label" in err.value.problems[0].message


def test_evaluating_on_the_training_data_is_a_warning(project):
    (problem,) = _at(_check(project, {"dataset.eval_split": "train"}), "dataset.eval_split")
    assert problem.severity == "warning" and "training split" in problem.message and "eval_fraction" in problem.hint
    same = {"dataset.data_files": {"train": "data/train.jsonl", "eval": "data/../data/train.jsonl"}}
    (problem,) = _at(_check(project, same), "dataset.data_files.eval")
    assert problem.severity == "warning" and "eval files are the train files" in problem.message
    _rows(project / "data" / "eval.jsonl", [{"text": "other"}])
    assert not _at(_check(project, {"dataset.data_files": {"train": "data/train.jsonl", "eval": "data/eval.jsonl"}}), "dataset.data_files.eval")


def test_accumulation_longer_than_an_epoch_is_a_warning(project):
    # 8 rows, 2 per batch: an epoch has 4 batches
    (problem,) = _at(_check(project, {"args.per_device_train_batch_size": 2, "args.gradient_accumulation_steps": 16}), "args.gradient_accumulation_steps")
    assert problem.severity == "warning" and "makes 4 batches" in problem.message and "= 4 or less" in problem.hint
    assert not _at(_check(project, {"args.per_device_train_batch_size": 2, "args.gradient_accumulation_steps": 4}), "args.gradient_accumulation_steps")
    # held-out rows and max_train_samples shorten the epoch too
    shorter = {"args.per_device_train_batch_size": 2, "args.gradient_accumulation_steps": 4, "dataset.max_train_samples": 4}
    assert _at(_check(project, shorter), "args.gradient_accumulation_steps", "warning")


# -- the arguments -----------------------------------------------------------------------------
def test_save_total_limit_zero_keeps_everything(project):
    (problem,) = _at(_check(project, {"args.save_total_limit": 0}), "args.save_total_limit")
    assert problem.severity == "error" and "keeps every checkpoint" in problem.message and 'save_strategy = "no"' in problem.hint
    assert not _at(_check(project, {"args.save_total_limit": 1}), "args.save_total_limit")


def test_a_warmup_as_long_as_the_run_is_a_warning(project, tmp_path):
    (problem,) = _at(_check(project, {"args.max_steps": 10, "args.warmup_steps": 10}), "args.warmup_steps")
    assert problem.severity == "warning" and "never reaches learning_rate" in problem.message and "warmup_steps = 1" in problem.hint
    assert not _at(_check(project, {"args.max_steps": 10, "args.warmup_steps": 3}), "args.warmup_steps")
    assert not _at(_check(project, {"args.max_steps": 10, "args.warmup_steps": 0.5}), "args.warmup_steps")  # a fraction
    # the old spelling: a ratio of 1 is the whole run, and transformers 5 would read it as one step
    _check(project)
    text = (project / "p.toml").read_text(encoding="utf-8").replace("max_steps = 2", "max_steps = 20\nwarmup_ratio = 1.0")
    assert "warmup_ratio" in text
    (project / "q.toml").write_text(text, encoding="utf-8")
    _, problems = validate_file(project / "q.toml")
    (problem,) = _at(problems, "args.warmup_ratio", "warning")
    assert "whole run" in problem.message and "as 1 step" in problem.message and problem.line


@pytest.mark.parametrize("name", ["fp16", "bf16"])
def test_mixed_precision_without_a_gpu_is_a_warning(project, monkeypatch, name):
    monkeypatch.setattr(machine, "visible_gpus", lambda: [])
    (problem,) = _at(_check(project, {f"args.{name}": True}), f"args.{name}")
    assert problem.severity == "warning" and "on the CPU" in problem.message and f"--set args.{name}=false" in problem.hint


def test_float16_weights_on_the_cpu(project, no_gpu):
    (problem,) = _at(_check(project, {"model.dtype": "float16"}), "model.dtype")
    assert problem.severity == "warning" and "diverges" in problem.message and "float32" in problem.hint
    (problem,) = _at(_check(project, {"model.dtype": "float16"}, for_run=True), "model.dtype")
    assert problem.severity == "error"  # about to train here
    assert not _at(_check(project, {"model.dtype": "bfloat16"}), "model.dtype")


def test_float16_weights_on_a_gpu_pass(project, a_gpu):
    assert not _at(_check(project, {"model.dtype": "float16"}, for_run=True), "model.dtype")


def test_an_optimizer_whose_package_is_missing(project, monkeypatch):
    monkeypatch.setattr(installed, "missing_package", lambda name: name == "bitsandbytes")
    (problem,) = _at(_check(project, {"args.optim": "adamw_bnb_8bit"}), "args.optim")
    assert problem.severity == "error" and "bitsandbytes" in problem.message and "pip install bitsandbytes" in problem.hint
    assert not _at(_check(project, {"args.optim": "adamw_torch"}), "args.optim")


def test_seq2seq_metrics_without_generation_are_a_warning(project):
    changes = {"model.task": "seq2seq-lm", "model.scratch": {"architecture": "t5", "tokenizer": "byte", "d_model": 32, "num_layers": 1, "num_heads": 2, "d_ff": 64, "d_kv": 16},
               "trainer.metrics": ["accuracy"], "args.predict_with_generate": False}
    (problem,) = _at(_check(project, changes), "args.predict_with_generate")
    assert problem.severity == "warning" and "teacher-forced" in problem.message


# -- the model -----------------------------------------------------------------------------------
def test_a_vocabulary_smaller_than_the_tokenizer(project):
    (problem,) = _at(_check(project, {"model.scratch.vocab_size": 100}), "model.scratch.vocab_size")
    assert problem.severity == "error" and "260 tokens" in problem.message and "vocab_size = 260" in problem.hint
    assert not _at(_check(project, {"model.scratch.vocab_size": 300}), "model.scratch.vocab_size")
    tok = byte_tokenizer()
    tok.add_tokens(["<extra_a>", "<extra_b>"])
    tok.save_pretrained(project / "tok")
    (problem,) = _at(_check(project, {"model.scratch.tokenizer": "tok", "model.scratch.vocab_size": 261}), "model.scratch.vocab_size")
    assert "262 tokens" in problem.message


def test_positions_fewer_than_max_length(project):
    gpt2 = {"architecture": "gpt2", "tokenizer": "byte", "n_embd": 32, "n_layer": 1, "n_head": 2, "n_positions": 16}
    (problem,) = _at(_check(project, {"model.scratch": gpt2}), "model.scratch.n_positions")
    assert problem.severity == "error" and "holds 16 positions" in problem.message and "run to 32 tokens" in problem.message
    assert "n_positions = 32" in problem.hint and "dataset.max_length to 16" in problem.hint
    # rotary positions run on past the limit: legal, but worth a word
    (problem,) = _at(_check(project, {"model.scratch.max_position_embeddings": 16}), "model.scratch.max_position_embeddings")
    assert problem.severity == "warning" and "max_position_embeddings = 16" in problem.message
    # an architecture's own default counts too: bert has 512 learned positions
    bert = {"architecture": "bert", "tokenizer": "byte", "hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 64}
    (problem,) = _at(_check(project, {**CLASSIFY, "model.scratch": bert, "dataset.max_length": 600}), "dataset.max_length")
    assert problem.severity == "error" and "holds 512 positions" in problem.message and "max_position_embeddings = 600" in problem.hint
    assert not _at(_check(project, {"model.scratch.max_position_embeddings": 64}), "model.scratch.max_position_embeddings")


def test_flash_attention_without_its_package(project, monkeypatch):
    monkeypatch.setattr(installed, "missing_distribution", lambda name: True)
    key = "model.scratch.attn_implementation"
    (problem,) = _at(_check(project, {key: "flash_attention_2"}), key)
    assert problem.severity == "error" and "flash-attn" in problem.message and "sdpa" in problem.hint
    monkeypatch.setattr(installed, "missing_distribution", lambda name: False)
    monkeypatch.setattr(machine, "visible_gpus", lambda: [])
    (problem,) = _at(_check(project, {key: "flash_attention_2"}, for_run=True), key)
    assert problem.severity == "error" and "CUDA GPUs only" in problem.message
    (problem,) = _at(_check(project, {key: "flash_attention2"}), key)
    assert "did you mean \"flash_attention_2\"" in problem.hint
    assert not _at(_check(project, {key: "sdpa"}), key)


def test_a_scratch_table_without_a_size_builds_the_default(project):
    (problem,) = _at(_check(project, {"model.scratch": {"tokenizer": "byte"}}), "model.scratch")
    assert problem.severity == "error" and "default size: 6.5B parameters" in problem.message and "hidden_size" in problem.hint
    # with a model folder too, the fix is to drop [model.scratch]
    (project / "mine").mkdir()
    (project / "mine" / "config.json").write_text("{}", encoding="utf-8")
    (problem,) = _at(_check(project, {"model.scratch": {"tokenizer": "byte"}, "model.name_or_path": "mine"}), "model.scratch")
    assert 'to fine-tune "mine", remove [model.scratch]' in problem.hint
    # a small default is legal, but still said
    (problem,) = _at(_check(project, {"model.scratch": {"architecture": "gpt2", "tokenizer": "byte"}}), "model.scratch")
    assert problem.severity == "warning" and "M parameters" in problem.message


@pytest.mark.parametrize(
    "task, targets, severity, words",
    [
        ("causal-lm", ["qproj"], "error", ('matches no layer', 'did you mean "q_proj"')),
        ("causal-lm", ["q_proj", "nope"], "warning", ('"nope" matches no layer',)),
        ("causal-lm", ["self_attn"], "error", ("a block LoRA cannot wrap", "q_proj")),
        ("causal-lm", "model\\.layers\\.\\d+\\.zzz", "error", ("matches no layer",)),
        ("causal-lm", "bad(", "error", ("not a regular expression",)),
        ("sequence-classification", ["score"], "error", ("classification head", "modules_to_save")),
        ("sequence-classification", ["q_proj", "score"], "warning", ("classification head",)),
    ],
)
def test_lora_targets_that_miss(project, task, targets, severity, words):
    problems = _at(_check(project, {"model.task": task, "peft.method": "lora", "peft.target_modules": targets}), "peft.target_modules")
    assert problems and {p.severity for p in problems} == {severity}, problems
    text = " ".join(p.message + " " + p.hint for p in problems)
    assert all(w in text for w in words), text


def test_lora_targets_that_hit_pass(project):
    for targets in (["q_proj", "v_proj"], "all-linear", ".*\\.(q|v)_proj"):
        assert not _at(_check(project, {"peft.method": "lora", "peft.target_modules": targets}), "peft.target_modules")


def test_the_model_shape_is_built_once_then_read_from_disk(project, monkeypatch):
    preset = load(_save(project, {"peft.method": "lora", "peft.target_modules": ["q_proj"]}))
    first = meta_model.model_shape(preset, "causal-lm", None)
    assert first is not None and "model.layers.0.self_attn.q_proj" in first.lora_modules and first.positions == 2048
    meta_model._remembered.clear()
    monkeypatch.setattr(meta_model, "_build", lambda *a: pytest.fail("built again"))
    assert meta_model.model_shape(preset, "causal-lm", None) == first


def _save(folder: Path, changes: dict) -> Path:
    p = Preset(data=copy.deepcopy(BASE))
    for key, value in changes.items():
        p = p.with_value(key, value)
    save(p, folder / "p.toml")
    return folder / "p.toml"


def test_validating_the_shipped_presets_builds_no_model(warm_catalog):
    code = ("import sys, glob\nfrom hftui.core.checks import validate_file\nfrom hftui.core.extras import trainer_missing\n"
            f"for path in sorted(glob.glob({str(PRESETS / '*.toml')!r})):\n"
            "    p, problems = validate_file(path)\n"
            "    if trainer_missing(p.trainer_type):\n"
            "        continue  # ppo without its extra: one error, tested in test_extras\n"
            "    assert p is not None and not [x for x in problems if x.severity == 'error'], problems\n"
            "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"
