"""The memory estimate: parameter counts from the meta device, sharding, LoRA, and the validate hook."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from hftui.core.checks import memory as memory_check
from hftui.core.train import memory_estimate as memory
from hftui.core.train import model_facts as facts_mod
from hftui.core.train import modeling
from hftui.core.gpu import GpuInfo
from hftui.core.preset import from_text
from tiny_presets import LLAMA7B, scratch_llama, toml_text

TINY = toml_text({
    "schema": 1,
    "model": {"scratch": scratch_llama(layers=2, heads=4)},
    "dataset": {"max_length": 32},
    "args": {"per_device_train_batch_size": 2},
})


def gpus(n: int, gib: int = 80) -> list[GpuInfo]:
    return [GpuInfo(i, "Test GPU", gib * memory.GiB, (9, 0), "550.0") for i in range(n)]


def test_parameter_count_matches_a_real_model():
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    preset = from_text(TINY)
    facts = facts_mod.model_facts(preset)
    config = AutoConfig.for_model("llama", hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, vocab_size=modeling.BYTE_TOKENIZER_VOCAB)
    torch.manual_seed(0)
    real = AutoModelForCausalLM.from_config(config)
    assert facts.total_params == sum(p.numel() for p in real.parameters())
    assert facts.no_split_modules == ("LlamaDecoderLayer",)
    assert facts.num_layers == 2 and facts.hidden_size == 32


def test_seven_billion_full_finetune_needs_sharding():
    preset = from_text(LLAMA7B)
    est = memory.estimate(preset, gpus(1), backend="single", world_size=1)
    assert 6.5e9 < est.total_params < 7.0e9
    # fp32 weights + fp32 grads + two Adam moments: 16 bytes per parameter
    assert est.breakdown["weights"] == est.total_params * 4
    assert est.breakdown["optimizer"] == est.total_params * 8
    assert est.fits is False and "does NOT fit" in est.text

    fsdp = memory.estimate(preset, gpus(8), backend="fsdp", world_size=8)
    assert fsdp.breakdown["weights"] == est.breakdown["weights"] // 8
    assert fsdp.fits is True


def test_zero_stages_shard_progressively():
    preset = from_text(LLAMA7B)
    per_stage = {}
    for stage in (1, 2, 3):
        est = memory.estimate(preset.with_value("launch.zero_stage", stage), gpus(4), backend="deepspeed", world_size=4)
        per_stage[stage] = est.breakdown
    # mixed precision under DeepSpeed: 2 (weights) + 2 (grads) + 12 (master + moments) bytes
    p = facts_mod.model_facts(preset).total_params
    assert per_stage[1]["weights"] == 2 * p and per_stage[1]["gradients"] == 2 * p
    assert per_stage[1]["optimizer"] == 12 * p // 4
    assert per_stage[2]["gradients"] == 2 * p // 4
    assert per_stage[3]["weights"] == 2 * p // 4
    offloaded = memory.estimate(preset.with_value("launch.offload", "optimizer"), gpus(4), backend="deepspeed", world_size=4)
    assert offloaded.breakdown["optimizer"] == 0


def test_lora_trains_only_adapters():
    preset = from_text(LLAMA7B + '\n[peft]\nmethod = "lora"\nr = 8\ntarget_modules = ["q_proj", "v_proj"]\n')
    est = memory.estimate(preset, gpus(1), backend="single", world_size=1)
    # q_proj and v_proj are 4096 x 4096 in each of 32 layers: r * (in + out) each
    assert est.trainable_params == 32 * 2 * 8 * (4096 + 4096)
    assert est.breakdown["optimizer"] == est.trainable_params * 8
    all_linear = memory.estimate(preset.with_value("peft.target_modules", "all-linear"), gpus(1), backend="single", world_size=1)
    assert all_linear.trainable_params > est.trainable_params


def test_qlora_counts_the_frozen_base_in_four_bits():
    lora = from_text(LLAMA7B + '\n[peft]\nmethod = "lora"\nr = 8\ntarget_modules = "all-linear"\n')
    qlora = lora.with_value("peft.method", "qlora")
    a = memory.estimate(lora, gpus(1, gib=24), backend="single", world_size=1)
    b = memory.estimate(qlora, gpus(1, gib=24), backend="single", world_size=1)
    assert a.trainable_params == b.trainable_params and a.total_params == b.total_params
    # Llama 7B: q, k, v, o (4096 x 4096) and gate, up, down (4096 x 11008) in each of 32 layers go
    # to NF4; the embeddings, lm_head (32000 x 4096 each) and the norms stay, cast to fp32
    quantized = 32 * (4 * 4096 * 4096 + 3 * 4096 * 11008)
    rest = 2 * 32000 * 4096 + (2 * 32 + 1) * 4096
    assert quantized + rest == b.total_params
    base = quantized * (4 + 8 / 64 + 32 / (64 * 256)) / 8 + rest * 4
    assert b.breakdown["weights"] == int(base) + b.trainable_params * 4
    assert 4.0 * memory.GiB < b.breakdown["weights"] < 4.6 * memory.GiB  # the QLoRA paper's ~4.5 GB class
    assert a.breakdown["weights"] > 3 * b.breakdown["weights"]
    assert b.fits is True and "nf4" in b.text  # a 7B model on one 24 GB card, as QLoRA promises


def test_ppo_counts_reference_reward_and_value_models():
    sft = from_text(TINY)
    ppo = from_text(TINY + '\n[trainer]\ntype = "ppo"\n')
    a = memory.estimate(sft, gpus(1), backend="single", world_size=1)
    b = memory.estimate(ppo, gpus(1), backend="single", world_size=1)
    p = a.total_params
    # reference + reward weights (4 bytes each) and a fully trained value model (4 + 4 + 8)
    assert b.breakdown["ppo_models"] == p * (4 + 4 + 16)
    assert b.per_gpu_bytes > a.per_gpu_bytes


def test_check_warns_only_when_it_will_not_fit():
    big = from_text(LLAMA7B + '\n[launch]\nbackend = "ddp"\n')
    problems = memory_check.check(big, gpus(2, gib=24))
    assert len(problems) == 1 and problems[0].severity == "warning"
    assert "won't fit" in problems[0].message and "fsdp" in problems[0].hint
    assert memory_check.check(from_text(TINY), gpus(1, gib=24)) == []
    assert memory_check.check(big, []) == []  # CPU-only: nothing to compare with


def test_validate_warns_but_a_run_leaves_the_estimate_to_the_worker(monkeypatch):
    """`hftui validate` gives the estimate; before a run the parent skips it (the worker has
    torch loaded and the model built), so `hftui run` never imports torch itself."""
    from hftui.core import gpu
    from hftui.core.checks import validate

    monkeypatch.setattr(gpu, "detect", lambda: gpus(2, gib=24))
    big = from_text(LLAMA7B + '\n[launch]\nbackend = "ddp"\n')
    assert any("won't fit" in p.message for p in validate(big))
    assert not any("won't fit" in p.message for p in validate(big, for_run=True))


def test_facts_of_a_built_model_equal_those_from_its_config():
    import transformers

    preset = from_text(TINY)
    facts = facts_mod.model_facts(preset)
    model = transformers.AutoModelForCausalLM.from_config(modeling.model_config(preset, "causal-lm"))
    assert facts_mod.facts_from_model(model) == facts


def _facts_in_a_fresh_process(preset_path, home) -> dict:
    code = (
        "import json, sys, dataclasses; from hftui.core import preset; from hftui.core.train.model_facts import model_facts;"
        f"f = model_facts(preset.load({str(preset_path)!r}, migrate=False));"
        "print(json.dumps({'facts': dataclasses.asdict(f) if f else None,"
        " 'torch': 'torch' in sys.modules}))"
    )
    env = {**__import__("os").environ, "HFTUI_HOME": str(home)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env, timeout=300)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_model_facts_are_kept_on_disk_so_the_next_process_imports_nothing_heavy(tmp_path):
    preset = tmp_path / "p.toml"
    preset.write_text(TINY)
    first = _facts_in_a_fresh_process(preset, tmp_path / "home")
    assert first["torch"] and first["facts"]["total_params"] > 0
    (cached,) = (tmp_path / "home" / "model-facts").iterdir()
    assert oct(cached.stat().st_mode & 0o777) == "0o600"
    second = _facts_in_a_fresh_process(preset, tmp_path / "home")
    assert second == {"facts": first["facts"], "torch": False}
    # a damaged cache file is rebuilt, not trusted
    cached.write_text("{not json")
    third = _facts_in_a_fresh_process(preset, tmp_path / "home")
    assert third == {"facts": first["facts"], "torch": True}


def test_a_changed_local_config_is_read_again(tmp_path):
    import transformers

    folder = tmp_path / "my-model"
    config = transformers.LlamaConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                      num_attention_heads=2, vocab_size=100)
    config.save_pretrained(folder)
    preset = tmp_path / "p.toml"
    preset.write_text('schema = 1\n[model]\nname_or_path = "my-model"\ntask = "causal-lm"\n')
    one = _facts_in_a_fresh_process(preset, tmp_path / "home")["facts"]
    config.num_hidden_layers = 3
    config.save_pretrained(folder)
    three = _facts_in_a_fresh_process(preset, tmp_path / "home")["facts"]
    assert one["num_layers"] == 1 and three["num_layers"] == 3
    assert three["total_params"] > one["total_params"]


def test_the_estimate_never_runs_a_models_own_code(tmp_path):
    """A preset with trust_remote_code = true: the model's configuration code is not imported
    by the estimate (validate, the wizard); it gives no estimate instead."""
    folder = tmp_path / "custom"
    folder.mkdir()
    marker = tmp_path / "code-ran"
    (folder / "config.json").write_text(json.dumps({
        "model_type": "hftui-custom", "auto_map": {"AutoConfig": "configuration_custom.CustomConfig"}}))
    (folder / "configuration_custom.py").write_text(
        f"open({str(marker)!r}, 'w').write('ran')\n"
        "from transformers import PretrainedConfig\n"
        "class CustomConfig(PretrainedConfig):\n    model_type = 'hftui-custom'\n")
    preset = from_text('schema = 1\n[model]\nname_or_path = "custom"\ntrust_remote_code = true\n', path=tmp_path / "p.toml")
    assert facts_mod.model_facts(preset) is None
    assert memory_check.check(preset, gpus(1)) == []
    assert not marker.exists()


def test_unreadable_model_gives_no_estimate_and_no_crash():
    preset = from_text('schema = 1\n[model]\nname_or_path = "no-such-org/no-such-model-xyz"\n')
    est = memory.estimate(preset, gpus(1))
    assert est.per_gpu_bytes is None and est.fits is None and "unavailable" in est.text
    assert memory_check.check(preset, gpus(1)) == []


def test_check_on_a_cpu_box_imports_nothing_heavy(tmp_path):
    preset = tmp_path / "p.toml"
    preset.write_text(TINY)
    code = (
        "import sys; from hftui.core import preset; from hftui.core.checks import memory as memory_check;"
        f"assert memory_check.check(preset.load({str(preset)!r}, migrate=False), gpus=[]) == [];"
        "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("n, text", [(1536, "1.5 KiB"), (3 * memory.GiB, "3.0 GiB"), (12, "12 B")])
def test_human_sizes(n, text):
    assert memory.human(n) == text
