"""The shipped metric modules work offline and agree with direct computations."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

from hftui.core import preset as preset_mod
from hftui.core.train.metrics import LOCAL_METRICS, build_compute_metrics, load_metric, perplexity

REFS = [0, 1, 1, 0, 1, 0, 0, 1, 1, 1]
PREDS = [0, 1, 0, 0, 1, 1, 0, 1, 1, 0]
SCORES = [0.1, 0.8, 0.4, 0.3, 0.9, 0.6, 0.2, 0.7, 0.65, 0.45]


def test_offline_environment():
    assert os.environ.get("HF_HUB_OFFLINE") == "1"


def test_classification_metrics_match_scikit_learn():
    from sklearn import metrics as skm

    assert load_metric("accuracy").compute(predictions=PREDS, references=REFS)["accuracy"] == pytest.approx(skm.accuracy_score(REFS, PREDS))
    assert load_metric("f1").compute(predictions=PREDS, references=REFS)["f1"] == pytest.approx(skm.f1_score(REFS, PREDS))
    assert load_metric("precision").compute(predictions=PREDS, references=REFS)["precision"] == pytest.approx(skm.precision_score(REFS, PREDS))
    assert load_metric("recall").compute(predictions=PREDS, references=REFS)["recall"] == pytest.approx(skm.recall_score(REFS, PREDS))
    assert load_metric("roc_auc").compute(prediction_scores=SCORES, references=REFS)["roc_auc"] == pytest.approx(skm.roc_auc_score(REFS, SCORES))
    y = [0.5, 1.5, 2.0, 3.25]
    p = [0.0, 2.0, 2.5, 3.0]
    assert load_metric("mse").compute(predictions=p, references=y)["mse"] == pytest.approx(skm.mean_squared_error(y, p))


def test_macro_f1_and_multiclass_roc_auc():
    from sklearn import metrics as skm

    refs = [0, 1, 2, 2, 1, 0, 2]
    preds = [0, 2, 2, 2, 1, 0, 1]
    assert load_metric("f1").compute(predictions=preds, references=refs, average="macro")["f1"] == pytest.approx(skm.f1_score(refs, preds, average="macro"))
    rng = np.random.default_rng(0)
    probs = rng.dirichlet([1, 1, 1], size=len(refs)).tolist()
    got = load_metric("roc_auc").compute(prediction_scores=probs, references=refs, multi_class="ovr")["roc_auc"]
    assert got == pytest.approx(skm.roc_auc_score(refs, probs, multi_class="ovr"))


def test_bleu_matches_sacrebleu_and_wer_matches_jiwer():
    import jiwer
    import sacrebleu

    preds = ["the cat sat on the mat", "a quick brown fox", "hello there world"]
    refs = ["the cat sat on a mat", "the quick brown fox jumps", "hello world"]
    got = load_metric("bleu").compute(predictions=preds, references=[[r] for r in refs])["bleu"]
    assert got == pytest.approx(sacrebleu.corpus_bleu(preds, [refs]).score)
    assert load_metric("wer").compute(predictions=preds, references=refs)["wer"] == pytest.approx(jiwer.wer(refs, preds))


def test_every_listed_metric_loads_offline():
    for name in LOCAL_METRICS:
        assert load_metric(name) is not None
    with pytest.raises(ValueError):
        load_metric("not-a-metric")


def test_perplexity_is_exp_of_eval_loss():
    assert perplexity(1.5) == pytest.approx(math.exp(1.5))
    assert perplexity(1e6) == float("inf")


def _preset(text: str):
    return preset_mod.from_text("schema = 1\n" + text, None, migrate=False)


def test_compute_metrics_for_classification_logits():
    from sklearn import metrics as skm
    from transformers import EvalPrediction

    p = _preset('[model]\ntask = "sequence-classification"\n[trainer]\ntype = "trainer"\nmetrics = ["accuracy", "f1", "roc_auc"]\n')
    compute = build_compute_metrics(p, num_labels=2)
    logits = np.array([[2.0, -1.0], [0.1, 0.3], [1.0, 0.5], [-0.2, 0.9], [0.0, 2.0]])
    labels = np.array([0, 1, 1, 1, 0])
    out = compute(EvalPrediction(predictions=logits, label_ids=labels))
    preds = logits.argmax(-1)
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    assert out["accuracy"] == pytest.approx(skm.accuracy_score(labels, preds))
    assert out["f1"] == pytest.approx(skm.f1_score(labels, preds))
    assert out["roc_auc"] == pytest.approx(skm.roc_auc_score(labels, probs[:, 1]))


def test_compute_metrics_none_without_metrics_and_unknown_is_a_problem():
    from hftui.core.problems import PresetError

    assert build_compute_metrics(_preset('[trainer]\ntype = "sft"\n')) is None
    with pytest.raises(PresetError) as err:
        build_compute_metrics(_preset('[model]\ntask = "sequence-classification"\n[trainer]\ntype = "trainer"\nmetrics = ["acuracy"]\n'))
    assert "acuracy" in str(err.value)
