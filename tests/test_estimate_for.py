"""The memory estimate for a named machine (`hftui validate --for`), from the effective
configuration, against the peaks measured on an H200 (benchmarks/README.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from tiny_presets import sft_preset

from hftui.core import gpus as gpu_table
from hftui.core.checks.machine import fit_for
from hftui.core.launch import choose_backend, resolve_launch
from hftui.core.preset import from_text
from hftui.core.train import effective

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import llama1b_presets  # noqa: E402  (the presets gpu_check.sh trains)

# Measured on h200-vm (NVML's peak while training, benchmarks/README.md "GPU check").
MEASURED_GIB = {"defaults": 18.2, "recommended": 52.0}


def bench(name: str):
    return from_text(llama1b_presets.preset_text(name))


@pytest.mark.parametrize("name", ["defaults", "recommended"])
def test_the_estimate_on_an_h200_is_within_a_quarter_of_the_measured_peak(name):
    est = fit_for(bench(name), gpu_table.machine_gpus("1xH200"))
    assert est["backend"] == "single" and est["offload"] == "none" and est["fits"] is True
    assert est["per_gpu_gib"] == pytest.approx(MEASURED_GIB[name], rel=0.25)


def test_the_effective_configuration_is_the_config_class_defaults_plus_the_preset():
    defaults = effective.shape(bench("defaults"))
    assert defaults.mixed == "bf16" and defaults.checkpointing and defaults.batch == 8 and defaults.seq == 1024
    assert "SFTConfig" in defaults.sources["precision"] and "SFTConfig" in defaults.sources["activation checkpointing"]
    recommended = effective.shape(bench("recommended"))
    assert recommended.mixed == "bf16" and not recommended.checkpointing and recommended.batch == 16
    # TrainingArguments defaults to neither; args.max_length is the length the data path uses
    plain = from_text(llama1b_presets.preset_text("defaults").replace('type = "sft"', 'type = "trainer"')
                      + "max_length = 256\n")
    shape = effective.shape(plain)
    assert shape.mixed is None and not shape.checkpointing and shape.seq == 256
    fp16 = effective.shape(bench("defaults").with_value("args.fp16", True))
    assert fp16.mixed == "fp16"


def test_four_24gb_cards_keep_the_defaults_on_ddp():
    est = fit_for(bench("defaults"), gpu_table.machine_gpus("4xRTX4090"))
    assert est["backend"] == "ddp" and est["offload"] == "none" and est["fits"] is True
    assert est["breakdown_gib"]["ddp_buckets"] == est["breakdown_gib"]["gradients"]


def test_auto_never_offloads_when_offloading_cannot_make_it_fit():
    """Activations, not weights, overflow the cards: offload would only be slower."""
    preset = bench("recommended")
    backend, reason, implied = choose_backend(preset, gpu_table.machine_gpus("4xRTX4090"))
    assert backend == "fsdp" and implied == {} and "without offload" in reason and "activation" in reason


def test_auto_says_so_when_it_offloads(tmp_path):
    from tiny_presets import LLAMA7B

    huge = from_text(LLAMA7B.replace("hidden_size = 4096", "hidden_size = 8192").replace("intermediate_size = 11008", "intermediate_size = 28672")
                     .replace("num_hidden_layers = 32", "num_hidden_layers = 80").replace("num_attention_heads = 32", "num_attention_heads = 64"))
    est = fit_for(huge, gpu_table.machine_gpus("8xH100-80GB"))
    assert est["backend"] == "deepspeed" and est["offload"] == "all"
    assert any("CPU offload" in r and "slower" in r for r in est["reasons"])

    from hftui.core.run.announce import opening_notices

    plan = resolve_launch(huge, tmp_path, gpus=gpu_table.machine_gpus("8xH100-80GB"))
    notices = opening_notices(huge, run_dir=tmp_path, backend=plan.backend)
    assert any("CPU offload" in n for n in notices)


def test_bf16_defaults_on_a_card_without_bf16_say_what_to_write():
    est = fit_for(bench("defaults"), gpu_table.machine_gpus("1xT4"))
    assert any("args.fp16 = true" in r for r in est["reasons"])


def test_validate_for_a_named_machine_prints_one_json_object(tmp_path, capsys):
    from hftui.tui.cli import main

    (tmp_path / "data.jsonl").write_text("".join(json.dumps({"text": f"row {i}"}) + "\n" for i in range(8)))
    path = tmp_path / "p.toml"
    path.write_text(sft_preset("for-test", args={"max_steps": 2}))
    assert main(["validate", str(path), "--for", "2xA100-80GB", "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert obj["valid"] is True and isinstance(obj["problems"], list)
    est = obj["estimate"]
    assert set(est) >= {"per_gpu_gib", "backend", "offload", "fits", "reasons"}
    assert est["backend"] == "ddp" and est["fits"] is True and est["machine"] == {"gpus": 2, "gpu": "A100-80GB", "gpu_gib": 80.0}

    assert main(["validate", str(path), "--for", "2xA100-70GB"]) == 2
    err = capsys.readouterr().err
    assert "unknown GPU" in err and "A100-80GB" in err and "A100-40GB" in err


@pytest.mark.parametrize("spec, count, name", [("4xA100-80GB", 4, "A100-80GB"), ("H200", 1, "H200"), ("8 x rtx 4090", 8, "RTX4090")])
def test_machine_names(spec, count, name):
    n, model = gpu_table.parse_machine(spec)
    assert (n, model.name) == (count, name)


def test_nvml_names_find_their_peaks():
    assert gpu_table.peak_flops("NVIDIA H100 PCIe") == 756e12
    assert gpu_table.peak_flops("NVIDIA H100 80GB HBM3") == 989e12
    assert gpu_table.peak_flops("NVIDIA A100-SXM4-40GB") == 312e12
    assert gpu_table.peak_flops("Tesla T4") == 65e12  # fp16: no bf16 tensor cores
    assert gpu_table.peak_flops("Some Future GPU") is None


def test_the_review_shows_the_estimate_for_a_chosen_machine():
    from hftui.tui.review_text import memory_text

    text = memory_text(bench("defaults"), target="4xRTX4090")
    first = text.splitlines()[0]
    assert first.startswith("on 4xRTX4090: about ") and "ddp; fits" in first
    assert "activation checkpointing: on (SFTConfig's default True)" in text
    assert "unknown GPU" in memory_text(bench("defaults"), target="4xRTX4091")
    here = memory_text(bench("defaults"), gpus=[])
    assert "no GPU here" in here and "--for" in here


def test_eager_attention_keeps_the_scores_and_checkpointing_keeps_layer_inputs():
    h200 = gpu_table.machine_gpus("1xH200")
    sdpa = fit_for(bench("recommended"), h200)["breakdown_gib"]["activations"]
    eager = fit_for(bench("recommended").with_value("model.scratch.attn_implementation", "eager"), h200)["breakdown_gib"]["activations"]
    # softmax (fp32), its bf16 copy, the dropout mask and output: 9 bytes x heads x seq per token and layer
    assert eager - sdpa == pytest.approx(20 * 16 * 1024 * 16 * 1024 * 9 / 2**30, abs=0.02)
    ckpt = fit_for(bench("recommended").with_value("args.gradient_checkpointing", True), h200)["breakdown_gib"]["activations"]
    assert ckpt < sdpa / 5
