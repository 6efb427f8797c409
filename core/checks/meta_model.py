"""The preset's model built on the meta device, for the checks only the model can answer: how
long a sequence its position table takes, which modules LoRA can wrap, how many parameters a
[model.scratch] with no size builds.

The model comes from `modeling.model_config` (never the model's own code) with no weights
allocated. Building it costs the import of torch and transformers (seconds), so the checks ask
for it only when the preset has something to check, and what it tells is kept in memory and in
HFTUI_HOME/model-shape, per model description and installed versions (as the memory estimate's
facts are): validate pays for a model once.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

from hftui.core.fsutil import atomic_write_text, ensure_private_dir, state_dir
from hftui.core.options.catalog import installed_versions
from hftui.core.preset import Preset

SHAPE_CACHE_FORMAT = 1
REMEMBERED = 16  # model descriptions kept in memory by one process


@dataclass(frozen=True)
class ModelShape:
    total_params: int
    positions: int | None  # the config's max_position_embeddings; None: the model has no such limit
    position_rows: int | None  # longest sequence a learned position table takes; None: no table
    lora_modules: tuple[str, ...]  # modules LoRA can wrap (Linear, Embedding, Conv, GPT-2's Conv1D)
    other_modules: tuple[str, ...]  # blocks LoRA cannot wrap (attention, MLP, layers)
    head: tuple[str, ...]  # the classification head's modules, which peft trains whole


_remembered: dict[str, ModelShape | None] = {}


def model_shape(preset: Preset, task: str, num_labels: int | None, build: bool = True) -> ModelShape | None:
    """The shape of the preset's model for `task`; None when it cannot be built from a config
    alone (an unknown architecture, a model that needs its own code, a Hub id not downloaded),
    or when `build` is False and it was never built (building imports torch and transformers,
    which `hftui run` leaves to the worker)."""
    key = json.dumps({
        "model": preset.section("model"), "task": task, "num_labels": num_labels, "base": str(preset.base_dir),
        "format": SHAPE_CACHE_FORMAT,
    }, sort_keys=True, default=str)
    if key not in _remembered:
        path = _cache_path(preset, key)
        shape = _read(path)
        if shape is None and not build:
            return None
        if len(_remembered) >= REMEMBERED:
            _remembered.pop(next(iter(_remembered)))
        _remembered[key] = shape if shape is not None else _build_and_keep(preset, path, task, num_labels)
    return _remembered[key]


def _build_and_keep(preset: Preset, path, task: str, num_labels: int | None) -> ModelShape | None:
    try:
        shape = _build(preset, task, num_labels)
    except Exception:  # the checks that own these mistakes (architecture, folder, keys) report them
        return None
    _write(path, shape)
    return shape


def _build(preset: Preset, task: str, num_labels: int | None) -> ModelShape:
    import torch
    from transformers.utils import logging as hf_logging

    from hftui.core.train import modeling

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # a default config's remarks are not the person's problem
    try:
        config = modeling.model_config(preset, task, num_labels, trust_remote_code=False)
        cls = modeling.auto_class(preset, task)
        with torch.device("meta"):
            model = cls.from_config(config)
    finally:
        hf_logging.set_verbosity(verbosity)
    text_config = config.get_text_config() if hasattr(config, "get_text_config") else config
    positions = getattr(text_config, "max_position_embeddings", None)
    lora, other, rows = [], [], []
    wrappable = _lora_types()
    for name, module in model.named_modules():
        if not name:
            continue
        if isinstance(module, wrappable):
            lora.append(name)
        else:
            other.append(name)
        if isinstance(module, torch.nn.Embedding) and ("position" in name.lower() or name.rsplit(".", 1)[-1] == "wpe"):
            # the ids a table takes start after its offset (BART's 2) or padding row (RoBERTa's)
            skip = getattr(module, "offset", 0) or ((module.padding_idx + 1) if module.padding_idx is not None else 0)
            rows.append(int(module.num_embeddings) - int(skip))
    base = getattr(model, "base_model_prefix", "") or ""
    head = [n for n in lora if task == "sequence-classification" and n.split(".", 1)[0] != base]
    return ModelShape(
        total_params=int(sum(p.numel() for p in model.parameters())),
        positions=positions if isinstance(positions, int) and positions > 0 else None,
        position_rows=min(rows) if rows else None,
        lora_modules=tuple(lora),
        other_modules=tuple(other),
        head=tuple(head),
    )


def _lora_types() -> tuple:
    import torch
    from transformers.pytorch_utils import Conv1D

    nn = torch.nn
    return (nn.Linear, nn.Embedding, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.MultiheadAttention, Conv1D)


# -- the shape on disk --------------------------------------------------------------------------
def _cache_path(preset: Preset, key: str):
    stamp = None
    name = preset.get("model.name_or_path")
    if not preset.has("model.scratch") and isinstance(name, str) and name:
        try:
            st = (preset.resolve(name) / "config.json").stat()
            stamp = [st.st_mtime_ns, st.st_size]
        except OSError:
            stamp = None
    ident = json.dumps([key, installed_versions(), stamp], sort_keys=True, default=str)
    return state_dir() / "model-shape" / f"{hashlib.sha256(ident.encode()).hexdigest()[:32]}.json"


def _read(path) -> ModelShape | None:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        for name in ("lora_modules", "other_modules", "head"):
            raw[name] = tuple(str(n) for n in raw[name])
        return ModelShape(**raw)
    except (OSError, ValueError, TypeError, KeyError):
        return None  # absent, unreadable or from another layout: build it again


def _write(path, shape: ModelShape) -> None:
    try:
        ensure_private_dir(path.parent)
        atomic_write_text(path, json.dumps(asdict(shape)), mode=0o600)
    except OSError:
        pass  # a read-only state dir only costs speed
