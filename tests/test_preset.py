"""The preset file: load, save keeping the person's comments and order, atomic writes,
relative paths, and `--set` typing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hftui.core import fsutil
from hftui.core import preset as preset_mod
from hftui.core.options.toml_text import key_lines, line_of
from hftui.core.preset import apply_overrides, load, save
from hftui.core.problems import PresetError

COMMENTED = """\
# My sentiment run: keep these notes!
schema = 1
name = "sst2"   # shown in hftui runs

[model]
# a tiny fresh model, no download
task = "causal-lm"

[model.scratch]
architecture = "llama"
hidden_size = 32   # small on purpose

[dataset]
path = "json"
data_files = "data/train.jsonl"

[trainer]
type = "sft"

[args]
# learning rate from the paper
learning_rate = 5e-5
max_steps = 10
output_dir = "runs/sst2"
"""


def _write(tmp_path: Path, text: str = COMMENTED, name: str = "p.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_load_reads_every_section(tmp_path):
    p = load(_write(tmp_path))
    assert p.get("schema") == 1
    assert p.get("args.learning_rate") == 5e-5
    assert p.get("model.scratch.hidden_size") == 32
    assert p.trainer_type == "sft" and p.task == "causal-lm"
    assert p.name == "sst2"
    assert p.source_text == COMMENTED


def test_save_keeps_comments_and_order_when_a_value_changes(tmp_path):
    path = _write(tmp_path)
    p = load(path).with_value("args.learning_rate", 1e-4)
    save(p)
    text = path.read_text(encoding="utf-8")
    # every line but the changed one is byte-identical
    before, after = COMMENTED.splitlines(), text.splitlines()
    assert len(before) == len(after)
    changed = [(a, b) for a, b in zip(before, after) if a != b]
    assert len(changed) == 1 and changed[0][0] == "learning_rate = 5e-5" and "learning_rate = 0.0001" in changed[0][1]
    assert load(path).get("args.learning_rate") == 1e-4


def test_save_adds_new_keys_and_sections_without_losing_comments(tmp_path):
    path = _write(tmp_path)
    p = load(path).with_value("args.bf16", True).with_value("peft.r", 8).with_value("dataset.data_files", {"train": "a.jsonl", "eval": "b.jsonl"})
    save(p)
    text = path.read_text(encoding="utf-8")
    for comment in ("# My sentiment run: keep these notes!", "# shown in hftui runs", "# a tiny fresh model, no download", "# small on purpose", "# learning rate from the paper"):
        assert comment in text
    again = load(path)
    assert again.get("args.bf16") is True and again.get("peft.r") == 8
    assert again.get("dataset.data_files") == {"train": "a.jsonl", "eval": "b.jsonl"}
    # the original order of sections is kept; the new one comes last
    order = [line for line in text.splitlines() if line.startswith("[")]
    assert order == ["[model]", "[model.scratch]", "[dataset]", "[trainer]", "[args]", "[peft]"]


def test_save_removes_a_key(tmp_path):
    path = _write(tmp_path)
    save(load(path).without("args.max_steps"))
    again = load(path)
    assert not again.has("args.max_steps") and again.get("args.learning_rate") == 5e-5
    assert "# learning rate from the paper" in path.read_text(encoding="utf-8")


def test_a_new_preset_round_trips(tmp_path):
    data = {"schema": 1, "model": {"name_or_path": "gpt2"}, "args": {"learning_rate": 2e-5, "report_to": ["tensorboard"]}}
    target = tmp_path / "sub" / "new.toml"
    saved = save(preset_mod.Preset(data=data), target)
    assert saved.path == target.resolve()
    assert load(target).data == data


def test_failed_save_leaves_the_old_file_intact(tmp_path, monkeypatch):
    folder = tmp_path / "w"
    folder.mkdir()
    path = _write(folder)
    before = path.read_bytes()

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fsutil.os, "fsync", disk_full)
    with pytest.raises(OSError):
        save(load(path).with_value("args.max_steps", 99))
    assert path.read_bytes() == before
    assert sorted(x.name for x in folder.iterdir()) == ["p.toml"], "a temporary file was left behind"


def test_save_writes_through_a_rename(tmp_path, monkeypatch):
    """A reader never sees a half-written preset: the new text appears in one rename."""
    path = _write(tmp_path)
    seen = []
    real_replace = os.replace

    def spy(src, dst):
        seen.append((Path(src).parent, Path(dst)))
        assert path.read_text(encoding="utf-8") == COMMENTED  # still the old one until now
        real_replace(src, dst)

    monkeypatch.setattr(fsutil.os, "replace", spy)
    save(load(path).with_value("args.max_steps", 3))
    assert seen == [(tmp_path, path)]
    assert load(path).get("args.max_steps") == 3


def test_relative_paths_resolve_against_the_preset_folder(tmp_path, monkeypatch):
    folder = tmp_path / "project"
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "train.jsonl").write_text('{"text": "a"}\n', encoding="utf-8")
    path = _write(folder)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    p = load(Path("..") / "project" / "p.toml")
    assert p.resolve("data/train.jsonl") == folder.resolve() / "data" / "train.jsonl"
    assert p.output_dir() == folder.resolve() / "runs" / "sst2"
    assert p.resolve("/abs/x") == Path("/abs/x")
    # and validation finds the data file there, not in the working directory
    from hftui.core.checks import validate_file

    _p, problems = validate_file(path)
    assert not [x for x in problems if "data_files" in x.path], problems


def test_key_lines_point_at_keys_and_tables():
    lines = key_lines(COMMENTED)
    assert lines["schema"] == 2
    assert lines["model.scratch"] == 9
    assert lines["model.scratch.hidden_size"] == 11
    assert lines["args.learning_rate"] == 22
    assert line_of(lines, "args.not_there") == lines["args"]


# -- --set typing ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "assignment, key, expected",
    [
        ("args.learning_rate=1e-4", "args.learning_rate", 1e-4),
        ("args.learning_rate=3", "args.learning_rate", 3),  # whole numbers stay whole, as in the wizard
        ("args.bf16=true", "args.bf16", True),
        ("args.bf16=False", "args.bf16", False),
        ("args.max_steps=10", "args.max_steps", 10),
        ("args.max_steps=1_000", "args.max_steps", 1000),
        ("args.eval_strategy=steps", "args.eval_strategy", "steps"),
        ("args.report_to=tensorboard", "args.report_to", "tensorboard"),
        ('args.report_to=["tensorboard", "wandb"]', "args.report_to", ["tensorboard", "wandb"]),
        ("trainer.metrics=accuracy,f1", "trainer.metrics", ["accuracy", "f1"]),
        ('trainer.metrics=["accuracy"]', "trainer.metrics", ["accuracy"]),
        ('peft.target_modules=["q_proj", "v_proj"]', "peft.target_modules", ["q_proj", "v_proj"]),
        ("peft.target_modules=all-linear", "peft.target_modules", "all-linear"),
        ("launch.num_processes=auto", "launch.num_processes", "auto"),
        ("launch.num_processes=2", "launch.num_processes", 2),
        ("model.scratch.hidden_size=48", "model.scratch.hidden_size", 48),
        ('dataset.data_files={ train = "a.jsonl", eval = "b.jsonl" }', "dataset.data_files", {"train": "a.jsonl", "eval": "b.jsonl"}),
        ("name=my run", "name", "my run"),
    ],
)
def test_set_values_are_typed_from_the_catalog(tmp_path, assignment, key, expected):
    p = apply_overrides(load(_write(tmp_path)), [assignment])
    value = p.get(key)
    assert value == expected and type(value) is type(expected)


def test_bad_set_values_are_reported_together(tmp_path):
    p = load(_write(tmp_path))
    with pytest.raises(PresetError) as caught:
        apply_overrides(p, ["args.learning_rate=fast", "args.max_steps=1.5", "args.bf16=maybe", "args.learnig_rate=1", "no-equals-sign", "launch.num_processes=many"])
    problems = caught.value.problems
    assert [x.path for x in problems] == ["args.learning_rate", "args.max_steps", "args.bf16", "args.learnig_rate", "no-equals-sign", "launch.num_processes"]
    assert all(x.severity == "error" for x in problems)
    by = {x.path: x for x in problems}
    assert "number" in by["args.learning_rate"].message
    assert "whole number" in by["args.max_steps"].message
    assert "true or false" in by["args.bf16"].message
    assert "did you mean args.learning_rate" in by["args.learnig_rate"].hint
    assert "KEY=VALUE" in by["no-equals-sign"].message


def test_set_keeps_the_file_untouched(tmp_path):
    path = _write(tmp_path)
    before = path.read_bytes(), path.stat().st_mtime_ns
    apply_overrides(load(path), ["args.max_steps=3"])
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


def test_every_syntax_error_is_reported_with_its_line(tmp_path):
    text = 'schema = 1\nname = broken run\n[model]\ntask = "causal-lm"\n[args\nbf16 = True\nmax_steps = 3\nmax_steps = 4\n'
    path = _write(tmp_path, text)
    with pytest.raises(PresetError) as caught:
        load(path)
    problems = caught.value.problems
    assert [p.line for p in problems] == [2, 5, 6, 8]
    assert all(p.severity == "error" and p.file == str(path) and p.message.startswith("not valid TOML") for p in problems)
    hints = [p.hint for p in problems]
    assert 'name = "broken run"' in hints[0]
    assert "]" in hints[1]
    assert "true" in hints[2]
    assert "only once" in hints[3]


def test_binary_and_foreign_encodings_are_named(tmp_path):
    binary = tmp_path / "b.toml"
    binary.write_bytes(b"\x7fELF\x02\x01\x01\x00\x00\x00")
    latin = tmp_path / "l.toml"
    latin.write_bytes('name = "caf\xe9"\n'.encode("latin-1"))
    for path, text in ((binary, "binary"), (latin, "not UTF-8")):
        with pytest.raises(PresetError) as caught:
            load(path)
        (p,) = caught.value.problems
        assert text in p.message and p.file == str(path)


def test_set_accepts_old_names_and_migrates_them(tmp_path):
    p = apply_overrides(load(_write(tmp_path)), ["args.evaluation_strategy=epoch", "args.warmup_ratio=0.1"])
    assert p.get("args.eval_strategy") == "epoch" and not p.has("args.evaluation_strategy")
    assert p.get("args.warmup_steps") == 0.1
    notes = {n.path: n for n in p.notices}
    assert "eval_strategy" in notes["args.evaluation_strategy"].message
    assert "warmup_steps" in notes["args.warmup_ratio"].message
