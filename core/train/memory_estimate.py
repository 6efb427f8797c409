"""Will this run fit on the GPUs here? A rough per-GPU memory estimate from the preset alone.

Parameters are counted on a model built from the config on the meta device (no weights are
allocated, nothing is downloaded beyond the config), then multiplied by the bytes each
precision and optimizer keeps per parameter and divided the way ZeRO or FSDP shard them. The
activation term follows the usual transformer rule of thumb. It is an estimate meant to catch
"this will never fit" before a run starts, not to predict the peak to the megabyte.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
import json

from hftui.core.problems import Problem

GiB = 1024**3
# What CUDA, the allocator and NCCL take before the first tensor: a fixed allowance.
CUDA_OVERHEAD = int(0.75 * GiB)
# Share of a GPU's memory a run may plan for; the rest absorbs fragmentation and spikes.
USABLE_FRACTION = 0.92

BYTE_TOKENIZER_VOCAB = 260  # 256 bytes + <pad> <s> </s> <unk>; used when a scratch model gives no vocab_size

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8}


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


@dataclass(frozen=True)
class MemoryEstimate:
    per_gpu_bytes: int | None  # None when the model's config could not be read
    breakdown: dict = field(default_factory=dict)  # part -> bytes on each GPU
    fits: bool | None = None  # None: no GPU here (or nothing to compare with)
    text: str = ""
    gpu_bytes: int | None = None  # memory of the smallest GPU used for the comparison
    backend: str = "single"
    world_size: int = 1
    total_params: int | None = None
    trainable_params: int | None = None
    model: ModelFacts | None = None

    @property
    def per_gpu_gib(self) -> float | None:
        return None if self.per_gpu_bytes is None else self.per_gpu_bytes / GiB


def human(n: int | float | None) -> str:
    """Bytes for people: 1.3 GiB, 512 MiB."""
    if n is None:
        return "?"
    n = float(n)
    for unit, size in (("TiB", 1024**4), ("GiB", GiB), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} B"


def count(n: int | None) -> str:
    """Parameter counts for people: 1.2B, 350M, 120K."""
    if n is None:
        return "?"
    for unit, size in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return str(n)


# -- model facts ------------------------------------------------------------------------------
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


def model_facts(preset) -> ModelFacts | None:
    """The model's size and layout from its config on the meta device; None if unreadable.

    Cached per model description (in memory and on disk), so validate, launch and the wizard
    pay for it once.
    """
    try:
        return _model_facts_cached(_model_key(preset))
    except Exception:
        return None


@lru_cache(maxsize=16)
def _model_facts_cached(key: str) -> ModelFacts | None:
    path = _facts_cache_path(key)
    cached = _read_facts(path)
    if cached is not None:
        return cached
    spec = json.loads(key)
    try:
        config = _load_config(spec)
    except Exception:
        return None
    if config is None:
        return None
    facts = _facts_from_config(config, spec)
    _write_facts(path, facts)
    return facts


# -- the facts on disk ------------------------------------------------------------------------
# Building the model on the meta device needs torch and the model's transformers module: seconds
# of imports. The facts are kept in HFTUI_HOME/model-facts, keyed by the model description, the
# installed transformers and trl, and for a local model folder its config.json's size and mtime,
# so `hftui validate` and the wizard pay for a model once per installed version.
FACTS_CACHE_FORMAT = 1


def _facts_cache_path(key: str):
    import hashlib
    from pathlib import Path

    from hftui.core.options.catalog import installed_versions
    from hftui.core.fsutil import state_dir

    spec = json.loads(key)
    stamp = None
    name = spec["model"].get("name_or_path")
    if spec["scratch"] is None and name:
        try:
            st = (Path(spec["base"], str(name)).expanduser() / "config.json").stat()
            stamp = [st.st_mtime_ns, st.st_size]
        except OSError:
            stamp = None
    ident = json.dumps([FACTS_CACHE_FORMAT, key, installed_versions(), stamp], sort_keys=True, default=str)
    return state_dir() / "model-facts" / f"{hashlib.sha256(ident.encode()).hexdigest()[:32]}.json"


def _read_facts(path) -> ModelFacts | None:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        raw["no_split_modules"] = tuple(raw["no_split_modules"])
        raw["linears"] = tuple((str(n), int(i), int(o)) for n, i, o in raw["linears"])
        return ModelFacts(**raw)
    except (OSError, ValueError, TypeError, KeyError):
        return None  # absent, unreadable or from another layout: build the facts again


def _write_facts(path, facts: ModelFacts) -> None:
    from dataclasses import asdict

    from hftui.core.fsutil import atomic_write_text, ensure_private_dir

    try:
        ensure_private_dir(path.parent)
        atomic_write_text(path, json.dumps(asdict(facts)), mode=0o600)
    except OSError:
        pass  # a read-only state dir only costs speed


def _load_config(spec: dict):
    from transformers import AutoConfig

    model, scratch = spec["model"], spec["scratch"]
    extra: dict = {}
    task = spec["task"]
    if spec["trainer"] == "reward":
        extra["num_labels"] = 1
    elif task == "sequence-classification" and model.get("num_labels"):
        extra["num_labels"] = int(model["num_labels"])
    if scratch is not None:
        params = {k: v for k, v in scratch.items() if k not in ("architecture", "tokenizer")}
        if scratch.get("tokenizer", "byte") == "byte":
            params.setdefault("vocab_size", BYTE_TOKENIZER_VOCAB)
        return AutoConfig.for_model(scratch.get("architecture", "llama"), **params, **extra)
    name = model.get("name_or_path")
    if not name:
        return None
    from pathlib import Path

    local = Path(spec["base"], str(name)).expanduser()
    if local.is_dir():
        name = str(local)
    # Never the model's own code: an estimate is no consent to run it (`hftui run
    # --trust-remote-code` is); such a model gets "estimate unavailable" here.
    kwargs = {"trust_remote_code": False}
    if model.get("revision"):
        kwargs["revision"] = model["revision"]
    return AutoConfig.from_pretrained(name, **kwargs, **extra)


def _auto_class(task: str, trainer: str):
    import transformers

    if trainer == "reward" or task == "sequence-classification":
        return transformers.AutoModelForSequenceClassification
    if task == "seq2seq-lm":
        return transformers.AutoModelForSeq2SeqLM
    return transformers.AutoModelForCausalLM


def _facts_from_config(config, spec: dict) -> ModelFacts:
    import torch

    cls = _auto_class(spec["task"], spec["trainer"])
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
    )


def _first(config, *names):
    for name in names:
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    return None


# -- the estimate -----------------------------------------------------------------------------
def lora_params(facts: ModelFacts, peft: dict) -> int:
    """Trainable parameters LoRA adds: r * (in + out) for every targeted linear layer."""
    r = int(peft.get("r", 16) or 16)
    target = peft.get("target_modules", "all-linear")
    total = 0
    for name, fin, fout in facts.linears:
        short = name.rsplit(".", 1)[-1]
        if target == "all-linear" or target is None:
            if name == facts.output_linear or short in ("lm_head", "score", "classifier"):
                continue
            hit = True
        elif isinstance(target, str):
            hit = short == target or name.endswith("." + target) or name == target
        else:
            hit = any(short == t or name.endswith("." + str(t)) for t in target)
        if hit:
            total += r * (fin + fout)
    return total


def _optimizer_bytes(optim: str) -> float:
    """Optimizer state bytes per trainable parameter."""
    optim = (optim or "adamw_torch").lower()
    if "8bit" in optim:
        return 2.0
    if "adafactor" in optim:
        return 0.5  # factored second moments: far below one number per parameter
    if optim.startswith("sgd"):
        return 4.0
    if "lion" in optim:
        return 4.0
    return 8.0  # Adam/AdamW: two fp32 moments


def _precision(preset, facts: ModelFacts) -> tuple[int, bool, str]:
    """(bytes per stored weight, mixed precision on?, name of the weights' dtype)."""
    args = preset.section("args")
    mixed = bool(args.get("bf16")) or bool(args.get("fp16"))
    dtype = preset.get("model.dtype", "auto")
    if dtype in (None, "auto"):
        dtype = (facts.config_dtype if not preset.has("model.scratch") else None) or "float32"
    return DTYPE_BYTES.get(str(dtype), 4), mixed, str(dtype)


def _world(preset, gpus: list, world_size: int | None) -> int:
    if world_size:
        return int(world_size)
    launch = preset.section("launch")
    nproc = launch.get("num_processes", "auto")
    if nproc == "auto" or not isinstance(nproc, int):
        nproc = max(1, len(gpus))
    machines = launch.get("num_machines", 1)
    machines = machines if isinstance(machines, int) and machines > 0 else 1
    return max(1, int(nproc) * machines)


def estimate(preset, gpus: list | None = None, backend: str | None = None, world_size: int | None = None,
             facts: ModelFacts | None = None) -> MemoryEstimate:
    """Per-GPU memory for training `preset` with `backend` over `world_size` processes.

    `gpus` are the GPUs to compare against (`gpu.detect()` when None). `backend` and
    `world_size` default to the preset's `[launch]`; for `auto` the estimate assumes plain data
    parallelism (every GPU holds a full copy), which is what `auto` must decide about.
    `facts`: the model's, when it is already built (else read from its config on the meta device).
    """
    if gpus is None:
        from hftui.core import gpu as gpu_mod

        gpus = gpu_mod.detect()
    backend = backend or preset.get("launch.backend", "auto")
    if backend == "auto":
        backend = "single" if _world(preset, gpus, world_size) == 1 else "ddp"
    world = _world(preset, gpus, world_size)
    facts = facts if facts is not None else model_facts(preset)
    if facts is None:
        return MemoryEstimate(None, {}, None, "memory estimate unavailable: the model's config could not be read here", None, backend, world)
    return _estimate_from(preset, facts, gpus, backend, world)


def _estimate_from(preset, facts: ModelFacts, gpus: list, backend: str, world: int) -> MemoryEstimate:
    args = preset.section("args")
    launch = preset.section("launch")
    weight_bytes, mixed, dtype_name = _precision(preset, facts)
    total = facts.total_params
    peft = preset.section("peft") if preset.has("peft") else None
    trainable = lora_params(facts, peft) if peft is not None else total
    trainable_bytes = 4 if peft is not None else weight_bytes  # adapters are kept in fp32
    optim_per_param = _optimizer_bytes(str(args.get("optim", "adamw_torch")))
    offload = launch.get("offload", "none")

    weights = total * weight_bytes + (trainable * trainable_bytes if peft is not None else 0)
    grads = trainable * trainable_bytes
    optimizer = trainable * optim_per_param
    if backend == "deepspeed" and mixed and peft is None:
        # DeepSpeed keeps 16-bit weights and grads on the GPU plus an fp32 master copy
        # inside the optimizer state: the 2 + 2 + 12 bytes of the ZeRO paper.
        weights, grads, optimizer = total * 2, total * 2, total * (optim_per_param + 4)

    shards = {"params": 1, "grads": 1, "optimizer": 1}
    if backend == "deepspeed" and world > 1:
        stage = int(launch.get("zero_stage", 2) or 2)
        shards["optimizer"] = world
        if stage >= 2:
            shards["grads"] = world
        if stage >= 3:
            shards["params"] = world
    elif backend == "fsdp" and world > 1:
        shards = {"params": world, "grads": world, "optimizer": world}
    if backend in ("deepspeed", "fsdp") and offload in ("optimizer", "all"):
        optimizer = 0
    if backend in ("deepspeed", "fsdp") and offload == "all":
        weights = 0 if backend == "deepspeed" and int(launch.get("zero_stage", 2) or 2) == 3 else weights
        if backend == "fsdp":
            weights, grads = 0, 0

    breakdown = {
        "weights": int(weights / shards["params"]),
        "gradients": int(grads / shards["grads"]),
        "optimizer": int(optimizer / shards["optimizer"]),
    }
    if preset.trainer_type == "ppo":
        # PPO holds three more models, each sized here like the policy: the frozen reference
        # (not with LoRA: the policy with its adapters off is the reference), the frozen reward
        # model and the value model, which trains in full.
        reference = 0 if peft is not None else total * weight_bytes
        value = total * (weight_bytes * 2 + optim_per_param)
        breakdown["ppo_models"] = int((reference + total * weight_bytes + value) / shards["params"])
    breakdown["activations"] = int(_activations(preset, facts, mixed))
    breakdown["cuda_overhead"] = CUDA_OVERHEAD if gpus else 0
    per_gpu = sum(breakdown.values())

    gpu_bytes = min((int(g.memory_total) for g in gpus), default=None) if gpus else None
    fits = None if gpu_bytes is None else per_gpu <= gpu_bytes * USABLE_FRACTION
    parts = ", ".join(f"{k.replace('_', ' ')} {human(v)}" for k, v in breakdown.items() if v)
    where = f"{backend}" + (f" over {world} processes" if world > 1 else "")
    text = f"about {human(per_gpu)} per GPU ({parts}); {count(total)} parameters, {count(trainable)} trainable, {dtype_name} weights{' + mixed precision' if mixed else ''}, {where}"
    if fits is True:
        text += f"; fits the {human(gpu_bytes)} GPU"
    elif fits is False:
        text += f"; does NOT fit the {human(gpu_bytes)} GPU"
    return MemoryEstimate(per_gpu, breakdown, fits, text, gpu_bytes, backend, world, total, trainable, facts)


def _activations(preset, facts: ModelFacts, mixed: bool) -> float:
    """Activation memory of one micro-batch: about 34*s*b*h bytes per layer in 16-bit
    (Korthikanti et al.), without the attention matrix that SDPA / flash attention never store."""
    args = preset.section("args")
    batch = args.get("per_device_train_batch_size", 8)
    batch = batch if isinstance(batch, int) and batch > 0 else 8
    seq = preset.get("dataset.max_length", 512)
    seq = seq if isinstance(seq, int) and seq > 0 else 512
    h, layers = max(facts.hidden_size, 1), max(facts.num_layers, 1)
    per_layer = seq * batch * h * 34
    if not mixed:
        per_layer *= 2  # fp32 activations
    checkpointing = bool(args.get("gradient_checkpointing") or args.get("activation_checkpointing"))
    if checkpointing:
        acts = layers * seq * batch * h * (2 if mixed else 4) + per_layer
    else:
        acts = layers * per_layer
    logits = batch * seq * facts.vocab_size * 4 * 2  # fp32 logits and their gradient
    return acts + logits


def fits_one_gpu(preset, gpus: list) -> MemoryEstimate | None:
    """The estimate for one full copy of the model on one GPU (plain data parallel)."""
    facts = model_facts(preset)
    if facts is None or not gpus:
        return None
    return _estimate_from(preset, facts, gpus, "single", 1)
