"""The bad-input corpus: every broken preset, `--set` value, command line and data file in
tests/bad_inputs gives a clear message naming the file and the key, a non-zero exit, never a
traceback, and changes no file of the person's.

Each case runs the real command-line entry point (`hftui.tui.cli.main`) in this process, which
is fast; a batch and a representative few also run as real subprocesses.

A preset in the corpus declares what it must produce in its first lines:

    # expect: args.learning_rate | at least 0

(the dotted key, empty for a whole-file problem, then a piece of the message or of its fix).
A preset that is legal but deserves a warning adds `# exit: 0` (its verdict is then "valid").
No case's output may hold a raw terminal escape (ESC or the C1 CSI), whatever its file holds.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conftest import REPO, hftui_cmd
from hftui.tui import cli

CORPUS = Path(__file__).resolve().parent / "bad_inputs"
EXPECT = re.compile(r"^# expect: *(\S*) *\| (.*)$", re.M)
EXIT = re.compile(r"^# exit: *(\d+)$", re.M)

# Files that cannot carry an `# expect:` line.
NO_COMMENT = {
    "empty.toml": ("", "the preset file is empty"),
    "not_utf8.toml": ("", "not UTF-8"),
    "binary.toml": ("", "binary file"),
    "a_directory.toml": ("", "is a directory"),
    "data_preset_utf16.toml": ("", "is UTF-16 text"),
    "data_preset_pipe.toml": ("", "is a named pipe"),
    "data_preset_loop.toml": ("", "is a symbolic link loop"),
}

# Files git cannot hold (a named pipe) or that a copy would follow (a symbolic link loop): made
# in the corpus copy by the `corpus` fixture, as "fifo" or "loop" (a link to itself).
SPECIAL = {
    "data/pipe.jsonl": "fifo",
    "data/loop.jsonl": "loop",
    "data/loop_dir": "loop",
    "data_preset_pipe.toml": "fifo",
    "data_preset_loop.toml": "loop",
}


def make_special(folder: Path) -> None:
    for name, kind in SPECIAL.items():
        path = folder / name
        if kind == "fifo":
            os.mkfifo(path)
        else:
            os.symlink(path.name, path)


@dataclass(frozen=True)
class Case:
    id: str
    argv: tuple[str, ...]
    file: str | None  # the file the messages must name
    expect: tuple[tuple[str, str], ...]  # (key, text) pairs, all required
    exit_code: int = 2
    plain: tuple[str, ...] = field(default=())  # for argument errors: text anywhere in the output


def _preset_cases() -> list[Case]:
    cases = []
    special = [CORPUS / name for name in SPECIAL if name.endswith(".toml")]
    for path in sorted(set(CORPUS.glob("*.toml")) | set(special)):
        if path.name == "good.toml":
            continue
        if path.name in NO_COMMENT:
            expect = (NO_COMMENT[path.name],)
        else:
            expect = tuple(EXPECT.findall(path.read_text(encoding="utf-8")))
            assert expect, f"{path.name} has no '# expect:' line"
        exit_line = EXIT.search(path.read_text(encoding="utf-8")) if path.name not in NO_COMMENT else None
        cases.append(Case(f"preset:{path.stem}", ("validate", path.name), path.name, expect,
                          exit_code=int(exit_line.group(1)) if exit_line else 2))
    return cases


SET_CASES = [
    # (id, --set values, key, text)
    ("float-word", ["args.learning_rate=fast"], "args.learning_rate", "expected a number"),
    ("int-fraction", ["args.max_steps=1.5"], "args.max_steps", "whole number"),
    ("bool-word", ["args.bf16=maybe"], "args.bf16", "true or false"),
    ("unknown-arg", ["args.lr=1e-4"], "args.lr", "did you mean args.learning_rate"),
    ("unknown-arg-typo", ["args.per_device_batch_size=8"], "args.per_device_batch_size", "did you mean"),
    ("no-equals", ["args.max_steps"], "args.max_steps", "KEY=VALUE"),
    ("empty-key", ["=3"], "=3", "KEY=VALUE"),
    ("int-or-auto", ["launch.num_processes=many"], "launch.num_processes", "whole number"),
    ("bad-choice", ["args.eval_strategy=sometimes"], "args.eval_strategy", "choose one of"),
    ("negative", ["args.learning_rate=-1"], "args.learning_rate", "at least 0"),
    ("bad-task", ["model.task=vision"], "model.task", "choose one of"),
    ("unknown-section", ["optimizer.name=adamw"], "optimizer.name", "unknown key"),
    ("huge", ["args.per_device_train_batch_size=99999999999"], "args.per_device_train_batch_size", "too large"),
    ("bad-inline-table", ["dataset.data_files={ train = "], "dataset.data_files", "data_files"),
    ("several-at-once", ["args.max_steps=x", "args.bf16=perhaps", "args.warmup_stepz=3"], "args.warmup_stepz", "did you mean args.warmup_steps"),
]

CLI_CASES = [
    # (id, argv, texts that must all be in the output)
    ("validate-no-preset", ["validate"], ("the following arguments are required: PRESET",)),
    ("validate-unknown-option", ["validate", "--frobnicate", "good.toml"], ("unrecognized arguments: --frobnicate",)),
    ("validate-set-without-value", ["validate", "good.toml", "--set"], ("argument --set: expected one argument",)),
    ("validate-missing-file", ["validate", "no_such_preset.toml"], ("no_such_preset.toml: error: no such file",)),
    ("validate-good-and-missing", ["validate", "good.toml", "no_such_preset.toml"], ("good.toml: valid", "no_such_preset.toml: invalid")),
    ("run-no-preset", ["run"], ("give a preset file to train (hftui run PRESET), or a run to train again (hftui run --again RUN)",)),
    ("run-missing-file", ["run", "no_such_preset.toml"], ("no_such_preset.toml: error: no such file",)),
    ("run-directory", ["run", "a_directory.toml"], ("a_directory.toml: error: is a directory",)),
    ("run-invalid-preset", ["run", "conflict_fp16_bf16.toml"], ("conflict_fp16_bf16.toml:", "args.bf16", "both true")),
    ("run-bad-set", ["run", "good.toml", "--set", "args.max_steps=oops"], ("good.toml args.max_steps", "whole number")),
    ("run-unknown-option", ["run", "good.toml", "--epochs", "3"], ("unrecognized arguments: --epochs 3",)),
    ("wizard-unknown-option", ["--frobnicate"], ("unrecognized arguments: --frobnicate",)),
    ("mistyped-command", ["valdate", "good.toml"], ("unknown command 'valdate'", "did you mean validate?")),
    ("unknown-command-with-preset", ["trian", "good.toml"], ("unknown command 'trian'; did you mean run?", "commands: run, validate")),
    ("wizard-bad-language", ["--lang", "fr"], ("argument --lang: invalid choice: 'fr'",)),
]
if (REPO / "tui" / "commands" / "export.py").exists():
    CLI_CASES += [
        ("export-invalid-preset", ["export", "conflict_fp16_bf16.toml", "--to", "python"], ("conflict_fp16_bf16.toml", "both true")),
        ("export-bad-target", ["export", "good.toml", "--to", "fortran"], ("invalid choice",)),
        ("export-missing-file", ["export", "no_such_preset.toml", "--to", "python"], ("no_such_preset.toml", "no such file")),
    ]


def all_cases() -> list[Case]:
    cases = _preset_cases()
    for cid, values, key, text in SET_CASES:
        argv = ["validate", "good.toml"]
        for v in values:
            argv += ["--set", v]
        cases.append(Case(f"set:{cid}", tuple(argv), "good.toml", ((key, text),)))
    for cid, argv, texts in CLI_CASES:
        cases.append(Case(f"cli:{cid}", tuple(argv), None, (), plain=tuple(texts)))
    return cases


CASES = all_cases()


def snapshot(folder: Path) -> dict[str, tuple]:
    """Every path under `folder` with its content hash, size and modification time."""
    state = {}
    for path in sorted(folder.rglob("*")):
        st = path.lstat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
        state[str(path.relative_to(folder))] = (digest, st.st_size if path.is_file() else 0, st.st_mtime_ns, st.st_mode)
    return state


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """A copy of the corpus, as a person's own folder of presets."""
    target = tmp_path_factory.mktemp("bad-inputs") / "corpus"
    shutil.copytree(CORPUS, target)
    make_special(target)
    return target


def _run_in_process(argv, capsys) -> tuple[int, str, str]:
    try:
        code = cli.main(list(argv))
    except SystemExit as exc:  # argparse's own errors
        code = exc.code if isinstance(exc.code, int) else 1
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _names(err: str, file: str, key: str, text: str) -> bool:
    """Whether a problem line for `file` names `key` and carries `text` (in it or its fix)."""
    lines = err.splitlines()
    for i, line in enumerate(lines):
        if not (line.startswith(file + ":") or line.startswith(file + " ")):
            continue
        block = line + (" " + lines[i + 1] if i + 1 < len(lines) and lines[i + 1].startswith("    fix:") else "")
        if (not key or f" {key}:" in line) and text in block:
            return True
    return False


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, corpus, capsys, monkeypatch):
    monkeypatch.chdir(corpus)
    before = snapshot(corpus)
    code, out, err = _run_in_process(case.argv, capsys)
    combined = out + err
    assert code == case.exit_code, f"exit {code}, expected {case.exit_code}\n{combined}"
    assert "Traceback" not in combined
    assert "internal error" not in combined, combined
    assert "\x1b" not in combined and "\x9b" not in combined, f"a raw terminal escape reached the output:\n{combined!r}"
    for key, text in case.expect:
        assert _names(err, case.file, key, text), f"no message naming {case.file} {key!r} with {text!r}:\n{err}"
    for text in case.plain:
        assert text in combined, f"{text!r} not in:\n{combined}"
    if case.file:
        verdict = "invalid" if case.exit_code else "valid"
        assert re.search(rf"^{re.escape(case.file)}: {verdict}", out, re.M), out
    assert snapshot(corpus) == before, "a file of the person's changed"


def test_corpus_size():
    distinct = {c.argv for c in CASES}
    broken_files = [c for c in CASES if c.id.startswith("preset:")]
    print(f"\nbad-input corpus: {len(CASES)} cases ({len(broken_files)} broken presets and data files, "
          f"{len(SET_CASES)} --set values, {len(CLI_CASES)} command lines)")
    assert len(distinct) == len(CASES), "two cases run the same command"
    assert len(CASES) >= 150
    assert len(broken_files) >= 30


def test_unwritable_output_dir(tmp_path, capsys, monkeypatch):
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        pytest.skip("root can write anywhere: permissions cannot make a folder unwritable")
    folder = tmp_path / "project"
    shutil.copytree(CORPUS / "data", folder / "data")
    (folder / "locked").mkdir()
    preset = folder / "p.toml"
    preset.write_text((CORPUS / "good.toml").read_text(encoding="utf-8").replace('output_dir = "runs/broken"', 'output_dir = "locked/run"'), encoding="utf-8")
    os.chmod(folder / "locked", 0o500)
    try:
        monkeypatch.chdir(folder)
        code, out, err = _run_in_process(["validate", "p.toml"], capsys)
        assert code == 2 and _names(err, "p.toml", "args.output_dir", "no write permission"), err
    finally:
        os.chmod(folder / "locked", 0o700)


@pytest.mark.slow
def test_the_whole_corpus_in_one_subprocess(corpus):
    names = sorted(p.name for p in corpus.glob("*.toml"))
    before = snapshot(corpus)
    out = subprocess.run(hftui_cmd("validate", *names), cwd=corpus, capture_output=True, text=True, timeout=300)
    assert out.returncode == 2
    assert "Traceback" not in out.stdout + out.stderr
    verdicts = dict(line.split(": ", 1) for line in out.stdout.splitlines() if ": " in line)
    assert set(verdicts) == set(names)
    legal = {"good.toml"} | {c.file for c in CASES if c.id.startswith("preset:") and c.exit_code == 0}
    for name in names:
        expected = "valid" if name in legal else "invalid"
        assert verdicts[name].split(":")[0].split(" ")[0] == expected, (name, verdicts[name])
    assert snapshot(corpus) == before


@pytest.mark.slow
@pytest.mark.parametrize(
    "argv, text",
    [
        (["validate"], "the following arguments are required"),
        (["validate", "binary.toml", "empty.toml", "a_directory.toml"], "is a directory"),
        (["validate", "good.toml", "--set", "args.lr=1"], "did you mean args.learning_rate"),
        (["run", "conflict_deepspeed_fsdp.toml"], "cannot shard"),
        (["run", "good.toml", "--set", "args.bf16=maybe"], "true or false"),
    ] + ([(["export", "number_negative_lr.toml", "--to", "python"], "at least 0")] if (REPO / "tui" / "commands" / "export.py").exists() else []),
    ids=lambda v: " ".join(v) if isinstance(v, list) else None,
)
def test_representative_cases_in_a_subprocess(corpus, argv, text):
    before = snapshot(corpus)
    out = subprocess.run(hftui_cmd(*argv), cwd=corpus, capture_output=True, text=True, timeout=120)
    combined = out.stdout + out.stderr
    assert out.returncode == 2, combined
    assert text in combined and "Traceback" not in combined
    assert snapshot(corpus) == before
    assert not (corpus / "runs").exists(), "an invalid preset started a run"
