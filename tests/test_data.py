"""Dataset loading: splits, columns, labels, and clear problems for broken data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hftui.core.train import data as data_mod
from hftui.core import preset as preset_mod
from hftui.core.train.modeling import BYTE_TOKENIZER_VOCAB, byte_tokenizer
from hftui.core.problems import PresetError


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def make_preset(folder: Path, body: str):
    path = folder / "p.toml"
    path.write_text("schema = 1\n" + body, encoding="utf-8")
    return preset_mod.load(path)


CLS = '[model]\ntask = "sequence-classification"\n[trainer]\ntype = "trainer"\n'


def test_classification_labels_mapped_and_num_labels_inferred(tmp_path):
    write_jsonl(tmp_path / "train.jsonl", [{"text": f"row {i}", "label": ["neg", "pos", "mid"][i % 3]} for i in range(12)])
    p = make_preset(tmp_path, CLS + '[dataset]\npath = "json"\ndata_files = "train.jsonl"\neval_fraction = 0.25\nmax_length = 16\n')
    prepared = data_mod.prepare(p, byte_tokenizer())
    assert prepared.num_labels == 3
    assert prepared.label_names == ["mid", "neg", "pos"]
    assert len(prepared.train) == 9 and len(prepared.eval) == 3
    assert set(prepared.train.column_names) >= {"input_ids", "labels"}
    assert max(len(x) for x in prepared.train["input_ids"]) <= 16


def test_data_files_table_gives_the_eval_split(tmp_path):
    write_jsonl(tmp_path / "a.jsonl", [{"text": "hello"}] * 5)
    write_jsonl(tmp_path / "b.jsonl", [{"text": "bye"}] * 2)
    p = make_preset(tmp_path, '[trainer]\ntype = "sft"\n[dataset]\npath = "json"\ndata_files = { train = "a.jsonl", eval = "b.jsonl" }\nmax_train_samples = 3\n')
    train, evald = data_mod.load_splits(p)
    assert len(train) == 3 and len(evald) == 2


def test_missing_column_names_the_columns_that_exist(tmp_path):
    write_jsonl(tmp_path / "train.jsonl", [{"sentence": "x", "y": 1}] * 4)
    p = make_preset(tmp_path, CLS + '[dataset]\npath = "json"\ndata_files = "train.jsonl"\n')
    with pytest.raises(PresetError) as err:
        data_mod.prepare(p, byte_tokenizer())
    problems = err.value.problems
    assert {q.path for q in problems} == {"dataset.text_column", "dataset.label_column"}  # both, at once
    assert all("sentence" in q.hint and "y" in q.hint for q in problems)


def test_missing_file_and_unreadable_file(tmp_path):
    p = make_preset(tmp_path, '[trainer]\ntype = "sft"\n[dataset]\npath = "json"\ndata_files = "nope.jsonl"\n')
    with pytest.raises(PresetError) as err:
        data_mod.load_splits(p)
    assert "not found" in err.value.problems[0].message and "nope.jsonl" in err.value.problems[0].message
    (tmp_path / "bad.jsonl").write_text('{"text": "ok"}\n{this is not json\n', encoding="utf-8")
    p = make_preset(tmp_path, '[trainer]\ntype = "sft"\n[dataset]\npath = "json"\ndata_files = "bad.jsonl"\n')
    with pytest.raises(PresetError) as err:
        data_mod.load_splits(p)
    problem = err.value.problems[0]
    assert "bad.jsonl" in problem.message and problem.path == "dataset.data_files"


def test_empty_split_and_unknown_split(tmp_path):
    write_jsonl(tmp_path / "train.jsonl", [{"text": "a"}] * 3)
    (tmp_path / "empty.jsonl").write_text("", encoding="utf-8")
    p = make_preset(tmp_path, '[trainer]\ntype = "sft"\n[dataset]\npath = "json"\ndata_files = { train = "train.jsonl", eval = "empty.jsonl" }\n')
    with pytest.raises(PresetError) as err:
        data_mod.load_splits(p)
    assert any("empty" in q.message for q in err.value.problems)
    p = make_preset(tmp_path, '[trainer]\ntype = "sft"\n[dataset]\npath = "json"\ndata_files = "train.jsonl"\neval_split = "validation"\n')
    with pytest.raises(PresetError) as err:
        data_mod.load_splits(p)
    assert err.value.problems[0].path == "dataset.eval_split" and "train" in err.value.problems[0].hint


def test_reward_and_ppo_columns(tmp_path):
    write_jsonl(tmp_path / "pairs.jsonl", [{"good": "yes", "bad": "no", "prompt": "q"}] * 4)
    p = make_preset(tmp_path, '[trainer]\ntype = "reward"\n[dataset]\npath = "json"\ndata_files = "pairs.jsonl"\nchosen_column = "good"\nrejected_column = "bad"\n')
    prepared = data_mod.prepare(p, byte_tokenizer())
    assert prepared.train.column_names == ["chosen", "rejected"]
    p = make_preset(tmp_path, '[trainer]\ntype = "ppo"\n[dataset]\npath = "json"\ndata_files = "pairs.jsonl"\nmax_length = 8\n')
    prepared = data_mod.prepare(p, byte_tokenizer())
    assert prepared.train.column_names == ["input_ids"] and len(prepared.train[0]["input_ids"]) == 1


def test_sft_messages_column(tmp_path):
    write_jsonl(tmp_path / "chat.jsonl", [{"conv": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "HI"}]}] * 3)
    p = make_preset(tmp_path, '[trainer]\ntype = "sft"\n[dataset]\npath = "json"\ndata_files = "chat.jsonl"\nmessages_column = "conv"\n')
    prepared = data_mod.prepare(p, byte_tokenizer())
    assert prepared.train.column_names == ["messages"]


def test_sft_needs_text_or_messages(tmp_path):
    write_jsonl(tmp_path / "rows.jsonl", [{"body": "x"}] * 3)
    p = make_preset(tmp_path, '[trainer]\ntype = "sft"\n[dataset]\npath = "json"\ndata_files = "rows.jsonl"\n')
    with pytest.raises(PresetError) as err:
        data_mod.prepare(p, byte_tokenizer())
    (problem,) = err.value.problems
    assert problem.path == "dataset.text_column"
    assert problem.message == "the train data has neither a 'text' nor a 'messages' nor a 'completion' column"
    assert problem.hint == ("columns there: body; set dataset.text_column (plain text) or dataset.messages_column (chat) "
                            "or dataset.completion_column (prompt/completion)")


def test_byte_tokenizer_round_trip_and_chat_template():
    tok = byte_tokenizer()
    assert len(tok) == BYTE_TOKENIZER_VOCAB == 260 and (tok.pad_token_id, tok.bos_token_id, tok.eos_token_id) == (0, 1, 2)
    text = "héllo, wörld ✓"
    assert tok.decode(tok(text)["input_ids"]) == text
    assert len(tok("abc")["input_ids"]) == 3
    rendered = tok.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True)
    assert rendered == "<|user|>\nhi</s>\n<|assistant|>\n"


def test_synth_is_deterministic_and_matches_the_committed_files(tmp_path):
    from hftui.core import synth

    synth.generate(tmp_path)
    shipped = synth.default_folder()
    for name in synth.FILES:
        assert (tmp_path / name).read_bytes() == (shipped / name).read_bytes(), name


def test_regression_labels_with_one_label(tmp_path):
    write_jsonl(tmp_path / "train.jsonl", [{"text": f"row {i}", "label": i / 4} for i in range(8)])
    p = make_preset(tmp_path, '[model]\ntask = "sequence-classification"\nnum_labels = 1\n[trainer]\ntype = "trainer"\n[dataset]\npath = "json"\ndata_files = "train.jsonl"\n')
    prepared = data_mod.prepare(p, byte_tokenizer())
    assert prepared.num_labels == 1 and prepared.train["labels"][:3] == [0.0, 0.25, 0.5]
    write_jsonl(tmp_path / "train.jsonl", [{"text": "a", "label": "high"}, {"text": "b", "label": 0.5}])
    with pytest.raises(PresetError) as err:
        data_mod.prepare(p, byte_tokenizer())
    assert "regression" in err.value.problems[0].message


def test_float_labels_for_classes_are_a_problem(tmp_path):
    write_jsonl(tmp_path / "train.jsonl", [{"text": "a", "label": 0.5}, {"text": "b", "label": 1}])
    p = make_preset(tmp_path, CLS + '[dataset]\npath = "json"\ndata_files = "train.jsonl"\n')
    with pytest.raises(PresetError) as err:
        data_mod.prepare(p, byte_tokenizer())
    assert err.value.problems[0].path == "dataset.label_column"


def _tokenizer_that_adds_eos():
    """The byte tokenizer, made to end everything it encodes with </s> as T5's tokenizer does."""
    from tokenizers import processors

    tok = byte_tokenizer()
    tok.backend_tokenizer.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", tok.eos_token_id)]),
    ])
    assert tok("ab")["input_ids"][-1] == tok.eos_token_id
    return tok


@pytest.mark.parametrize("adds_eos", [False, True], ids=["byte-tokenizer", "tokenizer-adds-eos"])
def test_every_target_and_text_ends_with_one_eos(adds_eos):
    tok = _tokenizer_that_adds_eos() if adds_eos else byte_tokenizer()
    eos = tok.eos_token_id
    batch = {"text": ["hello there", "a"], "target": ["general kenobi", "b"]}
    out = data_mod.tokenize_seq2seq(batch, tok, "text", "target", 64)
    for labels, target in zip(out["labels"], batch["target"]):
        assert labels[-1] == eos and labels.count(eos) == 1
        assert tok.decode(labels, skip_special_tokens=True) == target
    out = data_mod.tokenize_causal_lm(batch, tok, "text", 64)
    for ids, labels in zip(out["input_ids"], out["labels"]):
        assert ids[-1] == eos and ids.count(eos) == 1 and labels == ids


def test_seq2seq_metrics_are_computed_on_generated_text(tmp_path):
    from hftui.core.train.trainer_config import config_kwargs

    base = '[model]\ntask = "seq2seq-lm"\n[trainer]\ntype = "trainer"\nmetrics = {}\n[dataset]\nmax_length = 24\n'
    for metrics, generate in (('["accuracy"]', True), ('["bleu"]', True), ('["perplexity"]', None), ("[]", None)):
        args = config_kwargs(make_preset(tmp_path, base.format(metrics)), auto_cpu=False)
        assert args.get("predict_with_generate") is generate, metrics
        assert args.get("generation_max_length") == (24 if generate else None)
