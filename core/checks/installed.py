"""What the installed transformers knows (model types, the tasks each can learn, the report_to
integrations), read from its source files: importing it would cost seconds on every check."""

from __future__ import annotations

import importlib.util
import re
from functools import lru_cache
from pathlib import Path

from hftui.core.i18n import N_

# report_to name -> the packages that provide it (any one of them)
INTEGRATION_PACKAGES = {
    "tensorboard": ("tensorboard", "tensorboardX"), "wandb": ("wandb",), "comet_ml": ("comet_ml",), "mlflow": ("mlflow",),
    "neptune": ("neptune",), "trackio": ("trackio",), "codecarbon": ("codecarbon",), "clearml": ("clearml",),
    "dagshub": ("dagshub",), "flyte": ("flytekit",), "dvclive": ("dvclive",), "swanlab": ("swanlab",), "azure_ml": ("azureml",),
}

_TASK_MAPPINGS = (
    ("causal-lm", "MODEL_FOR_CAUSAL_LM_MAPPING_NAMES"),
    ("sequence-classification", "MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING_NAMES"),
    ("seq2seq-lm", "MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES"),
)


def _transformers_root() -> Path | None:
    try:
        spec = importlib.util.find_spec("transformers")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _read(*parts: str) -> str:
    root = _transformers_root()
    try:
        return root.joinpath(*parts).read_text(encoding="utf-8") if root else ""
    except OSError:
        return ""


@lru_cache(maxsize=1)
def model_types() -> frozenset[str]:
    """Every AutoConfig model_type of the installed transformers."""
    pair = re.compile(r'\(\s*"([A-Za-z0-9_\-]+)"\s*,\s*"[A-Za-z0-9_]+Config"\s*\)')
    names: set[str] = set()
    for fname in ("auto_mappings.py", "configuration_auto.py"):
        names.update(pair.findall(_read("models", "auto", fname)))
    return frozenset(names)


@lru_cache(maxsize=1)
def task_architectures() -> dict[str, frozenset[str]]:
    """task -> the model types with an Auto class for it."""
    text = _read("models", "auto", "modeling_auto.py")
    out = {}
    for task, name in _TASK_MAPPINGS:
        block = re.search(rf"^{name} = OrderedDict\(\s*\[(.*?)^\s*\]\s*\)", text, re.S | re.M)
        names = re.findall(r'\(\s*"([A-Za-z0-9_\-]+)"\s*,', block.group(1)) if block else []
        if names:
            out[task] = frozenset(names)
    return out


@lru_cache(maxsize=1)
def integrations() -> tuple[str, ...]:
    """The report_to names the installed Trainer accepts."""
    block = re.search(r"INTEGRATION_TO_CALLBACK = \{(.*?)\}", _read("integrations", "integration_utils.py"), re.S)
    names = re.findall(r'"([a-z_]+)"\s*:', block.group(1)) if block else []
    return tuple(names) or tuple(INTEGRATION_PACKAGES)


def integration_installed(name: str) -> bool:
    """Whether a package that provides the report_to integration `name` is installed."""
    packages = INTEGRATION_PACKAGES.get(name)
    return not packages or any(importlib.util.find_spec(p) is not None for p in packages)


# args.optim values whose optimizer comes from another package: (import name, pip name), as the
# Trainer's optimizer factory imports them (transformers/trainer_optimizer.py).
_BNB = ("bitsandbytes", "bitsandbytes")
OPTIMIZER_PACKAGES = {
    **{name: _BNB for name in (
        "adamw_bnb_8bit", "adamw_8bit", "paged_adamw_32bit", "paged_adamw_8bit", "ademamix", "ademamix_8bit",
        "paged_ademamix_32bit", "paged_ademamix_8bit", "lion_8bit", "lion_32bit", "paged_lion_32bit", "paged_lion_8bit",
        "rmsprop_bnb", "rmsprop_bnb_8bit", "rmsprop_bnb_32bit")},
    **{name: ("galore_torch", "galore-torch") for name in (
        "galore_adamw", "galore_adamw_8bit", "galore_adafactor", "galore_adamw_layerwise", "galore_adamw_8bit_layerwise",
        "galore_adafactor_layerwise")},
    "apollo_adamw": ("apollo_torch", "apollo-torch"), "apollo_adamw_layerwise": ("apollo_torch", "apollo-torch"),
    "lomo": ("lomo_optim", "lomo-optim"), "adalomo": ("lomo_optim", "lomo-optim"),
    "grokadamw": ("grokadamw", "grokadamw"), "stable_adamw": ("optimi", "torch-optimi"),
    "schedule_free_radam": ("schedulefree", "schedulefree"), "schedule_free_adamw": ("schedulefree", "schedulefree"),
    "schedule_free_sgd": ("schedulefree", "schedulefree"),
    "adamw_torch_4bit": ("torchao", "torchao"), "adamw_torch_8bit": ("torchao", "torchao"),
    "adamw_anyprecision": ("torchdistx", "torchdistx"), "adamw_apex_fused": ("apex", "apex"),
    "adamw_torch_xla": ("torch_xla", "torch-xla"), "adamw_torch_npu_fused": ("torch_npu", "torch-npu"),
}

# attn_implementation values that need a package: the distribution transformers looks for
# (FlashAttention 2 and 4 both install the `flash_attn` module) and how to install it (a
# command is shown as it is; words are translated where they are shown).
ATTENTION_PACKAGES = {
    "flash_attention_2": ("flash-attn", "pip install flash-attn --no-build-isolation"),
    "flash_attention_3": ("flash-attn-3", N_("install flash-attn-3 (built from the flash-attention repository)")),
    "flash_attention_4": ("flash-attn-4", "pip install flash-attn-4"),
}
HUB_KERNELS_PACKAGE = ("kernels", "pip install kernels")  # an attention kernel named by a Hub id (owner/name)


def missing_package(import_name: str) -> bool:
    try:
        return importlib.util.find_spec(import_name) is None
    except (ImportError, ValueError):
        return True


def missing_distribution(name: str) -> bool:
    from importlib import metadata

    try:
        metadata.version(name)
        return False
    except metadata.PackageNotFoundError:
        return True


def config_default(model_type: str, *names: str) -> int | None:
    """The default of an integer field of the architecture's config class (the first of `names`
    it declares), read from the installed source; None when the class declares none of them."""
    if not re.fullmatch(r"[A-Za-z0-9_\-]+", model_type):
        return None
    text = _read("models", model_type.replace("-", "_"), f"configuration_{model_type.replace('-', '_')}.py")
    for name in names:
        found = re.search(rf"^\s+{name}\s*:\s*[\w\[\]| .]+=\s*(\d+(?:\s*\*\s*\d+)*)\s*(?:#.*)?$", text, re.M)
        if found:
            value = 1
            for factor in found.group(1).split("*"):
                value *= int(factor)
            return value
    return None
