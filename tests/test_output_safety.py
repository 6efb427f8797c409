"""Nothing of the person's is overwritten and nothing of an earlier run is lost: an output folder
that is someone's project, one that holds an earlier run's checkpoints, a full disk, a
checkpoint cut short by one.

The refusals run through the real command line (`hftui.tui.cli.main`) in this process; the
resume test trains the tiny scratch model for real.
"""

from __future__ import annotations

import errno
import json
import os
from collections import namedtuple
from pathlib import Path

import pytest

from test_bad_input import snapshot
from tiny_presets import sft_preset
from hftui.core import preset as preset_mod
from hftui.core.checks import output_folder
from hftui.core.problems import PresetError
from hftui.core.run import start as runs
from hftui.core.run.events import read_all
from hftui.tui import cli


def _project(folder: Path, **args) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "data.jsonl").write_text("".join(json.dumps({"text": f"hello {i}"}) + "\n" for i in range(8)))
    path = folder / "p.toml"
    path.write_text(sft_preset("safety", args={"max_steps": 2, **args}), encoding="utf-8")
    return path


def _cli(argv, capsys) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _checkpoint(folder: Path, step: int, complete: bool = True) -> Path:
    """A checkpoint folder as the Trainer leaves it (the state written last, only when complete)."""
    ckpt = folder / f"checkpoint-{step}"
    ckpt.mkdir(parents=True)
    header = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    (ckpt / "model.safetensors").write_bytes(len(header).to_bytes(8, "little") + header + b"\0" * 8)
    (ckpt / "config.json").write_text(json.dumps({"model_type": "llama"}))
    if complete:
        (ckpt / "trainer_state.json").write_text(json.dumps({"global_step": step}))
    return ckpt


# -- an earlier run's checkpoints ---------------------------------------------------------------------
def test_a_fresh_run_among_an_earlier_runs_checkpoints_is_refused(tmp_path, capsys, monkeypatch):
    preset = _project(tmp_path)
    out = tmp_path / "out"
    _checkpoint(out, 116)
    _checkpoint(out, 232)
    (out / "README.md").write_text("---\nlibrary_name: transformers\ntags:\n- generated_from_trainer\n---\n")
    monkeypatch.chdir(tmp_path)
    before = snapshot(out)

    # validate (and the wizard, which runs it) warns: the run is legal with --resume
    code, stdout, err = _cli(["validate", preset], capsys)
    assert code == 0 and "valid (1 warning)" in stdout, stdout + err
    assert "args.output_dir" in err and "checkpoint-116, checkpoint-232" in err and "--resume" in err

    # a fresh run is refused, naming the folder, the checkpoints and the ways out
    code, stdout, err = _cli(["run", preset], capsys)
    assert code == 2, stdout + err
    assert str(out) in err and "checkpoint-232" in err and "save_total_limit" in err
    assert "--resume" in err and "args.output_dir" in err and "Traceback" not in err
    assert snapshot(out) == before  # not even a run folder was made

    # starting it from the engine is refused the same way; --resume is accepted
    with pytest.raises(PresetError) as refused:
        runs.start_run(preset_mod.load(preset), validate=False)
    assert "earlier run's checkpoints" in str(refused.value)
    assert runs._earlier_run(preset_mod.load(preset), "last", out) is None
    assert runs._earlier_run(preset_mod.load(preset).with_value("args.resume_from_checkpoint", str(out / "checkpoint-116")),
                             None, out) is None


def test_a_finished_models_folder_is_refused_for_a_fresh_run(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "model.safetensors").write_bytes(b"x")
    (out / "config.json").write_text(json.dumps({"model_type": "llama"}))
    message, fix = output_folder.earlier_run_problem(out)
    assert "trained model (model.safetensors)" in message and "--resume" in fix
    assert output_folder.foreign_entries(out) == []


# -- the person's own folder ------------------------------------------------------------------------
def test_a_project_folder_is_never_trained_into(tmp_path, capsys, monkeypatch):
    project = tmp_path / "project"
    preset = _project(project, output_dir=".")
    (project / "README.md").write_text("# my project\n")
    (project / "config.json").write_text(json.dumps({"batch": 8}))
    (project / ".git").mkdir()
    (project / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (project / "train.py").write_text("print('mine')\n")
    monkeypatch.chdir(project)
    before = snapshot(project)

    code, stdout, err = _cli(["validate", preset], capsys)
    assert code == 2 and "invalid" in stdout, stdout + err
    assert f"output_dir {project}" in err and "README.md" in err and ".git/" in err and "config.json" in err
    assert "choose an empty or new folder" in err

    code, stdout, err = _cli(["run", preset], capsys)
    assert code == 2 and "no training run wrote" in err and "Traceback" not in err
    with pytest.raises(PresetError):
        runs.start_run(preset_mod.load(preset), validate=False)
    assert snapshot(project) == before  # no .hftui, no config.json overwritten


def test_what_runs_write_is_not_foreign(tmp_path):
    out = tmp_path / "out"
    _checkpoint(out, 4)
    for name in ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja", "training_args.bin",
                 "generation_config.json", "adapter_config.json", "all_results.json", ".DS_Store"):
        (out / name).write_text("{}")
    (out / "config.json").write_text(json.dumps({"model_type": "llama", "transformers_version": "5.0"}))
    (out / "README.md").write_text("---\nlibrary_name: peft\n---\n# Model card\n")
    for folder in (".hftui", "runs", "wandb"):
        (out / folder).mkdir()
    assert output_folder.foreign_entries(out) == []
    (out / "README.md").write_text("# notes\n")  # a person's README, not a model card
    os.mkfifo(out / "notes.fifo")  # read by name only: a FIFO never blocks the check
    assert output_folder.foreign_entries(out) == ["README.md", "notes.fifo"]


def test_the_model_folder_as_output_dir_is_an_error(tmp_path, capsys, monkeypatch):
    preset = _project(tmp_path)
    model = tmp_path / "base"
    model.mkdir()
    (model / "config.json").write_text(json.dumps({"model_type": "llama"}))
    text = preset.read_text().replace('output_dir = "out"', 'output_dir = "base"')
    preset.write_text(text.replace('task = "causal-lm"', 'task = "causal-lm"\nname_or_path = "base"', 1))
    monkeypatch.chdir(tmp_path)
    code, stdout, err = _cli(["validate", preset], capsys)
    assert code == 2 and "is the model folder the run starts from" in err, err


def test_an_output_dir_behind_a_link_to_nowhere_is_refused(tmp_path, capsys, monkeypatch):
    preset = _project(tmp_path)
    (tmp_path / "loop1").symlink_to("loop2")
    (tmp_path / "loop2").symlink_to("loop1")
    (tmp_path / "dangling").symlink_to(tmp_path / "gone")
    monkeypatch.chdir(tmp_path)
    for target in ("loop1", "loop1/out", "dangling"):
        for command in ("validate", "run"):
            code, stdout, err = _cli([command, preset, "--set", f"args.output_dir={target}"], capsys)
            assert code == 2 and "symbolic link that leads nowhere" in err, (command, target, stdout + err)
            assert "internal error" not in err
    with pytest.raises(PresetError) as refused:
        runs.start_run(preset_mod.load(preset).with_value("args.output_dir", "loop1"), validate=False)
    assert refused.value.problems[0].path == "args.output_dir"


# -- a full disk --------------------------------------------------------------------------------------
def test_a_full_disk_at_start_is_a_clear_refusal(tmp_path, capsys, monkeypatch):
    preset = _project(tmp_path)
    monkeypatch.chdir(tmp_path)
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(output_folder.shutil, "disk_usage", lambda path: usage(10 << 30, 10 << 30, 1 << 20))
    code, stdout, err = _cli(["run", preset], capsys)
    assert code == 2 and "is full (1 MiB free)" in err and "free some space" in err, err
    assert "internal error" not in err and not (tmp_path / "out").exists()


def test_no_space_while_writing_the_run_folder_leaves_nothing_behind(tmp_path, capsys, monkeypatch, hftui_home):
    preset = _project(tmp_path)
    monkeypatch.chdir(tmp_path)

    def full(path, text, mode=None):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(runs, "atomic_write_text", full)
    code, stdout, err = _cli(["run", preset], capsys)
    assert code == 2, stdout + err
    assert "no space left on the disk holding" in err and "nothing was started" in err and "free some space" in err
    assert "internal error" not in err and "Traceback" not in err
    assert [p for p in (tmp_path / "out" / ".hftui").iterdir() if p.is_dir()] == []
    assert not list((hftui_home / "runs").glob("*.json"))


def test_a_disk_full_error_is_recognised_however_it_is_worded():
    assert output_folder.is_disk_full(OSError(errno.ENOSPC, "No space left on device"))
    wrapped = RuntimeError("could not save")
    wrapped.__cause__ = OSError(errno.EDQUOT, "Disk quota exceeded")
    assert output_folder.is_disk_full(wrapped)
    assert output_folder.is_disk_full(Exception('Error while serializing: IoError(Os { code: 28, kind: StorageFull })'))
    assert not output_folder.is_disk_full(ValueError("the data ran out"))


# -- checkpoints cut short ------------------------------------------------------------------------------
def test_which_checkpoints_are_complete(tmp_path):
    out = tmp_path / "out"
    good = _checkpoint(out, 2)
    assert output_folder.incomplete(good) is None
    assert output_folder.incomplete(_checkpoint(out, 3, complete=False)) == "no trainer_state.json"
    cut = _checkpoint(out, 4)
    (cut / "trainer_state.json").write_text('{"global_step": 4, "log_hist')
    assert output_folder.incomplete(cut) == "trainer_state.json is cut short"
    short = _checkpoint(out, 5)
    weights = short / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-4])
    assert output_folder.incomplete(short) == "model.safetensors is cut short"
    empty = _checkpoint(out, 6)
    (empty / "model.safetensors").unlink()
    assert output_folder.incomplete(empty) == "no model weights"
    last, skipped = output_folder.last_complete_checkpoint(out)
    assert last == good and [p.name for p, _ in skipped] == ["checkpoint-6", "checkpoint-5", "checkpoint-4", "checkpoint-3"]


def test_a_long_trainer_state_is_judged_by_its_end(tmp_path, monkeypatch):
    monkeypatch.setattr(output_folder, "STATE_PARSE_LIMIT", 256)
    ckpt = _checkpoint(tmp_path / "out", 9)
    history = [{"step": i, "loss": 1.0} for i in range(100)]
    (ckpt / "trainer_state.json").write_text(json.dumps({"log_history": history}, indent=2) + "\n")
    assert output_folder.incomplete(ckpt) is None
    (ckpt / "trainer_state.json").write_text(json.dumps({"log_history": history}, indent=2)[:-300])
    assert output_folder.incomplete(ckpt) == "trainer_state.json is cut short"


@pytest.mark.slow
def test_resume_skips_a_checkpoint_a_full_disk_cut_short(tmp_path, monkeypatch, capfd):
    """A real training saves checkpoints 1 and 2; the save of 3 runs out of space half-way (the
    weights written, the rest not); --resume then continues from 2 and says it skipped 3."""
    from transformers import Trainer

    from hftui.core.train.worker import train

    preset_path = _project(tmp_path, save_strategy="steps", save_steps=1, per_device_train_batch_size=2,
                           learning_rate=1e-3)
    preset = preset_mod.load(preset_path)
    out = tmp_path / "out"
    assert train(preset, tmp_path / "run1") == "completed"
    assert [p.name for p in output_folder.checkpoints(out)] == ["checkpoint-1", "checkpoint-2"]

    real_save = Trainer._save_checkpoint

    def save_until_the_disk_fills(self, model, trial):
        if self.state.global_step == 3:
            target = Path(self.args.output_dir) / "checkpoint-3"
            self.save_model(str(target), _internal_call=True)
            raise OSError(errno.ENOSPC, "No space left on device", str(target / "optimizer.pt"))
        return real_save(self, model, trial)

    monkeypatch.setattr(Trainer, "_save_checkpoint", save_until_the_disk_fills)
    longer = preset.with_value("args.max_steps", 4)
    with pytest.raises(OSError):
        train(longer, tmp_path / "run2", resume_from="last")
    end = read_all(tmp_path / "run2" / "events.jsonl").events[-1]
    assert end["status"] == "failed" and end["error"].startswith(f"no space left on the disk holding {out}")
    assert "--resume" in end["error"]
    assert output_folder.incomplete(out / "checkpoint-3") == "no trainer_state.json"

    monkeypatch.setattr(Trainer, "_save_checkpoint", real_save)  # space was freed
    capfd.readouterr()
    assert train(longer, tmp_path / "run3", resume_from="last") == "completed"
    evts = read_all(tmp_path / "run3" / "events.jsonl").events
    start = next(e for e in evts if e["event"] == "start")
    assert start["resumed_from"] == str(out / "checkpoint-2") and start["step"] == 2
    notices = [e["message"] for e in evts if e["event"] == "notice"]
    assert any(m.startswith("skipped checkpoint-3: it is incomplete (no trainer_state.json)") for m in notices), notices
    assert "skipped checkpoint-3" in capfd.readouterr().err
    assert evts[-1]["status"] == "completed" and evts[-1]["step"] == 4
