"""PPO's trainer: a policy, a frozen reference, a reward model and a value model.

TRL's PPOTrainer wants all four models at once and has moved between `trl` and
`trl.experimental.ppo` across versions, so it gets its own builder.
"""

from __future__ import annotations

import importlib

from hftui.core.problems import PresetError, Problem
from hftui.core.train import modeling

PPO_MODULES = ("trl", "trl.experimental.ppo")  # where the installed trl may keep PPOTrainer


def build_ppo(preset, tokenizer, prepared, config, callbacks, trust_remote_code_allowed: bool = False):
    """(trainer, policy model, info) for a preset of trainer.type = "ppo"."""
    ppo = preset.section("ppo")
    reward_path = ppo.get("reward_model")
    if not reward_path:
        file = str(preset.path) if preset.path else None
        raise PresetError([Problem("ppo.reward_model", "error", "PPO needs a reward model", "train one with a preset of trainer.type = \"reward\" (see presets/reward.toml) and set ppo.reward_model to its output_dir")], file)
    value_path = ppo.get("value_model") or reward_path
    policy = modeling.load_model(preset, tokenizer, "causal-lm", trust_remote_code_allowed=trust_remote_code_allowed)
    reward = modeling.load_model(preset, tokenizer, "sequence-classification", num_labels=1, source=str(reward_path), key="ppo.reward_model")
    value = modeling.load_model(preset, tokenizer, "sequence-classification", num_labels=1, source=str(value_path), key="ppo.value_model" if ppo.get("value_model") else "ppo.reward_model")
    peft_config = modeling.lora_config(preset, "causal-lm")
    ref = None if peft_config is not None else modeling.reference_copy(policy)
    trainer_cls = _ppo_trainer_class()
    evald = prepared.eval if prepared.eval is not None else prepared.train
    trainer = trainer_cls(
        args=config,
        processing_class=tokenizer,
        model=policy,
        ref_model=ref,
        reward_model=reward,
        train_dataset=prepared.train,
        value_model=value,
        eval_dataset=evald,
        callbacks=callbacks,
        peft_config=peft_config,
    )
    trainable, total = modeling.count_params(trainer.policy_model)
    vt, vtotal = modeling.count_params(value)
    info = {"trainable_params": trainable + vt, "total_params": total + vtotal, "perplexity": False}
    return trainer, trainer.policy_model, info


def _ppo_trainer_class():
    for module in PPO_MODULES:
        try:
            found = getattr(importlib.import_module(module), "PPOTrainer", None)
        except ImportError:
            found = None
        if found is not None:
            return found
    raise ImportError(f"PPOTrainer not found in the installed trl (tried {' and '.join(PPO_MODULES)})")
