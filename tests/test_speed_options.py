"""The speed settings as options: [model] attn_implementation reaches the built model, the run and
the exported script; validate refuses kernels and QLoRA where their packages or CUDA are missing;
the ★ of tf32 follows the GPUs; torch_compile sits on the training step."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from hftui.core import preset as preset_mod
from hftui.core.checks import installed, machine, validate_file
from hftui.core.export.script import export_python
from hftui.core.gpus import machine_gpus
from hftui.core.options.catalog import get_catalog
from hftui.core.options.steps import step_fields
from hftui.core.problems import PresetError
from hftui.core.run.events import read_all
from hftui.core.train import modeling, quantize
from hftui.core.train.worker import train
from hftui.tui import cli
from tiny_presets import sft_preset, toml_text


def _rows(folder: Path) -> None:
    (folder / "data.jsonl").write_text("".join(json.dumps({"text": f"row {i} says {'hi' * (i % 3 + 1)}"}) + "\n" for i in range(16)), encoding="utf-8")


def _preset(folder: Path, name: str = "p", model: dict | None = None, args: dict | None = None, **top) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(sft_preset(name, args={"max_steps": 2, "per_device_train_batch_size": 4, "seed": 3, **(args or {})}, model=model, **top), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A folder with data, and a tiny pretrained model folder ("tiny") to load from_pretrained."""
    folder = tmp_path_factory.mktemp("speed")
    _rows(folder)
    p = preset_mod.load(_preset(folder))
    tok = modeling.load_tokenizer(p)
    modeling.load_model(p, tok).save_pretrained(folder / "tiny")
    tok.save_pretrained(folder / "tiny")
    return folder


def _pretrained(folder: Path, name: str, **tables) -> Path:
    data = preset_mod.load(_preset(folder, name)).data
    del data["model"]["scratch"]
    data["model"]["name_or_path"] = "tiny"
    for key, value in tables.items():
        data[key] = value
    path = folder / f"{name}.toml"
    path.write_text(toml_text(data), encoding="utf-8")
    return path


def _at(problems, path):
    return [p for p in problems if p.path == path]


@pytest.mark.parametrize("kernel", ["eager", "sdpa"])
def test_the_key_reaches_the_built_model(project, kernel):
    scratch = preset_mod.load(_preset(project, f"s-{kernel}", model={"attn_implementation": kernel}))
    tok = modeling.load_tokenizer(scratch)
    assert modeling.load_model(scratch, tok).config._attn_implementation == kernel
    folder = preset_mod.load(_pretrained(project, f"f-{kernel}")).with_value("model.attn_implementation", kernel)
    assert modeling.load_model(folder, tok).config._attn_implementation == kernel


@pytest.fixture(scope="module")
def trained(project) -> dict:
    """train_loss of two-step runs of the tiny scratch model with eager and sdpa attention."""
    losses, built = {}, []
    load = modeling.load_model

    def spy(*args, **kwargs):
        model = load(*args, **kwargs)
        built.append(model.config._attn_implementation)
        return model

    for kernel in ("eager", "sdpa"):
        path = _preset(project, f"run-{kernel}", model={"attn_implementation": kernel}, args={"output_dir": f"out-{kernel}"})
        run_dir = project / f"run-{kernel}"
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(modeling, "load_model", spy)
            assert train(preset_mod.load(path), run_dir) == "completed"
        end = read_all(run_dir / "events.jsonl").events[-1]
        assert end["event"] == "end" and end["step"] == 2
        losses[kernel] = end["train_loss"]
    losses["built"] = built
    return losses


def test_eager_and_sdpa_train_the_same_steps(trained):
    # the same maths by two kernels: the same losses, to float32 rounding
    assert trained["eager"] == pytest.approx(trained["sdpa"], rel=1e-4)
    assert trained["eager"] > 0 and trained["built"] == ["eager", "sdpa"]  # the run's model had the kernel asked for


def test_the_export_carries_the_kernel_and_qlora(project):
    scratch = preset_mod.load(_preset(project, "x-eager", model={"attn_implementation": "eager"}))
    source = export_python(scratch)
    assert "from_config(config, attn_implementation='eager')" in source
    assert "attn_implementation" not in export_python(preset_mod.load(_preset(project, "x-plain")))
    q = preset_mod.load(_pretrained(project, "x-qlora", peft={"method": "qlora", "r": 8})).with_value("model.attn_implementation", "sdpa")
    source = export_python(q)
    compile(source, "train.py", "exec")
    assert "'attn_implementation': 'sdpa'" in source
    assert "transformers.BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type='nf4'" in source
    assert "prepare_model_for_kbit_training(model" in source and "'method'" not in source


def test_validate_refuses_kernels_whose_package_is_missing(project, monkeypatch):
    key = "model.attn_implementation"
    path = _preset(project, "v-flash", model={"attn_implementation": "flash_attention_2"})
    monkeypatch.setattr(installed, "missing_distribution", lambda name: True)
    (problem,) = _at(validate_file(path)[1], key)
    assert problem.severity == "error" and "flash-attn" in problem.message and "sdpa" in problem.hint
    monkeypatch.setattr(installed, "missing_distribution", lambda name: False)
    monkeypatch.setattr(machine, "visible_gpus", lambda: machine_gpus("1xH100"))
    assert not _at(validate_file(path)[1], key)
    hub = _preset(project, "v-hub", model={"attn_implementation": "kernels-community/flash-attn"})
    monkeypatch.setattr(installed, "missing_package", lambda name: name == "kernels")
    (problem,) = _at(validate_file(hub)[1], key)
    assert "needs the kernels package" in problem.message and "pip install kernels" in problem.hint
    (problem,) = _at(validate_file(_preset(project, "v-typo", model={"attn_implementation": "spda"}))[1], key)
    assert 'did you mean "sdpa"' in problem.hint


def test_validate_refuses_liger_without_its_package(project, monkeypatch):
    path = _preset(project, "v-liger", args={"use_liger_kernel": True})
    monkeypatch.setattr(installed, "missing_package", lambda name: name == "liger_kernel")
    (problem,) = _at(validate_file(path)[1], "args.use_liger_kernel")
    assert problem.severity == "error" and "liger-kernel" in problem.message and "pip install liger-kernel" in problem.hint
    monkeypatch.setattr(installed, "missing_package", lambda name: False)
    monkeypatch.setattr(machine, "visible_gpus", lambda: machine_gpus("1xH100"))
    assert not _at(validate_file(path)[1], "args.use_liger_kernel")


def test_padding_free_needs_flash_attention(project, monkeypatch):
    (problem,) = _at(validate_file(_preset(project, "v-free", args={"padding_free": True}))[1], "args.padding_free")
    assert problem.severity == "error" and '"sdpa"' in problem.message and "flash_attention_2" in problem.hint
    (problem,) = _at(validate_file(_preset(project, "v-pack", args={"packing": True}))[1], "args.packing")
    assert problem.severity == "warning" and "bfd" in problem.message and '"wrapped"' in problem.hint
    assert not _at(validate_file(_preset(project, "v-wrap", args={"packing": True, "packing_strategy": "wrapped"}))[1], "args.packing")
    monkeypatch.setattr(installed, "missing_distribution", lambda name: False)
    monkeypatch.setattr(machine, "visible_gpus", lambda: machine_gpus("1xH100"))
    flash = _preset(project, "v-flash-free", model={"attn_implementation": "flash_attention_2"}, args={"padding_free": True})
    assert not [p for p in validate_file(flash)[1] if p.path in ("args.padding_free", "model.attn_implementation")]


def test_qlora_without_bitsandbytes_or_cuda_is_refused(project, capsys, monkeypatch):
    path = _pretrained(project, "q", peft={"method": "qlora"})
    assert cli.main(["validate", str(path)]) == 2
    out = capsys.readouterr()
    text = out.out + out.err
    assert "bitsandbytes, which is not installed" in text and "needs a CUDA GPU" in text and "Traceback" not in text
    # the run refuses too, before loading anything
    p = preset_mod.load(path)
    with pytest.raises(PresetError) as caught:
        modeling.load_model(p, modeling.load_tokenizer(p))
    assert [x.path for x in caught.value.problems] == ["peft.method", "peft.method"]
    # with bitsandbytes installed, on a named CUDA machine, nothing stands in the way
    monkeypatch.setattr(quantize, "bnb_installed", lambda: True)
    assert not _at(validate_file(path, gpus=machine_gpus("1xRTX4090"))[1], "peft.method")
    (problem,) = _at(validate_file(path)[1], "peft.method")  # this machine: no GPU
    assert "CUDA" in problem.message and "--for" in problem.hint
    # a fresh [model.scratch] model is never quantized
    scratch = _preset(project, "q-scratch")
    data = preset_mod.load(scratch).data
    data["peft"] = {"method": "qlora"}
    scratch.write_text(toml_text(data), encoding="utf-8")
    (problem,) = _at(validate_file(scratch, gpus=machine_gpus("1xRTX4090"))[1], "peft.method")
    assert "[model.scratch]" in problem.message and 'method = "lora"' in problem.hint


def test_tf32_is_starred_on_ampere_or_newer_only(project):
    p = preset_mod.load(_preset(project, "star"))
    catalog = get_catalog("sft")

    def star(gpus):
        return dict(step_fields("precision", p, catalog, gpus=gpus))["args.tf32"].star

    assert star(machine_gpus("2xA100-80GB")) and star(machine_gpus("1xRTX4090"))
    assert not star(machine_gpus("1xV100-32GB")) and not star([])
    assert not star(None)  # GPUs not known yet: the curated mark


def test_tf32_on_a_machine_without_tensor_cores(project):
    path = _preset(project, "tf32", args={"tf32": True})
    (problem,) = _at(validate_file(path, gpus=machine_gpus("1xV100-32GB"))[1], "args.tf32")
    assert problem.severity == "error" and "Ampere" in problem.message
    assert not _at(validate_file(path, gpus=machine_gpus("1xA100-80GB"))[1], "args.tf32")


@pytest.mark.usefixtures("warm_catalog")
async def test_the_training_step_shows_torch_compile(project):
    from hftui.tui.app import HftuiApp
    from hftui.tui.widgets.option_field import OptionField

    preset = preset_mod.load(_preset(project, "wizard"))
    app = HftuiApp(preset_mod.Preset(data=preset.data, path=project / "mine.toml"), fresh=True, gpus=[])
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()

        def shown() -> set[str]:
            return {f.path for f in app.screen.query(OptionField) if f.display and f.parent is not None and f.parent.display}

        app.screen.goto("training")
        end = time.monotonic() + 20
        while "args.torch_compile" not in shown():
            assert time.monotonic() < end, "the training step never showed torch_compile"
            await pilot.pause(0.1)
        app.screen.goto("distribution")
        await pilot.pause(0.3)
        assert "args.torch_compile" not in shown()


def test_qlora_settings_and_the_prepared_model_train_the_adapters(project):
    import torch
    from peft import get_peft_model

    # what from_pretrained gets: NF4 with double quantization, computing in bf16 where the GPU has it
    kwargs = quantize.load_kwargs()
    config = kwargs["quantization_config"]
    assert config.load_in_4bit and config.bnb_4bit_quant_type == "nf4" and config.bnb_4bit_use_double_quant
    compute = torch.bfloat16 if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else torch.float16
    assert kwargs["dtype"] == compute == config.bnb_4bit_compute_dtype and kwargs["device_map"] == {"": 0}
    # the preparation and the adapters over it (a full-precision stand-in for the 4-bit base, as
    # bitsandbytes needs CUDA): only the adapters get gradients, through checkpointed layers too

    p = preset_mod.load(_pretrained(project, "q-prep", peft={"method": "qlora", "r": 4}))
    model = quantize.prepare(modeling.load_model(p.with_value("peft.method", "lora"), modeling.load_tokenizer(p)))
    assert not any(param.requires_grad for param in model.parameters())
    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": True})
    model = get_peft_model(model, modeling.lora_config(p))
    model.train()
    ids = torch.tensor([[5, 6, 7, 8, 9, 10]])
    model(input_ids=ids, labels=ids).loss.backward()
    grads = {name for name, param in model.named_parameters() if param.grad is not None}
    assert grads and all("lora_" in name for name in grads)
