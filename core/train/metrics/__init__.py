"""Evaluation metrics wired into `compute_metrics` by task, working offline.

`evaluate.load("accuracy")` fetches its module from the Hub, which fails offline, so hftui
ships small `evaluate.Metric` modules for its metric list next to this file
(`<name>/<name>.py`) and loads them by path. Perplexity is not a module: it is exp(eval_loss),
added to eval events by the events callback.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
LOCAL_METRICS = ("accuracy", "f1", "precision", "recall", "roc_auc", "bleu", "wer", "mse")
DERIVED = ("perplexity",)


def metric_path(name: str) -> str:
    return str(HERE / name)


def load_metric(name: str):
    """The evaluate module for one of LOCAL_METRICS, loaded from the package (no network)."""
    import evaluate

    if name not in LOCAL_METRICS:
        raise ValueError(f"unknown metric {name!r}; hftui knows {', '.join(LOCAL_METRICS + DERIVED)}")
    return evaluate.load(metric_path(name))


def perplexity(eval_loss: float) -> float:
    try:
        return math.exp(eval_loss)
    except OverflowError:
        return float("inf")


def wanted_metrics(preset) -> list[str]:
    names = preset.get("trainer.metrics") or []
    if isinstance(names, str):
        names = [names]
    return [str(n) for n in names]


def needs_generation(preset) -> bool:
    """Every seq2seq metric compares decoded text, which must be generated: the argmax of the
    teacher-forced logits is not what the model would answer."""
    return preset.task == "seq2seq-lm" and any(m not in DERIVED for m in wanted_metrics(preset))


def build_compute_metrics(preset, tokenizer=None, num_labels: int | None = None) -> Callable | None:
    """compute_metrics for the preset's task and metric list; None when nothing needs it."""
    names = [n for n in wanted_metrics(preset) if n not in DERIVED]
    if not names or preset.trainer_type in ("ppo", "reward"):
        return None
    unknown = [n for n in names if n not in LOCAL_METRICS]
    if unknown:
        from hftui.core.problems import PresetError, Problem

        raise PresetError([Problem("trainer.metrics", "error", f"unknown metric {n!r}", f"use one of {', '.join(LOCAL_METRICS + DERIVED)}") for n in unknown])
    modules = {n: load_metric(n) for n in names}
    task = preset.task
    if task == "sequence-classification":
        return _classification(modules, num_labels or int(preset.get("model.num_labels") or 2))
    if task == "seq2seq-lm":
        return _seq2seq(modules, tokenizer)
    return _causal_lm(modules)


def _classification(modules: dict, num_labels: int) -> Callable:
    import numpy as np

    def compute(eval_pred) -> dict:
        logits, labels = eval_pred.predictions, eval_pred.label_ids
        if isinstance(logits, tuple):
            logits = logits[0]
        logits = np.asarray(logits)
        labels = np.asarray(labels).reshape(-1)
        out: dict = {}
        if num_labels == 1:
            preds = logits.reshape(-1)
            for name, mod in modules.items():
                if name == "mse":
                    out.update(mod.compute(predictions=preds.tolist(), references=labels.astype(float).tolist()))
            return out
        preds = logits.argmax(-1)
        shifted = logits - logits.max(-1, keepdims=True)
        probs = np.exp(shifted) / np.exp(shifted).sum(-1, keepdims=True)
        average = "binary" if num_labels == 2 else "macro"
        for name, mod in modules.items():
            if name == "accuracy":
                out.update(mod.compute(predictions=preds, references=labels))
            elif name in ("f1", "precision", "recall"):
                out.update(mod.compute(predictions=preds, references=labels, average=average, zero_division=0))
            elif name == "roc_auc":
                if len(set(labels.tolist())) < 2:
                    continue  # undefined with one class in the eval set
                if num_labels == 2:
                    out.update(mod.compute(prediction_scores=probs[:, 1].tolist(), references=labels))
                else:
                    out.update(mod.compute(prediction_scores=probs.tolist(), references=labels, multi_class="ovr", labels=list(range(num_labels))))
            elif name == "mse":
                out.update(mod.compute(predictions=preds.astype(float).tolist(), references=labels.astype(float).tolist()))
        return out

    return compute


def _causal_lm(modules: dict) -> Callable:
    import numpy as np

    def compute(eval_pred) -> dict:
        preds, labels = eval_pred.predictions, eval_pred.label_ids
        if isinstance(preds, tuple):
            preds = preds[0]
        preds = np.asarray(preds)
        if preds.ndim == labels.ndim + 1:  # logits that were not reduced
            preds = preds.argmax(-1)
        # position t predicts token t+1
        preds, labels = preds[:, :-1].reshape(-1), np.asarray(labels)[:, 1:].reshape(-1)
        mask = labels != -100
        out: dict = {}
        if "accuracy" in modules:
            out.update(modules["accuracy"].compute(predictions=preds[mask], references=labels[mask]))
        return out

    return compute


def preprocess_logits_for_metrics(logits, labels):
    """Keep only the argmax so evaluation does not hold every logit in memory."""
    if isinstance(logits, tuple):
        logits = logits[0]
    return logits.argmax(dim=-1)


def _seq2seq(modules: dict, tokenizer) -> Callable:
    import numpy as np

    def compute(eval_pred) -> dict:
        preds, labels = eval_pred.predictions, eval_pred.label_ids
        if isinstance(preds, tuple):
            preds = preds[0]
        preds = np.asarray(preds)
        if preds.ndim == 3:
            preds = preds.argmax(-1)
        pad = tokenizer.pad_token_id
        preds = np.where(preds < 0, pad, preds)
        labels = np.where(np.asarray(labels) < 0, pad, labels)
        pred_text = [t.strip() for t in tokenizer.batch_decode(preds, skip_special_tokens=True)]
        ref_text = [t.strip() for t in tokenizer.batch_decode(labels, skip_special_tokens=True)]
        out: dict = {}
        for name, mod in modules.items():
            if name == "bleu":
                out["bleu"] = mod.compute(predictions=pred_text, references=[[r] for r in ref_text])["bleu"]
            elif name == "wer":
                refs = [r if r else " " for r in ref_text]
                out.update(mod.compute(predictions=pred_text, references=refs))
            elif name == "accuracy":
                out["accuracy"] = float(np.mean([p == r for p, r in zip(pred_text, ref_text)])) if ref_text else 0.0
        return out

    return compute
