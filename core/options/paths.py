"""Which preset values are paths, and how a value is told apart from a Hub id.

A path in a preset is relative to the preset file. These rules are used when a run resolves
its preset, when the wizard saves a preset elsewhere, and when checks look for a model.
"""

from __future__ import annotations

from pathlib import Path

# Keys whose string value may be a file or folder relative to the preset file. dataset.path
# is a path only when it is not a builder name (see sections.BUILDERS).
PATH_KEYS = (
    "dataset.data_files",
    "dataset.path",
    "model.name_or_path",
    "model.scratch.tokenizer",
    "ppo.reward_model",
    "ppo.value_model",
    "ppo.sft_model_path",
    "grpo.reward_model",
    "args.deepspeed",
    "args.resume_from_checkpoint",
)
# Keys that name a model another preset may still have to train (not there yet).
MODEL_OUTPUT_KEYS = ("ppo.reward_model", "ppo.value_model", "ppo.sft_model_path", "grpo.reward_model")


def looks_local(value: str) -> bool:
    """Written as a path (./x, /x, ~/x, a/b/c, x/), not as a Hub id (org/name)."""
    return value.startswith((".", "/", "~")) or value.count("/") > 1 or "\\" in value or value.endswith("/")


def beside_output_dir(output_dir: object, value: str) -> bool:
    """"runs/reward" next to output_dir "runs/ppo": a folder another preset trains, not a Hub id."""
    if not isinstance(output_dir, str) or Path(output_dir).is_absolute() or Path(value).is_absolute():
        return False
    mine, theirs = Path(output_dir).parts, Path(value).parts
    return len(mine) > 1 and len(theirs) > 1 and mine[0] == theirs[0]
