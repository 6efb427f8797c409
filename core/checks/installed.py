"""What the installed transformers knows (model types, the tasks each can learn, the report_to
integrations), read from its source files: importing it would cost seconds on every check."""

from __future__ import annotations

import importlib.util
import re
from functools import lru_cache
from pathlib import Path

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
