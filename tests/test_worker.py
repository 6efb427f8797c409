"""The training worker: real (tiny) training, events, LoRA, stop + resume, clear failures."""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from hftui.core import preset as preset_mod
from hftui.core.run.events import read_all
from hftui.core.problems import PresetError
from hftui.core.train.worker import train

TINY_MODEL = """
[model.scratch]
architecture = "llama"
tokenizer = "byte"
hidden_size = 32
intermediate_size = 64
num_hidden_layers = 1
num_attention_heads = 2
num_key_value_heads = 2
max_position_embeddings = 64
"""


def write_rows(path: Path, n: int, labelled: bool = False) -> Path:
    rows = []
    for i in range(n):
        row = {"text": f"item {i % 7} is {'good' if i % 2 else 'bad'}"}
        if labelled:
            row["label"] = i % 2
        rows.append(row)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def tiny_preset(folder: Path, task: str = "causal-lm", trainer: str = "trainer", args: str = "", extra: str = "", model: str = TINY_MODEL):
    labelled = task == "sequence-classification"
    write_rows(folder / "train.jsonl", 48, labelled)
    write_rows(folder / "eval.jsonl", 8, labelled)
    text = f"""schema = 1
name = "tiny"
[model]
task = "{task}"
{model}
[dataset]
path = "json"
data_files = {{ train = "train.jsonl", eval = "eval.jsonl" }}
max_length = 32
{extra}
[trainer]
type = "{trainer}"
[args]
output_dir = "out"
max_steps = 4
per_device_train_batch_size = 4
per_device_eval_batch_size = 8
learning_rate = 1e-3
logging_steps = 2
eval_strategy = "steps"
eval_steps = 4
save_strategy = "steps"
save_steps = 4
seed = 7
{args}
"""
    path = folder / "tiny.toml"
    path.write_text(text, encoding="utf-8")
    return preset_mod.load(path)


def events(run_dir: Path) -> list[dict]:
    return read_all(run_dir / "events.jsonl").events


def kinds(evts: list[dict], kind: str) -> list[dict]:
    return [e for e in evts if e["event"] == kind]


@pytest.mark.slow
def test_causal_lm_trainer_writes_every_event(tmp_path):
    p = tiny_preset(tmp_path)
    p = p.with_value("trainer.metrics", ["accuracy", "perplexity"])
    run_dir = tmp_path / "run"
    assert train(p, run_dir, run_id="r1") == "completed"
    evts = events(run_dir)
    assert evts[0]["event"] == "notice" and evts[0]["message"] == "no GPU: running on CPU"
    (start,) = kinds(evts, "start")
    assert start["max_steps"] == 4 and start["num_processes"] == 1 and start["run_id"] == "r1"
    assert start["trainer_type"] == "trainer" and start["model"] == "scratch:llama" and start["device"] == "cpu"
    assert start["trainable_params"] == start["total_params"] > 0
    logs = kinds(evts, "log")
    assert [e["step"] for e in logs] == [2, 4]
    for e in logs:
        assert {"loss", "learning_rate", "grad_norm", "epoch", "samples_per_second"} <= set(e)
        assert math.isfinite(e["loss"])
    (ev,) = kinds(evts, "eval")
    assert ev["step"] == 4 and 0.0 <= ev["eval_accuracy"] <= 1.0
    assert ev["eval_perplexity"] == pytest.approx(math.exp(ev["eval_loss"]))
    (ck,) = kinds(evts, "checkpoint")
    assert Path(ck["path"]).name == "checkpoint-4" and Path(ck["path"]).is_dir()
    # the live pane's "evaluating" / "saving" badges: each announced before its event
    phased = [e for e in evts if e.get("phase")]
    assert [(e["step"], e["phase"]) for e in phased] == [(4, "evaluating"), (4, "saving")]
    assert evts.index(phased[0]) < evts.index(ev) < evts.index(phased[1]) < evts.index(ck)
    end = evts[-1]
    assert end["event"] == "end" and end["status"] == "completed" and end["error"] is None and end["step"] == 4
    assert Path(end["output_dir"]) == tmp_path / "out" and (tmp_path / "out" / "model.safetensors").exists()
    assert end["runtime"] > 0
    # the Trainer's own timing of its loop, for like-for-like comparisons with a plain script
    assert 0 < end["train_runtime"] <= end["runtime"]
    assert end["train_steps_per_second"] > 0 and math.isfinite(end["train_loss"])


@pytest.mark.slow
def test_lora_classification_trains_only_the_adapters(tmp_path, capfd):
    p = tiny_preset(
        tmp_path,
        task="sequence-classification",
        extra='label_column = "label"\n[peft]\nr = 4\nlora_alpha = 8\ntarget_modules = "all-linear"',
    )
    p = p.with_value("trainer.metrics", ["accuracy", "f1"])
    run_dir = tmp_path / "run"
    assert train(p, run_dir) == "completed"
    evts = events(run_dir)
    (start,) = kinds(evts, "start")
    assert 0 < start["trainable_params"] < start["total_params"] / 2
    assert f"{start['trainable_params']:,} of {start['total_params']:,} parameters train" in capfd.readouterr().out
    (ev,) = kinds(evts, "eval")
    assert {"eval_accuracy", "eval_f1", "eval_loss"} <= set(ev)
    assert (tmp_path / "out" / "adapter_config.json").exists()


@pytest.mark.slow
def test_stop_file_leaves_one_checkpoint_and_resume_continues(tmp_path):
    p = tiny_preset(tmp_path).with_value("args.save_strategy", "no").with_value("args.eval_strategy", "no")
    run_dir = tmp_path / "run1"
    run_dir.mkdir()
    (run_dir / "stop").touch()  # asked to stop before the first step ends
    assert train(p, run_dir) == "stopped"
    out = tmp_path / "out"
    assert sorted(c.name for c in out.glob("checkpoint-*")) == ["checkpoint-1"]
    end = events(run_dir)[-1]
    assert end["event"] == "end" and end["status"] == "stopped" and end["step"] == 1
    assert [e["path"] for e in kinds(events(run_dir), "checkpoint")] == [str(out / "checkpoint-1")]

    run2 = tmp_path / "run2"
    assert train(p, run2, resume_from="last") == "completed"
    evts = events(run2)
    (start,) = kinds(evts, "start")
    assert start["step"] == 1 and start["max_steps"] == 4 and start["resumed_from"] == str(out / "checkpoint-1")
    assert [e["step"] for e in kinds(evts, "log")] == [2, 4]
    assert evts[-1]["status"] == "completed" and evts[-1]["step"] == 4


def test_resume_without_a_checkpoint_is_a_clear_problem(tmp_path):
    p = tiny_preset(tmp_path)
    with pytest.raises(PresetError) as err:
        train(p, tmp_path / "run", resume_from="last")
    assert "no checkpoint" in err.value.problems[0].message
    end = events(tmp_path / "run")[-1]
    assert end["status"] == "failed" and "no checkpoint" in end["error"]


@pytest.mark.parametrize(
    "model, key, words",
    [
        ('name_or_path = "./no-such-model"', "model.name_or_path", "folder not found"),
        ('name_or_path = "nobody-xyz/does-not-exist-hftui"', "model.name_or_path", "offline"),
        ('[model.scratch]\narchitecture = "notanarch"\ntokenizer = "byte"', "model.scratch.architecture", "unknown architecture"),
        ('name_or_path = "nobody-xyz/remote"\ntrust_remote_code = true', "model.trust_remote_code", "--trust-remote-code"),
    ],
)
def test_a_model_that_cannot_load_is_a_clear_problem(tmp_path, model, key, words):
    p = tiny_preset(tmp_path, model=model)
    with pytest.raises(PresetError) as err:
        train(p, tmp_path / "run")
    problem = err.value.problems[0]
    assert problem.path == key
    assert words in problem.message + " " + problem.hint


def _write_run(run_dir: Path, preset, **run) -> None:
    run_dir.mkdir(parents=True)
    preset_mod.save(preset, run_dir / "preset.toml")
    (run_dir / "run.json").write_text(json.dumps({"id": run_dir.name, "resume_from": None, "trust_remote_code_allowed": False, **run}), encoding="utf-8")


def _worker_env() -> dict:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}


@pytest.mark.slow
def test_worker_process_fails_with_one_line_not_a_traceback(tmp_path):
    p = tiny_preset(tmp_path).with_value("dataset.text_column", "sentence")
    p = p.with_value("args.output_dir", str(tmp_path / "out")).with_value("dataset.data_files", {"train": str(tmp_path / "train.jsonl"), "eval": str(tmp_path / "eval.jsonl")})
    run_dir = tmp_path / "run"
    mine = str(tmp_path / "my-preset.toml")
    _write_run(run_dir, p, preset_path=mine)
    proc = subprocess.run([sys.executable, "-m", "hftui.core.train.worker", str(run_dir)], capture_output=True, text=True, env=_worker_env(), timeout=180)
    assert proc.returncode == 1
    lines = [l for l in proc.stderr.splitlines() if l.startswith("error:")]
    assert lines and "sentence" in lines[0] and "dataset.text_column" in lines[0]
    # named in the person's preset file and key, never the run folder's resolved copy
    assert f"{mine} dataset.text_column" in lines[0] and str(run_dir / "preset.toml") not in proc.stderr
    assert "Traceback" not in proc.stderr
    assert events(run_dir)[-1]["status"] == "failed"


@pytest.mark.slow
def test_worker_process_stops_with_exit_130(tmp_path):
    p = tiny_preset(tmp_path)
    p = p.with_value("args.output_dir", str(tmp_path / "out")).with_value("dataset.data_files", {"train": str(tmp_path / "train.jsonl"), "eval": str(tmp_path / "eval.jsonl")})
    run_dir = tmp_path / "run"
    _write_run(run_dir, p)
    (run_dir / "stop").touch()
    proc = subprocess.run([sys.executable, "-m", "hftui.core.train.worker", str(run_dir)], capture_output=True, text=True, env=_worker_env(), timeout=180)
    assert proc.returncode == 130, proc.stderr[-2000:]
    assert events(run_dir)[-1]["status"] == "stopped"
    assert [c.name for c in (tmp_path / "out").glob("checkpoint-*")] == ["checkpoint-1"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
@pytest.mark.dist
def test_two_processes_under_torchrun_agree_to_stop(tmp_path):
    p = tiny_preset(tmp_path, args='ddp_backend = "gloo"\nuse_cpu = true').with_value("args.eval_strategy", "no")
    p = p.with_value("args.output_dir", str(tmp_path / "out")).with_value("dataset.data_files", {"train": str(tmp_path / "train.jsonl"), "eval": str(tmp_path / "eval.jsonl")})
    run_dir = tmp_path / "run"
    _write_run(run_dir, p)
    (run_dir / "stop").touch()
    argv = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1", "--master_port", str(_free_port()), "-m", "hftui.core.train.worker", str(run_dir)]
    proc = subprocess.run(argv, capture_output=True, text=True, env=_worker_env(), timeout=300)
    evts = events(run_dir)
    assert len(kinds(evts, "start")) == 1, proc.stderr[-3000:]  # rank 0 only
    assert kinds(evts, "start")[0]["num_processes"] == 2
    assert len(kinds(evts, "end")) == 1 and evts[-1]["status"] == "stopped" and evts[-1]["step"] == 1
    assert [c.name for c in (tmp_path / "out").glob("checkpoint-*")] == ["checkpoint-1"]
    assert proc.returncode != 0  # every rank exits 130; torchrun reports the failure of its children


def test_evaluation_without_an_eval_split_is_a_clear_problem(tmp_path):
    p = tiny_preset(tmp_path).with_value("dataset.data_files", "train.jsonl")
    with pytest.raises(PresetError) as err:
        train(p, tmp_path / "run")
    assert err.value.problems[0].path == "dataset.eval_split" and "eval_fraction" in err.value.problems[0].hint


AGREE_SCRIPT = """
import sys
import torch.distributed as dist
from hftui.core.run.stop import agree
rank = int(sys.argv[1])
dist.init_process_group("gloo", rank=rank, world_size=2)
print("stop" if agree(rank == 1) else "go", flush=True)
dist.destroy_process_group()
"""


@pytest.mark.slow
@pytest.mark.dist
def test_ranks_agree_when_only_one_of_them_is_asked_to_stop(tmp_path):
    env = {**_worker_env(), "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(_free_port())}
    procs = [subprocess.Popen([sys.executable, "-c", AGREE_SCRIPT, str(r)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) for r in (0, 1)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-1000:] for o in outs]
    assert [o[0].strip() for o in outs] == ["stop", "stop"]  # rank 0 saw no request, yet stops too


def test_gpu_sampler_writes_gpu_events(tmp_path, monkeypatch):
    import time

    from hftui.core import gpu
    from hftui.core.run.events import EventWriter
    from hftui.core.train.gpu_sampler import GpuSampler

    reading = [{"index": 0, "name": "Fake GPU", "used": 1 << 30, "total": 8 << 30, "util": 55}]
    monkeypatch.setattr(gpu, "sample", lambda: reading)
    writer = EventWriter(tmp_path / "events.jsonl")
    sampler = GpuSampler(writer, lambda: 7, interval=0.01)
    sampler.start()
    time.sleep(0.2)
    sampler.halt.set()
    sampler.join(timeout=2)
    writer.close()
    gpu_events = [e for e in read_all(tmp_path / "events.jsonl").events if e["event"] == "gpu"]
    assert len(gpu_events) >= 2 and gpu_events[0]["step"] == 7 and gpu_events[0]["devices"] == reading


def test_signals_set_the_stop_flag_and_handlers_are_restored(tmp_path):
    import signal

    from hftui.core.run.stop import StopRequest

    before = signal.getsignal(signal.SIGTERM)
    request = StopRequest(tmp_path)
    previous = request.install_signal_handlers()
    try:
        assert not request.requested_locally
        signal.raise_signal(signal.SIGTERM)
        assert request.requested_locally and request.signal_name == "SIGTERM"
    finally:
        StopRequest.restore_signal_handlers(previous)
    assert signal.getsignal(signal.SIGTERM) == before
    other = StopRequest(tmp_path)
    (tmp_path / "stop").touch()
    assert other.requested_locally


@pytest.mark.slow
def test_a_stop_that_comes_with_the_last_step_completes_the_run(tmp_path):
    p = tiny_preset(tmp_path).with_value("args.max_steps", 1).with_value("args.eval_strategy", "no").with_value("args.save_strategy", "no")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "stop").touch()
    assert train(p, run_dir) == "completed"
    assert events(run_dir)[-1]["status"] == "completed"
    assert (tmp_path / "out" / "model.safetensors").exists()


@pytest.mark.slow
def test_a_run_that_will_not_fit_the_gpus_says_so_before_training(tmp_path, monkeypatch, capfd):
    """The memory estimate of `hftui validate` comes from the worker in a run, from the model it
    built: here a GPU of 1 MiB is faked (the run itself still trains on the CPU)."""
    from hftui.core import gpu
    from hftui.core.gpu import GpuInfo

    monkeypatch.setattr(gpu, "detect", lambda: [GpuInfo(0, "Small GPU", 1 << 20, (9, 0), "550.0")])
    monkeypatch.setattr(gpu, "sample", lambda: [])
    run_dir = tmp_path / "run"
    assert train(tiny_preset(tmp_path), run_dir) == "completed"
    evts = events(run_dir)
    (warning,) = [e for e in kinds(evts, "notice") if "won't fit" in e.get("message", "")]
    assert warning["message"].startswith("warning: the run probably won't fit in GPU memory")
    assert "Small GPU" in warning["message"] or "1.0 MiB" in warning["message"]
    assert "(fix: " in warning["message"]
    assert evts.index(warning) < evts.index(kinds(evts, "start")[0])
    assert "hftui: warning: the run probably won't fit" in capfd.readouterr().err
    # with room to spare: no warning
    monkeypatch.setattr(gpu, "detect", lambda: [GpuInfo(0, "Big GPU", 80 << 30, (9, 0), "550.0")])
    run_dir = tmp_path / "run2"
    assert train(tiny_preset(tmp_path).with_value("args.output_dir", "out2"), run_dir) == "completed"
    assert not [e for e in kinds(events(run_dir), "notice") if "won't fit" in e.get("message", "")]


def test_out_of_memory_advice_names_the_installed_option():
    from hftui.core.options.catalog import get_catalog
    from hftui.core.train.summary import error_summary

    text = error_summary(RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB"))
    assert text.startswith("RuntimeError: CUDA out of memory")
    option = text.split("or set args.", 1)[1].split(" = true", 1)[0]
    assert option in get_catalog("trainer").args


def _first_batch(built):
    return next(iter(built.trainer.get_train_dataloader()))


@pytest.mark.parametrize("pad_is_eos", [False, True], ids=["byte-tokenizer", "pad-is-eos"])
def test_causal_lm_trainer_learns_the_end_of_text(tmp_path, pad_is_eos):
    from hftui.core.train.modeling import byte_tokenizer
    from hftui.core.train.worker import build

    model = TINY_MODEL
    if pad_is_eos:  # a tokenizer without a pad token, as gpt2's and llama's: hftui pads with EOS
        tok = byte_tokenizer()
        tok.pad_token = None
        tok.save_pretrained(tmp_path / "tok")
        model = TINY_MODEL.replace('tokenizer = "byte"', 'tokenizer = "tok"')
    built = build(tiny_preset(tmp_path, model=model))
    eos = built.tokenizer.eos_token_id
    assert (built.tokenizer.pad_token_id == eos) is pad_is_eos
    batch = _first_batch(built)
    ids, labels, mask = batch["input_ids"], batch["labels"], batch["attention_mask"]
    assert ids.shape[0] == 4 and bool((mask == 0).any())  # rows of different lengths: padding
    real = mask == 1
    ends = (ids == eos) & real
    assert int(ends.sum()) == ids.shape[0]  # one EOS per row, each a label to learn
    assert bool((labels[ends] == eos).all())
    assert bool((labels[real] == ids[real]).all()) and bool((labels[~real] == -100).all())
