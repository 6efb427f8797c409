"""Validation: every rule, each reported with its key, line, severity and a fix; all at once."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from conftest import PRESETS
from ppo_world import NEEDS_PPO, needs_ppo
from hftui.core.checks import machine
from hftui.core.checks.data import first_record
from hftui.core.options.toml_text import key_lines
from hftui.core.preset import Preset, load, save
from hftui.core.problems import Problem
from hftui.core.checks import validate, validate_file
from hftui.core.options.names import suggest_key
from hftui.tui import cli

ROW = {"text": "a sentence", "label": 1, "target": "a target", "prompt": "a prompt", "chosen": "good", "rejected": "bad"}

BASE = {
    "schema": 1,
    "name": "t",
    "model": {
        "task": "causal-lm",
        "scratch": {"architecture": "llama", "tokenizer": "byte", "hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 4, "intermediate_size": 64},
    },
    "dataset": {"path": "json", "data_files": "data/train.jsonl", "max_length": 32},
    "trainer": {"type": "sft"},
    "args": {"output_dir": "runs/t", "max_steps": 2},
}

_DELETE = object()


@pytest.fixture
def project(tmp_path) -> Path:
    folder = tmp_path / "project"
    (folder / "data").mkdir(parents=True)
    rows = "".join(json.dumps(ROW) + "\n" for _ in range(4))
    (folder / "data" / "train.jsonl").write_text(rows, encoding="utf-8")
    (folder / "data" / "eval.jsonl").write_text(rows, encoding="utf-8")
    (folder / "rm").mkdir()
    (folder / "rm" / "config.json").write_text("{}", encoding="utf-8")
    return folder


def _preset_file(folder: Path, changes: dict | None = None, name: str = "p.toml") -> Path:
    data = copy.deepcopy(BASE)
    p = Preset(data=data)
    for key, value in (changes or {}).items():
        p = p.without(key) if value is _DELETE else p.with_value(key, value)
    path = folder / name
    save(p, path)
    return path


def _problems(folder: Path, changes: dict | None = None, overrides=()) -> list[Problem]:
    preset, problems = validate_file(_preset_file(folder, changes), overrides)
    assert preset is not None
    return problems


def _errors(problems):
    return [p for p in problems if p.severity == "error"]


def _find(problems, path, severity=None):
    return [p for p in problems if p.path == path and (severity is None or p.severity == severity)]


# -- valid presets --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"trainer.type": "trainer"},
        {"trainer.type": "trainer", "model.task": "sequence-classification", "model.num_labels": 2, "trainer.metrics": ["accuracy", "f1"]},
        {"trainer.type": "trainer", "model.task": "seq2seq-lm", "model.scratch.architecture": "t5", "model.scratch": _DELETE, "model.name_or_path": "rm"},
        {"trainer.type": "reward"},
        pytest.param({"trainer.type": "ppo", "ppo.reward_model": "rm"}, marks=NEEDS_PPO),
        {"args.eval_strategy": "steps", "args.eval_steps": 1, "dataset.eval_fraction": 0.25},
        {"args.eval_strategy": "epoch", "dataset.data_files": {"train": "data/train.jsonl", "validation": "data/eval.jsonl"}},
        {"args.learning_rate": 1, "args.warmup_steps": 0.1, "args.report_to": ["none"], "peft.r": 8, "peft.target_modules": ["q_proj", "v_proj"]},
        {"launch.backend": "ddp", "launch.num_processes": 2, "launch.num_machines": 1},
    ],
    ids=["sft", "trainer", "classification", "seq2seq-local", "reward", "ppo", "eval-fraction", "eval-file", "misc", "ddp-cpu"],
)
def test_valid_presets_have_no_errors(project, changes, monkeypatch):
    monkeypatch.setattr(machine, "visible_gpus", lambda: [])
    problems = _problems(project, changes)
    assert not _errors(problems), [p.format() for p in problems]


@pytest.mark.parametrize("path", [pytest.param(p, marks=NEEDS_PPO) if p.stem == "ppo" else p for p in sorted(PRESETS.glob("*.toml"))],
                         ids=lambda p: p.name)
def test_every_shipped_preset_validates(path):
    preset, problems = validate_file(path)
    assert preset is not None
    assert not _errors(problems), "\n".join(p.format() for p in problems)


def test_tutorial_style_preset_migrates_and_validates(project):
    text = """\
schema = 1

[model]
task = "causal-lm"

[model.scratch]
architecture = "gpt2"
n_embd = 32
n_layer = 1
n_head = 2

[dataset]
path = "json"
data_files = { train = "data/train.jsonl", validation = "data/eval.jsonl" }
eval_split = "validation"

[trainer]
type = "trainer"

[args]
output_dir = "runs/tutorial"
evaluation_strategy = "epoch"
logging_dir = "./logs"
warmup_ratio = 0.1
overwrite_output_dir = true
fp16_opt_level = "O1"
half_precision_backend = "auto"
tpu_num_cores = 8
fsdp_offload_params = true
fsdp_transformer_layer_cls_to_wrap = "GPT2Block"
gradient_checkpointing = true
num_train_epochs = 1
"""
    path = project / "tutorial.toml"
    path.write_text(text, encoding="utf-8")
    preset, problems = validate_file(path)
    assert not _errors(problems), [p.format() for p in problems]
    args = preset.section("args")
    assert args["eval_strategy"] == "epoch" and "evaluation_strategy" not in args
    assert args["warmup_steps"] == 0.1 and "warmup_ratio" not in args
    assert args["fsdp_config"] == {"offload_params": True, "transformer_layer_cls_to_wrap": ["GPT2Block"]}
    # activation_checkpointing came in a 5.x minor release; before it gradient_checkpointing stays
    from hftui.core.options.catalog import checkpointing_option

    renamed = checkpointing_option() == "activation_checkpointing"
    if renamed:
        assert args["activation_checkpointing"] is True and "gradient_checkpointing" not in args
    else:
        assert args["gradient_checkpointing"] is True and "activation_checkpointing" not in args
    for gone in ("logging_dir", "overwrite_output_dir", "fp16_opt_level", "half_precision_backend", "tpu_num_cores"):
        assert gone not in args
    by_key = {p.path: p for p in problems}
    lines = key_lines(text)
    for old, new in (("evaluation_strategy", "eval_strategy"), ("warmup_ratio", "warmup_steps"), ("fsdp_offload_params", "fsdp_config"),
                     ("fsdp_transformer_layer_cls_to_wrap", "fsdp_config"),
                     *([("gradient_checkpointing", "activation_checkpointing")] if renamed else [])):
        p = by_key[f"args.{old}"]
        assert p.severity == "notice" and new in p.message, p
        assert p.line == lines[f"args.{old}"] and p.file == str(path)
    assert "TENSORBOARD_LOGGING_DIR" in by_key["args.logging_dir"].message
    assert "resume" in by_key["args.overwrite_output_dir"].message
    for removed in ("logging_dir", "overwrite_output_dir", "fp16_opt_level", "half_precision_backend", "tpu_num_cores"):
        assert by_key[f"args.{removed}"].severity == "warning"
    # the source file is not touched by migration
    assert path.read_text(encoding="utf-8") == text


# -- one broken thing at a time -------------------------------------------------------------
CASES = [
    # (id, changes, key path, severity, text in message or hint)
    ("schema-missing", {"schema": _DELETE}, "schema", "error", "schema = 1"),
    ("schema-2", {"schema": 2}, "schema", "error", "not supported"),
    ("schema-string", {"schema": "1"}, "schema", "error", "number 1"),
    ("unknown-section", {"modle": {"x": 1}}, "modle", "error", "did you mean [model]"),
    ("unknown-top-key", {"nmae": "x"}, "nmae", "error", "did you mean name"),
    ("model-key-typo", {"model.nme_or_path": "gpt2"}, "model.nme_or_path", "error", "did you mean model.name_or_path"),
    ("arg-in-dataset", {"dataset.learning_rate": 1e-4}, "dataset.learning_rate", "error", "args.learning_rate"),
    ("arg-typo", {"args.learnig_rate": 1e-4}, "args.learnig_rate", "error", "did you mean args.learning_rate"),
    ("legacy-typo", {"args.evaluation_stratgy": "epoch"}, "args.evaluation_stratgy", "error", "args.eval_strategy"),
    ("dataset-key-in-args", {"args.text_column": "text", "trainer.type": "trainer"}, "args.text_column", "error", "dataset.text_column"),
    ("int-as-string", {"args.max_steps": "ten"}, "args.max_steps", "error", "whole number"),
    ("bool-as-string", {"args.bf16": "yes"}, "args.bf16", "error", "true or false"),
    ("float-as-string", {"args.learning_rate": "1e-4"}, "args.learning_rate", "error", "a number"),
    ("list-as-number", {"peft.target_modules": 5}, "peft.target_modules", "error", "string or a list"),
    ("int-or-auto", {"launch.num_processes": "many"}, "launch.num_processes", "error", '"auto"'),
    ("section-not-table", {"trainer": "sft"}, "trainer", "error", "must be a table"),
    ("negative-lr", {"args.learning_rate": -1e-4}, "args.learning_rate", "error", "at least 0"),
    ("nan-lr", {"args.learning_rate": float("nan")}, "args.learning_rate", "error", "finite"),
    ("huge-lr", {"args.learning_rate": 50.0}, "args.learning_rate", "warning", "diverge"),
    ("zero-batch", {"args.per_device_train_batch_size": 0}, "args.per_device_train_batch_size", "error", "at least 1"),
    ("huge-batch", {"args.per_device_train_batch_size": 10**9}, "args.per_device_train_batch_size", "error", "too large"),
    ("zero-accum", {"args.gradient_accumulation_steps": 0}, "args.gradient_accumulation_steps", "error", "at least 1"),
    ("huge-steps", {"args.max_steps": 10**12}, "args.max_steps", "error", "32-bit"),
    ("beta-1", {"args.adam_beta1": 1.0}, "args.adam_beta1", "error", "below 1"),
    ("negative-seed", {"args.seed": -5}, "args.seed", "error", "at least 0"),
    ("short-max-length", {"dataset.max_length": 2}, "dataset.max_length", "error", "at least 8"),
    ("lora-r-0", {"peft.r": 0}, "peft.r", "error", "at least 1"),
    ("port", {"launch.main_process_port": 70000}, "launch.main_process_port", "error", "65535"),
    ("eval-fraction", {"dataset.eval_fraction": 1.5}, "dataset.eval_fraction", "error", "0.9"),
    ("bad-strategy", {"args.eval_strategy": "sometimes"}, "args.eval_strategy", "error", "choose one of"),
    ("scheduler-typo", {"args.lr_scheduler_type": "cosin"}, "args.lr_scheduler_type", "error", 'did you mean "cosine"'),
    ("bad-task", {"model.task": "classification"}, "model.task", "error", "sequence-classification"),
    ("bad-trainer", {"trainer.type": "orpo"}, "trainer.type", "error", "choose one of"),
    ("bad-backend", {"launch.backend": "horovod"}, "launch.backend", "error", "choose one of"),
    ("zero-stage-4", {"launch.zero_stage": 4}, "launch.zero_stage", "error", "choose one of"),
    ("bad-offload", {"launch.offload": "gpu"}, "launch.offload", "error", "choose one of"),
    ("bad-dtype", {"model.dtype": "fp32"}, "model.dtype", "error", "choose one of"),
    ("missing-data", {"dataset.data_files": "data/nope.jsonl"}, "dataset.data_files", "error", "not found"),
    ("missing-eval-data", {"dataset.data_files": {"train": "data/train.jsonl", "eval": "data/nope.jsonl"}}, "dataset.data_files.eval", "error", "not found"),
    ("missing-model-dir", {"model.scratch": _DELETE, "model.name_or_path": "./models/none"}, "model.name_or_path", "error", "not found"),
    ("model-dir-without-config", {"model.scratch": _DELETE, "model.name_or_path": "data"}, "model.name_or_path", "error", "config.json"),
    ("offline-hub-model", {"model.scratch": _DELETE, "model.name_or_path": "someone/not-cached-model"}, "model.name_or_path", "error", "HF_HUB_OFFLINE"),
    ("bad-hub-id", {"model.scratch": _DELETE, "model.name_or_path": "not a model!"}, "model.name_or_path", "error", "Hub id"),
    ("missing-checkpoint", {"args.resume_from_checkpoint": "runs/t/checkpoint-5"}, "args.resume_from_checkpoint", "error", "not found"),
    ("missing-ds-config", {"args.deepspeed": "ds.json"}, "args.deepspeed", "error", "not found"),
    ("no-model", {"model.scratch": _DELETE}, "model.name_or_path", "error", "no model"),
    ("no-dataset", {"dataset": _DELETE}, "dataset", "error", "no [dataset]"),
    ("builder-without-files", {"dataset.data_files": _DELETE}, "dataset.data_files", "error", "data_files is not set"),
    ("missing-dataset-dir", {"dataset.path": "./corpus", "dataset.data_files": _DELETE}, "dataset.path", "error", "not found"),
    ("offline-hub-dataset", {"dataset.path": "someone/not-cached", "dataset.data_files": _DELETE}, "dataset.path", "error", "HF_HUB_OFFLINE"),
    ("csv-builder-json-file", {"dataset.path": "csv"}, "dataset.data_files", "error", 'path = "json"'),
    ("fp16-bf16", {"args.fp16": True, "args.bf16": True}, "args.bf16", "error", "both true"),
    ("eval-no-data", {"args.eval_strategy": "steps"}, "args.eval_strategy", "error", "no evaluation data"),
    ("eval-split-absent", {"dataset.eval_split": "validation"}, "dataset.eval_split", "error", "no split 'validation'"),
    ("best-mismatch", {"args.load_best_model_at_end": True, "args.eval_strategy": "epoch", "args.save_strategy": "steps", "dataset.eval_fraction": 0.2},
     "args.load_best_model_at_end", "error", 'save_strategy = "epoch"'),
    ("best-steps-multiple", {"args.load_best_model_at_end": True, "args.eval_strategy": "steps", "args.eval_steps": 3, "args.save_steps": 5, "dataset.eval_fraction": 0.2},
     "args.save_steps", "error", "multiple"),
    ("best-no-save", {"args.load_best_model_at_end": True, "args.eval_strategy": "no", "args.save_strategy": "no"}, "args.save_strategy", "error", "checkpoints"),
    ("plateau-no-eval", {"args.lr_scheduler_type": "reduce_lr_on_plateau"}, "args.lr_scheduler_type", "error", "evaluation"),
    ("logging-steps-0", {"args.logging_steps": 0}, "args.logging_steps", "error", "> 0"),
    ("eval-steps-fraction", {"args.eval_strategy": "steps", "args.eval_steps": 2.5, "dataset.eval_fraction": 0.2}, "args.eval_steps", "error", "whole number"),
    ("prefetch-no-workers", {"args.dataloader_prefetch_factor": 2}, "args.dataloader_prefetch_factor", "error", "num_workers"),
    ("nothing-to-train", {"args.max_steps": -1, "args.num_train_epochs": 0}, "args.num_train_epochs", "error", "nothing to train"),
    ("ppo-no-reward", {"trainer.type": "ppo"}, "ppo.reward_model", "error", "reward model"),
    ("ppo-reward-missing", {"trainer.type": "ppo", "ppo.reward_model": "./runs/rm"}, "ppo.reward_model", "warning", "not found"),
    ("ppo-section-unused", {"ppo.reward_model": "rm"}, "ppo", "warning", "ignored"),
    ("sft-classification", {"model.task": "sequence-classification"}, "trainer.type", "error", "causal language models"),
    ("empty-label-column", {"trainer.type": "trainer", "model.task": "sequence-classification", "dataset.label_column": ""}, "dataset.label_column", "error", "label column"),
    ("missing-label-column", {"trainer.type": "trainer", "model.task": "sequence-classification", "dataset.label_column": "class"}, "dataset.label_column", "error", "no column 'class'"),
    ("missing-text-column", {"dataset.text_column": "body", "dataset.messages_column": "chat"}, "dataset.text_column", "error", "no column 'body' or 'chat'"),
    ("missing-target-column", {"trainer.type": "trainer", "model.task": "seq2seq-lm", "dataset.target_column": "summary"}, "dataset.target_column", "error", "summary"),
    ("missing-rejected-column", {"trainer.type": "reward", "dataset.rejected_column": "worse"}, "dataset.rejected_column", "error", "worse"),
    ("missing-prompt-column", {"trainer.type": "ppo", "ppo.reward_model": "rm", "dataset.prompt_column": "query"}, "dataset.prompt_column", "error", "query"),
    ("unknown-metric", {"trainer.metrics": ["acuracy"]}, "trainer.metrics", "error", "did you mean 'accuracy'"),
    ("metric-for-task", {"trainer.type": "trainer", "model.task": "sequence-classification", "trainer.metrics": ["bleu"]}, "trainer.metrics", "warning", "does not mean much"),
    ("rank-too-high", {"launch.num_machines": 2, "launch.machine_rank": 2, "launch.main_process_ip": "10.0.0.1"}, "launch.machine_rank", "error", "0 to 1"),
    ("deepspeed-fsdp", {"launch.backend": "deepspeed", "args.fsdp": "full_shard"}, "args.fsdp", "error", "cannot shard"),
    ("ds-config-and-fsdp", {"args.deepspeed": {"zero_optimization": {"stage": 2}}, "args.fsdp": "full_shard"}, "args.fsdp", "error", "cannot shard"),
    ("single-many", {"launch.backend": "single", "launch.num_processes": 4}, "launch.backend", "error", "one process"),
    ("localhost-multinode", {"launch.num_machines": 2}, "launch.main_process_ip", "warning", "cannot reach"),
    ("offload-no-deepspeed", {"launch.offload": "optimizer"}, "launch.offload", "warning", "deepspeed"),
    ("output-dir-file", {"args.output_dir": "data/train.jsonl"}, "args.output_dir", "error", "is a file"),
    ("output-dir-under-file", {"args.output_dir": "data/train.jsonl/run"}, "args.output_dir", "error", "which is a file"),
    ("output-dir-empty", {"args.output_dir": ""}, "args.output_dir", "error", "empty"),
    ("report-to-unknown", {"args.report_to": ["tensorbored"]}, "args.report_to", "error", "did you mean 'tensorboard'"),
    ("report-to-not-an-integration", {"args.report_to": "zzz_not_installed"}, "args.report_to", "error", "not an integration"),
    ("trust-remote-code", {"model.trust_remote_code": True}, "model.trust_remote_code", "warning", "--trust-remote-code"),
    ("hub-token", {"args.hub_token": "hf_" + "a" * 34}, "args.hub_token", "error", "environment"),
    ("token-in-value", {"args.run_name": "hf_" + "B" * 34}, "args.run_name", "error", "access token"),
    ("wandb-key", {"args.run_name": "0123456789abcdef0123456789abcdef01234567"}, "args.run_name", "error", "access token"),
    ("scratch-typo", {"model.scratch.architecture": "lama"}, "model.scratch.architecture", "error", 'did you mean "llama"'),
    ("scratch-no-task-model", {"trainer.type": "trainer", "model.task": "seq2seq-lm", "model.scratch.architecture": "gpt2"}, "model.scratch.architecture", "error", "no seq2seq-lm model"),
    ("scratch-heads", {"model.scratch.hidden_size": 30}, "model.scratch.num_attention_heads", "error", "divisible"),
    ("scratch-negative", {"model.scratch.num_hidden_layers": 0}, "model.scratch.num_hidden_layers", "error", "at least 1"),
    ("scratch-tokenizer", {"model.scratch.tokenizer": "tokenizers/mine"}, "model.scratch.tokenizer", "error", "byte"),
    ("name-with-slash", {"name": "a/b"}, "name", "error", "path separator"),
    ("num-labels-unused", {"model.num_labels": 3}, "model.num_labels", "warning", "sequence-classification"),
]


@pytest.mark.parametrize("case_id, changes, key, severity, text", CASES, ids=[c[0] for c in CASES])
def test_each_rule(project, case_id, changes, key, severity, text):
    problems = _problems(project, changes)
    found = _find(problems, key, severity)
    assert found, f"{case_id}: expected a {severity} at {key}; got:\n" + "\n".join(p.format() for p in problems)
    assert any(text in p.message or text in p.hint for p in found), [p.format() for p in found]
    for p in found:
        assert p.file and p.file.endswith("p.toml")
        assert p.hint, f"{case_id}: no fix given"
    if severity == "error":
        assert len(_errors(problems)) <= 3, f"{case_id}: one mistake gave many errors: " + "\n".join(p.format() for p in _errors(problems))


def test_num_processes_beyond_visible_gpus(project, monkeypatch):
    from hftui.core.gpu import GpuInfo

    monkeypatch.setattr(machine, "visible_gpus", lambda: [GpuInfo(0, "NVIDIA A100", 80 << 30, (8, 0))])
    problems = _problems(project, {"launch.num_processes": 4, "launch.backend": "ddp"})
    found = _find(problems, "launch.num_processes", "error")
    assert found and "1 visible GPU" in found[0].message


def test_bf16_on_an_old_gpu_warns(project, monkeypatch):
    from hftui.core.gpu import GpuInfo

    monkeypatch.setattr(machine, "visible_gpus", lambda: [GpuInfo(0, "Tesla V100", 16 << 30, (7, 0))])
    assert _find(_problems(project, {"args.bf16": True}), "args.bf16", "warning")


def test_every_problem_is_reported_at_once(project):
    problems = _problems(project, {
        "schema": 3, "args.learning_rate": -1.0, "args.fp16": True, "args.bf16": True, "trainer.metrics": ["nope"],
        "launch.zero_stage": 7, "dataset.data_files": "data/missing.jsonl", "model.scratch.architecture": "lama",
    })
    paths = {p.path for p in _errors(problems)}
    assert {"schema", "args.learning_rate", "args.bf16", "trainer.metrics", "launch.zero_stage", "dataset.data_files", "model.scratch.architecture"} <= paths


def test_lines_point_at_the_key(project):
    path = _preset_file(project, {"args.learning_rate": -1.0, "launch.zero_stage": 9})
    text = path.read_text(encoding="utf-8").splitlines()
    _p, problems = validate_file(path)
    for key in ("args.learning_rate", "launch.zero_stage"):
        (p,) = _find(problems, key, "error")
        assert text[p.line - 1].strip().startswith(key.rpartition(".")[2] + " ="), (key, p.line)


def test_data_file_problems(project):
    data = project / "data"
    (data / "empty.jsonl").write_bytes(b"")
    (data / "latin1.jsonl").write_bytes('{"text": "caf\xe9"}\n'.encode("latin-1"))
    (data / "header.csv").write_text("text,label\n", encoding="utf-8")
    (data / "broken.jsonl").write_text('{"text": "a"\n', encoding="utf-8")
    (data / "array.json").write_text('[{"text": "a", "label": 0}]', encoding="utf-8")
    (data / "rows.csv").write_text("text,label\nhello,1\n", encoding="utf-8")
    expectations = {
        "data/empty.jsonl": "is empty",
        "data/latin1.jsonl": "not UTF-8",
        "data/header.csv": "no rows",
        "data/broken.jsonl": "not valid JSON",
    }
    for file, text in expectations.items():
        path = "csv" if file.endswith(".csv") else "json"
        problems = _problems(project, {"dataset.data_files": file, "dataset.path": path})
        found = _find(problems, "dataset.data_files", "error")
        assert found and text in found[0].message and Path(file).name in found[0].message, (file, [p.format() for p in problems])
    assert not _errors(_problems(project, {"dataset.data_files": "data/array.json"}))
    assert not _errors(_problems(project, {"dataset.data_files": "data/rows.csv", "dataset.path": "csv"}))
    assert first_record(data / "array.json") == (["text", "label"], None)


def test_overrides_are_validated_like_the_file(project):
    problems = _problems(project, overrides=["args.learning_rate=-3", "args.max_steps=lots", "args.eval_strategy=sometimes", "args.lr=1"])
    assert _find(problems, "args.learning_rate", "error")
    assert _find(problems, "args.max_steps", "error")
    assert _find(problems, "args.eval_strategy", "error")
    lr = _find(problems, "args.lr", "error")
    assert lr and "did you mean args.learning_rate" in lr[0].hint


def test_suggest_key():
    p = Preset(data=copy.deepcopy(BASE))
    assert suggest_key(p, "args.learnin_rate") == "did you mean args.learning_rate?"
    assert "args.eval_strategy" in suggest_key(p, "args.evaluation_strategy")
    assert "args.eval_strategy" in suggest_key(p, "args.evaluation_stratgy")
    assert "TENSORBOARD_LOGGING_DIR" in suggest_key(p, "args.logging_dir")
    assert suggest_key(p, "dataset.txt_column") == "did you mean dataset.text_column?"
    assert "args.learning_rate" in suggest_key(p, "dataset.learning_rate")
    assert "args.packing" in suggest_key(p, "dataset.packing")  # an SFTConfig field
    assert suggest_key(p, "lr") == "did you mean args.learning_rate?"
    assert suggest_key(p, "args.zzzzqqq") == ""


def test_memory_estimate_is_included(project, monkeypatch):
    from hftui.core.checks import memory

    def fake_check(preset, gpus=None):
        return [Problem("args.per_device_train_batch_size", "warning", "needs about 90 GiB per GPU, the GPU has 80 GiB", "lower the batch size")]

    monkeypatch.setattr(memory, "check", fake_check)
    path = _preset_file(project, {"args.per_device_train_batch_size": 64})
    _p, problems = validate_file(path)
    (p,) = _find(problems, "args.per_device_train_batch_size", "warning")
    assert p.file == str(path) and p.line and "90 GiB" in p.message


def test_validation_never_changes_the_file(project):
    path = _preset_file(project, {"args.evaluation_strategy": "epoch", "dataset.eval_fraction": 0.2})
    before = path.read_bytes(), path.stat().st_mtime_ns
    validate_file(path, ["args.max_steps=4"])
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before
    assert not (project / "runs").exists(), "validation created the output folder"


def test_validate_works_on_an_unsaved_preset():
    p = Preset(data=copy.deepcopy(BASE) | {"schema": 9})
    problems = validate(p)
    assert _find(problems, "schema", "error")


# -- the command ----------------------------------------------------------------------------
def test_cli_verdicts_and_exit_codes(project, capsys):
    good = _preset_file(project, {}, "good.toml")
    warned = _preset_file(project, {"model.trust_remote_code": True}, "warned.toml")
    bad = _preset_file(project, {"args.fp16": True, "args.bf16": True, "model.trust_remote_code": True, "args.learning_rate": -1.0}, "bad.toml")
    assert cli.main(["validate", str(good), str(warned)]) == 0
    out = capsys.readouterr()
    assert f"{good}: valid\n" in out.out
    assert f"{warned}: valid (1 warning)" in out.out
    assert "trust_remote_code" in out.err and "Traceback" not in out.err
    assert cli.main(["validate", str(good), str(bad)]) == 2
    out = capsys.readouterr()
    assert f"{bad}: invalid: 2 errors, 1 warning" in out.out
    assert f"{bad}:" in out.err and "args.bf16" in out.err and "fix:" in out.err
    assert cli.main(["validate", "--quiet", str(bad)]) == 2
    out = capsys.readouterr()
    assert "args.bf16" in out.err and "trust_remote_code" not in out.err


def test_cli_set_option(project, capsys):
    good = _preset_file(project)
    assert cli.main(["validate", str(good), "--set", "args.max_steps=5", "--set", "args.learning_rate=2e-4"]) == 0
    assert cli.main(["validate", str(good), "--set", "args.max_steps=-7"]) == 2
    err = capsys.readouterr().err
    assert "args.max_steps" in err


def test_cli_unreadable_presets(tmp_path, capsys):
    missing = tmp_path / "nope.toml"
    assert cli.main(["validate", str(missing)]) == 2
    out = capsys.readouterr()
    assert "no such file" in out.err and f"{missing}: invalid: 1 error" in out.out
    broken = tmp_path / "broken.toml"
    broken.write_text("schema = 1\n[args\nmax_steps = 3\n", encoding="utf-8")
    assert cli.main(["validate", str(broken)]) == 2
    out = capsys.readouterr()
    assert f"{broken}:2" in out.err and "not valid TOML" in out.err


ODD_VALUES = [True, -1, 0, 1.5, float("inf"), "x", "", [], [1, "a"], {}, {"a": {"b": 1}}]


def _odd_paths() -> list[str]:
    from hftui.core.options import sections as schema

    paths = list(schema.TOP_FIELDS) + list(schema.KNOWN_SECTIONS) + ["model.scratch"]
    for section, fields in schema.SECTION_FIELDS.items():
        paths += [f"{section}.{name}" for name in fields]
    paths += [f"args.{n}" for n in ("output_dir", "learning_rate", "max_steps", "eval_strategy", "save_steps", "eval_steps", "fsdp",
                                    "deepspeed", "report_to", "resume_from_checkpoint", "load_best_model_at_end", "hub_token", "seed")]
    paths += ["dataset.data_files.train", "dataset.data_files.eval", "model.scratch.hidden_size"]
    return paths


def test_no_value_in_any_key_crashes_validation(project):
    """Whatever a person writes in whichever key, validation answers with problems, not an exception."""
    base = load(_preset_file(project, {"dataset.eval_fraction": 0.2}))
    checked = 0
    for path in _odd_paths():
        for value in ODD_VALUES:
            problems = validate(base.with_value(path, value))
            assert all(isinstance(p, Problem) and p.severity in ("error", "warning", "notice") for p in problems)
            checked += 1
    assert checked > 500


def test_no_override_crashes_validation(project):
    path = _preset_file(project)
    weird = ["=", ".=1", "args.=1", "args.learning_rate.x=1", "model.scratch.x.y=1", "args=5", "model=gpt2", "schema=abc",
             "dataset.data_files.train=x.jsonl", "args.report_to=[1, 2", "args.fsdp_config={ a = 1 }", "launch.num_processes=1e400",
             "args.max_steps=9" * 40, "trainer.metrics=", "args.learning_rate=nan", "peft.target_modules=[]", "name=\u0000"]
    for item in weird:
        preset, problems = validate_file(path, [item])
        assert preset is not None and all(isinstance(p, Problem) for p in problems), item


def test_a_token_under_a_dropped_legacy_key_is_still_an_error(project):
    path = project / "legacy_token.toml"
    text = _preset_file(project).read_text(encoding="utf-8").replace("[args]\n", '[args]\npush_to_hub_token = "hf_' + "Z" * 34 + '"\n')
    path.write_text(text, encoding="utf-8")
    preset, problems = validate_file(path)
    assert "push_to_hub_token" not in preset.section("args")
    assert _find(problems, "args.push_to_hub_token", "error")
    assert all("Z" * 34 not in p.message + p.hint for p in problems)


def test_a_preset_edited_in_memory_is_judged_by_its_data(project):
    path = project / "blank.toml"
    path.write_text("", encoding="utf-8")
    blank = load(path)
    assert [p.message for p in validate(blank)] == ["the preset file is empty"]
    filled = blank
    for key, value in (("schema", 1), ("model", copy.deepcopy(BASE["model"])), ("dataset", copy.deepcopy(BASE["dataset"])), ("trainer", {"type": "sft"}), ("args", {"output_dir": "runs/t", "max_steps": 2})):
        filled = filled.with_value(key, value)
    assert not _errors(validate(filled)), [p.format() for p in validate(filled)]


def test_report_to_needs_its_package(project, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name in ("tensorboard", "tensorboardX") else real(name, *a))
    found = _find(_problems(project, {"args.report_to": ["tensorboard"]}), "args.report_to", "error")
    assert found and "pip install tensorboard" in found[0].hint
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object() if name == "tensorboard" else real(name, *a))
    assert not _find(_problems(project, {"args.report_to": ["tensorboard"]}), "args.report_to")


@needs_ppo
def test_a_reward_model_still_to_be_trained_warns_in_validate_and_blocks_a_run(tmp_path):
    """presets/ppo.toml names runs/reward, which presets/reward.toml trains: the file is valid,
    but starting PPO before that folder exists is refused before any process starts."""
    import shutil

    shutil.copy(PRESETS / "ppo.toml", tmp_path / "ppo.toml")
    shutil.copytree(PRESETS / "data", tmp_path / "data")
    _, problems = validate_file(tmp_path / "ppo.toml")
    assert _find(problems, "ppo.reward_model", "warning") and not _errors(problems)
    _, problems = validate_file(tmp_path / "ppo.toml", for_run=True)
    (err,) = _errors(problems)
    assert err.path == "ppo.reward_model" and "runs/reward" in err.message and "reward" in err.hint
    assert cli.main(["run", str(tmp_path / "ppo.toml")]) == 2
    assert not (tmp_path / "runs").exists()  # nothing started, nothing written
