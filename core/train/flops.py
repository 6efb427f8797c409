"""Training FLOPs per token and model FLOPs utilisation (MFU), the way the PaLM paper counts
them: 6 x parameters for the matrix multiplies of the forward and backward passes, plus
12 x layers x hidden x sequence for attention's scores and weighted sum (no recomputation counted,
so activation checkpointing lowers MFU, as it should)."""

from __future__ import annotations


def flops_per_token(params: int, layers: int, hidden: int, seq: int) -> float:
    return 6.0 * params + 12.0 * layers * hidden * seq


def mfu(tokens_per_second: float, params: int, layers: int, hidden: int, seq: int, peak: float | None) -> float | None:
    """The share of the GPU's peak that training reached (None when the peak is unknown)."""
    if not peak or not tokens_per_second or tokens_per_second <= 0:
        return None
    return tokens_per_second * flops_per_token(params, layers, hidden, seq) / peak
