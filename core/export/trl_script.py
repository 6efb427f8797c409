"""The TRL trainers' part of an exported script (SFT, reward, DPO, GRPO, RLOO): the columns each
reads, its rewards, and the trainer built with LoRA as `peft_config=`, as `train/trainers.py`
builds it for the worker. Every preset value enters the script as a literal (`literal`).
"""

from __future__ import annotations

import inspect
import textwrap

from hftui.core.export.literals import literal as _r
from hftui.core.options.sections import REWARD_TRAINER_TYPES, column_name
from hftui.core.train import data as data_mod
from hftui.core.train import rewards
from hftui.core.train.trainers import TRL_TRAINERS

TRL_TYPES = tuple(TRL_TRAINERS)


def helper_sources(preset) -> list[str]:
    """Source of the shipped reward functions the preset names (copied verbatim)."""
    if preset.trainer_type not in REWARD_TRAINER_TYPES:
        return []
    names = [n for n in data_mod.reward_function_names(preset) if n in rewards.REWARD_FUNCTIONS]
    fns = [rewards.completion_text] + [rewards.REWARD_FUNCTIONS[n] for n in names]
    return [textwrap.dedent(inspect.getsource(fn)).rstrip() + "\n" for fn in fns]


def data_lines(preset) -> list[str]:
    """Lines of main() that keep and rename the columns the trainer reads."""
    ttype, d = preset.trainer_type, preset.section("dataset")
    col = {k: column_name(d, k) for k in ("text_column", "messages_column", "prompt_column", "completion_column", "chosen_column", "rejected_column")}
    out = []
    if ttype == "sft":
        out += [f"    if {_r(col['text_column'])} in train.column_names:",
                f"        keep = {{{_r(col['text_column'])}: 'text'}}",
                f"    elif {_r(col['messages_column'])} in train.column_names:",
                f"        keep = {{{_r(col['messages_column'])}: 'messages'}}",
                "    else:  # prompt/completion: the loss is on the completion only",
                f"        keep = {{{_r(col['prompt_column'])}: 'prompt', {_r(col['completion_column'])}: 'completion'}}"]
    elif ttype in ("reward", "dpo"):
        keep = {col["chosen_column"]: "chosen", col["rejected_column"]: "rejected"}
        if ttype == "dpo":
            keep = {col["prompt_column"]: "prompt", **keep}
        out.append(f"    keep = {_r(keep)}")
    else:
        keep = {col["prompt_column"]: "prompt"}
        if data_mod.needs_solution(preset):
            keep[data_mod.solution_column(preset)] = "solution"
        out.append(f"    keep = {_r(keep)}")
    out.append("    train, evald = select_rename(train, keep), select_rename(evald, keep)")
    return out


def trainer_lines(preset, lora: dict | None) -> list[str]:
    """Lines of main() that build the TRL trainer from `model`, `tokenizer`, `args`, the splits."""
    ttype = preset.trainer_type
    cls = TRL_TRAINERS[ttype]
    out = [f"    from trl import {cls}"]
    if lora:
        out += ["    from peft import LoraConfig", f"    peft_config = LoraConfig(**{_r(lora)})"]
    else:
        out.append("    peft_config = None")
    common = "args=args, train_dataset=train, eval_dataset=evald, processing_class=tokenizer, peft_config=peft_config"
    if ttype == "dpo":
        if not lora:  # the frozen reference (with LoRA, the model without its adapters is the reference)
            out += ["    import copy", "    ref = copy.deepcopy(model).eval()", "    for p in ref.parameters():", "        p.requires_grad_(False)"]
        out.append(f"    trainer = {cls}(model=model, ref_model={'None' if lora else 'ref'}, {common})")
    elif ttype in REWARD_TRAINER_TYPES:
        out += ["    funcs, classes = [], []"]
        reward = preset.get("grpo.reward_model")
        if reward:
            local = preset.resolve_output(str(reward))
            path = str(local) if local.exists() else str(reward)
            out += [f"    funcs.append(transformers.AutoModelForSequenceClassification.from_pretrained({_r(path)}, num_labels=1))",
                    "    try:",
                    f"        reward_tokenizer = transformers.AutoTokenizer.from_pretrained({_r(path)})",
                    "    except Exception:  # saved without a tokenizer: the policy's reads the same text",
                    "        reward_tokenizer = tokenizer",
                    "    if reward_tokenizer.pad_token is None:",
                    "        reward_tokenizer.pad_token = reward_tokenizer.eos_token or reward_tokenizer.unk_token",
                    "    classes.append(reward_tokenizer)"]
        for name in data_mod.reward_function_names(preset):
            if name in rewards.REWARD_FUNCTIONS:
                out += [f"    funcs.append({name})", "    classes.append(None)"]
        if not lora:
            out += ["    if args.beta and not model.config._name_or_path:",
                    "        # TRL loads the frozen reference by the model's name; a fresh model is saved for it",
                    "        import atexit, shutil, tempfile",
                    "        ref_dir = tempfile.mkdtemp(prefix='reference-')",
                    "        atexit.register(shutil.rmtree, ref_dir, True)",
                    "        model.save_pretrained(ref_dir)",
                    "        model.config._name_or_path = ref_dir"]
        out.append(f"    trainer = {cls}(model=model, reward_funcs=funcs, reward_processing_classes=classes, {common})")
    else:
        out.append(f"    trainer = {cls}(model=model, {common})")
    return out


def merge_lines(preset) -> list[str]:
    """Lines after the final save: the model with its LoRA adapters merged, when [peft] merge = true."""
    if not (preset.has("peft") and preset.get("peft.merge")):
        return []
    from hftui.core.run.folder import MERGED_SUBDIR

    return ["    merged = trainer.model.merge_and_unload()",
            f"    merged.save_pretrained(os.path.join(args.output_dir, {_r(MERGED_SUBDIR)}))",
            f"    tokenizer.save_pretrained(os.path.join(args.output_dir, {_r(MERGED_SUBDIR)}))"]
