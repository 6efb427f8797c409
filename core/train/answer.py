"""One answer of a loaded run model (`infer.Loaded`) to one input.

Causal-LM models generate through the tokenizer's chat template when it has one (the input is
the user's message), greedily so the same input gives the same answer; `on_text` receives the
text as it is generated. Classifiers give every label's probability, reward and regression
models one score, seq2seq models their generated output.
"""

from __future__ import annotations

from typing import Any, Callable

from hftui.core.train import data as data_mod
from hftui.core.train.infer import CLASSIFY, GENERATE, SCORE, SEQ2SEQ

DEFAULT_MAX_NEW_TOKENS = 128


def prompt_text(tokenizer, value: Any, raw: bool = False) -> tuple[str, bool]:
    """(the text the model continues, whether it is already a rendered template). A chat (a list
    of messages) is rendered up to its last user turn; a plain text becomes the user's message
    when the tokenizer has a chat template and `raw` is not asked for."""
    template = getattr(tokenizer, "chat_template", None)
    if isinstance(value, list):
        messages = [m for m in value if isinstance(m, dict)]
        while messages and messages[-1].get("role") == "assistant":
            messages = messages[:-1]  # the answer the model is asked to give
        if template:
            return tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False), True
        return "\n".join(str(m.get("content", "")) for m in messages), False
    if template and not raw:
        return tokenizer.apply_chat_template([{"role": "user", "content": str(value)}], add_generation_prompt=True, tokenize=False), True
    return str(value), False


def _device(model):
    return next(model.parameters()).device


def _streamer(tokenizer, on_text: Callable[[str], None]):
    from transformers import TextStreamer

    class Streamer(TextStreamer):
        def on_finalized_text(self, text: str, stream_end: bool = False) -> None:
            if text:
                on_text(text)

    return Streamer(tokenizer, skip_prompt=True, skip_special_tokens=True)


def generate(loaded, value: Any, max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS, on_text: Callable[[str], None] | None = None,
             raw: bool = False) -> str:
    """The model's greedy continuation of the input, decoded without special tokens."""
    import torch

    tok, model = loaded.tokenizer, loaded.model
    text, rendered = prompt_text(tok, value, raw)
    enc = tok(text, return_tensors="pt", add_special_tokens=not rendered).to(_device(model))
    kwargs = dict(max_new_tokens=int(max_new_tokens), do_sample=False, pad_token_id=tok.pad_token_id)
    if on_text is not None:
        kwargs["streamer"] = _streamer(tok, on_text)
    with torch.no_grad():
        out = model.generate(**enc, **kwargs)
    if loaded.kind == GENERATE:
        out = out[:, enc["input_ids"].shape[1]:]
    return tok.decode(out[0], skip_special_tokens=True)


def classify(loaded, text: str) -> dict[str, float]:
    """Each label's probability (softmax of the logits), in label order."""
    import torch

    logits = _logits(loaded, text)
    probs = torch.softmax(logits.float(), dim=-1).tolist()
    names = loaded.labels or [str(i) for i in range(len(probs))]
    return {names[i] if i < len(names) else str(i): float(p) for i, p in enumerate(probs)}


def score(loaded, text: str) -> float:
    return float(_logits(loaded, text).float().reshape(-1)[0])


def _logits(loaded, text: str):
    import torch

    enc = loaded.tokenizer(str(text), truncation=True, max_length=data_mod.max_length(loaded.preset), return_tensors="pt")
    with torch.no_grad():
        return loaded.model(**enc.to(_device(loaded.model))).logits[0]


def answer(loaded, value: Any, max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS, on_text: Callable[[str], None] | None = None,
           raw: bool = False) -> dict:
    """The answer as a JSON-ready dict: `output` (generated text), `label` and `probabilities`,
    or `score`; `kind` says which."""
    kind = loaded.kind
    if kind in (GENERATE, SEQ2SEQ):
        if kind == SEQ2SEQ and isinstance(value, list):
            value = prompt_text(loaded.tokenizer, value, True)[0]
        return {"kind": kind, "output": generate(loaded, value, max_new_tokens, on_text, raw=raw or kind == SEQ2SEQ)}
    if kind == CLASSIFY:
        probs = classify(loaded, str(value))
        return {"kind": kind, "label": max(probs, key=probs.get), "probabilities": probs}
    if kind == SCORE:
        return {"kind": kind, "score": score(loaded, str(value))}
    raise ValueError(f"unknown answer kind {kind!r}")
