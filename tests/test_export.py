"""`hftui export --to command|accelerate|deepspeed|slurm|python`: artefacts the real tools accept."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from types import SimpleNamespace

import pytest
from conftest import hftui_cmd
from tiny_presets import scratch_llama, sft_preset

from hftui.core.export import targets as exporters
from hftui.core.gpu import GpuInfo
from hftui.core.preset import load

GiB = 1024**3


def gpus(n: int) -> list[GpuInfo]:
    return [GpuInfo(i, "Test GPU", 80 * GiB, (9, 0)) for i in range(n)]


@pytest.fixture
def preset_file(tmp_path):
    (tmp_path / "train.jsonl").write_text("".join(json.dumps({"text": f"row {i}"}) + "\n" for i in range(16)))

    def write(**launch_keys) -> str:
        path = tmp_path / "p.toml"
        path.write_text(sft_preset(
            "export-test",
            task=None,
            scratch=scratch_llama(heads=4),
            data_files="train.jsonl",
            args=dict(max_steps=3, per_device_train_batch_size=2),
            launch=launch_keys,
        ))
        return str(path)

    return write


def cli(*args: str) -> subprocess.CompletedProcess:
    """The real command, in its own process."""
    return subprocess.run(hftui_cmd("export", *args), capture_output=True, text=True, timeout=120)


@pytest.fixture
def export_main(capsys):
    """`hftui export ...` in this process (the libraries are imported once for all tests)."""
    from hftui.tui.cli import main

    def run(*args: str) -> SimpleNamespace:
        capsys.readouterr()
        code = main(["export", *args])
        out = capsys.readouterr()
        return SimpleNamespace(returncode=code, stdout=out.out, stderr=out.err)

    return run


def load_accelerate(text: str, tmp_path):
    from accelerate.commands.config.config_args import load_config_from_file

    path = tmp_path / "accelerate_config.yaml"
    path.write_text(text)
    return load_config_from_file(str(path))


def test_accelerate_config_is_loaded_by_accelerate(preset_file, export_main, tmp_path):
    out = export_main(preset_file(backend="ddp", num_processes=2), "--to", "accelerate")
    assert out.returncode == 0, out.stderr
    config = load_accelerate(out.stdout, tmp_path)
    assert config.distributed_type.value == "MULTI_GPU"  # accelerate's torchrun launcher
    assert config.num_processes == 2 and config.num_machines == 1
    assert "accelerate launch --config_file accelerate_config.yaml train.py" in out.stdout


@pytest.mark.slow
def test_exported_script_runs_under_accelerate_launch(preset_file, tmp_path):
    """The exported script and accelerate config together train on two CPU processes."""
    import socket
    import sys

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    path = preset_file(backend="ddp", num_processes=2, main_process_port=port)
    for target, name in (("python", "train.py"), ("accelerate", "accelerate_config.yaml")):
        out = cli(path, "--to", target)
        assert out.returncode == 0, out.stderr
        (tmp_path / name).write_text(out.stdout)
    run = subprocess.run([sys.executable, "-m", "accelerate.commands.launch", "--config_file", "accelerate_config.yaml", "train.py"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    state = json.loads((tmp_path / "out" / "trainer_state.json").read_text())
    assert state["global_step"] == 3
    # 3 steps x 2 rows x 2 processes out of 16 rows: both processes took their share
    assert state["log_history"][-1]["epoch"] == pytest.approx(3 * 2 * 2 / 16)


def test_accelerate_config_for_fsdp_and_deepspeed_on_gpus(preset_file, tmp_path):
    fsdp = load_accelerate(exporters.export(load(preset_file(backend="fsdp", num_machines=2, machine_rank=1, main_process_ip="10.0.0.2")), "accelerate", gpus=gpus(4)), tmp_path)
    assert fsdp.distributed_type.value == "FSDP"
    assert fsdp.num_processes == 8 and fsdp.num_machines == 2 and fsdp.machine_rank == 1
    assert fsdp.main_process_ip == "10.0.0.2"
    assert fsdp.fsdp_config["fsdp_transformer_layer_cls_to_wrap"] == "LlamaDecoderLayer"
    assert fsdp.fsdp_config["fsdp_version"] == 2

    ds = load_accelerate(exporters.export(load(preset_file(backend="deepspeed", zero_stage=3)), "accelerate", gpus=gpus(2)), tmp_path)
    assert ds.distributed_type.value == "DEEPSPEED"
    assert ds.deepspeed_config == {"deepspeed_config_file": "ds_config.json", "zero3_init_flag": True}


def test_command_is_torchrun_running_the_exported_script(preset_file, export_main):
    out = export_main(preset_file(backend="deepspeed", num_processes=2, main_process_port=29777), "--to", "command")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines[0].startswith("# deepspeed: 2 processes")
    assert any("--to deepspeed > ds_config.json" in line for line in lines)
    words = shlex.split(lines[-1])
    assert words[0] == "torchrun" and words[-1] == "train.py"  # made for GPUs, even on this CPU box
    assert words[words.index("--nproc_per_node") + 1] == "2" and words[words.index("--master_port") + 1] == "29777"
    cpu = export_main(preset_file(backend="deepspeed", num_processes=2, main_process_port=29777), "--to", "command", "--cpu")
    words = shlex.split(cpu.stdout.strip().splitlines()[-1])
    assert words[0] == "DS_ACCELERATOR=cpu" and words[1] == "torchrun"


def test_single_process_command_is_plain_python(preset_file, export_main):
    out = export_main(preset_file(backend="single"), "--to", "command")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "python train.py"


def test_deepspeed_json_follows_the_preset(preset_file, export_main):
    out = export_main(preset_file(backend="deepspeed", zero_stage=3, offload="all"), "--to", "deepspeed")
    assert out.returncode == 0, out.stderr
    config = json.loads(out.stdout)
    zero = config["zero_optimization"]
    assert zero["stage"] == 3 and zero["offload_param"]["device"] == "cpu" and zero["offload_optimizer"]["device"] == "cpu"
    assert config["train_batch_size"] == "auto"


def test_slurm_script_starts_torchrun_on_every_node(preset_file, export_main, tmp_path):
    path = preset_file(backend="fsdp", num_processes=4, main_process_port=29601)
    out = export_main(path, "--to", "slurm", "--set", "launch.num_machines=3", "--set", "launch.main_process_ip=10.0.0.1")
    assert out.returncode == 0, out.stderr
    script = out.stdout
    assert script.startswith("#!/bin/bash\n")
    assert "#SBATCH --nodes=3" in script and "#SBATCH --gpus-per-node=4" in script
    assert "srun" in script and "torch.distributed.run" in script
    assert '--nnodes "$SLURM_NNODES"' in script and "--rdzv_backend c10d" in script
    assert '--rdzv_endpoint "$MASTER_ADDR:$MASTER_PORT"' in script and "MASTER_PORT=29601" in script
    (tmp_path / "job.sh").write_text(script)
    syntax = subprocess.run(["bash", "-n", str(tmp_path / "job.sh")], capture_output=True, text=True)
    assert syntax.returncode == 0, syntax.stderr
    body = re.search(r"<<'HFTUI_TRAIN_PY'\n(.*?)\nHFTUI_TRAIN_PY\n", script, re.S).group(1)
    compile(body, "train.py", "exec")
    # written for GPU nodes: FSDP on, and no CPU-only settings from this machine
    assert "'fsdp': True" in body and "'use_cpu'" not in body
    assert "LlamaDecoderLayer" in body


def test_python_script_exported_on_a_cpu_box_still_uses_the_gpus_where_it_runs(preset_file, export_main):
    """This machine has no GPU: the launcher's CPU fallbacks (use_cpu, gloo) stay out of ARGS and
    the script sets them only when it finds no CUDA, so it trains on the GPUs of a GPU box."""
    out = export_main(preset_file(backend="ddp", num_processes=2), "--to", "python")
    assert out.returncode == 0, out.stderr
    args = re.search(r"^ARGS = (\{.*?\})$", out.stdout, re.S | re.M).group(1)
    assert "use_cpu" not in args and "ddp_backend" not in args
    fallback = out.stdout.split("if not torch.cuda.is_available():", 1)[1].split("\n\n", 1)[0]
    assert 'ARGS.setdefault("use_cpu", True)' in fallback and 'ARGS.setdefault("ddp_backend", "gloo")' in fallback


def test_python_script_carries_the_launch_settings(preset_file, export_main):
    out = export_main(preset_file(backend="deepspeed", num_processes=2), "--to", "python")
    assert out.returncode == 0, out.stderr
    compile(out.stdout, "train.py", "exec")
    assert "'deepspeed': 'ds_config.json'" in out.stdout


def test_invalid_preset_exits_2_with_problems_and_no_artefact(preset_file):
    out = cli(preset_file(backend="deepspeed", zero_stage=4), "--to", "deepspeed")
    assert out.returncode == 2
    assert out.stdout == ""
    assert "launch.zero_stage" in out.stderr and "Traceback" not in out.stderr
    missing = cli("/nonexistent/preset.toml", "--to", "command")
    assert missing.returncode == 2 and "no such file" in missing.stderr
