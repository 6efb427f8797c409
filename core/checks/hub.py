"""Whether a Hub id can be reached from here without a download: the offline switches and the
Hugging Face caches (models and datasets), probed on disk."""

from __future__ import annotations

import os
import re
from pathlib import Path

HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*(/[A-Za-z0-9][A-Za-z0-9_.\-]*)?$")


def is_hub_id(value: str) -> bool:
    """Spelled like a Hub repository id (name or owner/name)."""
    return bool(HUB_ID.match(value)) and ".." not in value and not value.endswith((".", "-"))


def offline() -> bool:
    return any(os.environ.get(k, "").lower() in ("1", "true", "yes", "on") for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def hub_cache() -> Path:
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    base = Path(os.environ["XDG_CACHE_HOME"]).expanduser() if os.environ.get("XDG_CACHE_HOME") else Path.home() / ".cache"
    return base / "huggingface" / "hub"


def in_hub_cache(kind: str, repo_id: str) -> bool:
    """A model or dataset repository already downloaded (`kind`: "models" or "datasets")."""
    return (hub_cache() / f"{kind}--{repo_id.replace('/', '--')}").is_dir()


def in_datasets_cache(name: str) -> bool:
    """A dataset already prepared by the datasets library."""
    if os.environ.get("HF_DATASETS_CACHE"):
        root = Path(os.environ["HF_DATASETS_CACHE"]).expanduser()
    elif os.environ.get("HF_HOME"):
        root = Path(os.environ["HF_HOME"]).expanduser() / "datasets"
    else:
        root = Path.home() / ".cache" / "huggingface" / "datasets"
    return (root / name.replace("/", "___")).is_dir()
