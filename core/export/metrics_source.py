"""compute_metrics for an exported script, written out with scikit-learn, sacrebleu and jiwer
(evaluate fetches its modules from the Hub, so the script does not use it)."""

from __future__ import annotations

import textwrap


def metrics_source(task: str, metrics: list[str]) -> str:
    """compute_metrics written out with scikit-learn / sacrebleu / jiwer (evaluate needs the Hub)."""
    if task == "sequence-classification":
        return textwrap.dedent(
            f'''
            def make_compute_metrics(num_labels):
                import numpy as np
                from sklearn import metrics as skm

                wanted = {metrics!r}

                def compute(eval_pred):
                    logits, labels = eval_pred.predictions, np.asarray(eval_pred.label_ids).reshape(-1)
                    logits = np.asarray(logits[0] if isinstance(logits, tuple) else logits)
                    preds = logits.argmax(-1)
                    average = "binary" if num_labels == 2 else "macro"
                    shifted = logits - logits.max(-1, keepdims=True)
                    probs = np.exp(shifted) / np.exp(shifted).sum(-1, keepdims=True)
                    out = {{}}
                    if "accuracy" in wanted:
                        out["accuracy"] = float(skm.accuracy_score(labels, preds))
                    for name, fn in (("f1", skm.f1_score), ("precision", skm.precision_score), ("recall", skm.recall_score)):
                        if name in wanted:
                            out[name] = float(fn(labels, preds, average=average, zero_division=0))
                    if "roc_auc" in wanted and len(set(labels.tolist())) > 1:
                        scores = probs[:, 1] if num_labels == 2 else probs
                        out["roc_auc"] = float(skm.roc_auc_score(labels, scores, multi_class="raise" if num_labels == 2 else "ovr", labels=None if num_labels == 2 else list(range(num_labels))))
                    if "mse" in wanted:
                        out["mse"] = float(skm.mean_squared_error(labels.astype(float), preds.astype(float)))
                    return out

                return compute
            '''
        ).strip() + "\n"
    if task == "seq2seq-lm":
        return textwrap.dedent(
            f'''
            def make_compute_metrics(tokenizer):
                import numpy as np

                wanted = {metrics!r}

                def compute(eval_pred):
                    preds, labels = eval_pred.predictions, eval_pred.label_ids
                    preds = np.asarray(preds[0] if isinstance(preds, tuple) else preds)
                    if preds.ndim == 3:
                        preds = preds.argmax(-1)
                    pad = tokenizer.pad_token_id
                    preds = np.where(preds < 0, pad, preds)
                    labels = np.where(np.asarray(labels) < 0, pad, labels)
                    pred_text = [t.strip() for t in tokenizer.batch_decode(preds, skip_special_tokens=True)]
                    ref_text = [t.strip() for t in tokenizer.batch_decode(labels, skip_special_tokens=True)]
                    out = {{}}
                    if "bleu" in wanted:
                        import sacrebleu

                        out["bleu"] = float(sacrebleu.corpus_bleu(pred_text, [ref_text]).score)
                    if "wer" in wanted:
                        import jiwer

                        out["wer"] = float(jiwer.wer([r if r else " " for r in ref_text], pred_text))
                    if "accuracy" in wanted:
                        out["accuracy"] = float(np.mean([p == r for p, r in zip(pred_text, ref_text)])) if ref_text else 0.0
                    return out

                return compute
            '''
        ).strip() + "\n"
    return textwrap.dedent(
        '''
        def make_compute_metrics():
            import numpy as np

            def compute(eval_pred):
                preds, labels = np.asarray(eval_pred.predictions), np.asarray(eval_pred.label_ids)
                preds, labels = preds[:, :-1].reshape(-1), labels[:, 1:].reshape(-1)
                mask = labels != -100
                return {"accuracy": float((preds[mask] == labels[mask]).mean())}

            return compute
        '''
    ).strip() + "\n"
