"""A preset as a standalone Python training script (`hftui export PRESET --to python`).

The script imports only transformers, trl, peft, datasets and tokenizers (plus scikit-learn,
sacrebleu or jiwer when the preset lists metrics that need them), never hftui, and trains the
same thing the worker trains: the same model construction (the byte tokenizer's code is copied
in verbatim), the same data processing (the per-row functions are copied too), the same
config values and the same seed, in the same order, so that the losses match.
"""

from __future__ import annotations

import inspect
import textwrap
from pathlib import Path
from types import SimpleNamespace

from hftui.core.export.literals import literal, pretty
from hftui.core.export import trl_script
from hftui.core.export.metrics_source import metrics_source
from hftui.core.options.catalog import CONFIG_CLASSES, config_key
from hftui.core.options.sections import EVAL_SPLIT_NAMES, column_name
from hftui.core.train import data as data_mod
from hftui.core.train import modeling, quantize
from hftui.core.train.metrics import wanted_metrics
from hftui.core.train.trainer_config import config_kwargs


_r = literal  # every preset value enters the script as a Python literal, never as code or text


def _src(fn) -> str:
    return textwrap.dedent(inspect.getsource(fn)).rstrip() + "\n"


def _data_files(preset):
    files, _ = data_mod.resolve_data_files(preset)
    return files


def export_python(preset) -> str:
    """The training script for `preset` (a loaded Preset), as text."""
    ttype, task = preset.trainer_type, preset.task
    key = config_key(ttype, task)
    modules, class_name = CONFIG_CLASSES[key]
    fake_prepared = SimpleNamespace(config_updates={"dataset_text_field": "text"})
    args = config_kwargs(preset, fake_prepared if ttype == "sft" else None, auto_cpu=False)
    seed = int(preset.get("args.seed", 42) or 42)
    d = preset.section("dataset")
    scratch = preset.section("model").get("scratch")
    scratch = dict(scratch) if isinstance(scratch, dict) else None
    tok_spec = modeling.scratch_setting(scratch, "tokenizer") if scratch else None
    metrics = [m for m in wanted_metrics(preset) if m != "perplexity"] if ttype == "trainer" else []

    out: list[str] = []
    w = out.append
    w("#!/usr/bin/env python")
    # fixed text: the preset's own words (name, file, values) enter only as literals, through _r
    w('"""Trains the preset PRESET_NAME (from PRESET_FILE) as hftui would, without hftui.\n')
    w("Needs: transformers, trl, peft, datasets, tokenizers (and torch).")
    w('"""\n')
    w("import os\n")
    w('os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")')
    w('os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")\n')
    w("import importlib\n")
    w("import torch")
    w("import transformers")
    w("from datasets import load_dataset")
    w("from transformers import set_seed\n")
    w(f"PRESET_NAME, PRESET_FILE = {_r(str(preset.name))}, {_r(str(preset.path) if preset.path else None)}")
    w(f"TRAINER_TYPE, TASK = {_r(ttype)}, {_r(task)}")
    w(f"SEED = {seed}")
    w(f"# the {class_name} fields ([args] of the preset plus the defaults hftui chooses)")
    w(f"ARGS = {pretty(args)}")
    w(f"MAX_LENGTH = {int(data_mod.max_length(preset))}")
    w(f"EVAL_SPLIT_NAMES = {_r(EVAL_SPLIT_NAMES)}\n")
    w("# without CUDA (a smoke test on a CPU box): the CPU, and gloo between processes")
    w("if not torch.cuda.is_available():")
    w('    ARGS.setdefault("use_cpu", True)')
    w('    if int(os.environ.get("WORLD_SIZE", "1")) > 1:')
    w('        ARGS.setdefault("ddp_backend", "gloo")\n')
    w("")

    # -- helpers copied from hftui -----------------------------------------------------------
    if scratch and tok_spec == "byte":
        w(_src(modeling.byte_tokenizer))
    helpers = []
    if ttype == "trainer" and task == "sequence-classification":
        helpers = [data_mod.label_mapping, data_mod.tokenize_classification]
    elif ttype == "trainer" and task == "seq2seq-lm":
        helpers = [data_mod.with_eos, data_mod.tokenize_seq2seq]
    elif ttype == "trainer":
        helpers = [data_mod.with_eos, data_mod.tokenize_causal_lm]
    elif ttype == "ppo":
        helpers = [data_mod.tokenize_prompts]
    for fn in helpers:
        w("")
        w(_src(fn))
    for source in trl_script.helper_sources(preset):
        w("")
        w(source)

    # -- tokenizer -----------------------------------------------------------------------------
    w("")
    w("def load_tokenizer():")
    if scratch and tok_spec == "byte":
        w("    tokenizer = byte_tokenizer()")
    else:
        path = modeling.local_or_hub(preset, tok_spec, "model.scratch.tokenizer") if scratch else modeling.local_or_hub(preset, str(preset.get("model.name_or_path")), "model.name_or_path")
        kw = {"trust_remote_code": bool(preset.get("model.trust_remote_code", False))}
        if preset.get("model.revision") and not scratch:
            kw["revision"] = preset.get("model.revision")
        w(f"    tokenizer = transformers.AutoTokenizer.from_pretrained({_r(path)}, **{_r(kw)})")
    w("    if tokenizer.pad_token is None:")
    w("        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token")
    if ttype == "ppo":
        w('    tokenizer.padding_side = "left"')
    w("    return tokenizer\n")

    # -- data ------------------------------------------------------------------------------------
    files = _data_files(preset)
    builder = data_mod.dataset_builder(preset, files)
    load_kw = {}
    if files is not None:
        load_kw["data_files"] = files
    if preset.get("dataset.name"):
        load_kw["name"] = preset.get("dataset.name")
    train_name = str(d.get("train_split") or "train")
    w("")
    w("def load_splits():")
    w(f"    loaded = load_dataset({_r(builder)}, **{_r(load_kw)})")
    w(f"    train_name, eval_name = {_r(train_name)}, {_r(d.get('eval_split'))}")
    if not d.get("eval_fraction"):
        w("    if eval_name is None:")
        w("        eval_name = next((n for n in EVAL_SPLIT_NAMES if n in loaded and n != train_name), None)")
    w("    train = loaded[train_name]")
    w("    evald = loaded[eval_name] if eval_name is not None else None")
    if d.get("eval_fraction"):
        w("    if evald is None:")
        w(f"        parts = train.train_test_split(test_size={float(d['eval_fraction'])!r}, seed=SEED)")
        w('        train, evald = parts["train"], parts["test"]')
    if d.get("max_train_samples"):
        w(f"    train = train.select(range(min(len(train), {int(d['max_train_samples'])})))")
    if d.get("max_eval_samples"):
        w("    if evald is not None:")
        w(f"        evald = evald.select(range(min(len(evald), {int(d['max_eval_samples'])})))")
    w("    return train, evald\n")

    w("")
    w("def process(ds, fn):")
    w("    if ds is None:")
    w("        return None")
    w("    return ds.map(fn, batched=True, remove_columns=ds.column_names)\n")

    w("")
    w("def select_rename(ds, mapping):")
    w("    if ds is None:")
    w("        return None")
    w("    ds = ds.select_columns(list(mapping))")
    w("    for old, new in mapping.items():")
    w("        if old != new:")
    w("            ds = ds.rename_column(old, new)")
    w("    return ds\n")

    # -- model -----------------------------------------------------------------------------------
    model_task = modeling.model_task(ttype, task)
    auto = modeling.AUTO_CLASSES[model_task]
    w("")
    w("def load_model(tokenizer, num_labels=None):")
    kernel = modeling.attn_implementation(preset)
    attention = f", attn_implementation={_r(kernel)}" if kernel else ""
    if scratch:
        arch = modeling.scratch_setting(scratch, "architecture")
        extra = {k: v for k, v in scratch.items() if k not in modeling.SCRATCH_OWN_KEYS}
        w(f"    extra = {_r(extra)}")
        w('    extra.setdefault("vocab_size", len(tokenizer))')
        w('    for name in ("pad_token_id", "bos_token_id", "eos_token_id"):')
        w("        value = getattr(tokenizer, name, None)")
        w("        if value is not None:")
        w("            extra.setdefault(name, value)")
        if model_task == "seq2seq-lm":
            w('    extra.setdefault("decoder_start_token_id", tokenizer.pad_token_id)')
        w("    if num_labels is not None:")
        w('        extra["num_labels"] = num_labels')
        w(f"    config = transformers.AutoConfig.for_model({_r(arch)}, **extra)")
        w(f"    return transformers.{auto}.from_config(config{attention})\n")
    else:
        path = modeling.local_or_hub(preset, str(preset.get("model.name_or_path")), "model.name_or_path")
        kw = {"trust_remote_code": bool(preset.get("model.trust_remote_code", False))}
        if preset.get("model.revision"):
            kw["revision"] = preset.get("model.revision")
        dtype = preset.get("model.dtype", "auto") or "auto"
        qlora = quantize.is_qlora(preset)
        if kernel:
            kw["attn_implementation"] = kernel
        w(f"    kwargs = {_r(kw)}")
        w(f"    kwargs['dtype'] = {_r(dtype)} if {_r(dtype)} == 'auto' else getattr(torch, {_r(dtype)})")
        w("    if num_labels is not None:")
        w('        kwargs["num_labels"] = num_labels')
        if qlora:  # QLoRA: the base in 4 bits (NF4), computing in bf16 where the GPU has it
            w("    compute = torch.bfloat16 if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else torch.float16")
            w(f"    kwargs['quantization_config'] = transformers.BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type={_r(quantize.QUANT_TYPE)}, "
              f"bnb_4bit_use_double_quant={_r(quantize.DOUBLE_QUANT)}, bnb_4bit_compute_dtype=compute, bnb_4bit_quant_storage=compute)")
            w("    kwargs['dtype'] = compute")
            w("    kwargs['device_map'] = {'': int(os.environ.get('LOCAL_RANK', '0'))}  # each process holds a whole 4-bit copy")
        w(f"    model = transformers.{auto}.from_pretrained({_r(path)}, **kwargs)")
        w("    if getattr(model.config, 'pad_token_id', None) is None:")
        w("        model.config.pad_token_id = tokenizer.pad_token_id")
        if qlora:
            w("    from peft import prepare_model_for_kbit_training")
            w("    model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)")
            w("    model.enable_input_require_grads()")
        w("    return model\n")

    lora = modeling.lora_kwargs(preset, model_task) if preset.has("peft") else None

    if metrics:
        w("")
        w(metrics_source(task, metrics))

    # -- main ------------------------------------------------------------------------------------
    w("")
    w("def main():")
    w("    tokenizer = load_tokenizer()")
    w("    train, evald = load_splits()")
    num_labels_expr = "None"
    if ttype in trl_script.TRL_TYPES:
        for line in trl_script.data_lines(preset):
            w(line)
        if ttype == "reward":
            num_labels_expr = "1"  # a reward model outputs one score
    elif ttype == "ppo":
        w(f"    fn = lambda batch: tokenize_prompts(batch, tokenizer, {_r(column_name(d, 'prompt_column'))}, MAX_LENGTH)")
        w("    train, evald = process(train, fn), process(evald, fn)")
    elif task == "sequence-classification":
        text, label = column_name(d, "text_column"), column_name(d, "label_column")
        w(f"    values = list(train[{_r(label)}]) + (list(evald[{_r(label)}]) if evald is not None else [])")
        fixed = preset.get("model.num_labels")
        w("    label2id = None  # regression: labels are the targets" if fixed == 1 else "    label2id = label_mapping(values)")
        w(f"    num_labels = {int(fixed)}" if fixed else "    num_labels = max(label2id.values()) + 1")
        w(f"    fn = lambda batch: tokenize_classification(batch, tokenizer, {_r(text)}, {_r(label)}, MAX_LENGTH, label2id)")
        w("    train, evald = process(train, fn), process(evald, fn)")
        num_labels_expr = "num_labels"
    elif task == "seq2seq-lm":
        text, target = column_name(d, "text_column"), column_name(d, "target_column")
        w(f"    fn = lambda batch: tokenize_seq2seq(batch, tokenizer, {_r(text)}, {_r(target)}, MAX_LENGTH)")
        w("    train, evald = process(train, fn), process(evald, fn)")
    else:
        text = column_name(d, "text_column")
        w(f"    fn = lambda batch: tokenize_causal_lm(batch, tokenizer, {_r(text)}, MAX_LENGTH)")
        w("    train, evald = process(train, fn), process(evald, fn)")
    w(f"    config_cls = _find({_r(modules)}, {_r(class_name)})")
    w("    args = config_cls(**ARGS)")
    w("    set_seed(SEED)")
    if ttype == "ppo":
        ppo = preset.section("ppo")
        reward = str(preset.resolve(str(ppo.get("reward_model"))))
        value = str(preset.resolve(str(ppo.get("value_model") or ppo.get("reward_model"))))
        w("    policy = load_model(tokenizer)")
        w(f"    reward = transformers.AutoModelForSequenceClassification.from_pretrained({_r(reward)}, num_labels=1)")
        w(f"    value = transformers.AutoModelForSequenceClassification.from_pretrained({_r(value)}, num_labels=1)")
        if lora:
            w("    from peft import LoraConfig")
            w(f"    peft_config, ref = LoraConfig(**{_r(lora)}), None")
        else:
            w("    import copy")
            w("    ref = copy.deepcopy(policy).eval()")
            w("    for p in ref.parameters():")
            w("        p.requires_grad_(False)")
            w("    peft_config = None")
        w("    trainer_cls = _find(('trl', 'trl.experimental.ppo'), 'PPOTrainer')")
        w("    trainer = trainer_cls(args=args, processing_class=tokenizer, model=policy, ref_model=ref, reward_model=reward,")
        w("                          train_dataset=train, value_model=value, eval_dataset=evald if evald is not None else train, peft_config=peft_config)")
    else:
        w(f"    model = load_model(tokenizer, {num_labels_expr})")
        if task == "sequence-classification" and ttype == "trainer" and preset.get("model.num_labels") != 1:
            w("    names = [str(k) for k, _ in sorted(label2id.items(), key=lambda kv: kv[1])]")
            w("    model.config.id2label = dict(enumerate(names))")
            w("    model.config.label2id = {n: i for i, n in enumerate(names)}")
        if lora and ttype not in trl_script.TRL_TYPES:  # TRL's trainers take LoRA as peft_config=
            w("    from peft import LoraConfig, get_peft_model")
            w(f"    model = get_peft_model(model, LoraConfig(**{_r(lora)}))")
            w("    model.print_trainable_parameters()")
        common = "args=args, train_dataset=train, eval_dataset=evald, processing_class=tokenizer"
        if ttype in trl_script.TRL_TYPES:
            for line in trl_script.trainer_lines(preset, lora):
                w(line)
        elif task == "seq2seq-lm":
            w("    collator = transformers.DataCollatorForSeq2Seq(tokenizer, model=model)")
            cm = ", compute_metrics=make_compute_metrics(tokenizer)" if metrics else ""
            w(f"    trainer = transformers.Seq2SeqTrainer(model=model, data_collator=collator{cm}, {common})")
        elif task == "sequence-classification":
            cm = ", compute_metrics=make_compute_metrics(num_labels)" if metrics else ""
            w(f"    trainer = transformers.Trainer(model=model, data_collator=transformers.DataCollatorWithPadding(tokenizer){cm}, {common})")
        else:
            cm = ", compute_metrics=make_compute_metrics(), preprocess_logits_for_metrics=lambda logits, labels: (logits[0] if isinstance(logits, tuple) else logits).argmax(-1)" if metrics else ""
            w(f"    trainer = transformers.Trainer(model=model, data_collator=transformers.DataCollatorForSeq2Seq(tokenizer){cm}, {common})")
    w("    trainer.train()")
    w("    trainer.save_model(args.output_dir)")
    for line in trl_script.merge_lines(preset):
        w(line)
    w("    trainer.save_state()  # trainer_state.json: every logged loss and metric\n")
    w("")
    w("def _find(modules, name):")
    w('    """The class `name` from the first module that has it (trl moves classes between versions)."""')
    w("    for module in modules:")
    w("        try:")
    w("            found = getattr(importlib.import_module(module), name, None)")
    w("        except ImportError:")
    w("            found = None")
    w("        if found is not None:")
    w("            return found")
    w("    raise ImportError(f\"{name} not found in {', '.join(modules)}\")\n")
    w("")
    w('if __name__ == "__main__":')
    w("    main()")
    return "\n".join(out) + "\n"


def write_python(preset, path: str | Path) -> Path:
    from hftui.core.fsutil import atomic_write_text

    path = Path(path)
    atomic_write_text(path, export_python(preset))
    return path
