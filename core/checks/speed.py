"""The speed settings against what is installed and the GPUs they will run on: the attention
kernel, padding-free batches (flash attention only), Liger kernels, TF32 and QLoRA's 4-bit base.
Each is otherwise an import error or a ValueError when the run starts, or, for padding-free on
the wrong attention, a run TRL does not support.

Availability is read from the installed files (`installed`), never by importing the packages;
the GPUs are this machine's, or the named machine's under `hftui validate --for`.
"""

from __future__ import annotations

import difflib

from hftui.core.i18n import N_, _
from hftui.core.options.sections import BUILTIN_ATTENTION
from hftui.core.preset import Preset
from hftui.core.train import quantize

from hftui.core.checks import installed, machine
from hftui.core.checks.report import Report
from hftui.core.checks.values import show

ATTENTION_NAMES = (*BUILTIN_ATTENTION, *installed.ATTENTION_PACKAGES)
ATTENTION_KEYS = ("model.attn_implementation", "model.scratch.attn_implementation")
LIGER_PACKAGE = ("liger_kernel", "pip install liger-kernel")  # import name, how to install it
FLASH_HINT = N_('set model.attn_implementation = "flash_attention_2" (pip install flash-attn --no-build-isolation) '
                'or a Hub flash kernel such as "kernels-community/flash-attn" (pip install kernels)')
PADDING_FREE_PACKING = ("bfd", "bfd_split")  # TRL's packing strategies that train padding-free


def check_speed(rep: Report, preset: Preset) -> None:
    for key in ATTENTION_KEYS:
        value = preset.get(key)
        if isinstance(value, str):
            check_attention(rep, key, value)
    if preset.trainer_type == "sft":
        _check_padding_free(rep, preset)
    if preset.get("args.use_liger_kernel") is True:
        _check_liger(rep)
    if preset.get("args.tf32") is True:
        _check_tf32(rep)
    if quantize.is_qlora(preset):
        scratch = isinstance(preset.get("model.scratch"), dict)
        gpus = machine.visible_gpus()
        for message, fix in quantize.missing(bool(gpus), scratch):
            rep.error("peft.method", message, fix)


def attention(preset: Preset) -> str:
    """The attention kernel the run uses: [model]'s, a [model.scratch] config's, else sdpa."""
    for key in ATTENTION_KEYS:
        value = preset.get(key)
        if isinstance(value, str) and value:
            return value
    return BUILTIN_ATTENTION[0]


def is_flash(name: str) -> bool:
    """Whether an attention kernel handles flattened, padding-free batches (FlashAttention 2/3/4,
    or a Hub flash kernel)."""
    return "flash" in name.removeprefix("paged|") and name.removeprefix("paged|") != "flex_attention"


def check_attention(rep: Report, key: str, value: str) -> None:
    name = value.removeprefix("paged|")
    if "/" in name:
        module, install = installed.HUB_KERNELS_PACKAGE
        if installed.missing_package(module):
            rep.error(key, _("attn_implementation = {value} is a Hub kernel, which needs the {package} package, and it is not installed",
                             value=show(value), package=module),
                      _('{install}, or use attn_implementation = "sdpa" (built into PyTorch)', install=_(install)))
    elif name in installed.ATTENTION_PACKAGES:
        dist, install = installed.ATTENTION_PACKAGES[name]
        if installed.missing_distribution(dist):
            rep.error(key, _("attn_implementation = {value} needs the {package} package, which is not installed", value=show(value), package=dist),
                      _('{install} (on a machine with CUDA), or use attn_implementation = "sdpa" (built into PyTorch)', install=_(install)))
        elif not machine.visible_gpus():
            rep.add(key, "error" if rep.for_run else "warning",
                    _("attn_implementation = {value} runs on CUDA GPUs only, and this machine has none", value=show(value)),
                    _('use attn_implementation = "sdpa" for runs on this machine'))
    elif name not in ATTENTION_NAMES:
        close = difflib.get_close_matches(name, ATTENTION_NAMES, n=1, cutoff=0.5)
        names = ", ".join(ATTENTION_NAMES)
        rep.error(key, _("unknown attn_implementation {value}", value=show(value)),
                  _("did you mean {name}? choose one of: {names}, or a Hub kernel (owner/name)", name=show(close[0]), names=names) if close
                  else _("choose one of: {names}, or a Hub kernel (owner/name)", names=names))


def _packing_strategy(preset: Preset) -> str:
    value = preset.get("args.packing_strategy")
    if isinstance(value, str):
        return value
    try:
        from hftui.core.options.catalog import get_catalog

        return str(get_catalog("sft").args["packing_strategy"].default)
    except Exception:
        return PADDING_FREE_PACKING[0]


def _check_padding_free(rep: Report, preset: Preset) -> None:
    kernel = attention(preset)
    if is_flash(kernel):
        return
    if preset.get("args.padding_free") is True:
        rep.error("args.padding_free", _("padding_free = true flattens each batch into one row, which TRL supports with flash attention only, "
                                         "and the attention here is {kernel}", kernel=show(kernel)),
                  _("{flash}, or remove padding_free", flash=_(FLASH_HINT)))
    elif preset.get("args.packing") is True and _packing_strategy(preset) in PADDING_FREE_PACKING:
        rep.warning("args.packing", _("packing with the {strategy} strategy trains padding-free, which TRL supports with "
                                      "flash attention only, and the attention here is {kernel}",
                                      strategy=show(_packing_strategy(preset)), kernel=show(kernel)),
                    _('{flash}, or packing_strategy = "wrapped"', flash=_(FLASH_HINT)))


def _check_liger(rep: Report) -> None:
    module, install = LIGER_PACKAGE
    if installed.missing_package(module):
        rep.error("args.use_liger_kernel", _("use_liger_kernel = true needs the liger-kernel package, which is not installed"),
                  _("{install} (on a machine with CUDA), or remove use_liger_kernel", install=install))
    elif not machine.visible_gpus():
        rep.add("args.use_liger_kernel", "error" if rep.for_run else "warning",
                _("use_liger_kernel = true runs Triton kernels on CUDA GPUs only, and this machine has none"),
                _("remove use_liger_kernel for runs on this machine"))


def _check_tf32(rep: Report) -> None:
    gpus = machine.visible_gpus()
    if gpus and all(g.supports_bf16 for g in gpus):
        return
    message = (_("tf32 = true needs TF32 tensor cores (Ampere or newer), and this machine has no GPU: the trainer stops with a ValueError")
               if not gpus else
               _("tf32 = true needs TF32 tensor cores (Ampere or newer), and these GPUs are older than Ampere (compute capability "
                 "below 8.0): the trainer stops with a ValueError"))
    rep.add("args.tf32", "error" if rep.for_run or gpus else "warning", message, _("remove tf32 (or set it false) for this machine"))
