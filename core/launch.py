"""A preset's `[launch]` turned into the argv and environment that start training.

The worker always runs with the interpreter running hftui (`sys.executable`), never a bare
name from PATH, so the run uses exactly the libraries hftui validated against. Several
processes (DDP, FSDP, DeepSpeed) and several machines go through torchrun
(`python -m torch.distributed.run`) and its static rendezvous on machine 0; FSDP and DeepSpeed
are switched on through the installed Trainer's own `fsdp`/`fsdp_config` and `deepspeed`
arguments, so the worker builds one and the same Trainer for every backend.

On a machine without CUDA the same preset still starts, for a smoke test: the processes talk
over gloo, train on the CPU, and DeepSpeed is told to use its CPU accelerator.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

from hftui.core import extras
from hftui.core import gpu as gpu_mod
from hftui.core.i18n import _
from hftui.core.run.folder import DS_CONFIG_FILE

WORKER_MODULE = "hftui.core.train.worker"
TORCHRUN_MODULE = "torch.distributed.run"
CPU_WORKER_MODULE = "hftui.core.train.cpu_rank"  # the worker, adapted for CPU-only FSDP/DeepSpeed runs

# Rule of thumb from the Hugging Face guide "Efficient training on multiple GPUs": data
# parallel while the model fits one GPU, sharding (FSDP / ZeRO-3) when it does not.
LARGE_MODEL_PARAMS = 1_000_000_000
MANY_GPUS = 8


@dataclass(frozen=True)
class Launch:
    argv: list[str]
    env: dict[str, str]
    backend: str  # single | ddp | fsdp | deepspeed
    num_processes: int  # per machine
    num_machines: int
    reason: str  # why this backend, in words
    args_overrides: dict = field(default_factory=dict)  # merged into [args] of the resolved preset

    @property
    def world_size(self) -> int:
        return self.num_processes * self.num_machines


# -- choosing ---------------------------------------------------------------------------------
def _int(value, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def usable_cpus() -> int:
    """The CPU cores this process may run on (its affinity, which containers and taskset narrow)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def process_limit(gpus: list) -> tuple[int, str]:
    """The most processes per machine a run may start here, and what sets that bound in words:
    one per visible GPU, or on a machine without GPUs one per usable CPU core."""
    if gpus:
        return len(gpus), _("{n} visible GPU(s)", n=len(gpus))
    cpus = usable_cpus()
    return cpus, _("no GPU and {cpus} usable CPU core(s)", cpus=cpus)


def processes_per_machine(preset, gpus: list) -> int:
    nproc = preset.get("launch.num_processes", "auto")
    if nproc == "auto" or not isinstance(nproc, int) or isinstance(nproc, bool):
        return max(1, len(gpus))
    return max(1, nproc)


def choose_backend(preset, gpus: list) -> tuple[str, str, dict]:
    """What `backend = "auto"` picks here, why, and any [launch] settings that choice implies.

    Returns (backend, reason, launch_settings); launch_settings may set zero_stage/offload
    when only ZeRO-3 with offload makes the model fit.
    """
    nproc = processes_per_machine(preset, gpus)
    machines = max(1, _int(preset.get("launch.num_machines", 1), 1))
    world = nproc * machines
    if not gpus:
        if world == 1:
            return "single", _("no GPU here: one process on the CPU"), {}
        return "ddp", _("no GPU here: {world} CPU processes over gloo (a smoke test)", world=world), {}
    if world == 1:
        return "single", _("one GPU: a single process, nothing to distribute"), {}

    from hftui.core.train import memory_estimate as memory

    one = memory.fits_one_gpu(preset, gpus)
    if one is None:
        return "ddp", _("{world} GPUs: data parallel (DDP), one full model copy per GPU (model size unknown here)", world=world), {}
    large = (one.total_params or 0) >= LARGE_MODEL_PARAMS
    if one.fits and not (world >= MANY_GPUS and large):
        return "ddp", _("{world} GPUs and the model fits one GPU ({size}): data parallel (DDP)", world=world, size=one.text.split(";")[0]), {}
    fsdp = memory.estimate(preset, gpus, backend="fsdp", world_size=world)
    if one.fits:
        return "fsdp", _("{world} GPUs and a large model ({params} parameters): FSDP full shard saves memory for bigger batches",
                         world=world, params=memory.count(one.total_params)), {}
    if fsdp.fits is not False:
        return "fsdp", _("{world} GPUs and the model does not fit one GPU ({needed} needed, {there} there): FSDP full shard, about {sharded} per GPU",
                         world=world, needed=memory.human(one.per_gpu_bytes), there=memory.human(one.gpu_bytes),
                         sharded=memory.human(fsdp.per_gpu_bytes)), {}
    probe = preset.with_value("launch.zero_stage", 3).with_value("launch.offload", "all")
    ds = memory.estimate(probe, gpus, backend="deepspeed", world_size=world)
    if ds.fits is False:
        # Offloading moves weights and optimizer state, not activations: when even ZeRO-3 with
        # full offload does not fit, it would only make the run several times slower.
        return "fsdp", _(
            "{world} GPUs and the run does not fit even sharded ({fsdp} per GPU with FSDP,"
            " {zero3} with ZeRO-3 CPU offload; activations {activations}):"
            " FSDP full shard without offload; lower args.per_device_train_batch_size or the sequence length, or turn on activation checkpointing",
            world=world, fsdp=memory.human(fsdp.per_gpu_bytes), zero3=memory.human(ds.per_gpu_bytes),
            activations=memory.human(ds.breakdown.get("activations")),
        ), {}
    if not extras.deepspeed_installed():
        return "fsdp", _(
            "{world} GPUs and even FSDP needs {fsdp} per GPU: FSDP full shard with CPU offload"
            " (DeepSpeed ZeRO-3, the choice here, is not installed: pip install 'hftui[deepspeed]')",
            world=world, fsdp=memory.human(fsdp.per_gpu_bytes),
        ), {"offload": "all"}
    return "deepspeed", _(
        "{world} GPUs and even FSDP needs {fsdp} per GPU: DeepSpeed ZeRO-3 with CPU offload"
        " of the weights and optimizer state to CPU memory (about {zero3} per GPU; several times slower than on the GPU)",
        world=world, fsdp=memory.human(fsdp.per_gpu_bytes), zero3=memory.human(ds.per_gpu_bytes),
    ), {"zero_stage": 3, "offload": "all"}


def auto_rule_summary(n_gpus: int) -> str:
    """`choose_backend`'s rule in words for a machine with n_gpus GPUs, before the model is known.

    Said from the same thresholds (one process per GPU, one machine), so the wizard's advice
    and the launch it leads to never disagree.
    """
    if n_gpus == 0:
        return _("backend = auto starts one process on the CPU")
    if n_gpus == 1:
        return _("backend = auto starts a single process (nothing to distribute)")
    deepspeed = extras.deepspeed_installed()
    if n_gpus >= MANY_GPUS:
        limit = LARGE_MODEL_PARAMS / 1e9
        if deepspeed:
            return _("backend = auto uses DDP over {n} processes while the model fits one GPU and has under {limit:g}B parameters,"
                     " else fsdp (full shard), or deepspeed ZeRO-3 with CPU offload when even fsdp does not fit", n=n_gpus, limit=limit)
        return _("backend = auto uses DDP over {n} processes while the model fits one GPU and has under {limit:g}B parameters,"
                 " else fsdp (full shard), or fsdp with CPU offload when even that does not fit (DeepSpeed is not installed)",
                 n=n_gpus, limit=limit)
    if deepspeed:
        return _("backend = auto uses DDP over {n} processes while the model fits one GPU, else fsdp (full shard),"
                 " or deepspeed ZeRO-3 with CPU offload when even fsdp does not fit", n=n_gpus)
    return _("backend = auto uses DDP over {n} processes while the model fits one GPU, else fsdp (full shard),"
             " or fsdp with CPU offload when even that does not fit (DeepSpeed is not installed)", n=n_gpus)


# -- resolving --------------------------------------------------------------------------------
def resolve_launch(preset, run_dir: Path, gpus: list | None = None) -> Launch:
    """Decide how to start the run described by `preset`, writing any config into run_dir."""
    gpus = gpu_mod.detect() if gpus is None else gpus
    run_dir = Path(run_dir)
    launch = dict(preset.section("launch"))
    backend = launch.get("backend", "auto")
    if backend == "auto":
        backend, reason, implied = choose_backend(preset, gpus)  # on the CPU it says so itself
        launch.update(implied)
    elif not gpus and backend != "single":
        reason = _('backend = "{backend}" set in the preset (no GPU here: gloo and the CPU)', backend=backend)
    else:
        reason = _('backend = "{backend}" set in the preset', backend=backend)
    nproc = 1 if backend == "single" else processes_per_machine(preset, gpus)
    nmachines = 1 if backend == "single" else max(1, _int(launch.get("num_machines", 1), 1))
    world = nproc * nmachines
    on_cpu = not gpus

    overrides: dict = {}
    env: dict[str, str] = {}
    if on_cpu:
        # accelerate ignores DeepSpeed when use_cpu is set; DeepSpeed's CPU accelerator
        # (DS_ACCELERATOR=cpu) keeps everything on the CPU by itself.
        if backend != "deepspeed":
            overrides["use_cpu"] = True
        if world > 1 or backend != "single":
            overrides["ddp_backend"] = "gloo"
    if backend == "fsdp":
        overrides.update(fsdp_args(preset, launch.get("offload", "none")))
        overrides.update(fsdp_checkpointing(preset, overrides["fsdp_config"]))
    elif backend == "deepspeed":
        config = deepspeed_config(preset, launch, on_cpu=on_cpu)
        path = run_dir / DS_CONFIG_FILE
        from hftui.core.fsutil import atomic_write_text

        run_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(config, indent=2) + "\n")
        overrides["deepspeed"] = str(path)
        if on_cpu:
            env["DS_ACCELERATOR"] = "cpu"

    # On a CPU-only machine FSDP and DeepSpeed ranks start through this module, which adapts
    # accelerate and DeepSpeed to the CPU smoke test (see `hftui.core.train.cpu_rank`).
    entry = CPU_WORKER_MODULE if backend in ("fsdp", "deepspeed") and on_cpu else WORKER_MODULE
    worker = ["-m", entry, str(run_dir)]
    if backend == "single":
        argv = [sys.executable, *worker]
    else:
        argv = [sys.executable, "-m", TORCHRUN_MODULE, *torchrun_args(launch, nproc, nmachines), *worker]
    return Launch(argv, env, backend, int(nproc), int(nmachines), reason, overrides)


def torchrun_args(launch: dict, nproc: int, nmachines: int) -> list[str]:
    """torchrun's options: processes here, and the static rendezvous on machine 0."""
    args = ["--nproc_per_node", str(nproc), "--nnodes", str(nmachines)]
    if nmachines > 1:
        args += ["--node_rank", str(_int(launch.get("machine_rank", 0), 0))]
    args += [
        "--master_addr", str(launch.get("main_process_ip", "127.0.0.1") or "127.0.0.1"),
        "--master_port", str(_int(launch.get("main_process_port", 29500), 29500)),
    ]
    return args


def fsdp_args(preset, offload: str = "none") -> dict:
    """`fsdp` and `fsdp_config` for the installed TrainingArguments: full shard, auto-wrap on
    the model's transformer layer class, CPU offload when asked."""
    layer = transformer_layer_classes(preset)
    config: dict = {"auto_wrap_policy": "TRANSFORMER_BASED_WRAP"}
    if layer:
        config["transformer_layer_cls_to_wrap"] = list(layer)
    if _fsdp_takes_bool():
        config.update({"version": 2, "reshard_after_forward": True})
        if offload != "none":
            config["cpu_offload"] = True
        return {"fsdp": True, "fsdp_config": config}
    # Older Trainers: the sharding strategy and offload are words in the `fsdp` string.
    words = "full_shard auto_wrap" + (" offload" if offload != "none" else "")
    return {"fsdp": words, "fsdp_config": config}


def fsdp_checkpointing(preset, fsdp_config: dict) -> dict:
    """Activation checkpointing under FSDP, where transformers asks for it: FSDP's own
    (`fsdp_config["activation_checkpointing"]`, set here in place) instead of the training
    argument, which costs a redundant all-gather in the backward pass. Returns the [args]
    overrides that turn the training argument off (SFTConfig and RewardConfig default it on)."""
    from hftui.core.options.catalog import get_catalog
    from hftui.core.train.effective import shape

    if not shape(preset).checkpointing:
        return {}
    fsdp_config["activation_checkpointing"] = True
    try:
        names = get_catalog(preset.trainer_type, preset.task).args
    except Exception:
        names = {"gradient_checkpointing": None}
    return {name: False for name in ("activation_checkpointing", "gradient_checkpointing") if name in names}


def _fsdp_takes_bool() -> bool:
    try:
        from transformers import TrainingArguments
    except Exception:
        return True
    return hasattr(TrainingArguments, "_apply_legacy_fsdp_to_config")


def transformer_layer_classes(preset) -> tuple[str, ...]:
    """The class names FSDP should wrap one by one: the model's `_no_split_modules`."""
    from hftui.core.train.model_facts import model_facts

    facts = model_facts(preset)
    return facts.no_split_modules if facts else ()


def deepspeed_config(preset, launch: dict | None = None, on_cpu: bool = False) -> dict:
    """A DeepSpeed config for the Trainer. Batch sizes, clipping and precision are "auto", so
    the Trainer fills them from [args] and they can never disagree at start."""
    launch = dict(preset.section("launch")) if launch is None else launch
    stage = _int(launch.get("zero_stage", 2), 2)
    offload = launch.get("offload", "none") or "none"
    zero: dict = {"stage": stage, "overlap_comm": not on_cpu, "contiguous_gradients": True}
    if stage >= 2:
        zero.update({"reduce_scatter": True, "allgather_partitions": True})
    if stage == 3:
        zero.update({
            "stage3_gather_16bit_weights_on_model_save": True,
            "stage3_prefetch_bucket_size": "auto",
            "stage3_param_persistence_threshold": "auto",
            "reduce_bucket_size": "auto",
        })
    if offload in ("optimizer", "all"):
        zero["offload_optimizer"] = {"device": "cpu", "pin_memory": not on_cpu}
    if offload == "all" and stage == 3:
        zero["offload_param"] = {"device": "cpu", "pin_memory": not on_cpu}
    config: dict = {
        "train_batch_size": "auto",
        "train_micro_batch_size_per_gpu": "auto",
        "gradient_accumulation_steps": "auto",
        "gradient_clipping": "auto",
        "zero_optimization": zero,
        "bf16": {"enabled": "auto"},
        "fp16": {"enabled": "auto"},
        "steps_per_print": 1_000_000,
        "wall_clock_breakdown": False,
    }
    if offload in ("optimizer", "all"):
        if on_cpu:
            # The Trainer's own torch optimizer steps on the CPU; DeepSpeed's CPU Adam would
            # need a compiled extension, which a smoke test should not.
            config["zero_force_ds_cpu_optimizer"] = False
        else:
            config["optimizer"] = {"type": "AdamW", "params": {"lr": "auto", "betas": "auto", "eps": "auto", "weight_decay": "auto"}}
    return config


# -- showing ----------------------------------------------------------------------------------
def render_command(launch: Launch, python: str | None = None) -> str:
    """The launch as one shell command line (environment first), for review and export.

    `python` replaces the interpreter path (e.g. "python" for a script meant for other hosts).
    """
    argv = list(launch.argv)
    if python and argv and argv[0] == sys.executable:
        argv[0] = python
    env = " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(launch.env.items()))
    return (env + " " if env else "") + shlex.join(argv)


def preview(preset, gpus: list | None = None, run_dir: str = "RUN_DIR") -> tuple[Launch, str]:
    """The launch for a review screen, without a run folder: (launch, command line) where the
    run folder appears as `run_dir` and nothing is left on disk."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="hftui-preview-") as tmp:
        plan = resolve_launch(preset, Path(tmp), gpus=gpus)
    swap = lambda v: v.replace(tmp, run_dir) if isinstance(v, str) else v  # noqa: E731
    argv = [swap(a) for a in plan.argv]
    overrides = {k: swap(v) for k, v in plan.args_overrides.items()}
    plan = Launch(argv, dict(plan.env), plan.backend, plan.num_processes, plan.num_machines, plan.reason, overrides)
    return plan, render_command(plan)


def describe(launch: Launch) -> str:
    """One line for people: the backend, the process layout and why."""
    values = dict(backend=launch.backend, n=launch.num_processes, machines=launch.num_machines,
                  world=launch.world_size, reason=launch.reason)
    if launch.num_machines > 1:
        if launch.num_processes == 1:
            return _("{backend}: {n} process per machine on {machines} machines ({world} in all) - {reason}", **values)
        return _("{backend}: {n} processes per machine on {machines} machines ({world} in all) - {reason}", **values)
    if launch.num_processes == 1:
        return _("{backend}: {n} process - {reason}", **values)
    return _("{backend}: {n} processes - {reason}", **values)

