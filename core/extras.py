"""What the extras of pyproject.toml bring (`ppo`: TRL 1.12 with PPO; `deepspeed`), whether each
is installed here, and the one message validate, run, the wizard and the doctor give when a
preset needs one that is missing.

Read from the installed files, never imported: trl and deepspeed cost seconds to import, and
DeepSpeed logs its accelerator choice on import. This module imports nothing of hftui but the
message catalog (`i18n`), so the launcher, the checks and the wizard can all ask it without
pulling in each other.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from hftui.core.i18n import N_, _

PPO_MODULE = "trl.experimental.ppo"  # where TRL kept PPOTrainer and PPOConfig, up to 1.12
PPO_REMOVED_IN = "1.13"


def module_installed(dotted: str) -> bool:
    """Whether the module `dotted` is installed, from its files (its parents are not imported)."""
    top, _dot, rest = dotted.partition(".")
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return False
    if spec is None:
        return False
    if not rest:
        return True
    for root in spec.submodule_search_locations or ():
        base = Path(root).joinpath(*rest.split("."))
        if (base / "__init__.py").is_file() or base.with_suffix(".py").is_file():
            return True
    return False


def ppo_installed() -> bool:
    return module_installed(PPO_MODULE)


def deepspeed_installed() -> bool:
    return module_installed("deepspeed")


def _trl_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("trl")
    except metadata.PackageNotFoundError:
        return "none"


def ppo_missing() -> str | None:
    """The one line validate, run and the wizard say when PPO is not installed; None when it is."""
    if ppo_installed():
        return None
    return _("PPO was removed from TRL {removed_in} (installed: trl {installed}): pip install 'hftui[ppo]' "
             'brings back TRL 1.12 with PPO; GRPO with the same reward model (trainer.type = "grpo", '
             "[grpo] reward_model) is the current alternative", removed_in=PPO_REMOVED_IN, installed=_trl_version())


def trainer_missing(trainer_type: object) -> str | None:
    """Why a trainer type cannot run with the installed libraries (one line), or None."""
    return ppo_missing() if trainer_type == "ppo" else None


def backend_missing(backend: object) -> tuple[str, str] | None:
    """(message, fix) when [launch] backend names a library that is not installed, else None."""
    if backend == "deepspeed" and not deepspeed_installed():
        return (_('backend = "deepspeed" needs DeepSpeed, which is not installed'),
                _("pip install 'hftui[deepspeed]' (DeepSpeed builds from source), or backend = \"fsdp\", "
                  "which shards with what is installed"))
    return None


# extra -> (what it unlocks, read through `unlocks()`; whether it is installed here)
EXTRAS = {
    "ppo": (N_('trainer.type = "ppo": TRL 1.12, the last release with PPO (removed in {removed_in})'), ppo_installed),
    "deepspeed": (N_('[launch] backend = "deepspeed": ZeRO stages 1-3 and CPU offload'), deepspeed_installed),
}


def unlocks(extra: str) -> str:
    """What the extra `extra` unlocks, in the reader's language."""
    return _(EXTRAS[extra][0], removed_in=PPO_REMOVED_IN)
