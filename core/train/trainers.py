"""The trainer object for each trainer type (PPO aside: see `ppo.py`).

TRL's trainers take LoRA as `peft_config=` and wrap the model themselves (casting dtypes for
ZeRO-3 and making new token embeddings trainable); the transformers Trainer gets a model already
wrapped (`modeling.apply_peft`). GRPO and RLOO also get their rewards here: a reward model
and/or the functions of `rewards.py`, as `[grpo]` names them.
"""

from __future__ import annotations

from hftui.core.i18n import _
from hftui.core.options.sections import REWARD_TRAINER_TYPES
from hftui.core.problems import PresetError, Problem
from hftui.core.train import modeling
from hftui.core.train.data import reward_function_names
from hftui.core.train.metrics import build_compute_metrics, preprocess_logits_for_metrics
from hftui.core.train.rewards import REWARD_FUNCTIONS

# trainer type -> the TRL trainer class that trains it (each takes peft_config=).
TRL_TRAINERS = {"sft": "SFTTrainer", "reward": "RewardTrainer", "dpo": "DPOTrainer", "grpo": "GRPOTrainer", "rloo": "RLOOTrainer"}


def _file(preset) -> str | None:
    return str(preset.path) if preset.path else None


def peft_for(preset, model, task: str):
    """The LoraConfig a TRL trainer should apply; None without [peft], or when `model` already
    carries adapters (a model loaded back from a LoRA run)."""
    if hasattr(model, "peft_config"):
        return None
    return modeling.lora_config(preset, task)


def make_trainer(preset, model, tokenizer, prepared, config, callbacks, trust_remote_code_allowed: bool = False):
    """The trainer for the preset's type; `model` is the bare model (TRL trainers add LoRA)."""
    ttype, task = preset.trainer_type, preset.task
    common = dict(args=config, train_dataset=prepared.train, eval_dataset=prepared.eval, processing_class=tokenizer, callbacks=callbacks)
    if ttype in TRL_TRAINERS:
        import trl

        cls = getattr(trl, TRL_TRAINERS[ttype])
        peft_config = peft_for(preset, model, modeling.model_task(ttype, task))
        if ttype in REWARD_TRAINER_TYPES:
            funcs, classes = reward_funcs(preset, tokenizer, trust_remote_code_allowed)
            if peft_config is None and getattr(config, "beta", 0.0):
                modeling.pin_reference(model)
            return cls(model=model, reward_funcs=funcs, reward_processing_classes=classes, peft_config=peft_config, **common)
        if ttype == "dpo" and peft_config is None and not hasattr(model, "peft_config"):
            # TRL would load the reference from the model's name; a scratch model has none
            return cls(model=model, ref_model=modeling.reference_copy(model), peft_config=None, **common)
        return cls(model=model, peft_config=peft_config, **common)
    model = modeling.apply_peft(model, preset, task)
    compute = build_compute_metrics(preset, tokenizer, prepared.num_labels)
    if task == "seq2seq-lm":
        from transformers import DataCollatorForSeq2Seq, Seq2SeqTrainer

        collator = DataCollatorForSeq2Seq(tokenizer, model=model)
        return Seq2SeqTrainer(model=model, data_collator=collator, compute_metrics=compute, **common)
    from transformers import Trainer

    extra = {}
    if task == "causal-lm" and compute is not None:
        extra["preprocess_logits_for_metrics"] = preprocess_logits_for_metrics
    return Trainer(model=model, data_collator=prepared.collator, compute_metrics=compute, **common, **extra)


def reward_funcs(preset, tokenizer, trust_remote_code_allowed: bool = False) -> tuple[list, list]:
    """(reward functions and models, their tokenizers) for GRPO/RLOO, from [grpo]."""
    funcs: list = []
    classes: list = []
    reward_path = preset.get("grpo.reward_model")
    if reward_path:
        source = modeling.local_or_hub(preset, str(reward_path), "grpo.reward_model")
        funcs.append(modeling.load_model(preset, tokenizer, "sequence-classification", num_labels=1, source=source, key="grpo.reward_model"))
        classes.append(_reward_tokenizer(source, tokenizer))
    for name in reward_function_names(preset):
        fn = REWARD_FUNCTIONS.get(name)
        if fn is None:
            raise PresetError([Problem("grpo.reward_functions", "error", _("unknown reward function {name}", name=repr(name)), _("use one of: {names}", names=", ".join(REWARD_FUNCTIONS)))], _file(preset))
        funcs.append(fn)
        classes.append(None)
    if not funcs:
        raise PresetError([Problem("grpo", "error", _("{type} needs rewards, but [grpo] names no reward_model and no reward_functions", type=preset.trainer_type),
                                   _('set grpo.reward_model (a folder trained with trainer.type = "reward") or grpo.reward_functions = ["{name}"]', name=next(iter(REWARD_FUNCTIONS))))], _file(preset))
    return funcs, classes


def _reward_tokenizer(source: str, fallback):
    """The reward model's own tokenizer when its folder has one; else the policy's."""
    from transformers import AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(source)
    except Exception:  # a folder saved without its tokenizer: the policy's reads the same text
        return fallback
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token or tok.unk_token
    return tok
