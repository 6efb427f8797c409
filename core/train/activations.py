"""Activation memory of one micro-batch, counted tensor by tensor as a decoder layer of
transformers saves them for the backward pass.

Per token and layer (h hidden, i the MLP's width, kv the key/value width, c the bytes of the
compute dtype, r those of the residual stream, which under autocast keeps the weights' dtype):

- each RMSNorm/LayerNorm keeps its input and the normalised output in fp32 (2 x 4h, plus a
  16-bit copy when the residual stream is 16-bit);
- under autocast every projection casts its input itself (q, k and v: three copies of c*h;
  gate and up: two), where 16-bit weights share one;
- attention keeps q, k, v and its output (c*(2h + 2kv)) and o_proj's input (c*h); the eager
  implementation also keeps the softmax in fp32, its 16-bit copy and the dropout mask
  (heads x sequence per token), which SDPA and flash attention never store;
- the MLP keeps gate, up, the activation and their product in a gated MLP (4 x c*i), the
  activation's input and output in a plain one (2 x c*i).

With activation checkpointing only each layer's input is kept (r*h), and one layer is recomputed
at a time. The logits add vocabulary x tokens x (16-bit logits, their fp32 copy for the loss, its
gradient); SFT in the installed trl computes them in chunks when its trainer does.

Calibrated against the 1.03B scratch Llama of benchmarks/gpu_check.sh on an H200 (NVML's peak,
which includes the allocator's cache): 18.2 GiB with SFTConfig's defaults and 52.0 GiB with
the recommended settings (benchmarks/README.md has the estimate beside each figure).
"""

from __future__ import annotations

from functools import lru_cache

LOGIT_BYTES = 2 + 4 + 4  # 16-bit logits, the fp32 copy the loss takes, its gradient
ATTENTION_WITHOUT_SCORES = ("sdpa", "flash", "kernels", "flex")  # never store heads x seq x seq


def per_layer_token(facts, compute: int, residual: int, attention: str, seq: int) -> float:
    """Bytes one decoder layer keeps per token for the backward pass."""
    h = max(facts.hidden_size, 1)
    heads = max(facts.num_heads, 1)
    inner = facts.intermediate_size or 4 * h
    kv = (facts.num_kv_heads or heads) * (h // heads)
    casts = compute != residual
    norm = 2 * 4 * h + (2 * h if residual == 2 else 0)
    attn = (3 * compute * h if casts else 0) + compute * (2 * h + 2 * kv) + compute * h
    if not any(a in attention for a in ATTENTION_WITHOUT_SCORES):
        attn += heads * seq * (4 + compute + 1 + compute)  # softmax fp32, its copy, mask, dropout output
    gates = 2 if facts.gated_mlp else 1
    mlp = (gates * compute * h if casts else 0) + (2 * gates) * compute * inner
    return 2 * norm + attn + mlp


def activation_bytes(facts, shape, weight_bytes: int, trainer_type: str) -> tuple[float, float]:
    """(layer activations, logits) in bytes for one micro-batch of `shape` (an effective
    `TrainingShape`) on a model whose weights are stored in `weight_bytes` per parameter."""
    compute = 2 if shape.mixed or weight_bytes == 2 else 4
    residual = weight_bytes if weight_bytes in (2, 4) else 4
    tokens = shape.batch * shape.seq
    layers = max(facts.num_layers, 1)
    one = per_layer_token(facts, compute, residual, shape.attention, shape.seq) * tokens
    if shape.checkpointing:
        acts = layers * residual * max(facts.hidden_size, 1) * tokens + one
    else:
        acts = layers * one
    logit_tokens = tokens
    if trainer_type == "sft" and sft_logits_chunk():
        logit_tokens = min(tokens, sft_logits_chunk())
    return acts, logit_tokens * facts.vocab_size * LOGIT_BYTES


@lru_cache(maxsize=1)
def sft_logits_chunk() -> int | None:
    """Tokens per chunk when the installed trl's SFTTrainer never materialises the full logits
    (its fused LM head), else None. Read from trl's source, without importing trl."""
    import importlib.util
    import re
    from pathlib import Path

    try:
        spec = importlib.util.find_spec("trl")
        root = Path(next(iter(spec.submodule_search_locations)))
        sft = (root / "trainer" / "sft_trainer.py").read_text(encoding="utf-8")
        if "add_fused_lm_head(" not in sft:
            return None
        utils = (root / "trainer" / "utils.py").read_text(encoding="utf-8")
        found = re.search(r"^CHUNKED_LOGPROB_CHUNK_SIZE\s*=\s*([\d_]+)", utils, re.M)
        return int(found.group(1)) if found else None
    except Exception:
        return None
