"""The machine a preset is checked on: its visible GPUs (none on a CPU box, or without NVML), or
the machine a person named (`hftui validate --for 4xA100-80GB`), for every check at once.

`checked_on(gpus)` sets the named machine for the checks run inside it (a context variable, so
the wizard's worker threads each keep their own); `fit_for` is the estimate for that machine as
`hftui validate --json` prints it.
"""

from __future__ import annotations

import contextlib
from contextvars import ContextVar

from hftui.core.i18n import _

_named: ContextVar[list | None] = ContextVar("hftui_checked_machine", default=None)


def visible_gpus() -> list:
    named = _named.get()
    if named is not None:
        return list(named)
    from hftui.core import gpu

    try:
        return gpu.detect()
    except Exception:
        return []


@contextlib.contextmanager
def checked_on(gpus: list | None):
    """Run the checks inside as if `gpus` were this machine's GPUs (None: the real ones)."""
    token = _named.set(list(gpus) if gpus is not None else None)
    try:
        yield
    finally:
        _named.reset(token)


def fit_for(preset, gpus: list, facts=None) -> dict:
    """The estimate for `gpus` as one JSON-ready object: per_gpu_gib, backend, offload, fits,
    reasons (why this backend, the effective settings, what the GPUs cannot do), and the machine.

    `backend = "auto"` is decided by the same rule a run uses (`launch.choose_backend`), with
    the settings that choice implies (ZeRO-3 offload) applied before estimating.
    """
    from hftui.core.launch import choose_backend
    from hftui.core.train.memory_estimate import GiB, estimate

    backend = preset.get("launch.backend", "auto")
    reasons = []
    if backend == "auto":
        backend, why, implied = choose_backend(preset, gpus)
        for key, value in implied.items():
            preset = preset.with_value(f"launch.{key}", value)
        reasons.append(_("backend: {why}", why=why))
    else:
        reasons.append(_('backend: "{backend}" set in the preset', backend=backend))
    est = estimate(preset, gpus, backend=backend, facts=facts)
    reasons.extend(est.reasons)
    if est.offload != "none":
        if est.offload == "optimizer":
            reasons.append(_("CPU offload: the optimizer state live in CPU memory (several times slower than keeping them on the GPU)"))
        else:
            reasons.append(_("CPU offload: the optimizer state and the weights live in CPU memory (several times slower than keeping them on the GPU)"))
    reasons.append(_("estimate: {text}", text=est.text))
    machine = {"gpus": len(gpus), "gpu": gpus[0].name if gpus else None,
               "gpu_gib": round(gpus[0].memory_total / GiB, 1) if gpus else None}
    return {
        "per_gpu_gib": None if est.per_gpu_gib is None else round(est.per_gpu_gib, 4),
        "backend": est.backend,
        "world_size": est.world_size,
        "offload": est.offload,
        "fits": est.fits,
        "reasons": reasons,
        "machine": machine,
        "breakdown_gib": {k: round(v / GiB, 2) for k, v in est.breakdown.items()},
    }
