"""QLoRA: the base model loaded in 4 bits through bitsandbytes, then LoRA adapters as usual.

`[peft] method = "qlora"` keeps the frozen base in NF4 (double-quantized, computing in bf16 where
the GPU has it, fp16 elsewhere) and trains only the adapters, so a 7B model fine-tunes on one
24 GB card. bitsandbytes' 4-bit kernels run on CUDA only, and a model built from
`[model.scratch]` is refused: its weights are random, and freezing random weights in 4 bits to
train adapters on top learns nothing a plain LoRA or full training would not learn better.

`missing` is the one list of reasons validate and the run give; it reads availability from the
installed files and the GPUs it is told about, never importing bitsandbytes or torch.
"""

from __future__ import annotations

import os

from hftui.core.i18n import _

QLORA = "qlora"
BNB_PACKAGE = ("bitsandbytes", "pip install bitsandbytes")  # import name, how to install it
# BitsAndBytesConfig's settings for QLoRA (the QLoRA paper's: NF4, double quantization).
QUANT_TYPE = "nf4"
DOUBLE_QUANT = True


def is_qlora(preset) -> bool:
    peft = preset.get("peft")
    return isinstance(peft, dict) and peft.get("method") == QLORA


def bnb_installed() -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(BNB_PACKAGE[0]) is not None
    except (ImportError, ValueError):
        return False


def missing(has_cuda: bool, scratch: bool) -> list[tuple[str, str]]:
    """(message, fix) for each reason QLoRA cannot run here: none when it can."""
    out = []
    if scratch:
        out.append((_('peft.method = "qlora" loads a pretrained base in 4 bits, but [model.scratch] builds a model from random '
                      "weights: a frozen 4-bit random base with adapters on top learns next to nothing"),
                    _('use method = "lora" (or no [peft]) for a fresh model, or set model.name_or_path and remove [model.scratch]')))
    if not bnb_installed():
        out.append((_('peft.method = "qlora" loads the base in 4 bits with {package}, which is not installed', package=BNB_PACKAGE[0]),
                    _('{install} on a machine with a CUDA GPU, or use method = "lora"', install=BNB_PACKAGE[1])))
    if not has_cuda:
        out.append((_('peft.method = "qlora" needs a CUDA GPU (bitsandbytes\' 4-bit kernels run on CUDA only), and there is none here'),
                    _('run it on a CUDA machine (check one with `hftui validate PRESET --for 1xRTX4090`), or use method = "lora"')))
    return out


def compute_dtype():
    """bf16 where the GPU computes it natively (Ampere or newer), fp16 elsewhere."""
    import torch

    return torch.bfloat16 if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else torch.float16


def quantization_config():
    from transformers import BitsAndBytesConfig

    dtype = compute_dtype()
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type=QUANT_TYPE, bnb_4bit_use_double_quant=DOUBLE_QUANT,
                              bnb_4bit_compute_dtype=dtype, bnb_4bit_quant_storage=dtype)


def load_kwargs() -> dict:
    """from_pretrained's extra arguments for a 4-bit base: the quantization, the compute dtype for
    the layers that stay unquantized, and this process's GPU (each rank holds a whole copy)."""
    return {"quantization_config": quantization_config(), "dtype": compute_dtype(),
            "device_map": {"": int(os.environ.get("LOCAL_RANK", "0"))}}


def prepare(model):
    """Freeze the 4-bit base and cast what stays in 16 bits for stable training (peft's
    prepare_model_for_kbit_training). Activation checkpointing is left to the trainer's option;
    the embeddings' output requires grad either way, so a checkpointed layer over a frozen base
    still has a graph to backpropagate the adapters' gradients through."""
    from peft import prepare_model_for_kbit_training

    model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
    model.enable_input_require_grads()
    return model
