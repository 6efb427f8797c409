"""What this machine can do for training: GPUs, precision, CUDA/NCCL, DeepSpeed ops, versions,
the extras and optional kernels installed, and what would break a first run here.

`collect()` gathers plain facts (JSON-ready) for `hftui doctor`; each probe is guarded so a
missing driver or library becomes an entry that says so, never an exception. Nothing is
compiled: DeepSpeed's ops are reported as installed / compatible, like `ds_report`. Whether an
optional package is there is read from its metadata, never by importing it.
"""

from __future__ import annotations

import contextlib
import io
import os
import platform
import sys

from hftui.core import extras as extras_mod
from hftui.core import gpu as gpu_mod
from hftui.core.i18n import _

# Distribution names of every library hftui drives, in the order people think of them.
LIBRARIES = (
    "torch", "transformers", "trl", "peft", "accelerate", "deepspeed", "datasets", "evaluate",
    "tokenizers", "safetensors", "huggingface_hub", "nvidia-ml-py", "textual", "rich",
)


def _version(name: str) -> str | None:
    from importlib import metadata  # ~20 ms: kept off the wizard's first frame

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def versions() -> dict[str, str | None]:
    """Installed version of each library (None when it is not installed)."""
    return {name: _version(name) for name in LIBRARIES}


def extras() -> dict[str, dict]:
    """Each extra of pyproject.toml: installed here or not, what it unlocks, how to get it."""
    return {name: {"installed": bool(present()), "unlocks": extras_mod.unlocks(name), "install": f"pip install 'hftui[{name}]'"}
            for name, (_unlocks, present) in extras_mod.EXTRAS.items()}


def optional_packages() -> dict[str, dict]:
    """Optional packages that make training faster or smaller: version (None: absent), what each unlocks."""
    from hftui.core.checks import installed  # the checks stay off the wizard's first frame

    unlocks = {
        installed.ATTENTION_PACKAGES["flash_attention_2"][0]: 'model.attn_implementation = "flash_attention_2"',
        "liger-kernel": _("args.use_liger_kernel = true (fused Triton kernels: less memory per token)"),
        installed.HUB_KERNELS_PACKAGE[0]: _('attention kernels from the Hub (model.attn_implementation = "owner/name")'),
        installed.OPTIMIZER_PACKAGES["adamw_bnb_8bit"][1]: _('peft.method = "qlora" (a 4-bit base) and 8-bit optimizers (args.optim = "adamw_bnb_8bit")'),
    }
    return {name: {"version": _version(name), "unlocks": text} for name, text in unlocks.items()}


def precision_default(gpus: list) -> tuple[str, str]:
    """The precision hftui suggests here ("bf16" | "fp16" | "fp32") and why."""
    if not gpus:
        return "fp32", _("no GPU: the CPU trains in float32 (mixed precision buys nothing there)")
    if all(g.supports_bf16 for g in gpus):
        return "bf16", _("every GPU has compute capability 8.0 or newer: bf16 mixed precision (fp32's range, no loss scaling)")
    oldest = min((g.compute_capability or (0, 0)) for g in gpus)
    return "fp16", _("compute capability {major}.{minor} has no fast bf16: fp16 mixed precision with loss scaling",
                     major=oldest[0], minor=oldest[1])


def _torch_facts() -> dict:
    facts: dict = {"available": False}
    try:
        import torch
    except Exception as exc:  # a broken install must not break the doctor
        facts["error"] = f"{type(exc).__name__}: {exc}"
        return facts
    facts["available"] = True
    facts["version"] = torch.__version__
    facts["cuda_built"] = torch.version.cuda  # None on a CPU build
    facts["cuda_available"] = bool(torch.cuda.is_available())
    facts["device_count"] = torch.cuda.device_count() if facts["cuda_available"] else 0
    facts["nccl"] = None
    facts["cudnn"] = None
    facts["bf16"] = False
    facts["tf32"] = False
    facts["fp16"] = False
    if facts["cuda_available"]:
        try:
            v = torch.cuda.nccl.version()
            facts["nccl"] = ".".join(str(x) for x in v) if isinstance(v, tuple) else str(v)
        except Exception:
            pass
        try:
            facts["cudnn"] = torch.backends.cudnn.version()
        except Exception:
            pass
        try:
            facts["bf16"] = bool(torch.cuda.is_bf16_supported())
            cc = torch.cuda.get_device_capability(0)
            facts["tf32"] = cc >= (8, 0)
            facts["fp16"] = cc >= (5, 3)
        except Exception:
            pass
    facts["distributed"] = bool(torch.distributed.is_available())
    facts["nccl_backend"] = bool(facts["distributed"] and torch.distributed.is_nccl_available())
    facts["gloo_backend"] = bool(facts["distributed"] and torch.distributed.is_gloo_available())
    return facts


def _deepspeed_facts(on_cpu: bool) -> dict:
    """DeepSpeed's op report (installed / JIT-compatible), without compiling anything."""
    facts: dict = {"available": False, "ops": {}}
    if not extras_mod.deepspeed_installed():
        facts["error"] = _("not installed ({unlocks}): pip install 'hftui[deepspeed]'", unlocks=extras_mod.unlocks("deepspeed"))
        return facts
    sink = io.StringIO()
    old = os.environ.get("DS_ACCELERATOR")
    try:
        if on_cpu and old is None:
            os.environ["DS_ACCELERATOR"] = "cpu"  # what hftui sets for DeepSpeed runs here
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            import deepspeed
            from deepspeed import env_report
            from deepspeed.accelerator import get_accelerator
            from deepspeed.git_version_info import installed_ops
            from deepspeed.ops.op_builder.all_ops import ALL_OPS

            accel = get_accelerator()
            facts.update(available=True, version=deepspeed.__version__, accelerator=accel._name,
                         communication_backend=accel.communication_backend_name())
            try:
                from torch.utils.cpp_extension import is_ninja_available

                facts["ninja"] = bool(is_ninja_available())
            except Exception:
                facts["ninja"] = None
            probe = getattr(env_report, "probe_is_compatible", None)
            for name, builder in ALL_OPS.items():
                try:
                    compatible = bool(probe(builder, False) if probe else builder.is_compatible(False))
                except Exception:
                    compatible = False
                facts["ops"][name] = {"installed": bool(installed_ops.get(name, False)), "compatible": compatible}
    except Exception as exc:
        facts["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    finally:
        if on_cpu and old is None:
            os.environ.pop("DS_ACCELERATOR", None)
    return facts


def auto_choice(gpus: list) -> dict:
    """What `backend = "auto"` and the precision default pick on this machine, and why."""
    from hftui.core.launch import choose_backend
    from hftui.core.preset import Preset

    backend, reason, _plan = choose_backend(Preset(data={"launch": {"backend": "auto"}}), gpus)
    precision, why = precision_default(gpus)
    rule = _(
        "one GPU: single process; 2 or more: DDP while the model fits one GPU, FSDP when it does not; "
        "8 or more with a large model: FSDP or DeepSpeed ZeRO-3"
    )
    return {"backend": backend, "backend_reason": reason, "rule": rule, "precision": precision, "precision_reason": why}


def collect(deepspeed: bool = True, output_dir: str = ".", hub_probe=None) -> dict:
    """Every fact the doctor reports, as plain data. `hub_probe(url)` -> None or why the Hub is
    out of reach (default: a request with a short timeout, skipped when HF_HUB_OFFLINE is set)."""
    from hftui.core import readiness

    gpus = gpu_mod.detect()
    report = {
        "host": platform.node(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "gpus": [
            {**g.to_dict(), "memory_gib": round(g.memory_total / 1024**3, 1), "bf16": g.supports_bf16,
             "compute_capability": ".".join(map(str, g.compute_capability)) if g.compute_capability else None}
            for g in gpus
        ],
        "driver": gpus[0].driver if gpus else None,
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "torch": _torch_facts(),
        "versions": versions(),
        "auto": auto_choice(gpus),
    }
    report["deepspeed"] = _deepspeed_facts(on_cpu=not gpus) if deepspeed else {"available": None, "ops": {}}
    report["extras"] = extras()
    report["optional"] = optional_packages()
    report["ready"] = readiness.collect(output_dir, hub_probe or readiness.probe_hub)
    report["summary"] = summary(report) + readiness.summary(report["ready"])
    return report


def summary(report: dict) -> list[str]:
    """The few sentences a person needs first."""
    lines = []
    gpus = report["gpus"]
    torch_facts = report["torch"]
    if not gpus:
        lines.append(_("No NVIDIA GPU found: hftui will train on the CPU (fine for smoke tests, slow for real runs)."))
    else:
        names = ", ".join(sorted({g["name"] for g in gpus}))
        lines.append(_("{count} GPUs: {names}.", count=len(gpus), names=names) if len(gpus) > 1
                     else _("1 GPU: {names}.", names=names))
        if torch_facts.get("available") and not torch_facts.get("cuda_available"):
            lines.append(_("torch cannot use the GPU (check the driver and CUDA_VISIBLE_DEVICES).") if torch_facts.get("cuda_built")
                         else _("torch cannot use the GPU (a CPU-only build of torch)."))
    if not torch_facts.get("available"):
        error = torch_facts["error"] if "error" in torch_facts else _("not installed")
        lines.append(_("torch is not importable: {error}", error=error))
    auto = report["auto"]
    lines.append(_("backend = \"auto\" picks {backend}: {reason}.", backend=auto["backend"], reason=auto["backend_reason"]))
    lines.append(_("Precision default: {precision} - {reason}.", precision=auto["precision"], reason=auto["precision_reason"]))
    missing = [k for k, v in report["versions"].items() if v is None and k not in ("nvidia-ml-py",)]
    if missing:
        lines.append(_("Not installed: {names}.", names=", ".join(missing)))
    return lines
