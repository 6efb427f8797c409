"""The environment record's parts without training: file fingerprints in bounded time, the Hub
revisions from the local cache, the facts and their differences, and preset defaults in compare."""

from __future__ import annotations

import hashlib
import os
import time
from importlib.metadata import version

import pytest

from tiny_presets import sft_preset
from hftui.core import preset as preset_mod
from hftui.core.options.catalog import get_catalog
from hftui.core.run import env_facts, environment, fingerprint
from hftui.core.run.compare import differing_keys, effective_values, same_value, UNSET


def test_small_files_are_hashed_whole_large_ones_sampled_and_said_so(tmp_path):
    small = tmp_path / "small.jsonl"
    small.write_bytes(b'{"text": "hi"}\n' * 100)
    entry = fingerprint.fingerprint(small, fingerprint.Budget())
    assert entry == {"path": str(small), "size": small.stat().st_size, "sha256": hashlib.sha256(small.read_bytes()).hexdigest(),
                     "hashed": fingerprint.WHOLE}
    large = tmp_path / "large.bin"
    with open(large, "wb") as fh:  # sparse: costs no disk
        fh.truncate(fingerprint.WHOLE_HASH_BYTES + 1)
    started = time.monotonic()
    sampled = fingerprint.fingerprint(large, fingerprint.Budget())
    assert time.monotonic() - started < 5
    assert sampled["hashed"] == fingerprint.SAMPLED and sampled["size"] == fingerprint.WHOLE_HASH_BYTES + 1
    assert "(sampled)" in env_facts.file_fact(sampled)
    with open(large, "r+b") as fh:  # a change in the middle is beyond the sample; at the end it is seen
        fh.seek(fingerprint.WHOLE_HASH_BYTES)
        fh.write(b"x")
    assert fingerprint.fingerprint(large, fingerprint.Budget())["sha256"] != sampled["sha256"]
    spent = fingerprint.fingerprint(small, fingerprint.Budget(0))
    assert spent["sha256"] is None and spent["hashed"] == fingerprint.OUT_OF_TIME and spent["size"] == entry["size"]


def test_a_pipe_or_a_missing_file_is_named_never_read(tmp_path):
    fifo = tmp_path / "data.jsonl"
    os.mkfifo(fifo)
    entry = fingerprint.fingerprint(fifo, fingerprint.Budget())  # would block forever if opened
    assert "named pipe" in entry["error"] and "sha256" not in entry
    files = fingerprint.fingerprint_all([tmp_path / "nope-*.jsonl"], fingerprint.Budget())
    assert files == [{"path": str(tmp_path / "nope-*.jsonl"), "error": f"{tmp_path / 'nope-*.jsonl'} matches no file"}]


def test_record_of_a_preset_with_local_data_a_hub_model_and_the_default_seed(tmp_path, monkeypatch, warm_catalog):
    (tmp_path / "train.jsonl").write_text('{"text": "a"}\n')
    (tmp_path / "eval.jsonl").write_text('{"text": "b"}\n')
    cache = tmp_path / "hub"
    commit = "0123456789abcdef0123456789abcdef01234567"
    (cache / "models--org--tiny" / "refs").mkdir(parents=True)
    (cache / "models--org--tiny" / "refs" / "main").write_text(commit)
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    path = tmp_path / "p.toml"
    path.write_text('schema = 1\n[model]\nname_or_path = "org/tiny"\n[dataset]\npath = "json"\n'
                    'data_files = {train = "train.jsonl", eval = "eval.jsonl"}\n[trainer]\ntype = "sft"\n'
                    '[args]\noutput_dir = "out"\nmax_steps = 1\n')
    preset = preset_mod.load(path)
    # the seed's default comes from the installed config class (the catalog, built once per session)
    record = environment.collect(preset)
    assert record["model"] == {"source": "hub", "id": "org/tiny", "revision": None, "commit": commit}
    assert sorted(record["data"]["files"]) == ["eval", "train"]
    assert record["data"]["files"]["eval"][0]["sha256"] == hashlib.sha256(b'{"text": "b"}\n').hexdigest()
    assert record["seed"] == get_catalog("sft").args["seed"].default and record["seed_from"] == "default"
    assert record["versions"]["datasets"] == version("datasets") and record["gpus"] == [] and record["driver"] is None
    facts = env_facts.facts(record)
    assert facts["model"] == f"org/tiny @ {commit[:12]}" and facts["seed"].endswith("(default)")
    assert facts["torch CUDA"] == (environment.torch_build()["cuda"] or "none (CPU build)")

    # written atomically beside a run's files, read back; the same record has no differences
    environment.write(tmp_path, record)
    assert environment.read(tmp_path) == record and env_facts.differences(record, record) == []
    (tmp_path / "eval.jsonl").write_text('{"text": "c"}\n')
    changed = environment.collect(preset)
    [(label, then, now)] = env_facts.differences(record, changed)
    assert label == "data eval" and then != now and "sha256" in now
    assert environment.read(tmp_path / "nowhere") is None


def test_differing_lines_up_several_records_and_a_run_without_one():
    base = {"python": "3.11.7", "versions": {"transformers": "5.24.0"}, "gpus": [], "seed": 42}
    other = {**base, "versions": {"transformers": "4.57.1"},
             "gpus": [{"name": "NVIDIA A100-SXM4-80GB"}, {"name": "NVIDIA A100-SXM4-80GB"}]}
    rows = dict(env_facts.differing([base, other, None]))
    assert rows == {"transformers": ["5.24.0", "4.57.1", env_facts.NOT_RECORDED],
                    "GPUs": ["none", "2× NVIDIA A100-SXM4-80GB", env_facts.NOT_RECORDED]}


def test_defaults_make_an_unset_key_equal_to_its_default_written_out(tmp_path, warm_catalog):
    default_lr = get_catalog("sft").args["learning_rate"].default
    written = tmp_path / "written.toml"
    written.write_text(sft_preset("w", args={"learning_rate": default_lr, "max_steps": 1}))
    unset = tmp_path / "unset.toml"
    unset.write_text(sft_preset("u", args={"max_steps": 1, "weight_decay": 0.1}))
    a, b = (effective_values(preset_mod.load(p)) for p in (written, unset))
    assert a["args.learning_rate"] == (default_lr, False) and b["args.learning_rate"] == (default_lr, True)
    assert b["launch.backend"] == ("auto", True) and "peft.r" not in b  # [peft] is off: no defaults of it

    class Run:
        def __init__(self, values):
            self.values = values

    assert differing_keys([Run(a), Run(b)]) == [("args.weight_decay", [a["args.weight_decay"][0], 0.1])]
    assert same_value(1, 1.0) and not same_value(True, 1) and not same_value(UNSET, None)


@pytest.mark.parametrize("text, cuda", [("cuda: Optional[str] = '12.4'\nhip: Optional[str] = None\n", "12.4"),
                                        ("cuda = None\n", None)])
def test_torch_build_is_read_without_importing_torch(tmp_path, monkeypatch, text, cuda):
    import importlib.util
    import sys

    (tmp_path / "torch").mkdir()
    (tmp_path / "torch" / "__init__.py").write_text("raise ImportError('never imported')\n")
    (tmp_path / "torch" / "version.py").write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    importlib.invalidate_caches()
    assert environment.torch_build()["cuda"] == cuda
