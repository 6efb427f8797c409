"""Will this run fit on the GPUs here (or on a named machine)? A per-GPU memory estimate.

Parameters are counted on a model built from the config on the meta device (no weights are
allocated, nothing is downloaded beyond the config), then multiplied by the bytes each
precision and optimizer keeps per parameter and divided the way ZeRO or FSDP shard them.
Precision, checkpointing, batch and sequence are the effective ones (`effective.shape`: the
installed config class's defaults plus the preset); activations are counted per tensor
(`activations`). Calibrated against measured peaks (benchmarks/README.md); it is meant to tell
"fits" from "will not fit" before a run starts, not to predict the peak to the megabyte.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hftui.core.i18n import N_, _
from hftui.core.options.sections import SECTION_FIELDS
from hftui.core.train import effective
from hftui.core.train import quantize
from hftui.core.train.activations import activation_bytes
from hftui.core.train.model_facts import ModelFacts, model_facts

GiB = 1024**3
# What CUDA, the allocator and NCCL take before the first tensor: a fixed allowance.
CUDA_OVERHEAD = int(0.75 * GiB)
# Share of a GPU's memory a run may plan for. The estimate is calibrated against NVML's peak,
# which already holds the allocator's cache; the rest absorbs the spread between runs.
USABLE_FRACTION = 0.95

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8}
# The breakdown's parts as the estimate's text names them.
PART_NAMES = {
    "weights": N_("weights"), "gradients": N_("gradients"), "optimizer": N_("optimizer"),
    "ppo_models": N_("ppo models"), "ddp_buckets": N_("ddp buckets"), "activations": N_("activations"),
    "logits": N_("logits"), "cuda_overhead": N_("cuda overhead"),
}


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
    offload: str = "none"  # none | optimizer | all: what lives in CPU memory instead
    reasons: tuple[str, ...] = ()  # the effective settings behind the figure, in words

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


# -- the estimate -----------------------------------------------------------------------------
def lora_params(facts: ModelFacts, peft: dict) -> int:
    """Trainable parameters LoRA adds: r * (in + out) for every targeted linear layer."""
    defaults = SECTION_FIELDS["peft"]
    r = int(peft.get("r") or defaults["r"].default)
    target = peft.get("target_modules", defaults["target_modules"].default)
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


# QLoRA's frozen base (train/quantize.py): every Linear but the output layer in NF4 with double
# quantization (4 bits, an 8-bit absmax per 64 weights, an fp32 constant per 256 of those); the
# rest (embeddings, output layer, norms) cast to fp32 by peft's prepare_model_for_kbit_training.
NF4_BYTES = (4 + 8 / 64 + 32 / (64 * 256)) / 8
KBIT_REST_BYTES = 4


def qlora_base_bytes(facts: ModelFacts) -> int:
    """The bytes of a QLoRA model's frozen base."""
    if facts.linears:
        quantized = sum(i * o for name, i, o in facts.linears if name != facts.output_linear)
    else:  # facts without the layer list: every parameter taken as quantized
        quantized = facts.total_params
    quantized = min(quantized, facts.total_params)
    return int(quantized * NF4_BYTES + (facts.total_params - quantized) * KBIT_REST_BYTES)


def _precision(preset, facts: ModelFacts, shape: effective.TrainingShape) -> tuple[int, bool, str]:
    """(bytes per stored weight, mixed precision on?, name of the weights' dtype)."""
    mixed = shape.mixed is not None
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
        return MemoryEstimate(None, {}, None, _("memory estimate unavailable: the model's config could not be read here"), None, backend, world)
    return _estimate_from(preset, facts, gpus, backend, world)


def _estimate_from(preset, facts: ModelFacts, gpus: list, backend: str, world: int) -> MemoryEstimate:
    launch = preset.section("launch")
    shape = effective.shape(preset)
    weight_bytes, mixed, dtype_name = _precision(preset, facts, shape)
    total = facts.total_params
    peft = preset.section("peft") if preset.has("peft") else None
    trainable = lora_params(facts, peft) if peft is not None else total
    trainable_bytes = 4 if peft is not None else weight_bytes  # adapters are kept in fp32
    optim_per_param = _optimizer_bytes(shape.optim)
    offload = launch.get("offload", "none")

    qlora = quantize.is_qlora(preset)
    if qlora:
        dtype_name = "nf4"
    base = qlora_base_bytes(facts) if qlora else total * weight_bytes
    weights = base + (trainable * trainable_bytes if peft is not None else 0)
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
    if backend == "ddp" and world > 1:
        # DDP's all-reduce buckets: a second copy of the gradients (Trainer leaves
        # gradient_as_bucket_view off)
        breakdown["ddp_buckets"] = int(grads)
    acts, logits = activation_bytes(facts, shape, weight_bytes, preset.trainer_type)
    breakdown["activations"] = int(acts)
    breakdown["logits"] = int(logits)
    breakdown["cuda_overhead"] = CUDA_OVERHEAD if gpus else 0
    per_gpu = sum(breakdown.values())

    gpu_bytes = min((int(g.memory_total) for g in gpus), default=None) if gpus else None
    fits = None if gpu_bytes is None else per_gpu <= gpu_bytes * USABLE_FRACTION
    text = "; ".join([_size_text(per_gpu, breakdown, gpus), _settings_text(total, trainable, dtype_name, shape, backend, world, gpus)])
    if fits is True:
        text += "; " + _("fits the {gpu} GPU", gpu=human(gpu_bytes))
    elif fits is False:
        text += "; " + _("does NOT fit the {gpu} GPU", gpu=human(gpu_bytes))
    offloaded = offload if backend in ("deepspeed", "fsdp") and offload in ("optimizer", "all") else "none"
    reasons = tuple(shape.reasons()) + tuple(_hardware_reasons(shape, gpus))
    return MemoryEstimate(per_gpu, breakdown, fits, text, gpu_bytes, backend, world, total, trainable, facts, offloaded, reasons)


def _size_text(per_gpu: int, breakdown: dict, gpus: list) -> str:
    """The figure and its parts: per GPU, or per process on a machine without one."""
    parts = ", ".join(f"{_(PART_NAMES[k]) if k in PART_NAMES else k.replace('_', ' ')} {human(v)}" for k, v in breakdown.items() if v)
    if gpus:
        return _("about {size} per GPU ({parts})", size=human(per_gpu), parts=parts)
    return _("about {size} per process ({parts})", size=human(per_gpu), parts=parts)


def _settings_text(total, trainable, dtype_name: str, shape: effective.TrainingShape, backend: str, world: int, gpus: list) -> str:
    """The settings behind the figure, in words."""
    items = [_("{total} parameters, {trainable} trainable", total=count(total), trainable=count(trainable))]
    if shape.mixed is not None:
        items.append(_("{dtype} weights + {mixed} mixed precision", dtype=dtype_name, mixed=shape.mixed))
    else:
        items.append(_("{dtype} weights", dtype=dtype_name))
    if shape.checkpointing:
        items.append(_("activation checkpointing"))
    items.append(_("batch {batch} x {seq} tokens", batch=shape.batch, seq=shape.seq))
    if not gpus:
        items.append(_("one process on the CPU") if world == 1 else _("{backend} over {world} CPU processes", backend=backend, world=world))
    elif world > 1:
        items.append(_("{backend} over {world} processes", backend=backend, world=world))
    else:
        items.append(backend)
    return ", ".join(items)


def _hardware_reasons(shape: effective.TrainingShape, gpus: list) -> list[str]:
    """What the GPUs cannot do that the settings ask for (bf16 before compute capability 8.0)."""
    if shape.mixed == "bf16" and gpus and not all(g.supports_bf16 for g in gpus):
        old = next(g for g in gpus if not g.supports_bf16)
        return [_("bf16 needs compute capability 8.0 or newer and {gpu} has {capability}: set args.bf16 = false and args.fp16 = true",
                  gpu=old.name, capability=".".join(map(str, old.compute_capability or ())))]
    return []


def fits_one_gpu(preset, gpus: list) -> MemoryEstimate | None:
    """The estimate for one full copy of the model on one GPU (plain data parallel)."""
    facts = model_facts(preset)
    if facts is None or not gpus:
        return None
    return _estimate_from(preset, facts, gpus, "single", 1)
