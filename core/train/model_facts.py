"""What the memory estimate knows about a model: its size and layout, read once and kept.

The facts come from the model built on the meta device from its config (no weights are
allocated, nothing is downloaded beyond the config), or from the model the worker has just
built. Building one needs torch and the model's transformers module: seconds of imports. So the
facts are kept in memory and in HFTUI_HOME/model-facts, keyed by the model description, the
installed transformers and trl, and for a local model folder its config.json's size and mtime:
`hftui validate` and the wizard pay for a model once per installed version.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

from hftui.core.fsutil import atomic_write_text, ensure_private_dir, state_dir
from hftui.core.options.catalog import installed_versions
from hftui.core.train import modeling

FACTS_CACHE_FORMAT = 2
REMEMBERED = 16  # model descriptions kept in memory by one process


@dataclass(frozen=True)
class ModelFacts:
    """What the estimate needs to know about the model, read once from its config."""

    class_name: str
    total_params: int
    hidden_size: int
    num_layers: int
    num_heads: int
    vocab_size: int
    config_dtype: str | None
    no_split_modules: tuple[str, ...]
    # (qualified module name, in_features, out_features) of every nn.Linear, for LoRA counts
    linears: tuple[tuple[str, int, int], ...] = ()
    output_linear: str | None = None
    intermediate_size: int = 0  # the MLP's inner width (0: unknown, taken as 4 x hidden)
    num_kv_heads: int = 0  # key/value heads (grouped-query attention); 0: as num_heads
    gated_mlp: bool = False  # SwiGLU/GeGLU: a gate and an up projection, twice the MLP activations


# Linear layers that mark a gated MLP (Llama, Mistral, Qwen, Gemma: gate_proj; Phi-3: gate_up_proj;
# T5 v1.1: wi_0; Mixtral experts: w1/w3).
GATE_NAMES = frozenset({"gate_proj", "gate_up_proj", "wi_0", "w3"})

_remembered: dict[str, ModelFacts | None] = {}


def model_facts(preset) -> ModelFacts | None:
    """The model's size and layout from its config on the meta device; None if unreadable.

    Cached per model description (in memory and on disk), so validate, launch and the wizard
    pay for it once.
    """
    try:
        key = _model_key(preset)
        if key not in _remembered:
            if len(_remembered) >= REMEMBERED:
                _remembered.pop(next(iter(_remembered)))
            _remembered[key] = _read_or_build(preset, key)
        return _remembered[key]
    except Exception:
        return None


def _model_key(preset) -> str:
    model = preset.section("model")
    key = {
        "model": {k: v for k, v in model.items() if k != "scratch"},
        "scratch": preset.section("model.scratch") if preset.has("model.scratch") else None,
        "trainer": preset.trainer_type,
        "task": preset.task,
        "base": str(preset.base_dir),
    }
    return json.dumps(key, sort_keys=True, default=str)


def _read_or_build(preset, key: str) -> ModelFacts | None:
    path = _cache_path(preset, key)
    cached = _read(path)
    if cached is not None:
        return cached
    task = modeling.model_task(preset.trainer_type, preset.task)
    try:
        # Never the model's own code: an estimate is no consent to run it (`hftui run
        # --trust-remote-code` is); such a model gets "estimate unavailable" instead.
        config = modeling.model_config(preset, task, _num_labels(preset, task), trust_remote_code=False)
    except Exception:
        return None
    facts = _facts_from_config(preset, config, task)
    _write(path, facts)
    return facts


def _num_labels(preset, task: str) -> int | None:
    """The classes the model's head will have, as far as the preset alone tells."""
    if preset.trainer_type == "reward":
        return 1
    if task == "sequence-classification" and preset.get("model.num_labels"):
        return int(preset.get("model.num_labels"))
    return None


def _facts_from_config(preset, config, task: str) -> ModelFacts:
    import torch

    cls = modeling.auto_class(preset, task)
    with torch.device("meta"):
        try:
            model = cls.from_config(config, trust_remote_code=False)
        except TypeError:
            model = cls.from_config(config)
    return facts_from_model(model, config)


def facts_from_model(model, config=None) -> ModelFacts:
    """The facts of a model already built (on the meta device, or the real one in the worker)."""
    import torch

    config = config if config is not None else model.config
    total = sum(p.numel() for p in model.parameters())
    linears = []
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear):
            linears.append((name, int(module.in_features), int(module.out_features)))
    out = None
    try:
        emb = model.get_output_embeddings()
        if emb is not None:
            out = next((n for n, m in model.named_modules() if m is emb), None)
    except Exception:
        out = None
    text_config = config.get_text_config() if hasattr(config, "get_text_config") else config
    hidden = _first(text_config, "hidden_size", "d_model", "n_embd", "dim") or 0
    layers = _first(text_config, "num_hidden_layers", "num_layers", "n_layer", "n_layers") or 0
    heads = _first(text_config, "num_attention_heads", "num_heads", "n_head") or 1
    vocab = _first(text_config, "vocab_size") or 0
    inner = _first(text_config, "intermediate_size", "n_inner", "ffn_dim", "d_ff", "encoder_ffn_dim") or 4 * int(hidden)
    kv_heads = _first(text_config, "num_key_value_heads", "num_kv_heads", "n_head_kv") or heads
    gated = any(n.rsplit(".", 1)[-1] in GATE_NAMES for n, _, _ in linears)
    dtype = getattr(config, "dtype", None) if hasattr(config, "dtype") else getattr(config, "torch_dtype", None)
    dtype = str(dtype).replace("torch.", "") if dtype is not None else None
    no_split = tuple(sorted(getattr(model, "_no_split_modules", None) or ()))
    return ModelFacts(
        class_name=type(model).__name__,
        total_params=int(total),
        hidden_size=int(hidden),
        num_layers=int(layers),
        num_heads=int(heads),
        vocab_size=int(vocab),
        config_dtype=dtype,
        no_split_modules=no_split,
        linears=tuple(linears),
        output_linear=out,
        intermediate_size=int(inner),
        num_kv_heads=int(kv_heads),
        gated_mlp=bool(gated),
    )


def _first(config, *names):
    for name in names:
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    return None


# -- the facts on disk ------------------------------------------------------------------------
def _cache_path(preset, key: str):
    stamp = None
    name = preset.get("model.name_or_path")
    if not preset.has("model.scratch") and name:
        try:
            st = (preset.resolve(str(name)) / "config.json").stat()
            stamp = [st.st_mtime_ns, st.st_size]
        except OSError:
            stamp = None
    ident = json.dumps([FACTS_CACHE_FORMAT, key, installed_versions(), stamp], sort_keys=True, default=str)
    return state_dir() / "model-facts" / f"{hashlib.sha256(ident.encode()).hexdigest()[:32]}.json"


def _read(path) -> ModelFacts | None:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        raw["no_split_modules"] = tuple(raw["no_split_modules"])
        raw["linears"] = tuple((str(n), int(i), int(o)) for n, i, o in raw["linears"])
        return ModelFacts(**raw)
    except (OSError, ValueError, TypeError, KeyError):
        return None  # absent, unreadable or from another layout: build the facts again


def _write(path, facts: ModelFacts) -> None:
    try:
        ensure_private_dir(path.parent)
        atomic_write_text(path, json.dumps(asdict(facts)), mode=0o600)
    except OSError:
        pass  # a read-only state dir only costs speed
