"""PPO's trainer: a policy, a frozen reference, a reward model and a value model.

TRL's PPOTrainer wants all four models at once, so it gets its own builder. PPO lives in
`trl.experimental.ppo` up to TRL 1.12 and was removed in 1.13: it comes with the `ppo` extra
(`pip install 'hftui[ppo]'`), and without it the run stops with the same one line as `validate`.
"""

from __future__ import annotations

import importlib

from hftui.core.extras import PPO_MODULE, ppo_missing
from hftui.core.i18n import _
from hftui.core.problems import PresetError, Problem
from hftui.core.train import modeling


def build_ppo(preset, tokenizer, prepared, config, callbacks, trust_remote_code_allowed: bool = False):
    """(trainer, policy model, info) for a preset of trainer.type = "ppo"."""
    ppo = preset.section("ppo")
    reward_path = ppo.get("reward_model")
    if not reward_path:
        file = str(preset.path) if preset.path else None
        raise PresetError([Problem("ppo.reward_model", "error", _("PPO needs a reward model"), _('train one with a preset of trainer.type = "reward" (see presets/reward.toml) and set ppo.reward_model to its output_dir'))], file)
    value_path = ppo.get("value_model") or reward_path
    policy = modeling.load_model(preset, tokenizer, "causal-lm", trust_remote_code_allowed=trust_remote_code_allowed)
    reward = modeling.load_model(preset, tokenizer, "sequence-classification", num_labels=1, source=str(reward_path), key="ppo.reward_model")
    value = modeling.load_model(preset, tokenizer, "sequence-classification", num_labels=1, source=str(value_path), key="ppo.value_model" if ppo.get("value_model") else "ppo.reward_model")
    peft_config = modeling.lora_config(preset, "causal-lm")
    ref = None if peft_config is not None else modeling.reference_copy(policy)
    trainer_cls = ppo_trainer_class(preset)
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


def ppo_trainer_class(preset=None) -> type:
    """The installed PPOTrainer; a PresetError with `validate`'s message when PPO is not installed."""
    missing = ppo_missing()
    if missing is None:
        found = getattr(importlib.import_module(PPO_MODULE), "PPOTrainer", None)
        if found is not None:
            return found
        missing = _("the installed trl has no PPOTrainer in {module}", module=PPO_MODULE)
    file = str(preset.path) if preset is not None and preset.path else None
    raise PresetError([Problem("trainer.type", "error", missing)], file)
