"""The memory check of `hftui validate`: a warning, with advice, when the run will probably
not fit the GPUs it will run on (the numbers come from `hftui.core.train.memory_estimate`)."""

from __future__ import annotations

from hftui.core.checks import machine
from hftui.core.i18n import _
from hftui.core.launch import choose_backend
from hftui.core.problems import Problem
from hftui.core.train import effective
from hftui.core.train.memory_estimate import MemoryEstimate, estimate
from hftui.core.train.model_facts import ModelFacts


def check(preset, gpus: list | None = None, facts: ModelFacts | None = None) -> list[Problem]:
    """Problems for `hftui validate`: a warning when the run will not fit the GPUs here.

    On a machine without GPUs this returns nothing (and imports nothing heavy): there is
    nothing to compare with, and CPU runs are smoke tests. `facts`: the model's, when it is
    already built.
    """
    try:
        if gpus is None:
            gpus = machine.visible_gpus()  # this machine's, or the one `--for` named
        if not gpus:
            return []
        backend = preset.get("launch.backend", "auto")
        if backend == "auto":
            backend, _reason, implied = choose_backend(preset, gpus)
            for key, value in implied.items():
                preset = preset.with_value(f"launch.{key}", value)
        est = estimate(preset, gpus, backend=backend, facts=facts)
    except Exception:
        return []
    problem = warning_for(preset, est)
    return [problem] if problem else []


def warning_for(preset, est: MemoryEstimate) -> Problem | None:
    """The warning for an estimate that does not fit its GPUs (None when it fits or is unknown)."""
    if est.fits is not False:
        return None
    return Problem(
        "launch.backend" if preset.has("launch.backend") else "launch",
        "warning",
        _("the run probably won't fit in GPU memory: {estimate}", estimate=est.text),
        _advice(preset, est),
    )


def _advice(preset, est: MemoryEstimate) -> str:
    tips = []
    if not preset.has("peft"):
        tips.append(_('train LoRA adapters ([peft] method = "lora")'))
    if est.world_size > 1 and est.backend not in ("fsdp",) and not (est.backend == "deepspeed" and preset.get("launch.zero_stage", 2) == 3):
        tips.append(_('shard the model (launch.backend = "fsdp", or "deepspeed" with zero_stage = 3)'))
    shape = effective.shape(preset)
    if not shape.checkpointing:
        from hftui.core.options.catalog import checkpointing_option

        tips.append(_("turn on args.{option}", option=checkpointing_option(preset.trainer_type)))
    if shape.mixed is None:
        tips.append(_("use args.bf16 = true"))
    tips.append(_("lower args.per_device_train_batch_size or dataset.max_length"))
    return _("; or ").join(tips)
