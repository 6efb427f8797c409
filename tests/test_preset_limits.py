"""Presets no editor writes by mistake but a file can hold: nesting thousands of levels deep,
tens of thousands of unknown keys, UTF-16 text. Each gets a clear message and exit 2, quickly,
never an internal error."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from hftui.core.checks import MAX_UNKNOWN_KEYS, validate_file
from hftui.core.preset import ValueParseError, load, parse_value
from hftui.core.problems import PresetError
from hftui.tui import cli

REPO = Path(__file__).resolve().parent.parent
GOOD = (REPO / "tests" / "bad_inputs" / "good.toml").read_text(encoding="utf-8")


@pytest.fixture(autouse=True)
def _catalog(warm_catalog):
    return warm_catalog


@pytest.fixture
def project(tmp_path) -> Path:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.jsonl").write_text('{"text": "a"}\n{"text": "b"}\n', encoding="utf-8")
    return tmp_path


def run_cli(argv, capsys) -> tuple[int, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.mark.parametrize("body, key", [
    ("x = " + "[" * 10_000 + "]" * 10_000, ""),  # tomllib itself runs out of stack
    ("x = " + "{ a = " * 3_000 + "1" + " }" * 3_000, ""),
    ("[" + ".".join(["t"] * 10_000) + "]\ny = 1", "t"),  # parsed, then too deep for every check
    ("x = " + "[" * 30 + "]" * 30, "x"),
])
def test_deep_nesting_is_named_not_crashed(tmp_path, capsys, body, key):
    path = tmp_path / "deep.toml"
    path.write_text("schema = 1\n" + body + "\n", encoding="utf-8")
    with pytest.raises(PresetError) as exc:
        load(path)
    problem = exc.value.problems[0]
    assert problem.path == key and "nested more than 20 levels deep" in problem.message and problem.file == str(path)
    code, out = run_cli(["validate", str(path)], capsys)
    assert code == 2 and "nested more than 20 levels deep" in out and "internal error" not in out


def test_a_deep_set_value_is_refused(project):
    with pytest.raises(ValueParseError, match="more than 20 levels"):
        parse_value("[" * 5_000 + "]" * 5_000, "any")
    (project / "p.toml").write_text(GOOD, encoding="utf-8")
    _preset, problems = validate_file(project / "p.toml", ["dataset.data_files=" + "[" * 40 + "]" * 40])
    assert any(p.path == "dataset.data_files" and "levels deep" in p.message for p in problems)


def test_utf16_and_byte_order_marks(tmp_path, capsys):
    u16 = tmp_path / "u16.toml"
    u16.write_bytes(GOOD.encode("utf-16"))
    code, out = run_cli(["validate", str(u16)], capsys)
    assert code == 2 and "is UTF-16 text, not UTF-8" in out and "iconv" in out
    bare = tmp_path / "u16le.toml"
    bare.write_bytes(GOOD.encode("utf-16-le"))  # no byte-order mark
    with pytest.raises(PresetError, match="UTF-16"):
        load(bare)
    bom = tmp_path / "bom.toml"
    bom.write_bytes(b"\xef\xbb\xbf" + GOOD.encode("utf-8"))  # as Windows Notepad saves
    assert load(bom).get("args.max_steps") == 2
    latin = tmp_path / "latin.toml"
    latin.write_bytes(b'schema = 1\nname = "caf\xe9"\n')
    with pytest.raises(PresetError) as exc:
        load(latin)
    assert exc.value.problems[0].line == 2 and "not UTF-8" in exc.value.problems[0].message


def test_a_file_far_larger_than_any_preset_is_not_read(tmp_path, capsys):
    path = tmp_path / "huge.toml"
    with open(path, "wb") as fh:
        fh.truncate(40 << 20)  # 40 MB, sparse: a disk image or a log given by mistake
    code, out = run_cli(["validate", str(path)], capsys)
    assert code == 2 and "is larger than 32 MB: not a preset" in out


def test_fifty_thousand_unknown_keys_validate_in_seconds(project):
    typos = "learnig_rate = 1e-4\nwarmup_stepz = 3\n"
    unknown = "".join(f"unknown_option_{i}_{'x' * 40} = {i}\n" for i in range(50_000))
    path = project / "huge.toml"
    path.write_text(GOOD + typos + unknown, encoding="utf-8")
    assert path.stat().st_size > 3_000_000
    start = time.monotonic()
    _preset, problems = validate_file(path)
    elapsed = time.monotonic() - start
    print(f"\nvalidate of 50,002 unknown keys ({path.stat().st_size / 1e6:.1f} MB): {elapsed:.2f} s")
    assert elapsed < 20, elapsed  # a hang guard: it takes about two seconds
    unknown_lines = [p for p in problems if p.message.startswith("unknown option")]
    assert len(unknown_lines) == MAX_UNKNOWN_KEYS
    assert "did you mean args.learning_rate" in unknown_lines[0].hint
    assert "did you mean args.warmup_steps" in unknown_lines[1].hint
    summary = [p for p in problems if p.message.startswith("and ")]
    assert len(summary) == 1 and "and 49,952 more unknown keys (49,952 in [args], lines" in summary[0].message
    assert summary[0].is_error and summary[0].line == unknown_lines[-1].line + 1


def test_a_few_unknown_keys_are_each_named(project):
    path = project / "few.toml"
    path.write_text("lr = 1\n" + GOOD + "learnig_rate = 1e-4\n", encoding="utf-8")
    _preset, problems = validate_file(path)
    assert [p.path for p in problems if p.message.startswith("unknown")] == ["lr", "args.learnig_rate"]
    assert not [p for p in problems if p.message.startswith("and ")]


def test_the_wizard_names_a_preset_that_is_a_link_loop(tmp_path, capsys):
    """A link loop is no new file to start: the wizard says what it is and exits 2."""
    loop = tmp_path / "loop.toml"
    loop.symlink_to(loop)
    assert cli.main([str(loop)]) == 2
    err = capsys.readouterr().err
    assert "symbolic link loop" in err and "Traceback" not in err


def test_a_whole_number_set_on_a_float_option_stays_whole():
    """`--set args.eval_steps=10` gives 10, as the wizard saves it, not 10.0."""
    assert parse_value("10", "float") == 10 and isinstance(parse_value("10", "float"), int)
    assert parse_value("1_000", "float") == 1000
    assert isinstance(parse_value("0.1", "float"), float) and isinstance(parse_value("3.0", "float"), float)
