"""Exports of a hostile preset: names, paths and values that would run code or commands if any of
them reached a script, a command line or a comment as text. Each artefact must still parse, hold
the values exactly (as literals and quoted words), and run nothing of theirs."""

from __future__ import annotations

import ast
import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from tiny_presets import scratch_llama, sft_preset

# Closes a docstring and a quoted string, starts a comment, then a new line with command
# substitutions and a broken-out single quote: every way text could turn into code or commands.
HOSTILE = "\"\"\"; import os; os.system('touch MARK1') #\n$(touch MARK2) `touch MARK3` '; touch MARK4; '\x1b[2J"
REOPENING = 'x"""; import os; os.system("touch MARK5"); """'


@pytest.fixture
def hostile(tmp_path, monkeypatch):
    """A folder with a preset whose file name, name, description, data file, text column, output
    folder, run name and main_process_ip are all HOSTILE; the tests run from inside it."""
    data = f"d{HOSTILE}.jsonl"
    (tmp_path / data).write_text("".join(json.dumps({HOSTILE: f"row {i}"}) + "\n" for i in range(16)))
    preset = f"p{HOSTILE}.toml"
    (tmp_path / preset).write_text(sft_preset(
        HOSTILE, task=None, scratch=scratch_llama(heads=4), data_files=data, text_column=HOSTILE,
        description=HOSTILE,
        args=dict(max_steps=3, per_device_train_batch_size=2, output_dir=f"o{HOSTILE}", run_name=HOSTILE),
        launch={"main_process_ip": HOSTILE, "num_machines": 2, "num_processes": 2},
    ))
    monkeypatch.chdir(tmp_path)
    return SimpleNamespace(folder=tmp_path, preset=preset)


@pytest.fixture
def export_main(capsys):
    from hftui.tui.cli import main

    def run(*args: str) -> str:
        capsys.readouterr()
        code = main(["export", *args])
        out = capsys.readouterr()
        assert code == 0, out.err
        assert "\x1b" not in out.err
        return out.out

    return run


def no_markers(folder: Path) -> None:
    made = [p.name for p in folder.rglob("MARK*")]
    assert not made, f"the preset's text ran as a command or code: {made}"


def stubs(folder: Path) -> Path:
    """Stand-ins for the launchers that record their argv (NUL-separated) in argv.log."""
    bin_dir = folder / "stub-bin"
    bin_dir.mkdir()
    record = "#!/bin/sh\nprintf '%s\\0' \"$(basename \"$0\")\" \"$@\" >> \"$STUB_LOG\"\n"
    for name in ("python", "torchrun", "accelerate", "srun"):
        (bin_dir / name).write_text(record)
    (bin_dir / "scontrol").write_text("#!/bin/sh\necho node1\n")
    for path in bin_dir.iterdir():
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return bin_dir


def run_shell(text: str, folder: Path, **env: str) -> list[str]:
    """Check the syntax, then run the artefact with the launchers stubbed; the argv they got."""
    script = folder / "artefact.sh"
    script.write_text(text)
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True).returncode == 0
    log = folder / "argv.log"
    full_env = dict(os.environ, PATH=f"{stubs(folder)}:{os.environ['PATH']}", STUB_LOG=str(log), **env)
    result = subprocess.run(["bash", str(script)], cwd=folder, env=full_env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    return log.read_text().split("\0")[:-1] if log.exists() else []


def test_python_script_holds_hostile_values_as_literals_and_runs_none(hostile, export_main):
    # a second preset whose name closes the docstring and reopens a string: valid Python if spliced
    reopen = hostile.folder / "reopen.toml"
    reopen.write_text((hostile.folder / hostile.preset).read_text().replace(
        f"name = {json.dumps(HOSTILE)}", f"name = {json.dumps(REOPENING)}", 1))
    scripts = []
    for preset in (reopen.name, hostile.preset):
        scripts.append(hostile.folder / f"train{len(scripts)}.py")
        scripts[-1].write_text(export_main(preset, "--to", "python"))
    # the module-level code (everything but main()) runs, and gives back the exact values
    check = (
        "import json, runpy, sys\n"
        "for path in sys.argv[1:]:\n"
        "    g = runpy.run_path(path, run_name='exported')\n"
        "    print(json.dumps([g['PRESET_NAME'], g['PRESET_FILE'], g['ARGS']['output_dir'], g['ARGS']['run_name']]))\n"
    )
    result = subprocess.run([sys.executable, "-c", check, *map(str, scripts)], cwd=hostile.folder,
                            capture_output=True, text=True, timeout=180)
    no_markers(hostile.folder)
    assert result.returncode == 0, result.stderr[-3000:]
    first, second = (json.loads(line) for line in result.stdout.strip().splitlines()[-2:])
    assert first[0] == REOPENING
    name, file, output_dir, run_name = second
    assert name == HOSTILE and run_name == HOSTILE
    assert file == str(hostile.folder / hostile.preset)
    assert output_dir == str(hostile.folder / f"o{HOSTILE}")
    for script in scripts:
        source = script.read_text()
        assert "os.system" not in ast.get_docstring(ast.parse(source))
        for line in source.splitlines():  # comments are the script's own words
            if line.lstrip().startswith("#") and not line.startswith("#!"):
                assert "MARK" not in line, line
    assert repr(HOSTILE) in scripts[1].read_text()  # the text column, as a literal


def test_command_keeps_hostile_values_in_one_quoted_word(hostile, export_main):
    text = export_main(hostile.preset, "--to", "command")
    for line in text.splitlines():
        if line.startswith("#"):
            assert "\x1b" not in line
    argv = run_shell(text, hostile.folder)
    assert argv[0] == "torchrun" and argv[-1] == "train.py"
    assert argv[argv.index("--master_addr") + 1] == HOSTILE
    no_markers(hostile.folder)


def test_accelerate_config_keeps_hostile_values_in_yaml_strings(hostile, export_main):
    import yaml

    text = export_main(hostile.preset, "--to", "accelerate")
    config = yaml.safe_load(text)
    assert config["main_process_ip"] == HOSTILE
    assert config["distributed_type"] == "MULTI_GPU" and config["num_machines"] == 2
    # the comments stay comments: every other line is one of accelerate's own keys
    body = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    assert all(ln.startswith(" ") or ln.split(":")[0] in config for ln in body), body
    no_markers(hostile.folder)


def test_deepspeed_config_is_json(hostile, export_main):
    config = json.loads(export_main(hostile.preset, "--to", "deepspeed"))
    assert "zero_optimization" in config


def test_slurm_script_runs_nothing_of_the_preset(hostile, export_main):
    text = export_main(hostile.preset, "--to", "slurm")
    for line in text.splitlines():
        if line.startswith("#SBATCH"):
            assert all(c.isalnum() or c in "-_.=%" for c in line.removeprefix("#SBATCH --")), line
    argv = run_shell(text, hostile.folder, SLURM_JOB_NODELIST="node1", SLURM_NNODES="2", SLURM_JOB_ID="7",
                     SLURM_SUBMIT_DIR=str(hostile.folder))
    assert argv[0] == "srun" and argv[-1] == "train.py"
    script = (hostile.folder / "train.py").read_text()
    names = {n.id for n in ast.walk(ast.parse(script)) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    assert {"PRESET_NAME", "SEED", "ARGS"} <= names and repr(HOSTILE) in script
    no_markers(hostile.folder)
